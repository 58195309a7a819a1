"""Every brain speaks the whole protocol: `speculative_safe`, and `aclose()` releasing what it holds."""

from __future__ import annotations

import inspect

import pytest

from agents.brains.base import CallContext, Speech
from agents.brains.config import load_config
from agents.brains.factory import make_brain
from agents.brains.flow import FlowBrain
from agents.brains.llm import LLMBrain, LlmDefaults
from agents.brains.scripted import ScriptedBrain
from tests.agents.brains.conftest import sse_finish, sse_text


def config(kind: str, url: str = "http://127.0.0.1:9/v1") -> dict:
    return {
        "brain": kind,
        "greeting": "Hello.",
        "script": ["Bye. [hangup]"],
        "flow": {
            "start": "ask",
            "nodes": {
                "ask": {
                    "type": "ask",
                    "prompt": "Shall I book you?",
                    "intents": {"yes": ["yes"]},
                    "branches": {"yes": "done"},
                    "no_match": "done",
                    "llm_fallback": True,
                },
                "done": {"type": "end", "disposition": "done"},
            },
        },
        "llm": {"endpoints": [url], "model": "test-model", "first_token_timeout_ms": 2000},
    }


async def collect(stream) -> list:
    return [item async for item in stream]


@pytest.mark.parametrize(
    ("kind", "brain_class", "speculative"),
    # Only the scripted brain's replies depend on nothing but the context;
    # a flow moves along its graph and runs tools, an LLM brain runs tools.
    [("flow", FlowBrain, False), ("llm", LLMBrain, False), ("scripted", ScriptedBrain, True)],
)
async def test_every_brain_declares_speculation_and_can_be_closed(kind, brain_class, speculative):
    raw = config(kind)
    brain = make_brain(CallContext(call_id="protocol", config=raw), load_config(raw))
    assert isinstance(brain, brain_class)
    assert brain.speculative_safe is speculative
    assert inspect.iscoroutinefunction(brain.aclose)
    await brain.aclose()  # before any turn: nothing to release, no error
    await brain.aclose()  # and twice is harmless


async def test_closing_an_llm_brain_closes_its_http_client(scripted_llm):
    scripted_llm.replies.append([sse_text("Sure."), sse_finish("stop"), "[DONE]"])
    brain, ctx = LLMBrain(config("llm", scripted_llm.base_url)), CallContext(call_id="close-llm", config={})
    assert await collect(brain.reply(ctx, "Hi")) == [Speech("Sure.")]
    http = brain.client(ctx)._http
    assert http is not None and not http.is_closed  # kept open between turns: the connection stays warm

    await brain.aclose()

    assert http.is_closed


async def test_closing_a_flow_closes_the_llm_brain_behind_its_fallback(scripted_llm):
    raw = config("flow", scripted_llm.base_url)
    brain, ctx = FlowBrain(load_config(raw)), CallContext(call_id="close-flow", config=raw)
    await collect(brain.greeting(ctx))
    scripted_llm.replies.append([sse_text("We open at nine."), sse_finish("stop"), "[DONE]"])
    assert await collect(brain.reply(ctx, "when do you open?")) == [Speech("We open at nine.")]
    assert isinstance(brain._llm, LLMBrain)
    http = brain._llm.client(ctx)._http
    assert http is not None and not http.is_closed

    await brain.aclose()

    assert http.is_closed


async def test_the_servers_llm_settings_fill_what_the_agent_leaves_out(scripted_llm):
    scripted_llm.replies.append([sse_text("Hello."), sse_finish("stop"), "[DONE]"])
    raw = {"brain": "llm", "llm": {"first_token_timeout_ms": 2000}}  # no endpoints, no model of its own
    server = LlmDefaults(endpoints=(scripted_llm.base_url,), model="server-model", api_key="k")
    brain = make_brain(CallContext(call_id="defaults", config=raw), load_config(raw), llm=server)

    assert await collect(brain.reply(CallContext(call_id="defaults", config=raw), "Hi")) == [Speech("Hello.")]
    assert scripted_llm.requests[0]["model"] == "server-model"
    await brain.aclose()
