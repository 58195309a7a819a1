"""LLM failovers reach /metrics: the server's brain settings carry voiceops' counter as the client's hook."""

from __future__ import annotations

from prometheus_client import REGISTRY

from agents.brains.base import CallContext, Speech
from agents.brains.llm import LLMBrain
from agents.runtime import llm_defaults
from tests.agents.brains.conftest import sse_finish, sse_text


def failovers() -> float:
    return REGISTRY.get_sample_value("voiceops_llm_failovers_total") or 0.0


async def test_a_failover_from_a_dead_endpoint_is_counted_once(settings, dead_url, scripted_llm):
    settings.LLM_BASE_URLS = [dead_url, scripted_llm.base_url]
    settings.LLM_MODEL = "served"
    scripted_llm.replies.append([sse_text("Hello from two."), sse_finish("stop"), "[DONE]"])
    scripted_llm.replies.append([sse_text("Still two."), sse_finish("stop"), "[DONE]"])
    brain = LLMBrain({"brain": "llm", "llm": {"system_prompt": "Help."}}, llm=llm_defaults())
    ctx = CallContext(call_id="failover-metric", config={})
    before = failovers()
    first = [output async for output in brain.reply(ctx, "hi")]
    assert first == [Speech("Hello from two.")]
    assert failovers() == before + 1
    # The endpoint that answered keeps the call: the next turn fails over from nothing.
    second = [output async for output in brain.reply(ctx, "again")]
    assert second == [Speech("Still two.")]
    assert failovers() == before + 1
    await brain.aclose()


async def test_a_hook_that_raises_does_not_cost_the_caller_their_reply(dead_url, scripted_llm):
    from agents.brains.llm import LlmDefaults

    def broken() -> None:
        raise RuntimeError("monitoring is down")

    scripted_llm.replies.append([sse_text("Still here."), sse_finish("stop"), "[DONE]"])
    brain = LLMBrain(
        {"brain": "llm", "llm": {"system_prompt": "Help."}},
        llm=LlmDefaults(endpoints=(dead_url, scripted_llm.base_url), model="m", on_failover=broken),
    )
    outputs = [output async for output in brain.reply(CallContext(call_id="hook", config={}), "hi")]
    assert outputs == [Speech("Still here.")]
    await brain.aclose()
