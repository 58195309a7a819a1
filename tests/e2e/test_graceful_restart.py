"""Restarts with calls in flight, against real daphne processes.

SIGTERM: the process drains (readyz 503, the voice webhook answers politely),
lets the live call run until SHUTDOWN_DRAIN_S, then ends it cleanly (socket
closed normally, call completed with disposition server_shutdown) and exits.

SIGKILL: a process dies with calls in flight; the carrier (this test's own
simulated carrier, whose callee is the persona simulator) sees the calls end,
but the status callbacks it sends go to the dead process and are lost. The
reconcile task settles the calls from the carrier's REST API.
"""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from calls.models import Call
from calls.reconcile import calls_reconcile
from sandbox import carrier
from telephony.rest import twilio_create_call
from telephony.signature import signature_compute
from telephony.tokens import stream_token_make
from telephony.voice import DRAINING_MESSAGE
from tests.e2e.conftest import E2E_ACCOUNT_SID, E2E_AUTH_TOKEN, run_voice_server
from tests.factories import AgentVersionFactory, CallFactory, LeadFactory
from tests.sandbox.carrier_support import LocalCarrier
from tests.telephony.media_support import start_message

pytestmark = [pytest.mark.e2e]

# Long enough to be still talking when the process is stopped.
LONG_GREETING = " ".join(
    f"This is sentence number {n} of a long announcement that keeps the line busy for a while." for n in range(1, 9)
)


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigterm_drains_then_ends_the_live_call_cleanly(transactional_db):
    version = AgentVersionFactory(config={"brain": "scripted", "greeting": LONG_GREETING, "script": []})
    call = CallFactory(agent_version=version)
    with run_voice_server(env={"SHUTDOWN_DRAIN_S": "3"}) as server:
        ws_url = server.base_url.replace("http", "ws") + "/ws/twilio/media/"
        with connect(ws_url, open_timeout=10) as socket:
            socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            socket.send(json.dumps(start_message(call.twilio_call_sid, "MZ" + "d" * 32, stream_token_make(call.pk))))
            _wait(lambda: json.loads(socket.recv(timeout=10)).get("event") == "media", 60, "the greeting's audio")

            server.process.send_signal(signal.SIGTERM)

            ready = _wait(
                lambda: (r := httpx.get(server.base_url + "/readyz", timeout=5)).status_code == 503 and r,
                10,
                "readyz to fail",
            )
            assert ready.json()["status"] == "draining"
            url = server.base_url + "/twilio/voice/"
            params = {"CallSid": "CA" + "9" * 32, "From": "+12125550100", "To": "+15005550006"}
            headers = {"X-Twilio-Signature": signature_compute(url, params, auth_token=server.auth_token)}
            answer = httpx.post(url, data=params, headers=headers, timeout=10)
            assert answer.status_code == 200 and DRAINING_MESSAGE in answer.text and "<Stream" not in answer.text

            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    socket.recv(timeout=30)  # the greeting keeps streaming until the drain ends the call
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        assert server.process.wait(timeout=60) == 0, server.log_tail()
    call.refresh_from_db()
    assert (call.status, call.disposition) == (Call.Status.COMPLETED, "server_shutdown")
    assert '"shutdown_drained"' in server.log_tail(200_000)


def test_calls_of_a_killed_process_are_reconciled_from_the_carrier(transactional_db, settings, speech_engines):
    version = AgentVersionFactory(config={"brain": "scripted", "greeting": LONG_GREETING, "script": []})
    with run_voice_server() as server:
        settings.SIMULATED_CARRIER = True
        settings.TWILIO_ACCOUNT_SID = E2E_ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = E2E_AUTH_TOKEN  # the carrier signs its callbacks for the server
        settings.PUBLIC_BASE_URL = server.base_url  # where the carrier's callee (the simulator) calls
        local = LocalCarrier()
        local.start()
        settings.TWILIO_API_BASE_URL = local.base_url
        try:
            calls, sids = [], []
            for n in range(2):
                lead = LeadFactory(phone=f"+1212555017{n}", custom_fields={"persona": "smalltalk"})
                call = CallFactory(
                    direction=Call.Direction.OUTBOUND, agent_version=version, twilio_call_sid=None, lead=lead
                )
                sids.append(
                    twilio_create_call(
                        to=lead.phone,
                        from_="+15005550006",
                        url=f"{server.base_url}/twilio/voice/?call={call.pk}",
                        status_callback=f"{server.base_url}/twilio/status/?call={call.pk}",
                        status_callback_event=["initiated", "ringing", "answered", "completed"],
                    )
                )
                calls.append(call)

            def all_talking() -> bool:
                return all(
                    Call.objects.filter(pk=c.pk, status=Call.Status.IN_PROGRESS).exclude(stream_sid="").exists()
                    for c in calls
                )

            _wait(all_talking, 90, "both calls to be in progress with a media stream")
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=30)
            for sid in sids:  # the callee hears the line drop; the carrier's final callbacks go nowhere
                assert carrier.wait_for(sid, timeout=60).status == "completed"
            assert all(Call.objects.get(pk=c.pk).status == Call.Status.IN_PROGRESS for c in calls)

            result = calls_reconcile(older_than_s=0)
        finally:
            local.stop()
    print(f"\nin flight when killed: {len(calls)}; reconciled: {len(result.moved)}")
    assert sorted(map(str, result.moved)) == sorted(str(c.pk) for c in calls)
    for call in calls:
        call.refresh_from_db()
        assert call.status == Call.Status.COMPLETED and call.ended_at is not None
