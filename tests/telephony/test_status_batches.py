"""Status callbacks applied in batches: the same end state as one at a time, in one transaction.

Each test runs twice: with the PostgreSQL statements (telephony.bulk_sql) and with
the ORM route the embedded SQLite default takes.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from calls.models import Call, CallEvent
from campaigns.models import Lead
from telephony import bulk_sql
from telephony.status_callbacks import StatusCallback, status_callbacks_apply
from tests.campaigns.dialer_support import both_status_stores, campaign_attempt, no_carrier, status_params

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_carrier", "both_status_stores")]
__all__ = ["both_status_stores", "no_carrier"]


def make_attempt(sid):
    return campaign_attempt(sid)


def callback(call: Call, status: str, sequence: int, *, ref: bool = True, **extra: str) -> StatusCallback:
    return StatusCallback(params=status_params(call, status, sequence, **extra), call_ref=str(call.pk) if ref else "")


def amd(call: Call, answered_by: str) -> StatusCallback:
    params = {"CallSid": call.twilio_call_sid or "", "AnsweredBy": answered_by}
    return StatusCallback(params=params, call_ref=str(call.pk))


def test_a_mixed_batch_ends_where_one_at_a_time_would():
    first, second = make_attempt("CA" + "a" * 32), make_attempt("CA" + "b" * 32)
    earlier = callback(first, "initiated", 0)
    assert status_callbacks_apply([earlier]) == ["applied"]

    batch = [
        callback(first, "ringing", 1),
        earlier,  # stored by the previous batch
        callback(second, "ringing", 1),
        callback(first, "ringing", 1),  # twice in this batch
        callback(second, "initiated", 0),  # late: changes nothing
        callback(first, "in-progress", 2),
        callback(second, "busy", 3),
    ]
    assert status_callbacks_apply(batch) == [
        "applied",
        "duplicate",
        "applied",
        "duplicate",
        "stale",
        "applied",
        "applied",
    ]

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.status_sequence, first.outcome_applied) == ("in-progress", 2, False)
    assert first.answered_at is not None and first.started_at is not None
    assert (second.status, second.status_sequence, second.outcome) == ("busy", 3, "busy")
    assert second.ended_at is not None and second.outcome_applied
    lead = Lead.objects.get(pk=second.lead_id)
    assert (lead.status, lead.last_outcome) == (Lead.Status.RETRY, "busy") and lead.next_attempt_at is not None
    assert Lead.objects.get(pk=first.lead_id).status == Lead.Status.DIALING
    assert CallEvent.objects.filter(call=first).count() == 3
    assert CallEvent.objects.filter(call=second).count() == 3


def test_a_first_callback_gives_the_call_its_sid_for_the_rest_of_the_batch():
    attempt = make_attempt(None)
    attempt.twilio_call_sid = "CA" + "c" * 32  # what Twilio knows; our row does not yet
    batch = [
        callback(attempt, "initiated", 0),
        callback(attempt, "ringing", 1, ref=False),  # found by the SID the first one stored
    ]
    assert status_callbacks_apply(batch) == ["applied", "applied"]
    attempt.refresh_from_db()
    assert (attempt.twilio_call_sid, attempt.status) == ("CA" + "c" * 32, Call.Status.RINGING)
    assert CallEvent.objects.filter(call=attempt).count() == 2


def test_an_amd_result_in_the_batch_of_the_final_status_decides_the_outcome():
    attempt = make_attempt("CA" + "d" * 32)
    batch = [callback(attempt, "in-progress", 2), callback(attempt, "completed", 3, CallDuration="9")]
    batch.append(amd(attempt, "machine_end_beep"))
    assert status_callbacks_apply(batch) == ["applied", "applied", "applied"]
    attempt.refresh_from_db()
    assert (attempt.answered_by, attempt.outcome, attempt.duration_seconds) == ("machine_end_beep", "voicemail", 9)
    lead = Lead.objects.get(pk=attempt.lead_id)
    assert lead.last_outcome == "voicemail" and lead.status == Lead.Status.RETRY


def test_unknown_calls_are_kept_without_a_call_and_do_not_disturb_the_others():
    attempt = make_attempt("CA" + "e" * 32)
    stranger = StatusCallback(params={"CallSid": "CA" + "f" * 32, "CallStatus": "ringing", "SequenceNumber": "1"})
    assert status_callbacks_apply([stranger, callback(attempt, "ringing", 1)]) == ["unknown-call", "applied"]
    assert CallEvent.objects.get(call_sid="CA" + "f" * 32).call is None
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.RINGING


def test_a_failed_batch_writes_nothing(monkeypatch):
    attempt = make_attempt("CA" + "0" * 32)

    def refuse(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("telephony.status_callbacks.calls_outcome_apply_locked", refuse)
    with pytest.raises(RuntimeError):
        status_callbacks_apply([callback(attempt, "ringing", 1), callback(attempt, "busy", 3)])
    attempt.refresh_from_db()
    assert attempt.status == Call.Status.QUEUED
    assert not CallEvent.objects.exists()


def test_locked_calls_are_loaded_as_the_orm_loads_them_and_stored_keys_found():
    call = make_attempt("CA" + "e" * 32)
    Call.objects.filter(pk=call.pk).update(variables={"callback_at": "2026-12-05T15:00:00", "slots": [1, 2]})
    stored = callback(call, "initiated", 0)
    assert status_callbacks_apply([stored]) == ["applied"]
    fresh = callback(call, "ringing", 1)

    with transaction.atomic():
        locked, keys = bulk_sql.calls_lock_and_stored(
            [call.pk], [call.twilio_call_sid], [stored.idempotency_key, fresh.idempotency_key]
        )
    expected = Call.objects.get(pk=call.pk)
    assert [c.pk for c in locked] == [call.pk]
    assert {f.attname: getattr(locked[0], f.attname) for f in Call._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Call._meta.concrete_fields
    }
    assert locked[0].variables["slots"] == [1, 2]  # JSON decoded, not left as text
    assert keys == {stored.idempotency_key}


@pytest.fixture
def celery_messages(monkeypatch, settings):
    """Post-call analysis on, with a broker: record the task messages instead of sending them."""
    from analysis import tasks

    settings.POST_CALL_ANALYSIS = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks.analyze_call, "delay", lambda *args: sent.append(("analyze_call", args)))
    monkeypatch.setattr(tasks.analyze_calls, "delay", lambda *args: sent.append(("analyze_calls", args)))
    return sent


def test_the_calls_a_batch_ends_go_to_analysis_in_one_message_and_each_gets_its_task(
    celery_messages, django_capture_on_commit_callbacks
):
    from analysis.tasks import analyze_calls

    answered = [make_attempt(f"CA{n}" + "7" * 31) for n in range(3)]
    unanswered = make_attempt("CA" + "8" * 32)
    for call in answered:
        assert status_callbacks_apply([callback(call, "in-progress", 2)]) == ["applied"]
    batch = [callback(call, "completed", 3, CallDuration="5") for call in answered]
    batch.append(callback(unanswered, "no-answer", 3))  # never answered: nothing to analyse
    with django_capture_on_commit_callbacks(execute=True):
        assert status_callbacks_apply(batch) == ["applied"] * 4
    ids = [str(call.pk) for call in answered]
    assert celery_messages == [("analyze_calls", (ids,))]

    celery_messages.clear()
    analyze_calls(ids)  # what the worker does with the message
    assert celery_messages == [("analyze_call", (call_id,)) for call_id in ids]


def test_a_call_ended_alone_goes_to_analysis_as_before(celery_messages, django_capture_on_commit_callbacks):
    call = make_attempt("CA" + "9" * 32)
    assert status_callbacks_apply([callback(call, "in-progress", 2)]) == ["applied"]
    with django_capture_on_commit_callbacks(execute=True):
        assert status_callbacks_apply([callback(call, "completed", 3)]) == ["applied"]
    assert celery_messages == [("analyze_call", (str(call.pk), False))]
