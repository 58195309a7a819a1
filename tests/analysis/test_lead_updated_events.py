"""lead.updated is announced wherever a lead changes after a call: the dialer's outcome, do-not-call, analysis."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine

import campaigns.dialer
import campaigns.services
from calls.models import Call
from calls.services import call_set_status
from campaigns.dialer import call_outcome_apply, dialer_tick
from campaigns.services import lead_do_not_call_mark
from tests.campaigns.dialer_support import no_carrier
from tests.factories import CampaignFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_carrier")]
__all__ = ["no_carrier"]

NOON_NY = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)


@pytest.fixture
def emitted(monkeypatch):
    sent: list[tuple[str, dict]] = []

    def record(*, event, data):
        sent.append((event, data))
        return []

    monkeypatch.setattr(campaigns.services, "webhook_event_emit", record)
    monkeypatch.setattr(campaigns.dialer, "webhook_event_emit", record)
    return sent


def test_do_not_call_is_announced(emitted, django_capture_on_commit_callbacks):
    lead = LeadFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_do_not_call_mark(lead_id=lead.pk)
    assert [(event, data["id"], data["do_not_call"], data["status"]) for event, data in emitted] == [
        ("lead.updated", lead.pk, True, "dnc")
    ]


def test_the_dialers_outcome_is_announced(emitted, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(status="running", max_concurrent=5, window_end=time(20))
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False), django_capture_on_commit_callbacks(execute=True):
        [call_id] = dialer_tick(dispatch=False).call_ids
        call_set_status(call_id=call_id, status=Call.Status.BUSY)
        call_outcome_apply(call_id=call_id)
    updates = [data for event, data in emitted if event == "lead.updated"]
    assert [(data["id"], data["status"]) for data in updates] == [(lead.pk, "retry")]
