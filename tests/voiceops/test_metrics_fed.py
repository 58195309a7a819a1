"""Every metric /metrics names is moved by the real code path that owns it (the rest are in test_metrics.py)."""

from __future__ import annotations

import pytest
import time_machine
from prometheus_client import REGISTRY

from calls.models import Call
from calls.services import call_set_status
from campaigns.dialer import dialer_tick
from tests.campaigns.dialer_support import NOON_NY, no_carrier, running_campaign
from tests.factories import CallFactory, LeadFactory

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)  # counters move on commit
__all__ = ["no_carrier"]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.usefixtures("no_carrier")
def test_a_dialer_tick_counts_the_leads_it_claimed():
    campaign = running_campaign()
    LeadFactory.create_batch(3, campaign=campaign)
    before = sample("voiceops_dialer_claims_total")
    with time_machine.travel(NOON_NY, tick=False):
        claimed = dialer_tick(dispatch=False).call_ids
    assert len(claimed) == 3
    assert sample("voiceops_dialer_claims_total") == before + 3


def test_a_call_reaching_a_final_status_is_counted_once_by_status():
    call = CallFactory(status=Call.Status.IN_PROGRESS)
    before = sample("voiceops_calls_ended_total", status="busy")
    call_set_status(call_id=call.pk, status=Call.Status.BUSY)
    call_set_status(call_id=call.pk, status=Call.Status.BUSY)  # a duplicate callback: no second count
    assert sample("voiceops_calls_ended_total", status="busy") == before + 1
