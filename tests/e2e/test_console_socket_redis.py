"""Production sockets: a console socket stays open for a minute on the Redis channel layer.

With redis-py 8's default 5 s read timeout, channels-redis's 5 s BZPOPMIN on
an idle socket raced the client's timeout and the consumer died with
"Timeout reading from 127.0.0.1:6379" (twice in 15 s in the issue's run); the
browser reconnected, so nothing showed, but an operator listening in lost
the audio. Here a real daphne process holds a logged-in console socket for
60 s, mostly idle, while this process changes calls; every change must reach
the same socket, and the server must log no Redis timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.typing import Origin

from calls.models import Call
from calls.services import call_set_status
from tests.e2e.conftest import VoiceServer, run_voice_server
from tests.factories import CallFactory
from voiceops.roles import OPERATOR, role_assign

pytestmark = [
    pytest.mark.django_db(transaction=True, reset_sequences=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis channel layer is what this test is about"),
]

HOLD_S = 60.0
CHANGES = ("initiated", "ringing", "in-progress", "completed")  # one every HOLD_S / len(CHANGES) seconds


@pytest.fixture
def console_server(transactional_db: None) -> Iterator[VoiceServer]:
    with run_voice_server(warm_up=False) as server:
        yield server


def operator_cookie() -> str:
    user = get_user_model().objects.create_user(username="listening-operator", password="pw-for-tests")
    role_assign(user=user, role=OPERATOR)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def hold_console(server: VoiceServer, cookie: str, call: Call) -> list[str]:
    """Keep one console socket open HOLD_S seconds, changing the call now and then; the rows that came back."""
    url = server.base_url.replace("http://", "ws://") + "/ws/console/live/"
    rows: list[str] = []
    origin = Origin(server.base_url)
    async with websockets.connect(url, origin=origin, additional_headers={"Cookie": cookie}) as socket:
        started = time.monotonic()
        for index, status in enumerate(CHANGES):
            # Idle until the next change: the stretch in which the old setting timed out.
            await asyncio.sleep(max(0.0, started + (index + 1) * HOLD_S / len(CHANGES) - 2 - time.monotonic()))
            await sync_to_async(call_set_status)(call_id=call.pk, status=status)
            async with asyncio.timeout(10):
                rows.append(str(await socket.recv()))  # a closed socket raises ConnectionClosed: the test fails
        assert time.monotonic() - started >= HOLD_S - 3
    return rows


def test_a_console_socket_stays_open_a_minute_on_the_redis_layer(console_server):
    cookie = operator_cookie()
    call = CallFactory()

    rows = asyncio.run(hold_console(console_server, cookie, call))

    assert len(rows) == len(CHANGES)
    assert all(f'id="call-{call.pk}"' in row for row in rows)
    log = console_server.log_tail(200_000)
    assert "Timeout reading" not in log and "Exception inside application" not in log
