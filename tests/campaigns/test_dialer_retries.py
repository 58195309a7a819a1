"""Outcomes drive the lead: retries per outcome, attempts exhausted, dispositions, the breaker."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from calls.models import Call
from calls.services import call_set_status
from campaigns.dialer import call_outcome_apply, dial_attempt, dialer_tick
from campaigns.models import Campaign, Lead
from campaigns.services import campaign_control
from tests.campaigns.dialer_support import no_carrier
from tests.factories import CampaignFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_carrier")]
__all__ = ["no_carrier"]

NOON_NY = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # Wednesday 12:00 EDT
RULES = {
    "no-answer": {"delay_minutes": 30, "max_attempts": 2},
    "busy": {"delay_minutes": 5, "max_attempts": 3},
    "failed": {"delay_minutes": 60, "max_attempts": 1},
    "voicemail": {"delay_minutes": 120, "max_attempts": 2},
}


def one_attempt(campaign, *, status, answered_by="", disposition="", variables=None):
    """Tick, then end the attempt the way the callbacks would; returns the call."""
    [call_id] = dialer_tick(dispatch=False).call_ids
    Call.objects.filter(pk=call_id).update(answered_by=answered_by, disposition=disposition)
    if variables:
        call = Call.objects.get(pk=call_id)
        Call.objects.filter(pk=call_id).update(variables={**call.variables, **variables})
    if status == "completed":
        call_set_status(call_id=call_id, status="in-progress")
    call_set_status(call_id=call_id, status=status)
    call_outcome_apply(call_id=call_id)
    return Call.objects.get(pk=call_id)


@pytest.fixture
def campaign():
    return CampaignFactory(status="running", retry_rules=RULES, max_concurrent=5, window_end=time(20))


@pytest.mark.parametrize(
    ("status", "answered_by", "outcome", "delay"),
    [
        ("no-answer", "", "no-answer", 30),
        ("busy", "", "busy", 5),
        ("completed", "machine_end_beep", "voicemail", 120),
    ],
)
def test_retryable_outcome_schedules_the_next_attempt(campaign, status, answered_by, outcome, delay):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        call = one_attempt(campaign, status=status, answered_by=answered_by)
    lead.refresh_from_db()
    assert call.outcome == outcome
    assert lead.status == Lead.Status.RETRY and lead.last_outcome == outcome
    assert lead.next_attempt_at == NOON_NY + timedelta(minutes=delay)


def test_attempts_run_out_per_outcome(campaign):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        one_attempt(campaign, status="no-answer")
        clock.shift(timedelta(minutes=10))
        assert dialer_tick(dispatch=False).call_ids == []  # not due yet
        clock.shift(timedelta(minutes=21))
        second = one_attempt(campaign, status="no-answer")
    lead.refresh_from_db()
    assert second.attempt_number == 2
    assert lead.status == Lead.Status.EXHAUSTED and lead.attempts == 2 and lead.next_attempt_at is None


def test_failed_uses_its_own_rule(campaign):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        one_attempt(campaign, status="failed")
    lead.refresh_from_db()
    assert lead.status == Lead.Status.EXHAUSTED and lead.last_outcome == "failed"


def test_retry_is_pushed_into_the_next_window(campaign):
    lead = LeadFactory(campaign=campaign, timezone="America/New_York")
    # 19:50 EDT; a 30 minute delay lands after the 20:00 window end, so: tomorrow 09:00 EDT.
    with time_machine.travel(datetime(2026, 6, 10, 23, 50, tzinfo=UTC), tick=False):
        one_attempt(campaign, status="no-answer")
    lead.refresh_from_db()
    assert lead.next_attempt_at == datetime(2026, 6, 11, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize("disposition", ["booked", "not_interested"])
def test_final_dispositions_complete_the_lead(campaign, disposition):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        one_attempt(campaign, status="completed", disposition=disposition)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.COMPLETED and lead.last_outcome == disposition


def test_callback_disposition_schedules_at_the_requested_time_within_the_window(campaign):
    lead = LeadFactory(campaign=campaign, timezone="America/Chicago")
    with time_machine.travel(NOON_NY, tick=False):
        # "Call me tomorrow at 7:30" (lead-local wall clock): before the window, so 09:00 CDT.
        one_attempt(campaign, status="completed", disposition="callback", variables={"callback_at": "2026-06-11T07:30"})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CALLBACK
    assert lead.next_attempt_at == datetime(2026, 6, 11, 14, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 6, 11, 14, 0, 30, tzinfo=UTC), tick=False):
        [call_id] = dialer_tick(dispatch=False).call_ids
    assert Call.objects.get(pk=call_id).attempt_number == 2


def test_do_not_call_disposition_is_final(campaign):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        one_attempt(campaign, status="completed", disposition="do_not_call")
        clock.shift(timedelta(days=2))
        assert dialer_tick(dispatch=False).call_ids == []
    lead.refresh_from_db()
    assert lead.do_not_call and lead.status == Lead.Status.DO_NOT_CALL


def test_answered_without_disposition_waits_for_the_engine_then_settles(campaign, settings):
    settings.DIALER_DISPOSITION_GRACE_SECONDS = 10
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        call = one_attempt(campaign, status="completed")
        assert not call.outcome_applied  # held back: the engine may still write a disposition
        lead.refresh_from_db()
        assert lead.status == Lead.Status.DIALING
        # The engine writes it a moment later; the next tick settles it at once.
        Call.objects.filter(pk=call.pk).update(disposition="booked")
        clock.shift(1)
        assert dialer_tick(dispatch=False).settled == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.COMPLETED and lead.last_outcome == "booked"


def test_answered_and_silent_settles_as_answered_after_the_grace(campaign, settings):
    settings.DIALER_DISPOSITION_GRACE_SECONDS = 10
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        one_attempt(campaign, status="completed")
        clock.shift(11)
        assert dialer_tick(dispatch=False).settled == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.COMPLETED and lead.last_outcome == "answered"


def test_lead_marked_dnc_after_the_claim_is_never_dialed(campaign):
    lead = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        [call_id] = dialer_tick(dispatch=False).call_ids
        # The agents' mark_do_not_call tool, a moment after the claim.
        Lead.objects.filter(pk=lead.pk).update(do_not_call=True, status=Lead.Status.DO_NOT_CALL)
        assert dial_attempt(call_id=call_id) == "refused"
        assert dial_attempt(call_id=call_id) == "already-started"
    call = Call.objects.get(pk=call_id)
    assert call.status == Call.Status.CANCELED and call.twilio_call_sid is None
    assert "do-not-call" in call.failure_reason
    lead.refresh_from_db()
    assert lead.status == Lead.Status.DO_NOT_CALL


def test_circuit_breaker_pauses_the_campaign_and_says_why(settings):
    settings.DIALER_BREAKER_WINDOW = 4
    settings.DIALER_BREAKER_RATIO = 0.75
    campaign = CampaignFactory(status="running", max_concurrent=10, calls_per_minute=60)
    LeadFactory.create_batch(6, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        campaign_control(campaign_id=campaign.pk, action="pause")
        campaign_control(campaign_id=campaign.pk, action="resume")
    with time_machine.travel(NOON_NY + timedelta(seconds=1), tick=False):
        call_ids = dialer_tick(dispatch=False).call_ids
        # The carrier is unreachable (no_carrier): each dial fails with the reason.
        for call_id in call_ids[:4]:
            dial_attempt(call_id=call_id)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.status_reason.startswith("Circuit breaker: 4 of the last 4 attempts failed")
    assert "carrier refused" in campaign.status_reason
    # Paused: the two claimed-but-undialed attempts are refused, not dialed, and go back in line.
    with time_machine.travel(NOON_NY + timedelta(seconds=2), tick=False):
        assert dial_attempt(call_id=call_ids[4]) == "refused"
    assert Call.objects.get(pk=call_ids[4]).status == Call.Status.CANCELED
    assert Lead.objects.get(calls__id=call_ids[4]).status == Lead.Status.RETRY
