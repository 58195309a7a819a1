"""The Media Streams socket with channels' WebsocketCommunicator: bad input is refused without harm."""

from __future__ import annotations

import base64
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call
from telephony.tokens import stream_token_make
from tests.factories import AgentVersionFactory, CallFactory
from tests.telephony.media_support import media, start_message
from voiceops.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

GREETING = {"brain": "scripted", "greeting": "Hello, you are through to the test line.", "script": []}


SILENCE = base64.b64encode(b"\xff" * 160).decode()


@pytest.fixture
def live_call():
    return CallFactory(agent_version=AgentVersionFactory(config=GREETING))


async def open_stream(call, stream_sid="MZ" + "a" * 32, token=None):
    communicator = WebsocketCommunicator(application, "/ws/twilio/media/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"event": "connected", "protocol": "Call", "version": "1.0.0"})
    token = token or stream_token_make(call.pk)
    await communicator.send_json_to(start_message(call.twilio_call_sid, stream_sid, token))
    return communicator


async def close_code(communicator, seconds=10):
    while True:
        message = await communicator.receive_output(seconds)
        if message["type"] == "websocket.close":
            return message.get("code")


async def refresh(call):
    await sync_to_async(call.refresh_from_db)()
    return call


async def test_forged_token_is_refused_and_the_call_is_untouched(live_call):
    communicator = await open_stream(live_call, token="forged-token")
    assert await close_code(communicator) == 4403
    call = await refresh(live_call)
    assert call.status == Call.Status.QUEUED and not call.failure_reason


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [
        ("this is not json", 4400, "not JSON"),
        ({"event": "dance"}, 4400, "unknown event"),
        (media("MZ" + "a" * 32, "%%% not base64 %%%"), 4400, "base64"),
        (media("MZ" + "b" * 32, SILENCE), 4404, "unknown stream"),
    ],
)
async def test_bad_input_closes_with_a_clear_code_and_fails_the_call(live_call, message, code, reason):
    communicator = await open_stream(live_call)
    await communicator.send_json_to(media("MZ" + "a" * 32, SILENCE))
    if isinstance(message, str):
        await communicator.send_to(text_data=message)
    else:
        await communicator.send_json_to(message)
    assert await close_code(communicator) == code
    call = await refresh(live_call)
    assert call.status == Call.Status.FAILED
    assert reason in call.failure_reason


async def test_other_calls_keep_talking_when_one_sends_garbage(live_call):
    good_call = await sync_to_async(CallFactory)(agent_version=live_call.agent_version)
    good = await open_stream(good_call, stream_sid="MZ" + "c" * 32)
    bad = await open_stream(live_call)
    await bad.send_to(text_data="{broken")
    assert await close_code(bad) == 4400

    # The good call's greeting still arrives as paced 20 ms mu-law frames with a mark.
    frames, mark = 0, None
    while mark is None:
        await good.send_json_to(media("MZ" + "c" * 32, SILENCE))
        message = json.loads(await good.receive_from(timeout=20))
        assert message["streamSid"] == "MZ" + "c" * 32
        if message["event"] == "media":
            assert len(base64.b64decode(message["media"]["payload"])) == 160
            frames += 1
        elif message["event"] == "mark":
            mark = message["mark"]["name"]
    assert frames > 50  # about two seconds of greeting
    await good.send_json_to({"event": "mark", "streamSid": "MZ" + "c" * 32, "mark": {"name": mark}})
    await good.send_json_to({"event": "stop", "streamSid": "MZ" + "c" * 32, "stop": {}})
    assert await close_code(good) == 1000
    call = await refresh(good_call)
    assert call.status == Call.Status.COMPLETED
    turns = await sync_to_async(list)(call.turns.all())
    assert [(t.speaker, t.text, t.heard_text) for t in turns] == [("agent", GREETING["greeting"], GREETING["greeting"])]
