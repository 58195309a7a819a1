import pytest

from agents.brains.base import CallContext
from agents.runtime import DjangoToolPort


@pytest.fixture
def ctx(lead, clinic_calendar):
    return CallContext(
        call_id="test-call",
        config={"brain": "flow", "calendar": clinic_calendar.name, "transfer_number": "+14155550199"},
        lead_id=lead.pk,
        lead_variables=lead.template_variables(),
        timezone=lead.timezone,
        tools=DjangoToolPort(),
    )
