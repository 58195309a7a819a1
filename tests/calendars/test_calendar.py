"""The calendar: slots in the business's week, spoken in the caller's zone, never double-booked."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, connection, transaction

from calendars.models import Appointment, Calendar
from calendars.selectors import calendar_free_slots
from calendars.services import SlotUnavailable, appointment_book
from calendars.slots import CalendarSnapshot, availability_errors, free_slots, pick_offers, slot_starts, speak_slot
from tests.conftest import MONDAY_MORNING

NY = dt.timezone(dt.timedelta(hours=-5))


def test_availability_errors_name_each_problem():
    errors = availability_errors({"1": [["09:00", "08:00"]], "8": [], "2": [["9", "10:00"]], "3": "all day"})
    assert errors == [
        "day 1: 08:00-09:00 ends before it starts".replace("08:00-09:00", "09:00-08:00"),
        "'8' is not an ISO weekday (1 = Monday … 7 = Sunday)",
        "day 2: ['9', '10:00'] is not [\"HH:MM\", \"HH:MM\"]",
        "day 3: must be a list of [start, end] intervals",
    ]


@pytest.mark.django_db
def test_a_calendar_with_a_bad_week_is_refused_on_save():
    with pytest.raises(Exception, match="ends before it starts"):
        Calendar.objects.create(name="Bad", timezone="America/New_York", availability={"1": [["10:00", "09:00"]]})
    assert not Calendar.objects.filter(name="Bad").exists()


def test_slots_follow_the_business_week_across_a_dst_change():
    week = {"7": [["01:00", "05:00"]]}
    calendar = CalendarSnapshot(timezone="America/New_York", slot_minutes=60, availability=week)
    # Sunday 9 March 2025: 2 AM does not exist in New York.
    starts = list(
        slot_starts(
            calendar,
            after=dt.datetime(2025, 3, 9, 0, 0, tzinfo=dt.UTC),
            before=dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.UTC),
        )
    )
    assert [s.isoformat() for s in starts] == [
        "2025-03-09T01:00:00-05:00",
        "2025-03-09T03:00:00-04:00",
        "2025-03-09T04:00:00-04:00",
    ]


def test_free_slots_are_plain_arithmetic_on_a_snapshot():
    # No database: the rules and the bookings as values (what the selector reads).
    monday = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)  # 7 AM New York
    booked = ((dt.datetime(2025, 3, 3, 9, 0, tzinfo=NY), dt.datetime(2025, 3, 3, 10, 0, tzinfo=NY)),)
    snapshot = CalendarSnapshot(
        timezone="America/New_York",
        slot_minutes=30,
        availability={"1": [["08:00", "11:00"]]},
        min_notice_minutes=60,
        horizon_days=1,
        booked=booked,
    )
    # 7 AM plus an hour's notice: 8:00 is the first; an hour-long booking covers 9:00 and 9:30.
    assert [s.strftime("%H:%M") for s in free_slots(snapshot, now=monday)] == ["08:00", "08:30", "10:00", "10:30"]
    assert free_slots(snapshot, now=monday, limit=1) == [dt.datetime(2025, 3, 3, 8, 0, tzinfo=NY)]


@pytest.mark.parametrize(
    ("zone", "spoken"),
    [
        ("America/New_York", "Tuesday at 2:30 PM"),
        ("America/Los_Angeles", "Tuesday at 11:30 AM"),
        ("Europe/London", "Tuesday at 7:30 PM"),
        ("Asia/Tokyo", "Wednesday at 4:30 AM"),
    ],
)
def test_slots_are_spoken_in_the_callers_timezone(zone, spoken):
    slot = dt.datetime(2025, 3, 4, 14, 30, tzinfo=NY)  # Tuesday 2:30 PM in New York
    assert speak_slot(slot, zone, now=dt.datetime(2025, 2, 28, 12, 0, tzinfo=dt.UTC)) == spoken


def test_today_tomorrow_and_far_dates_are_spoken_naturally():
    now = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)
    assert speak_slot(dt.datetime(2025, 3, 3, 15, 0, tzinfo=NY), "America/New_York", now=now) == "today at 3 PM"
    assert speak_slot(dt.datetime(2025, 3, 4, 9, 0, tzinfo=NY), "America/New_York", now=now) == "tomorrow at 9 AM"
    after_dst = dt.datetime(2025, 3, 14, 9, 15, tzinfo=ZoneInfo("America/New_York"))
    assert speak_slot(after_dst, "America/New_York", now=now) == "Friday, March 14 at 9:15 AM"


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_free_slots_skip_bookings_and_the_notice_period(clinic_calendar):
    first, second, *_ = calendar_free_slots(clinic_calendar)
    # 7 AM now, an hour's notice, the clinic opens at 9.
    assert first == dt.datetime(2025, 3, 3, 9, 0, tzinfo=NY)
    appointment_book(calendar=clinic_calendar, start=first)
    assert calendar_free_slots(clinic_calendar)[0] == second
    offers = pick_offers(calendar_free_slots(clinic_calendar), count=2, zone="America/New_York")
    assert [o.date() for o in offers] == [dt.date(2025, 3, 3), dt.date(2025, 3, 4)]


@pytest.mark.django_db
@time_machine.travel(MONDAY_MORNING, tick=False)
def test_booking_refuses_past_closed_and_off_grid_times(clinic_calendar):
    with pytest.raises(SlotUnavailable, match="too soon"):
        appointment_book(calendar=clinic_calendar, start=dt.datetime(2025, 3, 3, 7, 30, tzinfo=NY))
    with pytest.raises(SlotUnavailable, match="not one of the calendar's open slots"):
        appointment_book(calendar=clinic_calendar, start=dt.datetime(2025, 3, 3, 12, 0, tzinfo=NY))  # lunch
    with pytest.raises(SlotUnavailable, match="not one of the calendar's open slots"):
        appointment_book(calendar=clinic_calendar, start=dt.datetime(2025, 3, 3, 9, 10, tzinfo=NY))
    assert not Appointment.objects.exists()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the exclusion constraint is PostgreSQL's")
def test_the_database_refuses_overlapping_bookings_whatever_their_length(clinic_calendar):
    start = dt.datetime(2025, 3, 3, 9, 0, tzinfo=NY)
    Appointment.objects.create(calendar=clinic_calendar, start=start, end=start + dt.timedelta(minutes=60))
    with pytest.raises(IntegrityError), transaction.atomic():
        # Starts at another time, so only the exclusion constraint can see the overlap.
        Appointment.objects.create(
            calendar=clinic_calendar, start=start + dt.timedelta(minutes=30), end=start + dt.timedelta(minutes=90)
        )
    Appointment.objects.create(
        calendar=clinic_calendar,
        start=start + dt.timedelta(minutes=30),
        end=start + dt.timedelta(minutes=90),
        status=Appointment.Status.CANCELLED,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True, reset_sequences=True)
@time_machine.travel(MONDAY_MORNING, tick=True)
def test_two_concurrent_bookings_of_one_slot_exactly_one_wins(clinic_calendar):
    """Two calls book the same slot at the same moment, each on its own database connection."""
    slot = dt.datetime(2025, 3, 3, 10, 0, tzinfo=NY)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def book(name: str) -> None:
        try:
            barrier.wait()
            appointment_book(calendar=clinic_calendar, start=slot, notes=name)
            results.append("booked")
        except SlotUnavailable:
            results.append("refused")
        except DatabaseError as exc:  # pragma: no cover - would be a bug: reported, not hidden
            results.append(f"error: {exc}")
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=book, args=(f"call {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked", "refused"]
    assert Appointment.objects.filter(start=slot, status="booked").count() == 1
