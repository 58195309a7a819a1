"""A carrier that never answers no longer pins the dialer: the REST timeouts and the task time limits let go.

The carrier here is a real local socket that accepts the dial and never
answers. Before the timeouts, dial_attempt waited on it forever, holding its
worker, its database connection and the lead's row lock.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.utils import timezone

from calls.models import Call
from campaigns import tasks
from campaigns.dialer import dial_attempt, dialer_tick, settle_pending_outcomes
from campaigns.importer import lead_import_create
from campaigns.models import Lead, LeadImport
from tests.campaigns.dialer_support import POSTGRESQL_ONLY, hang_guard, running_campaign, silent_carrier
from tests.factories import LeadFactory
from voiceops.celery import app

__all__ = ["silent_carrier"]


def queued_attempt() -> Call:
    campaign = running_campaign(days=[], window_start="00:00", window_end="23:59")
    LeadFactory(campaign=campaign, timezone="UTC")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("campaigns.dialer.open_zones", lambda window, now: ["UTC"])  # whatever the hour
        [call_id] = dialer_tick(dispatch=False).call_ids
    return Call.objects.get(pk=call_id)


def lead_is_free(lead_id: int) -> bool:
    """Whether another connection can lock the lead's row right now."""
    free: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic():
                Lead.objects.select_for_update(nowait=True).get(pk=lead_id)
            free.append(True)
        except Exception:
            free.append(False)
        finally:
            connections.close_all()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return free == [True]


def assert_attempt_failed_and_released(call, reason: str) -> None:
    call.refresh_from_db()
    assert call.status == Call.Status.FAILED and reason in call.failure_reason, call.failure_reason
    # Applied by the dial itself, or by the next tick (a soft time-out leaves it there).
    settle_pending_outcomes(now=timezone.now() + timedelta(seconds=django_settings.DIALER_DISPOSITION_GRACE_SECONDS))
    call.refresh_from_db()
    assert call.outcome_applied and call.outcome == "failed"
    lead = Lead.objects.get(pk=call.lead_id)
    assert lead.status == Lead.Status.RETRY and lead.next_attempt_at is not None  # back in line, per the retry rules
    if connection.vendor == "postgresql":  # row locks (SQLite locks the whole file per write)
        assert lead_is_free(lead.pk)


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_a_dial_to_a_carrier_that_never_answers_fails_and_lets_go(silent_carrier):
    call = queued_attempt()
    with hang_guard():
        assert dial_attempt(call_id=call.pk) == "failed"
    assert silent_carrier.accepted.is_set()
    assert_attempt_failed_and_released(call, "carrier did not answer in time (outcome unknown)")
    # At most once still holds: the attempt is not dialed again.
    assert dial_attempt(call_id=call.pk) == "already-started"


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_soft_time_limit_fails_the_attempt_and_lets_go_of_the_lead(silent_carrier, settings):
    """What a Celery prefork worker does at place_call's soft limit: SIGUSR1, raising SoftTimeLimitExceeded."""
    settings.TWILIO_READ_TIMEOUT_MS = 120_000  # the REST timeout is not what stops this one
    call = queued_attempt()

    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGUSR1, soft_limit)
    pid = os.getpid()

    def strike_once_dialing() -> None:
        if silent_carrier.accepted.wait(20):  # the dial is on the wire, the lead's row locked
            assert not lead_is_free(call.lead_id)
            os.kill(pid, signal.SIGUSR1)

    striker = threading.Thread(target=strike_once_dialing)
    try:
        striker.start()
        with hang_guard():
            assert dial_attempt(call_id=call.pk) == "failed"
    finally:
        striker.join()
        signal.signal(signal.SIGUSR1, previous)
    assert_attempt_failed_and_released(call, "dial ran out of time (outcome unknown)")


def test_tasks_have_soft_and_hard_time_limits():
    assert app.conf.task_soft_time_limit == django_settings.CELERY_TASK_SOFT_TIME_LIMIT > 0
    assert app.conf.task_time_limit == django_settings.CELERY_TASK_TIME_LIMIT > app.conf.task_soft_time_limit
    place = tasks.place_call
    assert place.soft_time_limit == django_settings.PLACE_CALL_TIME_LIMIT_S
    assert place.time_limit > place.soft_time_limit
    # The dial's own REST timeouts run out first, so the dialer reports a hung carrier itself.
    rest_s = (django_settings.TWILIO_CONNECT_TIMEOUT_MS + django_settings.TWILIO_READ_TIMEOUT_MS) / 1000
    assert place.soft_time_limit > rest_s
    imports = tasks.import_leads_task
    assert imports.soft_time_limit == django_settings.LEAD_IMPORT_TIME_LIMIT_S
    assert imports.time_limit > imports.soft_time_limit


@pytest.mark.django_db
def test_an_import_that_runs_out_of_time_is_marked_failed_and_keeps_its_finished_chunks(settings, monkeypatch):
    from campaigns import importer

    settings.LEAD_IMPORT_INLINE_ROWS = 0  # handed to the task
    monkeypatch.setattr(importer, "CHUNK", 2)
    written = importer._write_chunk
    chunks: list[int] = []

    def write_then_run_out(rows, campaign):
        chunks.append(len(rows))
        if len(chunks) == 2:
            raise SoftTimeLimitExceeded()
        return written(rows, campaign)

    monkeypatch.setattr(importer, "_write_chunk", write_then_run_out)
    content = "phone\n" + "".join(f"+1212555{n:04d}\n" for n in range(5))
    job = lead_import_create(filename="big.csv", content=content.encode(), campaign=None)
    tasks.import_leads_task(job.pk)  # as the worker runs it
    job.refresh_from_db()
    assert job.status == LeadImport.Status.FAILED
    assert "ran out of time" in job.failure_reason and job.finished_at is not None
    assert Lead.objects.count() == 2  # the first chunk is in


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_soft_time_limit_while_waiting_for_the_leads_row_fails_the_attempt_at_once(silent_carrier):
    """Struck outside the carrier request (here: waiting for a lead row another transaction holds)."""
    call = queued_attempt()
    holding, release = threading.Event(), threading.Event()

    def hold_the_lead() -> None:
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=call.lead_id)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    holder = threading.Thread(target=hold_the_lead)
    holder.start()
    assert holding.wait(20)
    previous = signal.signal(signal.SIGUSR1, soft_limit)
    pid = os.getpid()

    def strike_once_waiting() -> None:
        # The dial blocks on the lead's row: PostgreSQL shows it waiting on a lock.
        with connections["default"].cursor() as cursor:
            for _ in range(2000):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
                release.wait(0.01)
        connections.close_all()
        os.kill(pid, signal.SIGUSR1)

    striker = threading.Thread(target=strike_once_waiting)
    try:
        striker.start()
        with hang_guard():
            assert dial_attempt(call_id=call.pk) == "failed"
        # Failed at once (committed), while the other transaction still holds the lead.
        assert Call.objects.get(pk=call.pk).status == Call.Status.FAILED
        assert not lead_is_free(call.lead_id)
    finally:
        release.set()
        striker.join()
        holder.join()
        signal.signal(signal.SIGUSR1, previous)
    assert not silent_carrier.accepted.is_set()  # never dialed
    assert_attempt_failed_and_released(call, "dial ran out of time (outcome unknown)")
