"""Flow agents' call actions at the text level: transfer to a human and DTMF from action nodes.

The engine carries out the first action a reply yields (after the speech
before it has played), so what matters is the order: the words, the tool use
for the transcript, then the action.
"""

from agents.brains.base import CallContext, Hangup, SendDigits, Speech, ToolUse, Transfer
from agents.brains.flow import FlowBrain
from agents.brains.flow_schema import validate_flow

HUMAN = "+14155550199"


async def collect(stream):
    return [item async for item in stream]


def config(nodes, start="menu", **extra):
    cfg = {
        "brain": "flow",
        "greeting": "Thanks for calling the clinic.",
        "transfer_number": HUMAN,
        "flow": {"start": start, "nodes": nodes, **extra.pop("flow_extra", {})},
        **extra,
    }
    assert validate_flow(cfg["flow"]) == []
    return cfg


def context(cfg):
    return CallContext(call_id="flow-actions", config=cfg, lead_variables={"first_name": "Ana"})


NODES = {
    "menu": {
        "type": "ask",
        "prompt": "Do you want to book, or talk to the front desk?",
        "intents": {"book": ["book", "appointment"], "desk": ["front desk", "a person", "somebody real"]},
        "branches": {"book": "booked", "desk": "handoff"},
        "no_match": "bye",
    },
    "handoff": {"type": "say", "text": "Putting you through now.", "next": "transfer"},
    "transfer": {"type": "action", "tool": "transfer_to_human", "next": "after", "on_error": "no_desk"},
    "after": {"type": "end", "disposition": "transferred"},
    "no_desk": {"type": "end", "text": "The desk is closed, we will call you back.", "disposition": "callback"},
    "booked": {"type": "end", "text": "Booked.", "disposition": "booked"},
    "bye": {"type": "end", "text": "Goodbye.", "disposition": "no_match"},
}


def first_action(outputs):
    return next(o for o in outputs if isinstance(o, Hangup | Transfer | SendDigits))


async def test_an_action_node_transfers_after_speaking_with_the_tool_in_the_transcript():
    cfg = config(NODES)
    brain, ctx = FlowBrain(cfg), context(cfg)
    await collect(brain.greeting(ctx))

    outputs = await collect(brain.reply(ctx, "can I talk to the front desk"))

    assert outputs[:3] == [
        Speech("Putting you through now."),
        ToolUse("transfer_to_human", {}, {"ok": True, "number": HUMAN}),
        Transfer(HUMAN),
    ]
    # The engine acts on the transfer; the call's outcome says so.
    assert first_action(outputs) == Transfer(HUMAN)
    assert ctx.disposition == "transferred"


async def test_a_global_intent_reaches_the_transfer_from_any_question():
    nodes = {
        **NODES,
        "menu": {**NODES["menu"], "intents": {"book": ["book"]}, "branches": {"book": "booked"}},
    }
    cfg = config(nodes, flow_extra={"global_intents": {"human": {"phrases": ["speak to a human"], "goto": "handoff"}}})
    brain, ctx = FlowBrain(cfg), context(cfg)
    await collect(brain.greeting(ctx))

    outputs = await collect(brain.reply(ctx, "let me speak to a humane"))  # an ASR slip

    assert first_action(outputs) == Transfer(HUMAN)


async def test_without_a_transfer_number_the_flow_takes_its_error_path():
    cfg = config(NODES, transfer_number="")
    brain, ctx = FlowBrain(cfg), context(cfg)
    await collect(brain.greeting(ctx))

    outputs = await collect(brain.reply(ctx, "a person please"))

    tool = next(o for o in outputs if isinstance(o, ToolUse))
    assert "no transfer number" in tool.result["error"]
    assert not any(isinstance(o, Transfer) for o in outputs)
    assert outputs[-2:] == [Speech("The desk is closed, we will call you back."), Hangup("callback")]
    assert ctx.disposition == "callback"


async def test_dtmf_then_the_flow_goes_on_to_its_next_question():
    nodes = {
        "press": {"type": "action", "tool": "send_dtmf", "arguments": {"digits": "3"}, "next": "ask"},
        "ask": {
            "type": "ask",
            "prompt": "Is this the pharmacy?",
            "intents": {"yes": ["yes"]},
            "branches": {"yes": "done"},
            "no_match": "done",
        },
        "done": {"type": "end", "text": "Thanks.", "disposition": "reached"},
    }
    cfg = config(nodes, start="press")
    brain, ctx = FlowBrain(cfg), context(cfg)

    outputs = await collect(brain.greeting(ctx))

    assert outputs[1:3] == [ToolUse("send_dtmf", {"digits": "3"}, {"ok": True, "digits": "3"}), SendDigits("3")]
    # The reply's first action is the DTMF; the question after it waits for the new stream's caller.
    assert first_action(outputs) == SendDigits("3")
    assert brain.waiting_at == "ask"
    assert await collect(brain.reply(ctx, "yes")) == [Speech("Thanks."), Hangup("reached")]


async def test_a_new_stream_after_dtmf_resumes_the_flow_where_it_was():
    nodes = {
        "press": {"type": "action", "tool": "send_dtmf", "arguments": {"digits": "1234#"}, "next": "ask"},
        "ask": {
            "type": "ask",
            "prompt": "Are you the pharmacist?",
            "intents": {"yes": ["yes", "speaking"]},
            "branches": {"yes": "done"},
            "no_match": "done",
        },
        "done": {"type": "end", "text": "Thanks.", "disposition": "reached"},
    }
    cfg = config(nodes, start="press")
    first, ctx = FlowBrain(cfg), context(cfg)
    await collect(first.greeting(ctx))
    # What the engine keeps across streams: the heard history and the call's variables.
    resumed_ctx = CallContext(
        call_id=ctx.call_id,
        config=cfg,
        history=[{"role": "assistant", "content": "Thanks for calling the clinic."}],
        variables=dict(ctx.variables),
    )

    outputs = await collect(FlowBrain(cfg).reply(resumed_ctx, "yes speaking"))

    # No second greeting: the answer is heard against the question the flow had reached.
    assert outputs == [Speech("Thanks."), Hangup("reached")]


async def test_when_the_engine_stopped_at_the_dtmf_the_resumed_flow_goes_on_from_the_action():
    """The engine reads a reply only up to its first call action: the walk halts at the DTMF node."""
    nodes = {
        "press": {"type": "action", "tool": "send_dtmf", "arguments": {"digits": "3"}, "next": "ask"},
        "ask": {
            "type": "ask",
            "prompt": "Is this the pharmacy?",
            "intents": {"yes": ["yes"]},
            "branches": {"yes": "done"},
            "no_match": "done",
        },
        "done": {"type": "end", "text": "Thanks.", "disposition": "reached"},
    }
    cfg = config(nodes, start="press")
    first, ctx = FlowBrain(cfg), context(cfg)
    stream = first.greeting(ctx)
    async for output in stream:
        if isinstance(output, SendDigits):
            break  # what the engine does
    await stream.aclose()
    assert ctx.variables["flow_node"] == "press"
    history = [{"role": "assistant", "content": "Thanks for calling the clinic."}]

    answered = CallContext(call_id="a", config=cfg, history=list(history), variables=dict(ctx.variables))
    assert await collect(FlowBrain(cfg).reply(answered, "yes it is")) == [Speech("Thanks."), Hangup("reached")]
    # Words that do not answer the question get the question itself.
    other = CallContext(call_id="b", config=cfg, history=list(history), variables=dict(ctx.variables))
    assert await collect(FlowBrain(cfg).reply(other, "pharmacy, how can I help")) == [Speech("Is this the pharmacy?")]
