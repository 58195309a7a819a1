"""A recorded call that moves to a new media stream after DTMF keeps both streams in its recording.

Over the real Media Streams consumer (in process) with real Piper; this side
plays Twilio: a line of quiet caller audio, every mark echoed, and a local
server speaking Twilio's REST shape that takes the TwiML update for the digits.
"""

from __future__ import annotations

import base64
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from calls.models import Call
from live.pipeline.mulaw import mulaw_decode, mulaw_encode
from telephony.tokens import stream_token_make
from tests.e2e.conftest import FakeTwilioApi
from tests.factories import AgentVersionFactory, CallFactory
from tests.telephony.media_support import start_message
from voiceops.asgi import application

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]

CONFIG = {
    "brain": "flow",
    "greeting": "Hello, this is the clinic.",
    "flow": {
        "start": "press",
        "nodes": {
            "press": {"type": "action", "tool": "send_dtmf", "arguments": {"digits": "3"}, "next": "done"},
            "done": {"type": "end", "text": "Goodbye.", "disposition": "reached"},
        },
    },
    "recording": {"enabled": True, "notice": "This call is recorded."},
    "silence": {"reminder_after_s": 120, "reminders": []},
}
# Each stream's caller sends its own constant level, far below speech (the VAD
# skips it as silence), so the recording shows which stream each sample is from.
FIRST_BYTE, SECOND_BYTE = mulaw_encode(np.array([0.001, -0.001], dtype=np.float32))


def pcm16(byte: int) -> int:
    return int(mulaw_decode(bytes([byte]))[0] * 32767)


@pytest.fixture
def twilio_api(settings):
    api = FakeTwilioApi()
    api.start()
    settings.TWILIO_API_BASE_URL = api.base_url
    yield api
    api.stop()


async def run_stream(call: Call, stream_sid: str, byte: int, until) -> int:
    """One media stream, Twilio's side, until `until()` holds; then `stop`. Returns the media frames sent."""
    communicator = WebsocketCommunicator(application, "/ws/twilio/media/")
    assert (await communicator.connect())[0]
    await communicator.send_json_to(start_message(call.twilio_call_sid or "", stream_sid, stream_token_make(call.pk)))
    payload = base64.b64encode(bytes([byte]) * 160).decode()
    sent = 0
    for _ in range(1500):  # about 30 s of 20 ms frames: a bound, not a timing
        if until(sent):
            break
        if await communicator.receive_nothing(timeout=0.02):
            await communicator.send_json_to({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})
            sent += 1
            continue
        event = json.loads(await communicator.receive_from(timeout=5))
        if event["event"] == "mark":
            await communicator.send_json_to({"event": "mark", "streamSid": stream_sid, "mark": event["mark"]})
    else:
        raise AssertionError("the stream never got where the test waits for")
    await communicator.send_json_to({"event": "stop", "streamSid": stream_sid, "stop": {}})
    while True:
        message = await communicator.receive_output(timeout=10)
        if message["type"] == "websocket.close":
            assert message.get("code") == 1000
            return sent


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2)


async def test_the_recording_keeps_the_stream_before_the_digits_and_the_one_after(twilio_api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    version = await sync_to_async(AgentVersionFactory)(config=CONFIG)
    call = await sync_to_async(CallFactory)(agent_version=version)
    path = tmp_path / "recordings" / f"{call.pk}.wav"

    # The first stream: the notice and greeting play, then the agent sends the digits (a TwiML update).
    first_frames = await run_stream(call, "MZ" + "1" * 32, FIRST_BYTE, lambda sent: bool(twilio_api.requests))
    assert "Twiml" in twilio_api.requests[0]["form"]
    await sync_to_async(call.refresh_from_db)()
    assert not call.is_final and call.recording == f"recordings/{call.pk}.wav"
    first = read(path)

    # Twilio plays the digits and connects a new stream to the same call: one second of it.
    second_frames = await run_stream(call, "MZ" + "2" * 32, SECOND_BYTE, lambda sent: sent == 50)
    await sync_to_async(call.refresh_from_db)()
    assert call.status == Call.Status.COMPLETED

    audio = read(path)
    caller, agent = audio[:, 0], audio[:, 1]
    first_caller = first_frames * 160
    second_start = len(audio) - second_frames * 160
    assert np.array_equal(audio[: len(first)], first)  # the first stream's part is all there
    assert np.all(caller[:first_caller] == pcm16(FIRST_BYTE))
    assert np.sqrt(np.mean((agent[: len(first)] / 32768.0) ** 2)) > 0.01  # the notice and greeting
    # The second stream's part comes after it, both channels shifted alike.
    assert second_start >= len(first)
    assert np.all(caller[second_start:] == pcm16(SECOND_BYTE))
    assert not np.any(audio[len(first) : second_start])
