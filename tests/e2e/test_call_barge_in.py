"""Barge-in and recording over the real protocol: the caller talks over a long greeting."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from rapidfuzz import fuzz

from calls.models import Call
from sandbox.personas import Persona
from sandbox.simulator import simulate_call
from tests.factories import AgentVersionFactory, PhoneNumberFactory

pytestmark = [pytest.mark.e2e]

CONFIG = {
    "brain": "scripted",
    "greeting": (
        "Thank you for calling the dental office. We are open from eight to six on weekdays. "
        "You can book, move or cancel an appointment with me. How can I help you today?"
    ),
    "script": ["Friday at nine is yours. Goodbye! [hangup:booked]"],
    "recording": {"enabled": True, "notice": "This call is recorded."},
    "turn_taking": {"barge_in_min_ms": 300, "end_of_turn_silence_ms": 500},
}


def test_caller_barges_in_and_only_heard_words_are_kept(voice_server, speech_engines, transactional_db):
    version = AgentVersionFactory(config=CONFIG)
    number = PhoneNumberFactory(agent=version.agent)
    # No comma inside the line (see test_call_conversation: a pause there can end the turn).
    persona = Persona(name="hurried", lines=["Sorry to interrupt but can I come in on Friday morning?"], barge_in=True)

    result = asyncio.run(
        simulate_call(
            base_url=voice_server.base_url,
            persona=persona,
            to_number=number.e164,
            from_number="+12125550143",
            auth_token=voice_server.auth_token,
            max_seconds=60,
        )
    )

    assert result.clears >= 1, result
    assert len(result.barge_in_clear_ms) == 1
    call = Call.objects.get(twilio_call_sid=result.call_sid)
    assert call.disposition == "booked"
    turns = list(call.turns.order_by("index"))
    first_agent = next(t for t in turns if t.speaker == "agent")
    # The recording notice is spoken first; the caller cut the agent off early.
    assert first_agent.text.startswith(CONFIG["recording"]["notice"])
    assert first_agent.interrupted
    heard = first_agent.heard_text.split()
    assert len(heard) < len(first_agent.text.split())
    assert first_agent.text.split()[: len(heard)] == heard
    caller = [t.text for t in turns if t.speaker == "caller"]
    assert len(caller) == 1 and fuzz.ratio(caller[0].lower(), persona.lines[0].lower()) > 75
    last_agent = [t for t in turns if t.speaker == "agent"][-1]
    assert last_agent.text == "Friday at nine is yours. Goodbye!" and not last_agent.interrupted
    # What the caller heard of the greeting was cut short too.
    assert sum(len(a) for a in result.agent_audio[:1]) / 8000 < 4.0

    # Stereo recording: caller left, agent right, time-aligned.
    assert call.recording == f"recordings/{call.pk}.wav"
    with wave.open(str(Path(settings.MEDIA_ROOT) / call.recording)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).reshape(-1, 2) / 32768.0
    caller_rms = np.sqrt(np.mean(pcm[:, 0] ** 2))
    agent_rms = np.sqrt(np.mean(pcm[:, 1] ** 2))
    assert caller_rms > 0.01 and agent_rms > 0.01
    # Where the caller talks over the agent, the agent channel goes quiet soon after (the clear).
    loud_caller = np.nonzero(np.abs(pcm[:, 0]) > 0.1)[0]
    first_caller = loud_caller[0]
    after = pcm[first_caller + 8000 : first_caller + 16000, 1]  # 1-2 s after the caller started
    assert np.sqrt(np.mean(after**2)) < agent_rms / 4
