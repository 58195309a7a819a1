"""Every way a flow can end the call leaves a final action, repeated to a caller who speaks over the goodbye.

The engine cancels the brain's stream on a barge-in and never carries out a
Hangup it had read but not yet acted on, so the brain must answer the next
words with the same Hangup or the call would stay open with no one talking.
Also: words spoken over the greeting are matched against the first question
once, and a parsed config handed to make_brain is used as it is.
"""

import pytest

from agents.brains.base import CallContext, Hangup, Speech, ToolUse
from agents.brains.config import AgentConfig, load_config
from agents.brains.factory import make_brain
from agents.brains.flow import FlowBrain
from agents.brains.flow_schema import validate_flow
from agents.brains.llm import LLMBrain
from agents.brains.scripted import ScriptedBrain
from tests.agents.brains.conftest import ScriptedLLM, sse_finish, sse_text, sse_tool_call


async def collect(stream):
    return [item async for item in stream]


def context(config):
    return CallContext(call_id="endings", config=config, lead_variables={"first_name": "Maria"})


QUESTION = {
    "type": "ask",
    "prompt": "Shall I book you in?",
    "intents": {"yes": ["yes please", "sure"], "no": ["no thanks"]},
    "branches": {"yes": "booked", "no": "bye"},
    "reprompts": ["Sorry, shall I book you in?"],
    "no_match": "bye",
}
ENDS = {
    "booked": {"type": "end", "text": "You are booked.", "disposition": "booked"},
    "bye": {"type": "end", "text": "Goodbye.", "disposition": "not_interested"},
}


@pytest.fixture
def llm_server():
    server = ScriptedLLM()
    yield server
    server.close()


async def test_a_failed_end_call_tool_still_ends_the_call_and_repeats_its_hangup():
    flow = {
        "start": "goodbye",
        "nodes": {
            "goodbye": {"type": "say", "text": "Thanks, goodbye.", "next": "hang_up"},
            # The tool refuses this disposition; the node has nowhere else to go.
            "hang_up": {"type": "action", "tool": "end_call", "arguments": {"disposition": "All done!"}},
        },
    }
    assert validate_flow(flow) == []
    config = {"brain": "flow", "flow": flow}
    brain, ctx = FlowBrain(config), context(config)
    outputs = await collect(brain.greeting(ctx))
    assert isinstance(outputs[1], ToolUse) and "error" in outputs[1].result
    assert outputs[-1] == Hangup("completed")
    # The caller spoke over "Thanks, goodbye.": the engine dropped that Hangup.
    assert await collect(brain.reply(ctx, "wait, one more thing")) == [Hangup("completed")]


async def test_the_step_limit_ends_the_call_and_repeats_its_hangup():
    # A loop that never listens, as stored before validate_flow refused them.
    flow = {
        "start": "a",
        "nodes": {"a": {"type": "say", "text": "Hello.", "next": "b"}, "b": {"type": "goto", "target": "a"}},
    }
    config = {"brain": "flow", "flow": flow}
    brain, ctx = FlowBrain(config), context(config)
    outputs = await collect(brain.greeting(ctx))
    assert outputs[-1] == Hangup("flow_error")
    assert await collect(brain.reply(ctx, "hello?")) == [Hangup("flow_error")]


