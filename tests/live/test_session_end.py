"""The end of a call session is stored in one transaction: one row lock, one UPDATE, one broadcast."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import calls.services
from calls.models import Call
from calls.services import call_store_outcome
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db
# One row lock where the database has them (SQLite locks the whole file instead).
ROW_LOCKS = 1 if connection.vendor == "postgresql" else 0


@pytest.fixture
def broadcasts(monkeypatch):
    """The console broadcasts sent once the transaction commits (other on-commit work, like webhooks, aside)."""
    sent: list[object] = []
    monkeypatch.setattr(calls.services, "broadcast_call_changed", sent.append)
    return sent


def store_end(call, status, **kwargs):
    """What CallSession.finish queues (CallStore.store_outcome): the statements it ran, the broadcasts it left."""
    args = {"reason": "", "disposition": "", "recording": "", "variables": {}, **kwargs}
    with CaptureQueriesContext(connection) as queries:
        call_store_outcome(call_id=call.pk, status=status, **args)
    call.refresh_from_db()
    return [q["sql"] for q in queries.captured_queries]


def count(statements, start):
    return sum(1 for sql in statements if sql.lstrip().upper().startswith(start))


def test_outcome_and_status_travel_together(django_capture_on_commit_callbacks, broadcasts):
    answered = timezone.now() - dt.timedelta(seconds=42)
    call = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=answered, variables={"name": "Ada"})
    with django_capture_on_commit_callbacks(execute=True):
        statements = store_end(
            call, "completed", disposition="booked", recording=f"recordings/{call.pk}.wav", variables={"dtmf": "12#"}
        )

    assert count(statements, "SAVEPOINT") == 1  # one atomic block (the test's transaction is outside it)
    assert sum(1 for sql in statements if "FOR UPDATE" in sql) == ROW_LOCKS
    assert count(statements, "UPDATE") == 1
    assert len(broadcasts) == 1
    assert call.status == Call.Status.COMPLETED
    assert (call.disposition, call.recording) == ("booked", f"recordings/{call.pk}.wav")
    assert call.variables == {"name": "Ada", "dtmf": "12#"}
    assert call.ended_at is not None and call.duration_seconds is not None and call.duration_seconds >= 42


def test_a_failure_keeps_its_reason(django_capture_on_commit_callbacks, broadcasts):
    call = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        store_end(call, "failed", reason="media stream: message is not JSON")

    assert len(broadcasts) == 1
    assert call.status == Call.Status.FAILED
    assert call.failure_reason == "media stream: message is not JSON"


def test_a_late_end_stores_the_outcome_but_never_moves_the_status_back(django_capture_on_commit_callbacks, broadcasts):
    # Twilio's status callback said no-answer first; the session's end arrives after it.
    call = CallFactory(status=Call.Status.NO_ANSWER, ended_at=timezone.now() + dt.timedelta(seconds=1))
    ended_at = call.ended_at
    with django_capture_on_commit_callbacks(execute=True):
        statements = store_end(call, "failed", reason="media stream: gone", disposition="voicemail")

    assert count(statements, "UPDATE") == 1 and len(broadcasts) == 1
    assert call.status == Call.Status.NO_ANSWER and call.ended_at == ended_at and not call.failure_reason
    assert call.disposition == "voicemail"


def test_a_stream_replaced_by_new_twiml_leaves_the_call_live(django_capture_on_commit_callbacks, broadcasts):
    # After DTMF the stream ends but the call goes on: no status, only what the session learned.
    call = CallFactory(status=Call.Status.IN_PROGRESS, answered_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        statements = store_end(call, "", variables={"dtmf": "3"})

    assert sum(1 for sql in statements if "FOR UPDATE" in sql) == ROW_LOCKS and len(broadcasts) == 1
    assert call.status == Call.Status.IN_PROGRESS and call.ended_at is None
    assert call.variables == {"dtmf": "3"}


def test_nothing_new_writes_nothing(django_capture_on_commit_callbacks, broadcasts):
    call = CallFactory(
        status=Call.Status.COMPLETED, ended_at=timezone.now() + dt.timedelta(seconds=1), disposition="booked"
    )
    with django_capture_on_commit_callbacks(execute=True):
        statements = store_end(call, "completed", disposition="booked")

    assert count(statements, "UPDATE") == 0 and broadcasts == []
