"""The operators' live console socket: same-origin browsers with a logged-in session only.

Over the real Redis channel layer: a call changing state reaches an open
console as a re-rendered htmx row.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from calls.models import Call
from calls.services import call_set_status
from tests.factories import CallFactory
from voiceops.asgi import application
from voiceops.realtime import CONSOLE_GROUP
from voiceops.roles import OPERATOR, role_assign

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

PATH = "/ws/console/live/"
SAME_ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_cookie() -> tuple[bytes, bytes]:
    user = get_user_model().objects.create_user(username="operator", password="pw-for-tests")
    role_assign(user=user, role=OPERATOR)  # a user without a role is refused (tests/voiceops/test_roles.py)
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def test_an_anonymous_browser_is_refused():
    communicator = WebsocketCommunicator(application, PATH, headers=[SAME_ORIGIN])
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_a_foreign_origin_is_refused_even_with_a_session():
    cookie = await sync_to_async(session_cookie)()
    communicator = WebsocketCommunicator(application, PATH, headers=[(b"origin", b"https://evil.example"), cookie])
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_logged_in_console_gets_the_changed_call_row():
    cookie = await sync_to_async(session_cookie)()
    call = await sync_to_async(CallFactory)()
    communicator = WebsocketCommunicator(application, PATH, headers=[SAME_ORIGIN, cookie])
    connected, _ = await communicator.connect()
    assert connected

    await sync_to_async(call_set_status)(call_id=call.pk, status=Call.Status.RINGING)

    html = await communicator.receive_from(timeout=10)
    assert f'id="call-{call.pk}"' in html and 'hx-swap-oob="true"' in html
    assert "Ringing" in html
    await communicator.disconnect()


async def test_one_message_naming_several_calls_sends_each_existing_row():
    cookie = await sync_to_async(session_cookie)()
    first, second = await sync_to_async(CallFactory)(), await sync_to_async(CallFactory)()
    communicator = WebsocketCommunicator(application, PATH, headers=[SAME_ORIGIN, cookie])
    connected, _ = await communicator.connect()
    assert connected

    gone = "00000000-0000-0000-0000-000000000000"  # deleted since: nothing to render, nothing sent
    await get_channel_layer().group_send(
        CONSOLE_GROUP, {"type": "calls.changed", "call_ids": [str(second.pk), gone, str(first.pk)]}
    )

    rows = [await communicator.receive_from(timeout=10) for _ in range(2)]
    assert f'id="call-{second.pk}"' in rows[0] and f'id="call-{first.pk}"' in rows[1]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
