"""An LLM agent's endpoint dies in the middle of a live call; the reply goes on elsewhere.

The real daphne server runs the LLM brain with two OpenAI-compatible
endpoints in failover order. Both are HTTP servers on loopback streaming the
SSE chunks each test scripts (the real llama.cpp server is exercised by
tests/agents/brains/test_llm_real_server.py; a death at a chosen byte needs a
script). The caller is the simulator speaking over Twilio's Media Streams
protocol with real Whisper, Piper and Silero on the server side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from rapidfuzz import fuzz

from calls.models import Call, CallTurn
from sandbox.personas import Persona
from sandbox.simulator import simulate_call
from tests.agents.brains.conftest import ScriptedLLM, sse_finish, sse_text, sse_tool_call
from tests.factories import AgentVersionFactory, PhoneNumberFactory

pytestmark = [pytest.mark.e2e]

REPLY = "We open at nine on weekdays. We close at five."


@pytest.fixture
def two_endpoints() -> Iterator[tuple[ScriptedLLM, ScriptedLLM]]:
    first, second = ScriptedLLM(), ScriptedLLM()
    yield first, second
    first.close()
    second.close()


def test_endpoint_dying_mid_reply_fails_over_inside_the_live_call(
    voice_server, speech_engines, transactional_db, two_endpoints
):
    first, second = two_endpoints
    # The first endpoint streams half a reply, then its connection drops.
    first.replies.append([sse_text("We open at nine"), sse_text(" on weekdays. We close")])
    # The second continues the same reply, and serves the rest of the call.
    second.replies.append([sse_text(" at five."), sse_finish("stop"), "[DONE]"])
    second.replies.append(
        [
            sse_text("You are welcome, goodbye! "),
            sse_tool_call(0, call_id="call_1", name="end_call"),
            sse_tool_call(0, arguments='{"disposition": "informed"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    config = {
        "brain": "llm",
        "greeting": "Hello, this is Ava at the clinic.",
        "llm": {
            "system_prompt": "You answer questions about the clinic.",
            "endpoints": [first.base_url, second.base_url],
            "model": "test-model",
            "tools": ["end_call"],
            "first_token_timeout_ms": 3000,
        },
    }
    number = PhoneNumberFactory(agent=AgentVersionFactory(config=config).agent)
    persona = Persona(name="hours", lines=["When are you open?", "Great, thank you."])

    result = asyncio.run(
        simulate_call(
            base_url=voice_server.base_url,
            persona=persona,
            to_number=number.e164,
            from_number="+12125550163",
            auth_token=voice_server.auth_token,
            max_seconds=60,
        )
    )

    assert result.ended_by == "agent", result
    call = Call.objects.get(twilio_call_sid=result.call_sid)
    assert call.status == Call.Status.COMPLETED
    assert call.disposition == "informed"
    turns = list(CallTurn.objects.filter(call=call).order_by("index"))
    assert [(t.speaker, t.text) for t in turns if t.speaker != "caller"] == [
        ("agent", "Hello, this is Ava at the clinic."),
        ("agent", REPLY),
        ("tool", "end_call"),
        ("agent", "You are welcome, goodbye!"),
    ]
    assert len([t for t in turns if t.speaker == "caller"]) == 2
    # One request died on the first endpoint; the second finished that reply
    # (continuing the streamed text, not repeating it) and took the next turn.
    assert len(first.requests) == 1 and len(second.requests) == 2
    continuation = second.requests[0]["messages"]
    assert continuation[-1] == {"role": "assistant", "content": "We open at nine on weekdays. We close"}
    assert fuzz.ratio(continuation[-2]["content"].lower(), "when are you open?") > 80
    # The next turn carries what the caller heard of the failed-over reply.
    assert {"role": "assistant", "content": REPLY} in second.requests[1]["messages"]
    # What the caller heard is the whole reply, once.
    heard = [text for speaker, text in result.transcript if speaker == "agent"]
    assert len(heard) == 3, result.transcript
    assert fuzz.ratio(heard[1].lower().strip(" ."), REPLY.lower().strip(" .")) > 75, heard[1]
    assert voice_server.twilio_api.hangups(result.call_sid)
