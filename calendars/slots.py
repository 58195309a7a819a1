"""Slot arithmetic on plain values: free slots, offers, and slots spoken in the caller's timezone.

Availability is weekly and business-local (a dentist opens at 9 in its own
town); callers hear slots in their own timezone. Every datetime that leaves
this module is timezone-aware. Nothing here reads the database or imports
Django: a `CalendarSnapshot` (a calendar's rules and its bookings, read by
`calendars.selectors`) goes in, datetimes come out, so the brains' tools can
use it too. Bookings are written by `calendars.services.appointment_book`,
which the database backs up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CalendarSnapshot:
    """A calendar's weekly rules, and the bookings that matter, as plain values.

    `availability` maps ISO weekdays ("1" = Monday) to business-local
    ["HH:MM", "HH:MM"] intervals; `booked` holds (start, end) of booked
    appointments, aware datetimes, in any order.
    """

    timezone: str
    slot_minutes: int
    availability: Mapping[str, Sequence[Sequence[str]]]
    min_notice_minutes: int = 0
    horizon_days: int = 14
    booked: tuple[tuple[datetime, datetime], ...] = ()


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def availability_errors(availability: Any) -> list[str]:
    """Every problem with a weekly availability object, in words an operator can act on."""
    if not isinstance(availability, dict):
        return ['must be an object such as {"1": [["09:00", "17:00"]]}']
    errors: list[str] = []
    for day, intervals in availability.items():
        if str(day) not in {str(d) for d in range(1, 8)}:
            errors.append(f"{day!r} is not an ISO weekday (1 = Monday … 7 = Sunday)")
            continue
        if not isinstance(intervals, list):
            errors.append(f"day {day}: must be a list of [start, end] intervals")
            continue
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(v, str) and _HHMM.match(v) for v in interval)
            ):
                errors.append(f'day {day}: {interval!r} is not ["HH:MM", "HH:MM"]')
            elif interval[0] >= interval[1]:
                errors.append(f"day {day}: {interval[0]}-{interval[1]} ends before it starts")
    return errors


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """`day` at `at` in `zone`, or None when that wall time does not exist (spring-forward gap)."""
    candidate = datetime.combine(day, at, tzinfo=zone)
    round_trip = candidate.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return candidate


def offer_window(calendar: CalendarSnapshot, now: datetime) -> tuple[datetime, datetime]:
    """[after, before): the times a slot may start at, given the calendar's notice and horizon."""
    return now + timedelta(minutes=calendar.min_notice_minutes), now + timedelta(days=calendar.horizon_days)


def slot_starts(calendar: CalendarSnapshot, *, after: datetime, before: datetime) -> Iterator[datetime]:
    """Every slot start the weekly availability allows in [after, before), ignoring bookings."""
    zone = ZoneInfo(calendar.timezone)
    length = timedelta(minutes=calendar.slot_minutes)
    day = after.astimezone(zone).date()
    last_day = before.astimezone(zone).date()
    while day <= last_day:
        for start_text, end_text in calendar.availability.get(str(day.isoweekday()), []):
            cursor = _local(day, _parse_hhmm(start_text), zone)
            closing = _local(day, _parse_hhmm(end_text), zone)
            if cursor is None or closing is None:
                continue
            # Step in absolute time so a DST change inside an interval never
            # yields overlapping or skipped slots.
            while cursor + length <= closing:
                if after <= cursor < before:
                    yield cursor
                cursor = (cursor.astimezone(ZoneInfo("UTC")) + length).astimezone(zone)
        day += timedelta(days=1)


def free_slots(calendar: CalendarSnapshot, *, now: datetime, limit: int = 20) -> list[datetime]:
    """The next slots no booking overlaps, soonest first, within the notice and horizon from `now`."""
    after, before = offer_window(calendar, now)
    length = timedelta(minutes=calendar.slot_minutes)
    free: list[datetime] = []
    for start in slot_starts(calendar, after=after, before=before):
        if any(b_start < start + length and start < b_end for b_start, b_end in calendar.booked):
            continue
        free.append(start)
        if len(free) >= limit:
            break
    return free


def slot_is_offered(calendar: CalendarSnapshot, start: datetime) -> bool:
    """Whether `start` is a slot boundary of the weekly availability (bookings aside)."""
    window_start = start - timedelta(minutes=1)
    return any(s == start for s in slot_starts(calendar, after=window_start, before=start + timedelta(minutes=1)))


def pick_offers(slots: list[datetime], *, count: int = 2, zone: str = "UTC") -> list[datetime]:
    """A short, varied offer: the soonest slot, then the soonest on each following day."""
    tz = ZoneInfo(zone)
    offers: list[datetime] = []
    days: set[date] = set()
    for slot in slots:
        day = slot.astimezone(tz).date()
        if day in days:
            continue
        offers.append(slot)
        days.add(day)
        if len(offers) == count:
            return offers
    # Fewer distinct days than asked for: fill with the remaining soonest slots.
    for slot in slots:
        if slot not in offers:
            offers.append(slot)
            if len(offers) == count:
                break
    return sorted(offers)


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    if moment.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{moment.minute:02d} {suffix}"


def speak_slot(moment: datetime, zone: str, *, now: datetime | None = None) -> str:
    """A slot as a person would say it, in the listener's timezone: "Tuesday at 2:30 PM"."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    days_ahead = (local.date() - today).days
    if days_ahead == 0:
        day_words = "today"
    elif days_ahead == 1:
        day_words = "tomorrow"
    elif 1 < days_ahead < 7:
        day_words = local.strftime("%A")
    else:
        day_words = f"{local.strftime('%A, %B')} {local.day}"
    return f"{day_words} at {_clock(local)}"
