"""A whole call over the real protocol: real daphne, real models, the simulator as Twilio."""

from __future__ import annotations

import asyncio

import pytest
from rapidfuzz import fuzz

from calls.models import Call, CallTurn
from sandbox.personas import Persona
from sandbox.simulator import simulate_call
from tests.factories import AgentVersionFactory, PhoneNumberFactory

pytestmark = [pytest.mark.e2e]

SCRIPTED = {
    "brain": "scripted",
    "greeting": "Hello, this is the dental office.",
    "script": [
        "Your appointment is booked for Tuesday at ten.",
        "Thank you for calling. Goodbye! [hangup:booked]",
    ],
    "turn_taking": {"end_of_turn_silence_ms": 500},
}


def similar(a: str, b: str) -> float:
    return fuzz.ratio(a.lower().strip(" .!?"), b.lower().strip(" .!?"))


def test_scripted_call_end_to_end(voice_server, speech_engines, transactional_db):
    version = AgentVersionFactory(config=SCRIPTED)
    number = PhoneNumberFactory(agent=version.agent)
    # No comma inside a line: Piper pauses ~300 ms at one, and "That works," can end the
    # turn there (issue 14's premature end of turn, measured by bench_turns.py), which makes
    # the rest a turn of its own; this test is about the protocol end to end
    # (tests/live/test_goodbye_cut_off.py has what the engine does when that happens).
    persona = Persona(name="booker", lines=["I would like to book a cleaning.", "That works for me."])

    result = asyncio.run(
        simulate_call(
            base_url=voice_server.base_url,
            persona=persona,
            to_number=number.e164,
            from_number="+12125550142",
            auth_token=voice_server.auth_token,
            max_seconds=60,
        )
    )

    assert result.ended_by == "agent", result
    call = Call.objects.get(twilio_call_sid=result.call_sid)
    assert call.status == Call.Status.COMPLETED
    assert call.disposition == "booked"
    assert call.stream_sid == result.stream_sid

    turns = list(CallTurn.objects.filter(call=call).order_by("index"))
    caller = [t.text for t in turns if t.speaker == "caller"]
    agent = [t for t in turns if t.speaker == "agent"]
    # What the caller said (Piper voice) came out of Whisper on the server.
    assert len(caller) == 2
    for said, line in zip(caller, persona.lines, strict=True):
        assert similar(said, line) > 80, (said, line)
    # The agent said the greeting and its script, and the caller heard all of it.
    assert [t.text for t in agent] == [SCRIPTED["greeting"], *(s.split(" [")[0] for s in SCRIPTED["script"])]
    assert all(not t.interrupted and t.heard_text == t.text for t in agent)
    # The reply audio the caller received transcribes back to the brain's text.
    heard = [text for speaker, text in result.transcript if speaker == "agent"]
    assert len(heard) == 3
    for text, turn in zip(heard, agent, strict=True):
        assert similar(text, turn.text) > 75, (text, turn.text)
    # Per-stage timings of each reply, measured from the end of caller speech.
    for turn in agent[1:]:
        stages = ("end_of_turn", "stt_done", "first_brain_text", "first_tts_audio", "first_frame_sent")
        for stage in (*stages, "first_mark_acknowledged"):
            assert stage in turn.timings, (stage, turn.timings)
        assert turn.timings["first_frame_sent"] <= turn.timings["first_mark_acknowledged"]
    assert len(result.turn_latencies_ms) == 2
    assert result.greeting_ms is not None  # the greeting's first frame reached the caller (bench_voice times it)
    # The agent hung up through Twilio's REST API.
    assert voice_server.twilio_api.hangups(result.call_sid)
