"""The console sockets of live supervision: who may watch, listen and call from the browser, over real Redis.

A stand-in for a call's session joins the call's control group, as the live
engine does (live.supervision.ChannelLayerLink), to see what consoles ask of it
and to answer them.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from calls.commands import NO_SESSION
from calls.models import Call
from live.supervision import ACK, ACK_TIMEOUT_S, control_group
from tests.factories import AgentVersionFactory, CallFactory
from voiceops.asgi import application
from voiceops.realtime import speaker_publish
from voiceops.roles import OPERATOR, VIEWER, role_assign

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

LIVE = "/ws/console/live/"
SAME_ORIGIN = (b"origin", b"http://127.0.0.1:8000")
FOREIGN_ORIGIN = (b"origin", b"https://evil.example")


def cookie_for(role: str) -> tuple[bytes, bytes]:
    user = get_user_model().objects.create_user(username=f"{role}-sock", password="pw-for-tests")
    role_assign(user=user, role=role)
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


# The session's own layer instance, as in the daphne process that holds the call
# (sharing the consoles' instance would share its receive loop too).
SESSION_LAYER = (
    get_channel_layer()  # the embedded default's in-memory layer: one per process, shared
    if "InMemory" in channel_layers.configs["default"]["BACKEND"]
    else channel_layers.make_backend("default")
)


async def session_stand_in(call_id) -> str:
    channel = await SESSION_LAYER.new_channel()
    await SESSION_LAYER.group_add(control_group(call_id), channel)
    return channel


async def open_socket(path: str, *headers: tuple[bytes, bytes]) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_a_viewer_may_watch_a_call_but_not_listen_in():
    cookie = await sync_to_async(cookie_for)(VIEWER)
    call = await sync_to_async(CallFactory)()
    session = await session_stand_in(call.pk)
    layer = SESSION_LAYER
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await communicator.send_json_to({"action": "watch", "call_id": str(call.pk)})
    joined = await asyncio.wait_for(layer.receive(session), 10)
    assert joined["type"] == "watch.join" and joined["reply_to"]

    await communicator.send_json_to({"action": "listen", "call_id": str(call.pk)})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"error": "forbidden", "action": "listen"}
    await communicator.disconnect()
    left = await asyncio.wait_for(layer.receive(session), 10)
    assert left["type"] == "watch.leave"


async def test_an_operator_listening_gets_the_audio_batches_of_that_call_only():
    cookie = await sync_to_async(cookie_for)(OPERATOR)
    call, other = await sync_to_async(CallFactory)(), await sync_to_async(CallFactory)()
    session = await session_stand_in(call.pk)
    layer = SESSION_LAYER
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await communicator.send_json_to({"action": "listen", "call_id": str(call.pk)})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"listening": str(call.pk)}
    joined = await asyncio.wait_for(layer.receive(session), 10)
    assert joined["type"] == "listen.join"
    await layer.send(joined["reply_to"], {"type": ACK, "call_id": str(call.pk), "of": "listen.join"})

    batch = {"type": "listen.audio", "call_id": str(call.pk), "caller": "//8=", "agent": "", "t0": 1.5}
    await layer.send(joined["reply_to"], {**batch, "call_id": str(other.pk)})  # not the call listened to
    await layer.send(joined["reply_to"], batch)
    received = json.loads(await communicator.receive_from(timeout=5))
    assert received == {"listen": {"call_id": str(call.pk), "caller": "//8=", "agent": "", "t0": 1.5}}

    await communicator.send_json_to({"action": "unlisten"})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"listening": None}
    assert (await asyncio.wait_for(layer.receive(session), 10))["type"] == "listen.leave"
    await communicator.disconnect()


async def test_a_watcher_gets_the_reply_in_progress_rendered_with_heard_and_pending_words():
    cookie = await sync_to_async(cookie_for)(VIEWER)
    call = await sync_to_async(CallFactory)()
    session = await session_stand_in(call.pk)
    layer = SESSION_LAYER
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected
    await communicator.send_json_to({"action": "watch", "call_id": str(call.pk)})
    joined = await asyncio.wait_for(layer.receive(session), 10)

    await layer.send(
        joined["reply_to"],
        {
            "type": "call.live",
            "call_id": str(call.pk),
            "speaking": "Friday at nine works. Shall I book it?",
            "heard": "Friday at nine works.",
            "stages": {"stt_done": 410, "first_brain_text": 450},
        },
    )
    html = await communicator.receive_from(timeout=5)
    assert f'id="live-{call.pk}"' in html and 'hx-swap-oob="true"' in html
    assert '<span class="heard" title="heard by the caller">Friday at nine works.</span>' in html
    assert '<span class="pending" title="not heard yet">Shall I book it?</span>' in html
    assert "brain 450 ms" in html  # the latency bar, drawn up to the last stage reached
    await communicator.disconnect()


async def test_a_stored_turn_re_renders_the_watched_calls_transcript():
    from calls.services import call_add_turn

    cookie = await sync_to_async(cookie_for)(VIEWER)
    call = await sync_to_async(CallFactory)()
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected
    await communicator.send_json_to({"action": "watch", "call_id": str(call.pk)})

    await sync_to_async(call_add_turn)(call_id=call.pk, speaker="caller", text="Can I come on Friday?")
    messages = [await communicator.receive_from(timeout=10) for _ in range(2)]
    panel = next(message for message in messages if f'id="call-panel-{call.pk}"' in message)
    assert "Can I come on Friday?" in panel
    await communicator.disconnect()


@pytest.mark.parametrize("path", [LIVE, "/ws/console/test-call/1/"])
async def test_a_foreign_origin_is_refused_on_every_console_socket(path):
    cookie = await sync_to_async(cookie_for)(OPERATOR)
    _, connected, _ = await open_socket(path, FOREIGN_ORIGIN, cookie)
    assert not connected


async def closed_with(communicator: WebsocketCommunicator) -> int:
    """A browser-call refusal: accepted, then closed with a code saying why (a page can show it)."""
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    return int(message["code"])


async def test_a_browser_test_call_needs_a_session_and_an_operator():
    version = await sync_to_async(AgentVersionFactory)()
    path = f"/ws/console/test-call/{version.pk}/"
    communicator, _, _ = await open_socket(path, SAME_ORIGIN)
    assert await closed_with(communicator) == 4401
    cookie = await sync_to_async(cookie_for)(VIEWER)
    communicator, _, _ = await open_socket(path, SAME_ORIGIN, cookie)
    assert await closed_with(communicator) == 4403
    assert not await sync_to_async(Call.objects.filter(agent_version=version).exists)()


async def test_a_browser_test_call_on_a_missing_version_is_refused():
    cookie = await sync_to_async(cookie_for)(OPERATOR)
    communicator, _, _ = await open_socket("/ws/console/test-call/999999/", SAME_ORIGIN, cookie)
    assert await closed_with(communicator) == 4404


async def test_the_live_list_row_follows_each_stored_turn_and_goes_when_the_call_ends():
    from calls.services import call_add_turn, call_set_status

    cookie = await sync_to_async(cookie_for)(VIEWER)
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await sync_to_async(call_add_turn)(call_id=call.pk, speaker="caller", text="Do you have parking nearby?")
    message = await communicator.receive_from(timeout=10)
    assert f'id="call-{call.pk}"' in message  # the call list's row and the live list's, in one message
    assert f'<tr id="live-call-{call.pk}" hx-swap-oob="true">' in message
    assert "Do you have parking nearby?" in message  # the last words; who speaks now comes from the session

    await sync_to_async(call_set_status)(call_id=call.pk, status=Call.Status.COMPLETED)
    message = await communicator.receive_from(timeout=10)
    assert f'<tr id="live-call-{call.pk}" hx-swap-oob="delete"></tr>' in message
    await communicator.disconnect()


async def test_listening_to_a_call_no_session_holds_tells_the_operator_so():
    cookie = await sync_to_async(cookie_for)(OPERATOR)
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)  # and no session anywhere
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await communicator.send_json_to({"action": "listen", "call_id": str(call.pk)})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"listening": str(call.pk)}
    refusal = json.loads(await communicator.receive_from(timeout=ACK_TIMEOUT_S + 5))
    assert refusal == {
        "error": "no live session",
        "action": "listen",
        "message": f"Nothing to listen to: {NO_SESSION}.",
    }
    assert await communicator.receive_nothing(timeout=RENEW_WAIT_S)  # and no more leases are asked for
    await communicator.disconnect()


RENEW_WAIT_S = 0.5


@pytest.mark.parametrize("status", [Call.Status.RINGING, Call.Status.IN_PROGRESS])
async def test_listening_to_a_call_still_connecting_waits_for_its_session(status):
    from django.utils import timezone

    cookie = await sync_to_async(cookie_for)(OPERATOR)
    # Ringing, or answered a moment ago: its session may not have joined the call's group yet.
    call = await sync_to_async(CallFactory)(status=status, answered_at=timezone.now())
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await communicator.send_json_to({"action": "listen", "call_id": str(call.pk)})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"listening": str(call.pk)}
    assert await communicator.receive_nothing(timeout=ACK_TIMEOUT_S + 1)  # no complaint: it may still connect
    await communicator.disconnect()


async def test_a_listen_lease_the_session_acknowledges_gets_no_complaint():
    cookie = await sync_to_async(cookie_for)(OPERATOR)
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    session = await session_stand_in(call.pk)
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await communicator.send_json_to({"action": "listen", "call_id": str(call.pk)})
    joined = await asyncio.wait_for(SESSION_LAYER.receive(session), 10)
    await SESSION_LAYER.send(joined["reply_to"], {"type": ACK, "call_id": str(call.pk), "of": "listen.join"})
    assert json.loads(await communicator.receive_from(timeout=5)) == {"listening": str(call.pk)}
    assert await communicator.receive_nothing(timeout=ACK_TIMEOUT_S + 0.5)
    await communicator.disconnect()


async def test_the_live_list_shows_who_is_speaking_now_as_the_session_publishes_it():
    cookie = await sync_to_async(cookie_for)(VIEWER)
    call = await sync_to_async(CallFactory)(status=Call.Status.IN_PROGRESS)
    communicator, connected, _ = await open_socket(LIVE, SAME_ORIGIN, cookie)
    assert connected

    await speaker_publish(str(call.pk), "caller")
    cell = await communicator.receive_from(timeout=10)
    assert cell.startswith(
        f'<td class="current-speaker" id="speaker-{call.pk}" data-speaking="caller" hx-swap-oob="true">'
    )
    assert ">Caller</td>" in cell
    await speaker_publish(str(call.pk), "agent")
    assert ">Agent</td>" in await communicator.receive_from(timeout=10)
    await communicator.disconnect()

    # A page rendered later (the list's poll, another process's page) shows the same.
    client = Client()
    await sync_to_async(client.force_login)(await sync_to_async(get_user_model().objects.get)(username="viewer-sock"))
    page = (await sync_to_async(client.get)("/")).content.decode()
    assert f'id="speaker-{call.pk}" data-speaking="agent">Agent</td>' in page
