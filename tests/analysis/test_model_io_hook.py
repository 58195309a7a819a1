"""The LLM brain tells its context what it sent and what came back, each round (the model I/O log's source)."""

from __future__ import annotations

from agents.brains.base import CallContext, ModelExchange
from agents.brains.llm import LLMBrain
from tests.agents.brains.conftest import sse_finish, sse_text, sse_tool_call


def brain(url: str) -> LLMBrain:
    return LLMBrain(
        {
            "brain": "llm",
            "llm": {
                "system_prompt": "You help Dana.",
                "endpoints": [url],
                "model": "test-model",
                "tools": ["end_call"],
                "first_token_timeout_ms": 2000,
            },
        }
    )


async def test_each_round_is_reported_with_messages_tools_reply_and_tool_calls(scripted_llm):
    scripted_llm.replies.append(
        [
            sse_text("Goodbye then."),
            sse_tool_call(0, call_id="call_1", name="end_call", arguments='{"disposition": "not_interested"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    seen: list[ModelExchange] = []
    ctx = CallContext(call_id="c1", config={"brain": "llm"}, on_model_exchange=seen.append)
    outputs = [output async for output in brain(scripted_llm.base_url).reply(ctx, "Not interested, bye.")]

    assert outputs  # the brain spoke and acted as usual
    assert len(seen) == 1
    exchange = seen[0]
    assert exchange.messages == scripted_llm.requests[0]["messages"]  # exactly what was sent
    assert [tool["function"]["name"] for tool in exchange.tools] == ["end_call"]
    assert exchange.reply == "Goodbye then."
    assert exchange.tool_calls == [
        {"id": "call_1", "name": "end_call", "arguments": '{"disposition": "not_interested"}'}
    ]
    assert (exchange.model, exchange.endpoint, exchange.error) == ("test-model", scripted_llm.base_url, "")


async def test_a_failed_request_is_reported_with_its_error(dead_url):
    seen: list[ModelExchange] = []
    ctx = CallContext(call_id="c1", config={"brain": "llm"}, on_model_exchange=seen.append)
    [output async for output in brain(dead_url).reply(ctx, "Hello?")]
    assert len(seen) == 1 and seen[0].reply == "" and "every LLM endpoint failed" in seen[0].error
