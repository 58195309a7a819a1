"""The LLM brain against a real OpenAI-compatible server: llama-cpp-python on Gemma 3 270M.

A 270M model's words are not predictable, so these tests check what the
engine guarantees (streaming, speech pieces, which endpoint answered, that
failover happened and the reply went on), never the model's exact text.
"""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from agents.brains.base import CallContext, Speech
from agents.brains.llm import LLMBrain
from agents.brains.llm_client import Finished, LLMClient, TextDelta
from tests.agents.brains.conftest import REAL_SERVER_FIRST_TOKEN_MS

pytestmark = pytest.mark.e2e

LONG_ANSWER = "Count from one to thirty in words, separated by commas."


def real_brain(*urls: str, max_tokens: int = 24) -> LLMBrain:
    return LLMBrain(
        {
            "brain": "llm",
            "llm": {
                "system_prompt": "You are Ava, a friendly receptionist at a dental clinic. Keep answers short.",
                "endpoints": list(urls),
                "temperature": 0,
                "max_tokens": max_tokens,
                "first_token_timeout_ms": REAL_SERVER_FIRST_TOKEN_MS,
            },
        }
    )


def context() -> CallContext:
    return CallContext(call_id="call-real", config={"brain": "llm"}, lead_variables={"first_name": "Dana"})


async def test_real_server_streams_tokens(llama_server):
    client = LLMClient(endpoints=[llama_server.base_url], model="", first_token_timeout_s=30)
    events = [
        event
        async for event in client.stream_chat(
            [{"role": "user", "content": "Say hello in one short sentence."}], temperature=0, max_tokens=24
        )
    ]
    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 1  # many chunks: a stream, not one final message
    assert "".join(delta.text for delta in deltas).strip()
    assert isinstance(events[-1], Finished)
    assert events[-1].finish_reason in ("stop", "length")
    await client.aclose()


async def test_real_server_reply_is_spoken_piece_by_piece_while_streaming(llama_server):
    brain = real_brain(llama_server.base_url, max_tokens=48)
    order: list[str] = []
    client = brain.client(context())
    original = client.stream_chat

    async def observed(*args, **kwargs):
        async for event in original(*args, **kwargs):
            order.append("token" if isinstance(event, TextDelta) else "finished")
            yield event

    client.stream_chat = observed
    outputs = []
    async for output in brain.reply(context(), LONG_ANSWER):
        order.append("speech")
        outputs.append(output)

    assert outputs and all(isinstance(output, Speech) and output.text.strip() for output in outputs)
    assert len(outputs) > 1
    # The first piece reached the engine before the model had finished writing.
    assert order.index("speech") < order.index("finished")
    assert order.index("speech") < len(order) - 1 - order[::-1].index("token")
    await brain.aclose()


async def test_dead_first_endpoint_fails_over_to_the_real_server(dead_url, llama_server):
    brain = real_brain(dead_url, llama_server.base_url)
    with capture_logs() as logs:
        outputs = [output async for output in brain.reply(context(), "Hello, are you open today?")]
    assert outputs and all(isinstance(output, Speech) for output in outputs)
    failover = next(entry for entry in logs if entry["event"] == "llm_failover")
    assert failover["endpoint"] == dead_url
    assert failover["reason"] == "ConnectError"
    assert brain.client(context()).current_endpoint == llama_server.base_url
    await brain.aclose()


async def test_endpoint_killed_mid_reply_fails_over_inside_the_call(spare_llama_server, llama_server):
    """Turn 1 on the spare server; it dies while streaming turn 2; the main server finishes the call."""
    brain = real_brain(spare_llama_server.base_url, llama_server.base_url, max_tokens=64)
    ctx = context()
    client = brain.client(ctx)

    first = [output async for output in brain.reply(ctx, "Hello?")]
    assert first
    assert client.current_endpoint == spare_llama_server.base_url
    ctx.history += [
        {"role": "user", "content": "Hello?"},
        {"role": "assistant", "content": " ".join(o.text for o in first)},
    ]

    with capture_logs() as logs:
        second: list[Speech] = []
        async for output in brain.reply(ctx, LONG_ANSWER):
            assert isinstance(output, Speech)
            second.append(output)
            if len(second) == 1:
                spare_llama_server.kill()  # mid-stream: the model is still writing
    failover = next(entry for entry in logs if entry["event"] == "llm_failover")
    assert failover["endpoint"] == spare_llama_server.base_url
    assert failover["streamed_chars"] > 0  # it died part-way through the reply
    assert client.current_endpoint == llama_server.base_url
    assert second  # the reply went on, not an apology and a hang-up
    assert all(entry["event"] != "llm_unavailable" for entry in logs)

    # The next turn goes straight to the endpoint that took over.
    with capture_logs() as logs:
        third = [output async for output in brain.reply(ctx, "Thank you.")]
    assert third and all(isinstance(output, Speech) for output in third)
    assert not [entry for entry in logs if entry["event"] == "llm_failover"]
    await brain.aclose()
