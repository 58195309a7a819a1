import datetime as dt

import pytest

from agents.brain import CallContext
from agents.models import Calendar
from tests.factories import LeadFactory


@pytest.fixture
def clinic_calendar(db):
    # Weekdays 9-12 and 13-17 in New York, 30-minute slots.
    return Calendar.objects.create(name="Clinic", timezone="America/New_York", slot_minutes=30, min_notice_minutes=60)


@pytest.fixture
def lead(db):
    return LeadFactory(first_name="Maria", timezone="America/Los_Angeles", custom_fields={"persona": "booker"})


@pytest.fixture
def ctx(lead, clinic_calendar):
    return CallContext(
        call_id="test-call",
        config={"brain": "flow", "calendar": clinic_calendar.name, "transfer_number": "+14155550199"},
        lead_id=lead.pk,
        lead_variables=lead.template_variables(),
        timezone=lead.timezone,
    )


# A Monday morning in New York, well before the clinic opens; tests that need
# a fixed "now" travel here with time-machine.
MONDAY_MORNING = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)  # 7 AM New York, 4 AM Los Angeles
