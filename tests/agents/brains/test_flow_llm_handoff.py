"""A flow agent hands a turn it cannot match to the LLM brain, then goes on with its flow.

The LLM side is a real HTTP server on loopback streaming OpenAI SSE chunks
(`scripted_llm`): what the flow's fallback sends, and what it speaks of the
streamed answer, are checked at the protocol level.
"""

from __future__ import annotations

from agents.brains.base import CallContext, Hangup, Speech, ToolUse
from agents.brains.flow import FlowBrain
from agents.brains.flow_schema import validate_flow
from agents.brains.llm import UNAVAILABLE_MESSAGE
from tests.agents.brains.conftest import sse_finish, sse_text, sse_tool_call

QUESTION = "Would you like to book a cleaning?"


def flow_config(*urls: str, tools: list[str] | None = None, node_kind: str = "ask") -> dict:
    if node_kind == "ask":
        question = {
            "type": "ask",
            "prompt": QUESTION,
            "intents": {"yes": ["yes please", "sure"], "no": ["no thanks"]},
            "branches": {"yes": "booked", "no": "bye"},
            "reprompts": ["Sorry, shall I book you a cleaning?"],
            "no_match": "bye",
            "llm_fallback": True,
        }
    else:
        question = {
            "type": "capture",
            "kind": "number",
            "variable": "party_size",
            "prompt": "How many people are coming?",
            "next": "booked",
            "reprompts": ["How many people, as a number?"],
            "no_match": "bye",
            "llm_fallback": True,
        }
    flow = {
        "start": "question",
        "nodes": {
            "question": question,
            "booked": {"type": "end", "text": "Great, you are booked.", "disposition": "booked"},
            "bye": {"type": "end", "text": "Goodbye.", "disposition": "not_interested"},
        },
    }
    assert validate_flow(flow) == []
    return {
        "brain": "flow",
        "greeting": "Hi {{first_name}}, this is Ava from the clinic.",
        "flow": flow,
        "llm": {
            "system_prompt": "You are Ava, the clinic's assistant, talking with {{first_name}}.",
            "endpoints": list(urls),
            "model": "test-model",
            "tools": tools or [],
            "first_token_timeout_ms": 2000,
            "max_tokens": 64,
        },
    }


async def collect(stream) -> list:
    return [item async for item in stream]


async def started(config: dict) -> tuple[FlowBrain, CallContext]:
    """A flow brain past its greeting, with the history the engine would have kept."""
    ctx = CallContext(call_id="handoff", config=config, lead_variables={"first_name": "Dana"})
    brain = FlowBrain(config)
    greeting = await collect(brain.greeting(ctx))
    ctx.history.append({"role": "assistant", "content": " ".join(o.text for o in greeting)})
    return brain, ctx


async def test_an_unmatched_answer_is_spoken_by_the_llm_then_the_flow_branches_as_designed(scripted_llm):
    brain, ctx = await started(flow_config(scripted_llm.base_url))
    scripted_llm.replies.append(
        [
            sse_text("We are open"),
            sse_text(" until six on weekdays. "),
            sse_text("Would a cleaning"),
            sse_text(" suit you?"),
            sse_finish("stop"),
            "[DONE]",
        ]
    )

    outputs = await collect(brain.reply(ctx, "What time do you close on Fridays?"))

    assert outputs == [Speech("We are open until six on weekdays."), Speech("Would a cleaning suit you?")]
    request = scripted_llm.requests[0]
    assert request["stream"] is True
    assert request["messages"][0] == {
        "role": "system",
        "content": "You are Ava, the clinic's assistant, talking with Dana.",
    }
    assert request["messages"][1]["content"].endswith(QUESTION)
    assert request["messages"][-1] == {"role": "user", "content": "What time do you close on Fridays?"}
    # The flow still waits at its question: the next answer takes the designed branch, no model involved.
    ctx.history += [{"role": "user", "content": "What time..."}, {"role": "assistant", "content": "We are open..."}]
    assert await collect(brain.reply(ctx, "yes please")) == [Speech("Great, you are booked."), Hangup("booked")]
    assert ctx.disposition == "booked"
    assert len(scripted_llm.requests) == 1


async def test_a_matched_answer_never_reaches_the_model(scripted_llm):
    brain, ctx = await started(flow_config(scripted_llm.base_url))
    assert await collect(brain.reply(ctx, "no thanks")) == [Speech("Goodbye."), Hangup("not_interested")]
    assert scripted_llm.requests == []


async def test_a_capture_node_hands_over_too_and_still_captures_afterwards(scripted_llm):
    brain, ctx = await started(flow_config(scripted_llm.base_url, node_kind="capture"))
    scripted_llm.replies.append([sse_text("Children are welcome too. How many of you?"), sse_finish("stop"), "[DONE]"])

    first = await collect(brain.reply(ctx, "can I bring my kids"))
    assert first == [Speech("Children are welcome too."), Speech("How many of you?")]
    assert "party_size" not in ctx.variables

    assert await collect(brain.reply(ctx, "three of us")) == [Speech("Great, you are booked."), Hangup("booked")]
    assert ctx.variables["party_size"] == 3


async def test_the_llm_may_end_the_call_with_a_tool_and_the_flow_stays_ended(scripted_llm):
    brain, ctx = await started(flow_config(scripted_llm.base_url, tools=["end_call"]))
    scripted_llm.replies.append(
        [
            sse_text("Understood, I will not bother you again. "),
            sse_tool_call(0, call_id="call_1", name="end_call"),
            sse_tool_call(0, arguments='{"disposition": "wrong_person"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )

    outputs = await collect(brain.reply(ctx, "I think you have the wrong Dana"))

    assert outputs == [
        Speech("Understood, I will not bother you again."),
        ToolUse("end_call", {"disposition": "wrong_person"}, {"ok": True, "disposition": "wrong_person"}),
        Hangup("wrong_person"),
    ]
    assert brain.finished
    assert ctx.disposition == "wrong_person"


async def test_an_unreachable_llm_leaves_the_flow_to_reprompt_instead_of_hanging_up(dead_url):
    brain, ctx = await started(flow_config(dead_url))

    outputs = await collect(brain.reply(ctx, "what is the weather like"))

    # The flow works without a model: its own reprompt, not the LLM brain's apology and hang-up.
    assert outputs == [Speech("Sorry, shall I book you a cleaning?")]
    assert Speech(UNAVAILABLE_MESSAGE) not in outputs
    assert not brain.finished
    assert await collect(brain.reply(ctx, "sure")) == [Speech("Great, you are booked."), Hangup("booked")]


async def test_with_no_llm_configured_at_all_the_flow_still_reprompts():
    # No endpoints in the agent's config, and none from the server (no LlmDefaults handed in).
    brain, ctx = await started(flow_config())

    assert await collect(brain.reply(ctx, "hmm, pardon?")) == [Speech("Sorry, shall I book you a cleaning?")]
    assert not brain.finished
