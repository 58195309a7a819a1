"""Helpers for the dialer's tests: signed Twilio-shaped callbacks through the real view."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from calls.models import Call
from telephony import bulk_sql
from telephony.signature import signature_compute


def post_status(client: Client, call: Call | None, params: dict[str, str], *, token: str | None = None) -> Any:
    """POST a callback to /twilio/status/?call=<id>, signed like Twilio signs it."""
    path = "/twilio/status/" + (f"?call={call.pk}" if call is not None else "")
    url = settings.PUBLIC_BASE_URL + path
    signature = signature_compute(url, params, auth_token=token or settings.TWILIO_AUTH_TOKEN)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def status_params(call: Call, status: str, sequence: int, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "CallSid": call.twilio_call_sid or "",
        "CallStatus": status,
        "SequenceNumber": str(sequence),
        "To": call.to_number,
        "From": call.from_number,
        **extra,
    }


class SilentCarrier:
    """A carrier that accepts every connection and never says a word (a hung api.twilio.com).

    `accepted` is set once a client has connected: the request is then on the
    wire, waiting for an answer that never comes.
    """

    def __init__(self) -> None:
        self.accepted = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            self._held.append(conn)  # kept open, never read, never answered
            self.accepted.set()

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_carrier(settings: Any) -> Iterator[SilentCarrier]:
    """The Twilio client pointed at a SilentCarrier, with short REST timeouts."""
    carrier = SilentCarrier()
    settings.TWILIO_API_BASE_URL = carrier.url
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.TWILIO_CONNECT_TIMEOUT_MS = 500
    settings.TWILIO_READ_TIMEOUT_MS = 300
    yield carrier
    carrier.close()


@contextlib.contextmanager
def hang_guard(seconds: int = 20) -> Iterator[None]:
    """Fail the test, instead of hanging the run, when the code under test waits forever (SIGALRM, main thread)."""

    def hung(signum: int, frame: Any) -> None:
        raise AssertionError(f"still waiting after {seconds} s: nothing gave up on the silent carrier")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# Row locks, SKIP LOCKED and real concurrent writers: the embedded SQLite
# default serialises writers on one file lock instead (and its shared-cache
# test database answers a concurrent writer "table is locked").
POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's row locks and concurrent writers"
)


@pytest.fixture
def no_carrier(settings: Any) -> None:
    """Point the Twilio client at a closed port: a test that did not ask for a carrier never reaches one."""
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture(params=["postgresql-statements", "orm"])
def both_status_stores(request: Any, monkeypatch: Any) -> str:
    """Run a status-callback test with telephony.bulk_sql's PostgreSQL statements, then with the ORM route
    that the embedded SQLite default takes."""
    if request.param == "orm":
        monkeypatch.setattr(bulk_sql, "_postgres", lambda: False)
    return str(request.param)


def campaign_attempt(sid: str | None, campaign: Any = None) -> Call:
    """An outbound attempt as the dialer leaves it: its lead dialing, the call queued (with `sid`, or none yet)."""
    from campaigns.models import Lead
    from tests.factories import CampaignFactory, LeadFactory

    campaign = campaign or CampaignFactory(status="running")
    lead: Lead = LeadFactory(campaign=campaign, status=Lead.Status.DIALING, attempts=1)  # type: ignore[assignment]
    return Call.objects.create(
        direction=Call.Direction.OUTBOUND,
        agent_version=campaign.agent_version,
        lead=lead,
        campaign=campaign,
        attempt_number=1,
        twilio_call_sid=sid,
        to_number=lead.phone,
        from_number=campaign.caller_id,
    )


def run_at_once(work: Callable[[], object], *, times: int) -> list[BaseException]:
    """Run `work` in `times` threads released together, each on its own database connection; returns their errors."""
    barrier = threading.Barrier(times)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # returned to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


# Wednesday 10 June 2026, 16:00 UTC: 12:00 in New York, inside every default window.
NOON_NY = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)


def running_campaign(**kwargs: Any) -> Any:
    """A running campaign with room to dial (override any field)."""
    from tests.factories import CampaignFactory

    kwargs.setdefault("status", "running")
    kwargs.setdefault("max_concurrent", 10)
    kwargs.setdefault("calls_per_minute", 60)
    return CampaignFactory(**kwargs)
