"""What callers say about when they could come picks or narrows the demo agent's offer (issue 14).

"Next week", "Tuesday afternoon", "any morning", "the first one": each picks an
offered slot or makes a new offer of what fits; never "that time is unavailable".
The demo calendar (Bright Smile Dental, New York) on Wednesday 5 March 2025 at
10:00 New York time, with a New York lead (the demo leads live where the practice is).
"""

import datetime as dt

import pytest
import time_machine

from agents.brains.base import Hangup, Speech
from agents.brains.dates import SlotPreference, parse_preference
from calendars.models import Appointment
from tests.agents.test_demo_flow import WEDNESDAY, _lead, run_call, seeded  # noqa: F401  (the fixture)

NEW_YORK = "America/New_York"
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def spoken(transcript) -> str:
    return " ".join(item.text for item in transcript if isinstance(item, Speech))


def test_preferences_read_from_what_callers_say():
    assert parse_preference("Next week please") == SlotPreference(week=1)
    assert parse_preference("Tuesday afternoon") == SlotPreference(weekdays=frozenset({1}), hours=(12, 17))
    assert parse_preference("any morning is fine") == SlotPreference(hours=(0, 12), any=True)
    assert parse_preference("the weekend") == SlotPreference(weekdays=frozenset({5, 6}))
    assert parse_preference("tomorrow") == SlotPreference(days_ahead=1)
    assert parse_preference("the first one") is None  # no days or times: the usual choice among the offers
    assert parse_preference("yes please") is None


def test_a_preference_fits_slots_on_the_callers_clock():
    wednesday = dt.date(2025, 3, 5)
    tuesday_3pm = dt.datetime(2025, 3, 11, 15, 0, tzinfo=dt.UTC)  # read as the caller's wall clock
    assert SlotPreference(week=1).fits(tuesday_3pm, wednesday)
    assert not SlotPreference(week=0).fits(tuesday_3pm, wednesday)
    assert SlotPreference(weekdays=frozenset({1}), hours=(12, 17)).fits(tuesday_3pm, wednesday)
    assert not SlotPreference(hours=(0, 12)).fits(tuesday_3pm, wednesday)


@time_machine.travel(WEDNESDAY, tick=False)
async def test_next_week_offers_next_weeks_slots_and_books_the_one_picked(seeded):  # noqa: F811
    lead = await _lead(timezone=NEW_YORK)
    _ctx, transcript = await run_call(lead, ["Yes, speaking.", "Could we do next week?", "The first one."])
    said = spoken(transcript)
    assert "isn't available" not in said and "didn't catch" not in said, said
    assert transcript[-1] == Hangup("booked"), transcript
    appointment = await Appointment.objects.aget()
    start = appointment.start.astimezone(dt.UTC)
    assert dt.datetime(2025, 3, 10, tzinfo=dt.UTC) <= start < dt.datetime(2025, 3, 17, tzinfo=dt.UTC)


@time_machine.travel(WEDNESDAY, tick=False)
async def test_tuesday_afternoon_narrows_to_tuesday_afternoons(seeded):  # noqa: F811
    from zoneinfo import ZoneInfo

    lead = await _lead(timezone=NEW_YORK)
    _ctx, transcript = await run_call(lead, ["Yes, speaking.", "Tuesday afternoon would be best.", "The second one."])
    said = spoken(transcript)
    assert "isn't available" not in said and "didn't catch" not in said, said
    # The new offer: Tuesday afternoons only (the soonest on each Tuesday).
    assert "I have Tuesday at 1 PM or Tuesday, March 18 at 1 PM. Which one works for you?" in said, said
    assert transcript[-1] == Hangup("booked"), transcript
    local = (await Appointment.objects.aget()).start.astimezone(ZoneInfo(NEW_YORK))
    assert local.weekday() == 1 and 12 <= local.hour < 17


@time_machine.travel(WEDNESDAY, tick=False)
async def test_any_morning_takes_the_soonest_morning_offered(seeded):  # noqa: F811
    from zoneinfo import ZoneInfo

    lead = await _lead(timezone=NEW_YORK)
    _ctx, transcript = await run_call(lead, ["Yes, speaking.", "Any morning works for me."])
    assert transcript[-1] == Hangup("booked"), transcript
    local = (await Appointment.objects.aget()).start.astimezone(ZoneInfo(NEW_YORK))
    assert local.hour < 12
