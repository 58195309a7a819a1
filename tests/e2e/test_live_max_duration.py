"""The maximum call duration: the agent ends a call that runs too long, whatever is happening.

Over the real Media Streams consumer (in process), real Piper for the greeting.
"""

from __future__ import annotations

import base64
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call
from telephony.tokens import stream_token_make
from tests.factories import AgentVersionFactory, CallFactory
from tests.telephony.media_support import start_message
from voiceops.asgi import application

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]

SILENCE = base64.b64encode(b"\xff" * 160).decode()
STREAM = "MZ" + "d" * 32
CONFIG = {
    "brain": "scripted",
    "greeting": "Hello.",
    "script": [],
    "max_duration_s": 10,  # the smallest the schema allows
    # No silence reminder or silence hang-up can come first.
    "silence": {"reminder_after_s": 120, "reminders": []},
}


async def test_the_call_ends_at_its_maximum_duration():
    call = await sync_to_async(CallFactory)(agent_version=await sync_to_async(AgentVersionFactory)(config=CONFIG))
    communicator = WebsocketCommunicator(application, "/ws/twilio/media/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(start_message(call.twilio_call_sid, STREAM, stream_token_make(call.pk)))
    # Twilio's side: a line of silence, every mark echoed, until the server closes.
    code = None
    for _ in range(2000):  # about 40 s of 20 ms frames: a bound, not a timing
        if await communicator.receive_nothing(timeout=0.02):
            await communicator.send_json_to({"event": "media", "streamSid": STREAM, "media": {"payload": SILENCE}})
            continue
        message = await communicator.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            code = message.get("code")
            break
        event = json.loads(message["text"])
        if event["event"] == "mark":
            await communicator.send_json_to({"event": "mark", "streamSid": STREAM, "mark": event["mark"]})
    assert code == 1000

    await sync_to_async(call.refresh_from_db)()
    assert call.status == Call.Status.COMPLETED
    assert call.disposition == "max_duration"
    texts = await sync_to_async(lambda: [t.text for t in call.turns.filter(speaker="agent")])()
    assert texts == ["Hello."]