async def test_an_llm_hang_up_in_a_fallback_turn_is_repeated(llm_server):
    config = {
        "brain": "flow",
        "flow": {"start": "question", "nodes": {"question": {**QUESTION, "llm_fallback": True}, **ENDS}},
        "llm": {"endpoints": [llm_server.base_url], "model": "test-model", "tools": ["end_call"]},
    }
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    llm_server.replies.append(
        [
            sse_text("Sorry to have bothered you. "),
            sse_tool_call(0, call_id="call_1", name="end_call"),
            sse_tool_call(0, arguments='{"disposition": "wrong_person"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    outputs = await collect(brain.reply(ctx, "there is no Maria here"))
    assert outputs[0] == Speech("Sorry to have bothered you.")
    assert outputs[-1] == Hangup("wrong_person")
    assert await collect(brain.reply(ctx, "hello? still there?")) == [Hangup("wrong_person")]
    assert len(llm_server.requests) == 1  # the repeat is the flow's, not a new completion


async def test_words_over_the_greeting_are_matched_once(monkeypatch):
    config = {
        "brain": "flow",
        "greeting": "Hi {{first_name}}.",
        "flow": {
            "start": "hello",
            "nodes": {
                "hello": {"type": "say", "text": "This is the clinic.", "next": "question"},
                "question": QUESTION,
                **ENDS,
            },
        },
    }
    matched = []
    real = FlowBrain._global_or_branch

    def counting(self, node, caller_text):
        found = real(self, node, caller_text)
        matched.append((caller_text, found))
        return found

    monkeypatch.setattr(FlowBrain, "_global_or_branch", counting)
    brain, ctx = FlowBrain(config), context(config)
    stream = brain.greeting(ctx)
    assert await anext(stream) == Speech("Hi Maria.")
    await stream.aclose()  # the caller barged in over the greeting
    assert await collect(brain.reply(ctx, "yes please")) == [Speech("You are booked."), Hangup("booked")]
    assert matched == [("yes please", "booked")]


async def test_words_over_the_greeting_that_match_nothing_restart_the_opening_after_one_match(monkeypatch):
    config = {
        "brain": "flow",
        "greeting": "Hi.",
        "flow": {"start": "question", "nodes": {"question": QUESTION, **ENDS}},
    }
    calls = []
    real = FlowBrain._global_or_branch
    monkeypatch.setattr(FlowBrain, "_global_or_branch", lambda self, *args: calls.append(args) or real(self, *args))
    brain, ctx = FlowBrain(config), context(config)
    stream = brain.greeting(ctx)
    await anext(stream)
    await stream.aclose()
    assert await collect(brain.reply(ctx, "who is this?")) == [Speech("Shall I book you in?")]
    assert len(calls) == 1
    assert brain.waiting_at == "question"


def parsed_config(kind, llm_url="http://127.0.0.1:9/v1"):
    raw = {
        "brain": kind,
        "greeting": "Hi {{first_name}}.",
        "script": ["Bye. [hangup:done]"],
        "flow": {"start": "question", "nodes": {"question": {**QUESTION, "llm_fallback": True}, **ENDS}},
        "llm": {"endpoints": [llm_url], "model": "test-model"},
    }
    return raw, load_config(raw)


@pytest.mark.parametrize(("kind", "brain_class"), [("flow", FlowBrain), ("llm", LLMBrain), ("scripted", ScriptedBrain)])
async def test_make_brain_with_the_parsed_config_uses_it_as_it_is(kind, brain_class):
    raw, parsed = parsed_config(kind)
    ctx = context(raw)
    brain = make_brain(ctx, parsed)
    assert isinstance(brain, brain_class)
    if kind != "scripted":
        assert brain.config is parsed  # not parsed again from ctx.config
    assert (await collect(brain.greeting(ctx)))[0] == Speech("Hi Maria.")


@pytest.mark.parametrize(("kind", "brain_class"), [("flow", FlowBrain), ("llm", LLMBrain), ("scripted", ScriptedBrain)])
async def test_make_brain_without_a_parsed_config_still_reads_the_stored_json(kind, brain_class):
    raw, _ = parsed_config(kind)
    ctx = context(raw)
    brain = make_brain(ctx)
    assert isinstance(brain, brain_class)
    assert (await collect(brain.greeting(ctx)))[0] == Speech("Hi Maria.")


async def test_a_flows_llm_fallback_reuses_the_parsed_config(llm_server):
    raw, parsed = parsed_config("flow", llm_server.base_url)
    ctx = context(raw)
    brain = make_brain(ctx, parsed)
    await collect(brain.greeting(ctx))
    llm_server.replies.append([sse_text("We open at nine."), sse_finish("stop"), "[DONE]"])
    assert await collect(brain.reply(ctx, "when do you open?")) == [Speech("We open at nine.")]
    assert isinstance(brain, FlowBrain)
    assert isinstance(brain._llm, LLMBrain)
    assert brain._llm.config is parsed
    assert isinstance(parsed, AgentConfig)
