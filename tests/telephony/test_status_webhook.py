"""POST /twilio/status/: signatures, idempotency, out-of-order callbacks, AMD, outcomes."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from twilio.request_validator import RequestValidator

from calls.models import Call, CallEvent
from campaigns.models import Lead
from tests.campaigns.dialer_support import both_status_stores, campaign_attempt, no_carrier, post_status, status_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_carrier", "signed", "both_status_stores")]
__all__ = ["both_status_stores", "no_carrier"]


@pytest.fixture
def signed(settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"


@pytest.fixture
def attempt():
    return campaign_attempt("CA" + "1" * 32)


def test_forged_and_missing_signatures_are_refused(client, attempt):
    params = status_params(attempt, "ringing", 1)
    forged = post_status(client, attempt, params, token="not-the-token")
    assert forged.status_code == 403
    missing = client.post(f"/twilio/status/?call={attempt.pk}", params)
    assert missing.status_code == 403
    # A valid signature over different parameters is a forgery too.
    tampered = post_status(client, attempt, params)
    assert tampered.status_code == 200
    replay = client.post(
        f"/twilio/status/?call={attempt.pk}",
        {**params, "CallStatus": "completed"},
        HTTP_X_TWILIO_SIGNATURE=tampered.wsgi_request.headers["X-Twilio-Signature"],
    )
    assert replay.status_code == 403
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.RINGING
    assert CallEvent.objects.count() == 1


def test_bad_input_gets_a_clear_error(client, attempt):
    response = post_status(client, attempt, {"CallStatus": "ringing"})
    assert response.status_code == 400 and b"CallSid" in response.content
    response = post_status(client, attempt, status_params(attempt, "exploded", 1))
    assert response.status_code == 400 and b"exploded" in response.content


def test_duplicates_are_stored_once_and_out_of_order_never_moves_back(client, attempt):
    for status, sequence in [("initiated", 0), ("ringing", 1), ("in-progress", 2)]:
        assert post_status(client, attempt, status_params(attempt, status, sequence)).status_code == 200
    completed = status_params(attempt, "completed", 3, CallDuration="42")
    assert post_status(client, attempt, completed).content == b"applied"
    assert post_status(client, attempt, completed).content == b"duplicate"
    # A late ringing (different sequence, so a new event) is stored but changes nothing.
    assert post_status(client, attempt, status_params(attempt, "ringing", 7)).content == b"stale"
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.COMPLETED
    assert attempt.duration_seconds == 42
    assert attempt.status_sequence == 7
    assert CallEvent.objects.filter(call=attempt).count() == 5
    assert attempt.answered_at is not None and attempt.ended_at is not None


def test_final_callback_before_the_rest_still_ends_the_call(client, attempt):
    assert post_status(client, attempt, status_params(attempt, "no-answer", 2)).content == b"applied"
    assert post_status(client, attempt, status_params(attempt, "initiated", 0)).content == b"stale"
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.NO_ANSWER and attempt.outcome == "no-answer"
    lead = Lead.objects.get(pk=attempt.lead_id)
    assert lead.status == Lead.Status.RETRY


def test_amd_machine_makes_the_outcome_voicemail(client, attempt):
    post_status(client, attempt, status_params(attempt, "in-progress", 2))
    amd = {
        "AccountSid": django_settings.TWILIO_ACCOUNT_SID,
        "CallSid": attempt.twilio_call_sid,
        "AnsweredBy": "machine_start",
    }
    assert post_status(client, attempt, amd).content == b"applied"
    assert post_status(client, attempt, amd).content == b"duplicate"
    post_status(client, attempt, status_params(attempt, "completed", 3, CallDuration="20"))
    attempt.refresh_from_db()
    assert attempt.answered_by == "machine_start"
    assert attempt.outcome == "voicemail"
    assert Lead.objects.get(pk=attempt.lead_id).last_outcome == "voicemail"


def test_callback_for_an_unknown_call_is_kept_and_acknowledged(client):
    params = {"CallSid": "CA" + "9" * 32, "CallStatus": "completed", "SequenceNumber": "3"}
    response = post_status(client, None, params)
    assert response.status_code == 200 and response.content == b"unknown-call"
    assert CallEvent.objects.get(call_sid=params["CallSid"]).call is None


def test_first_callback_stores_the_sid_when_the_dial_response_is_still_in_flight(client, attempt):
    Call.objects.filter(pk=attempt.pk).update(twilio_call_sid=None)
    attempt.twilio_call_sid = "CA" + "2" * 32
    post_status(client, attempt, status_params(attempt, "initiated", 0))
    attempt.refresh_from_db()
    assert attempt.twilio_call_sid == "CA" + "2" * 32
    assert attempt.status == Call.Status.INITIATED


def test_a_url_naming_another_call_applies_to_the_sid_owner(client, attempt):
    other = Call.objects.create(
        direction=Call.Direction.OUTBOUND,
        agent_version=attempt.agent_version,
        twilio_call_sid="CA" + "4" * 32,
        to_number="+12125550100",
    )
    # ?call= names `other`, whose SID is not this callback's: the SID decides.
    response = post_status(client, other, status_params(attempt, "ringing", 1))
    assert response.content == b"applied"
    attempt.refresh_from_db()
    other.refresh_from_db()
    assert attempt.status == Call.Status.RINGING and other.status == Call.Status.QUEUED
    assert CallEvent.objects.get().call_id == attempt.pk


def test_a_malformed_call_reference_falls_back_to_the_sid(client, attempt):
    path = "/twilio/status/?call=not-a-uuid"
    params = status_params(attempt, "initiated", 0)
    signature = RequestValidator(django_settings.TWILIO_AUTH_TOKEN).compute_signature(
        django_settings.PUBLIC_BASE_URL + path, params
    )
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.content == b"applied"
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.INITIATED
