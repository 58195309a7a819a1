"""calls.reconcile: live calls a dead process left behind are settled from the carrier's REST API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallEvent
from calls.reconcile import NO_RECORD_REASON, calls_reconcile
from sandbox import carrier
from telephony.rest import CarrierCallState, CarrierTimeout, twilio_create_call
from tests.campaigns.dialer_support import campaign_attempt
from tests.factories import CallFactory, LeadFactory


def stale(**fields):
    call = CallFactory(**fields)
    Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    return call


@pytest.mark.django_db
def test_the_carriers_answer_settles_each_stale_call_and_leaves_live_ones_alone():
    ended = stale(status=Call.Status.IN_PROGRESS, answered_at=timezone.now() - timedelta(minutes=9))
    talking = stale(status=Call.Status.IN_PROGRESS)
    forgotten = stale(status=Call.Status.RINGING)
    unreachable = stale(status=Call.Status.INITIATED)
    fresh = CallFactory(status=Call.Status.IN_PROGRESS)  # younger than RECONCILE_AFTER_S: not looked up
    done = stale(status=Call.Status.COMPLETED)  # already final: not looked up
    asked: list[str] = []
    answers = {
        ended.twilio_call_sid: CarrierCallState(status="completed", duration="312"),
        talking.twilio_call_sid: CarrierCallState(status="in-progress"),
        forgotten.twilio_call_sid: None,
    }

    def lookup(sid: str) -> CarrierCallState | None:
        asked.append(sid)
        if sid == unreachable.twilio_call_sid:
            raise CarrierTimeout("no answer")
        return answers[sid]

    result = calls_reconcile(lookup=lookup, older_than_s=120)

    assert fresh.twilio_call_sid not in asked and done.twilio_call_sid not in asked
    assert (result.checked, result.still_live, result.unknown_to_carrier, result.lookup_failed) == (4, 1, 1, 1)
    assert set(result.moved) == {ended.pk, forgotten.pk}
    for call in (ended, talking, forgotten, unreachable):
        call.refresh_from_db()
    assert (ended.status, ended.duration_seconds) == (Call.Status.COMPLETED, 312)
    assert talking.status == Call.Status.IN_PROGRESS
    assert (forgotten.status, forgotten.failure_reason) == (Call.Status.FAILED, NO_RECORD_REASON)
    assert unreachable.status == Call.Status.INITIATED  # tried again next run
    # The status went the webhook's way: one event each, marked as a lookup.
    event = CallEvent.objects.get(call=ended)
    assert event.payload["Reconciled"] == "rest" and event.payload["CallStatus"] == "completed"
    # A second run finds nothing new to move (events are idempotent, statuses forward-only).
    again = calls_reconcile(lookup=lambda sid: answers.get(sid, CarrierCallState("ringing")), older_than_s=120)
    assert again.moved == [] and again.checked == 2  # the call still talking, and the one not reached before


@pytest.mark.django_db
def test_a_call_queued_long_ago_but_dialed_just_now_is_not_looked_up_yet():
    dialed_now = stale(status=Call.Status.RINGING, started_at=timezone.now())
    asked: list[str] = []
    calls_reconcile(lookup=lambda sid: asked.append(sid), older_than_s=120)
    assert dialed_now.twilio_call_sid not in asked


@pytest.mark.django_db
def test_a_reconciled_campaign_attempt_goes_to_the_dialers_outcome_rules(settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    attempt = campaign_attempt("CA" + "6" * 32)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Call.objects.filter(pk=attempt.pk).update(status=Call.Status.RINGING, created_at=an_hour_ago)
    calls_reconcile(lookup=lambda sid: CarrierCallState(status="busy"), older_than_s=60)
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.BUSY and attempt.outcome_applied
    attempt.lead.refresh_from_db()
    assert attempt.lead.status != "dialing"  # the lead was let go (retry or done, as the rules say)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_reconcile_over_the_simulated_carriers_rest_api(settings, live_server):
    """The callbacks were lost (sent to a dead address); the REST lookup settles the call anyway."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.TWILIO_API_BASE_URL = live_server.url + "/carrier"
    settings.TWILIO_AUTH_TOKEN = "carrier-test-token"
    settings.SIMULATED_CARRIER = True
    LeadFactory(phone="+12125550177", custom_fields={"persona": "busy"})
    sid = twilio_create_call(
        to="+12125550177",
        from_="+15005550006",
        url=live_server.url + "/twilio/voice/",
        status_callback="http://127.0.0.1:9/lost",  # nobody listens: every callback is lost
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert carrier.wait_for(sid, timeout=30).status == "busy"
    lost = stale(twilio_call_sid=sid, status=Call.Status.INITIATED)
    never_dialed = stale(twilio_call_sid="CA" + "f" * 32, status=Call.Status.IN_PROGRESS)

    result = calls_reconcile(older_than_s=60)  # the real lookup: telephony.rest over HTTP

    assert set(result.moved) == {lost.pk, never_dialed.pk}
    lost.refresh_from_db()
    never_dialed.refresh_from_db()
    assert lost.status == Call.Status.BUSY
    assert (never_dialed.status, never_dialed.failure_reason) == (Call.Status.FAILED, NO_RECORD_REASON)


@pytest.mark.django_db
def test_the_beat_schedule_runs_the_reconcile_task(settings):
    from calls.tasks import reconcile_task

    assert settings.CELERY_BEAT_SCHEDULE["calls-reconcile"]["task"] == reconcile_task.name == "calls.reconcile"
    stale(status=Call.Status.IN_PROGRESS, twilio_call_sid="CA" + "e" * 32)
    settings.RECONCILE_AFTER_S = 60
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # unreachable: a failed lookup, not a failed task
    assert reconcile_task.delay().get() == 0
