"""A reply to the caller replaces the agent's words still playing, even where barge-in is off.

Over the real Media Streams consumer (in process) with real Whisper and Piper;
this side plays Twilio and the caller: the caller says a sentence over a long
greeting, every mark is echoed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from sandbox.simulator import speak
from telephony.tokens import stream_token_make
from tests.factories import AgentVersionFactory, CallFactory
from tests.telephony.media_support import start_message
from voiceops.asgi import application

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]

STREAM = "MZ" + "9" * 32
GREETING = (
    "Thank you for calling the dental office. We are open from eight in the morning to six in the evening. "
    "You can book, move or cancel an appointment with me. Tell me what you need and I will find a time for you."
)
REPLY = "Friday morning works for us."
CONFIG = {
    "brain": "scripted",
    "greeting": GREETING,
    "script": [REPLY],
    # The caller's words never cut the agent off by themselves: only the reply to them can.
    "turn_taking": {"interruptible": False},
    "silence": {"reminder_after_s": 120, "reminders": []},
}
SILENCE = b"\xff" * 160


async def wait_for_turns(call, count):
    """The call's turns once `count` are stored (the session writes them off the media path)."""
    for _ in range(200):  # a bound, not a timing
        turns = await sync_to_async(lambda: list(call.turns.order_by("index")))()
        if len(turns) >= count:
            return turns
        await asyncio.sleep(0.05)
    return turns


async def test_the_reply_cuts_off_the_greeting_and_keeps_what_was_heard():
    version = await sync_to_async(AgentVersionFactory)(config=CONFIG)
    call = await sync_to_async(CallFactory)(agent_version=version)
    said = await sync_to_async(speak)("Could I come in on Friday morning instead?")
    # Half a second of line, the caller's sentence over the greeting, then a quiet line.
    line = [SILENCE] * 25 + [said[i : i + 160].ljust(160, b"\xff") for i in range(0, len(said), 160)]
    communicator = WebsocketCommunicator(application, "/ws/twilio/media/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(start_message(call.twilio_call_sid, STREAM, stream_token_make(call.pk)))
    sent = 0

    async def line_of_audio() -> None:
        # Twilio's side: one frame every 20 ms whatever the agent sends meanwhile.
        nonlocal sent
        loop = asyncio.get_running_loop()
        begin = loop.time()
        while True:
            frame = line[sent] if sent < len(line) else SILENCE
            payload = base64.b64encode(frame).decode()
            await communicator.send_json_to({"event": "media", "streamSid": STREAM, "media": {"payload": payload}})
            sent += 1
            await asyncio.sleep(max(0.0, begin + sent * 0.02 - loop.time()))

    feeder = asyncio.create_task(line_of_audio())
    cleared_after = None
    while True:
        event = json.loads(await communicator.receive_from(timeout=30))
        if event["event"] == "clear":
            cleared_after = sent
        elif event["event"] == "mark":
            await communicator.send_json_to({"event": "mark", "streamSid": STREAM, "mark": event["mark"]})
            if cleared_after is not None:
                break  # the first mark after the clear ends the reply
    turns = await wait_for_turns(call, 3)
    feeder.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await feeder
    await communicator.send_json_to({"event": "stop", "streamSid": STREAM, "stop": {}})
    while (await communicator.receive_output(timeout=10))["type"] != "websocket.close":
        pass

    assert cleared_after is not None and cleared_after > len(line)  # cut off once the caller's turn was over
    assert [t.speaker for t in turns] == ["agent", "caller", "agent"], [(t.speaker, t.text) for t in turns]
    greeting, _, reply = turns
    assert greeting.text == GREETING and greeting.interrupted
    heard = greeting.heard_text.split()
    assert 0 < len(heard) < len(GREETING.split()) and GREETING.split()[: len(heard)] == heard
    assert reply.text == REPLY and reply.heard_text == REPLY and not reply.interrupted
