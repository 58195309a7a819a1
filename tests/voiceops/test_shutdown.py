"""Graceful restarts (voiceops.shutdown): draining stops new calls, waits for live ones, then ends the rest."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from calls.models import Call
from telephony.voice import DRAINING_MESSAGE
from tests.factories import AgentVersionFactory, CallFactory, PhoneNumberFactory
from tests.telephony.test_media_consumer import GREETING, close_code, open_stream
from voiceops import health, shutdown
from voiceops.asgi import application


@pytest.fixture(autouse=True)
def serving_again(monkeypatch):
    # A registry of this test's own: media tests elsewhere leave communicators
    # open (no disconnect, so their calls never unregister in the test process).
    monkeypatch.setattr(shutdown, "live_calls", shutdown.LiveCalls())
    health.readiness_reset()
    yield
    health.draining_reset()
    health.readiness_reset()


class FakeCall:
    """A live call that ends when told to, or when the test lets it hang up by itself."""

    def __init__(self, calls: shutdown.LiveCalls, name: str) -> None:
        self.calls, self.name, self.ended_by_shutdown = calls, name, False
        calls.started(self, self.end)

    async def end(self) -> None:
        self.ended_by_shutdown = True
        self.calls.finished(self)

    def hang_up_by_itself(self) -> None:
        self.calls.finished(self)


async def test_drain_waits_for_calls_that_end_by_themselves_and_ends_the_rest():
    calls = shutdown.LiveCalls()
    short, long = FakeCall(calls, "short"), FakeCall(calls, "long")
    asyncio.get_running_loop().call_later(0.05, short.hang_up_by_itself)
    counts = await shutdown.drain(calls, timeout_s=0.5)
    assert counts == {"live_at_start": 2, "finished_by_themselves": 1, "ended_by_shutdown": 1}
    assert not short.ended_by_shutdown and long.ended_by_shutdown
    assert len(calls) == 0
    assert health.is_draining()


async def test_drain_with_no_calls_returns_at_once_and_a_failing_end_still_counts():
    calls = shutdown.LiveCalls()

    async def broken() -> None:
        raise RuntimeError("carrier unreachable")

    calls.started("broken", broken)
    counts = await shutdown.drain(calls, timeout_s=0)
    assert counts["ended_by_shutdown"] == 1 and len(calls) == 0


async def test_the_drain_time_is_read_from_settings(settings):
    settings.SHUTDOWN_DRAIN_S = 0
    calls = shutdown.LiveCalls()
    lingering = FakeCall(calls, "lingering")
    counts = await shutdown.drain(calls)  # no timeout given: SHUTDOWN_DRAIN_S, here zero
    assert counts["ended_by_shutdown"] == 1 and lingering.ended_by_shutdown


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_readyz_fails_while_draining():
    health.mark_draining()
    response = await HttpCommunicator(application, "GET", "/readyz").get_response(timeout=10)
    assert response["status"] == 503
    assert b'"draining"' in response["body"]
    alive = await HttpCommunicator(application, "GET", "/healthz").get_response(timeout=10)
    assert alive["status"] == 200  # draining is not dead: nothing should restart it


@pytest.mark.django_db
def test_the_voice_webhook_answers_politely_and_creates_no_call_while_draining(client):
    version = AgentVersionFactory(config={"brain": "scripted", "greeting": "Hi."})
    number = PhoneNumberFactory(agent=version.agent)
    health.mark_draining()
    response = client.post("/twilio/voice/", {"CallSid": "CA" + "3" * 32, "From": "+12125550100", "To": number.e164})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<Say>" + DRAINING_MESSAGE + "</Say>" in body and "<Hangup" in body and "<Stream" not in body
    assert not Call.objects.filter(twilio_call_sid="CA" + "3" * 32).exists()


@pytest.mark.django_db
def test_an_outbound_attempt_answered_while_draining_fails_so_the_dialer_retries_it(client):
    call = CallFactory(direction=Call.Direction.OUTBOUND, status=Call.Status.RINGING)
    health.mark_draining()
    response = client.post(f"/twilio/voice/?call={call.pk}", {"CallSid": "CA" + "4" * 32})
    assert DRAINING_MESSAGE in response.content.decode()
    call.refresh_from_db()
    assert call.status == Call.Status.FAILED and call.failure_reason.startswith("server restarting")
    # A malformed call id is still answered politely, not with an error.
    assert client.post("/twilio/voice/?call=not-a-uuid", {"CallSid": "CA" + "5" * 32}).status_code == 200


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_a_live_media_call_is_ended_cleanly_at_the_drain_deadline():
    call = await sync_to_async(CallFactory)(
        agent_version=await sync_to_async(AgentVersionFactory)(config=GREETING), status=Call.Status.IN_PROGRESS
    )
    communicator = await open_stream(call)
    for _ in range(200):  # the session registers itself once its start is handled
        if len(shutdown.live_calls):
            break
        await asyncio.sleep(0.05)
    assert len(shutdown.live_calls) == 1
    counts = await shutdown.drain(timeout_s=0)
    assert counts["ended_by_shutdown"] == 1
    assert await close_code(communicator) == 1000
    await sync_to_async(call.refresh_from_db)()
    assert call.status == Call.Status.COMPLETED
    assert call.disposition == "server_shutdown"
    assert len(shutdown.live_calls) == 0
