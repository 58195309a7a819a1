"""Live supervision across two daphne processes, on the Redis channel layer (issue 10).

Process A (`voice_server`) holds the call: the simulated caller started from
its console dials it, and its media socket and live session stay there.
Process B (`console_server`) holds the operator's console socket and serves
the call page's commands. All they share is PostgreSQL and Redis.

What crosses Redis is watched with Redis's own MONITOR (every command the
server executes, on this test's database): while nobody listens, not one
listen-in batch goes through the channel layer; once the operator on B
listens, the batches that reach B's socket are the ones seen crossing. Then
"say next" and hang-up, sent from B, are carried out by the session on A.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import websockets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.typing import Origin

from calls.models import Call, CallTurn
from tests.e2e.conftest import VoiceServer, run_voice_server
from tests.e2e.live_scripts import CHATTY
from tests.factories import AgentVersionFactory
from voiceops.roles import OPERATOR, role_assign

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="two processes meet only on the Redis channel layer"),
]

QUIET_S = 3.0  # watched with nobody listening (about 19 batches' worth of audio)


@pytest.fixture(scope="module")
def console_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[VoiceServer]:
    """A second daphne process on the same database and Redis: the operator's side."""
    with run_voice_server(warm_up=False) as server:
        yield server


class RedisTraffic:
    """Redis MONITOR on this test's database, in a thread: the commands that mention a marker."""

    def __init__(self, marker: bytes) -> None:
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.marker = marker
        self.matching: list[str] = []
        self.seen = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> RedisTraffic:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.client.echo("stop-monitor")  # wakes the monitor up to see the stop
        self._thread.join(10)

    def _watch(self) -> None:
        with self.client.monitor() as monitor:
            self._ready.set()
            for command in monitor.listen():
                if int(command.get("db", -1)) == self.db:
                    self.seen += 1
                    text = str(command.get("command", ""))
                    if self.marker.decode() in text:
                        self.matching.append(text)
                if self._stop.is_set():
                    return


def operator_cookie() -> str:
    user = get_user_model().objects.create_user(username="two-servers-operator", password="pw-for-tests")
    role_assign(user=user, role=OPERATOR)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def csrf_token(http: httpx.Client, page_url: str) -> str:
    page = http.get(page_url)
    page.raise_for_status()
    found = re.search(r'"X-CSRFToken": "([^"]+)"', page.text)
    assert found, "the console page carries its CSRF token in hx-headers"
    return found.group(1)


def start_simulated_caller(http: httpx.Client, server: VoiceServer, version_pk: int) -> uuid.UUID:
    """'Run a simulated caller' on server A: the persona calls A, whose carrier and engine carry the call."""
    token = csrf_token(http, f"{server.base_url}/test-calls/{version_pk}/")
    response = http.post(
        f"{server.base_url}/test-calls/{version_pk}/simulate/",
        data={"persona": "call_later"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 302, response.text[:500]
    return uuid.UUID(response.headers["location"].rstrip("/").rsplit("/", 1)[-1])


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def command(http: httpx.Client, server: VoiceServer, call_id: uuid.UUID, name: str, **data: str) -> httpx.Response:
    token = csrf_token(http, f"{server.base_url}/calls/{call_id}/")
    return http.post(
        f"{server.base_url}/calls/{call_id}/{name}/",
        data=data,
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )


async def listen_on(server: VoiceServer, cookie: str, call_id: uuid.UUID, batches: int) -> list[dict[str, Any]]:
    """The operator's console socket on `server`: listen to the call until `batches` audio batches came."""
    url = server.base_url.replace("http://", "ws://") + "/ws/console/live/"
    got: list[dict[str, Any]] = []
    headers = {"Cookie": f"sessionid={cookie}"}
    async with websockets.connect(url, origin=Origin(server.base_url), additional_headers=headers) as socket:
        await socket.send(json.dumps({"action": "listen", "call_id": str(call_id)}))
        async with asyncio.timeout(30):
            while len(got) < batches:
                raw = str(await socket.recv())
                if not raw.startswith("{"):
                    continue  # rows and cells for the live list (HTML)
                message = json.loads(raw)
                assert "error" not in message, message
                if "listen" in message:
                    got.append(message["listen"])
        await socket.send(json.dumps({"action": "unlisten"}))
    return got


def test_listen_in_and_commands_cross_from_one_daphne_process_to_another(
    voice_server, console_server, django_db_reset_sequences
):
    cookie = operator_cookie()
    version = AgentVersionFactory(config=CHATTY)
    a = httpx.Client(cookies={"sessionid": cookie}, timeout=30)
    b = httpx.Client(cookies={"sessionid": cookie}, timeout=30)
    call_id = start_simulated_caller(a, voice_server, version.pk)

    # The agent is talking on A (its greeting is stored once it played): a call with audio both ways.
    wait_until(lambda: CallTurn.objects.filter(call_id=call_id, speaker="agent").exists(), 60, "the greeting")
    assert Call.objects.get(pk=call_id).status == Call.Status.IN_PROGRESS

    # Nobody listens: nothing of the call's audio goes through the channel layer.
    with RedisTraffic(b"listen.audio") as quiet:
        time.sleep(QUIET_S)
    assert quiet.seen > 0  # the monitor saw this database's traffic (consoles, leases, broadcasts)
    assert quiet.matching == []

    # The operator listens on B: batches made on A cross Redis and reach B's socket.
    with RedisTraffic(b"listen.audio") as listening:
        batches = asyncio.run(listen_on(console_server, cookie, call_id, batches=8))
    assert all(batch["call_id"] == str(call_id) for batch in batches)
    caller = b"".join(base64.b64decode(batch["caller"]) for batch in batches)
    agent = b"".join(base64.b64decode(batch["agent"]) for batch in batches)
    assert len(caller) >= 8 * 160 * 6  # 8 batches of 160 ms of the caller's line (silence is audio too)
    assert len(agent) > 0
    assert len(listening.matching) >= len(batches)  # each one crossed Redis
    print(f"\nlisten-in: {len(batches)} batches reached B; {len(listening.matching)} listen-in sends seen on Redis")

    # Say next, from B: the session on A acknowledges it and the agent says it at the next pause.
    sentence = "A colleague will call you back this afternoon."
    said = command(b, console_server, call_id, "say", text=sentence)
    assert said.status_code == 200 and "next pause" in said.text, said.text
    wait_until(
        lambda: CallTurn.objects.filter(call_id=call_id, speaker="agent", text=sentence).exists(),
        90,
        "the injected sentence, spoken",
    )

    # Hang up, from B: the session on A ends the call.
    clicked = time.monotonic()
    hung_up = command(b, console_server, call_id, "hangup")
    assert hung_up.status_code == 200 and "Hanging up" in hung_up.text, hung_up.text
    wait_until(lambda: Call.objects.get(pk=call_id).status == Call.Status.COMPLETED, 10, "the call's end")
    print(f"hang-up: the call ended {time.monotonic() - clicked:.2f} s after B's answer was sent")
    call = Call.objects.get(pk=call_id)
    assert call.disposition == "operator_hangup"
    assert CallTurn.objects.filter(call_id=call_id, speaker="system", text="Hung up by two-servers-operator").exists()
    # The session that carried both commands ran on A; B only passed them on.
    assert "operator_command" in voice_server.log_tail(400_000)
    assert "operator_command" not in console_server.log_tail(400_000)
    assert "call_session_finished" not in console_server.log_tail(400_000)
