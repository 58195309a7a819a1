"""Flow agents at the text level: every node kind, reprompts, no-match, captures, typos."""

import datetime as dt

import pytest
import time_machine

from agents.brains.base import CallContext, Hangup, SendDigits, Speech, ToolUse
from agents.brains.config import ConfigError, load_config
from agents.brains.flow import FlowBrain
from agents.brains.flow_schema import validate_flow
from agents.brains.sentences import split_sentences


async def collect(stream):
    return [item async for item in stream]


def speech(outputs):
    return " ".join(o.text for o in outputs if isinstance(o, Speech))


def flow_config(nodes, start, **extra):
    return {
        "brain": "flow",
        "greeting": "Hi {{first_name}}. This is a test.",
        "flow": {"start": start, "nodes": nodes, **extra},
    }


def context(config, **variables):
    return CallContext(
        call_id="text-call",
        config=config,
        lead_variables={"first_name": "Maria", "plan": "gold"},
        timezone=variables.pop("timezone", "America/New_York"),
        variables=variables,
    )


QUESTION = {
    "type": "ask",
    "prompt": "Do you like {{plan}} plans?",
    "intents": {"yes": ["yes", "i love it"], "no": ["not really", "i hate it"]},
    "branches": {"yes": "happy", "no": "sad"},
    "reprompts": ["Sorry, do you like {{plan}} plans?", "One last time: yes or no?"],
    "no_match": "confused",
}
ENDS = {
    "happy": {"type": "end", "text": "Great. Goodbye!", "disposition": "likes_it"},
    "sad": {"type": "end", "text": "Oh well.", "disposition": "dislikes_it"},
    "confused": {"type": "end", "disposition": "unclear"},
}


async def test_say_goto_and_ask_speak_each_text_templated():
    nodes = {
        "hello": {"type": "say", "text": "Welcome, {{first_name}}! Your plan is {{plan}}. {{missing}}", "next": "jump"},
        "jump": {"type": "goto", "target": "question"},
        "question": QUESTION,
        **ENDS,
    }
    config = flow_config(nodes, "hello")
    brain, ctx = FlowBrain(config), context(config)
    outputs = await collect(brain.greeting(ctx))
    # One Speech per text the flow speaks; the engine cuts each into sentences.
    assert outputs == [
        Speech("Hi Maria. This is a test."),
        Speech("Welcome, Maria! Your plan is gold."),
        Speech("Do you like gold plans?"),
    ]
    assert [chunk for output in outputs for chunk in split_sentences(output.text)] == [
        "Hi Maria.",
        "This is a test.",
        "Welcome, Maria!",
        "Your plan is gold.",
        "Do you like gold plans?",
    ]
    assert brain.waiting_at == "question"


async def test_a_title_in_a_prompt_stays_in_one_tts_chunk():
    nodes = {
        "question": {**QUESTION, "prompt": "Dr. Patel can see you at St. Mary's. Do you like {{plan}} plans?"},
        **ENDS,
    }
    config = flow_config(nodes, "question")
    brain, ctx = FlowBrain(config), context(config)
    outputs = await collect(brain.greeting(ctx))
    # What the engine synthesises, chunk by chunk, after the greeting.
    assert split_sentences(outputs[-1].text) == ["Dr. Patel can see you at St. Mary's.", "Do you like gold plans?"]


@pytest.mark.parametrize(
    ("heard", "disposition"),
    [
        ("Yes.", "likes_it"),
        ("Oh yes, I love it!", "likes_it"),
        ("Not really.", "dislikes_it"),
        ("Honestly I hate it", "dislikes_it"),
        # Whisper-style errors: misspelt, merged words.
        ("i luv it", "likes_it"),
        ("not relly", "dislikes_it"),
        ("ihate it", "dislikes_it"),
    ],
)
async def test_ask_branches_by_intent(heard, disposition):
    config = flow_config({"question": QUESTION, **ENDS}, "question")
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    outputs = await collect(brain.reply(ctx, heard))
    assert outputs[-1] == Hangup(disposition)
    assert ctx.disposition == disposition
    assert brain.finished
    # Anything said after the end only repeats the hang-up (it may have been cut off).
    assert await collect(brain.reply(ctx, "hello?")) == [Hangup(disposition)]


async def test_reprompts_then_no_match_path():
    config = flow_config({"question": QUESTION, **ENDS}, "question")
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    assert await collect(brain.reply(ctx, "What's the weather like?")) == [Speech("Sorry, do you like gold plans?")]
    assert await collect(brain.reply(ctx, "Purple elephants.")) == [Speech("One last time: yes or no?")]
    assert await collect(brain.reply(ctx, "Bananas.")) == [Hangup("unclear")]


async def test_a_match_after_a_reprompt_resets_the_count():
    config = flow_config({"question": QUESTION, **ENDS}, "question")
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    await collect(brain.reply(ctx, "Huh?"))
    assert (await collect(brain.reply(ctx, "yes")))[-1] == Hangup("likes_it")
    assert brain.misses == 0


async def test_global_intents_work_at_any_question_and_longer_phrases_win():
    config = flow_config(
        {"question": QUESTION, **ENDS, "bye": {"type": "end", "disposition": "not_interested"}},
        "question",
        global_intents={"not_interested": {"phrases": ["not interested"], "goto": "bye"}},
    )
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    # "no" alone would not match anything here, and "not interested" beats "yes" by coverage.
    assert (await collect(brain.reply(ctx, "Yes well, no, I'm not intrested."))) == [Hangup("not_interested")]


def capture_config(kind, variable="answer"):
    nodes = {
        "capture": {
            "type": "capture",
            "kind": kind,
            "variable": variable,
            "prompt": "Tell me.",
            "reprompts": ["Again?"],
            "next": "done",
            "no_match": "confused",
        },
        "done": {"type": "end", "text": "Got {{answer}}.", "disposition": "captured"},
        **ENDS,
    }
    return flow_config(nodes, "capture")


@pytest.mark.parametrize(
    ("kind", "heard", "value"),
    [
        ("yes_no", "Yeah sure.", True),
        ("yes_no", "Nope.", False),
        ("number", "About twenty five I think", 25),
        ("number", "It's 3.5", 3.5),
        ("text", "  My dog ate it.  ", "My dog ate it."),
    ],
)
async def test_captures_store_call_variables(kind, heard, value):
    config = capture_config(kind)
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    outputs = await collect(brain.reply(ctx, heard))
    assert ctx.variables["answer"] == value
    assert outputs[-1] == Hangup("captured")


@pytest.mark.parametrize("kind", ["yes_no", "number", "datetime"])
async def test_captures_reprompt_on_unusable_answers(kind):
    config = capture_config(kind)
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    assert await collect(brain.reply(ctx, "Hmm, let me think about it")) == [Speech("Again?")]
    assert "answer" not in ctx.variables
    assert await collect(brain.reply(ctx, "Hmm...")) == [Hangup("unclear")]


# Friday 7 March 2025, 10:00 in New York; US clocks go forward on Sunday 9 March at 2 AM.
BEFORE_DST = dt.datetime(2025, 3, 7, 15, 0, tzinfo=dt.UTC)


@time_machine.travel(BEFORE_DST, tick=False)
@pytest.mark.parametrize(
    ("zone", "heard", "expected"),
    [
        ("America/New_York", "tomorrow at 3 pm", "2025-03-08T15:00:00-05:00"),
        # Across the DST change: Monday 9 AM is EDT (-04:00), not the EST offset of today.
        ("America/New_York", "Monday at nine in the morning", "2025-03-10T09:00:00-04:00"),
        ("America/New_York", "monday at 9 a.m.", "2025-03-10T09:00:00-04:00"),
        # 2:30 AM on the spring-forward night does not exist: it means 3:30 EDT.
        ("America/New_York", "sunday at 2:30 am", "2025-03-09T03:30:00-04:00"),
        # The same words in the lead's own timezone.
        ("Europe/London", "tomorrow at 3 pm", "2025-03-08T15:00:00+00:00"),
        ("Asia/Kolkata", "tomorrow at 3 pm", "2025-03-08T15:00:00+05:30"),
        ("America/Los_Angeles", "at 2:30", "2025-03-07T14:30:00-08:00"),
        ("America/New_York", "in two hours", "2025-03-07T12:00:00-05:00"),
        ("America/New_York", "half past four this afternoon", "2025-03-07T16:30:00-05:00"),
        ("America/New_York", "wensday afternoon", "2025-03-12T14:00:00-04:00"),
        ("America/New_York", "tomorow at noon", "2025-03-08T12:00:00-05:00"),
        ("America/New_York", "March 20th at 10 am", "2025-03-20T10:00:00-04:00"),
        ("America/New_York", "next week", "2025-03-10T10:00:00-04:00"),
    ],
)
async def test_datetime_capture_in_the_leads_timezone(zone, heard, expected):
    config = capture_config("datetime", variable="when")
    brain, ctx = FlowBrain(config), context(config, timezone=zone)
    await collect(brain.greeting(ctx))
    await collect(brain.reply(ctx, heard))
    assert ctx.variables["when"] == expected
    assert ctx.variables["when_spoken"]


async def test_action_nodes_run_tools_and_put_them_in_the_transcript():
    nodes = {
        "press": {"type": "action", "tool": "send_dtmf", "arguments": {"digits": "{{extension}}"}, "next": "hang"},
        "hang": {"type": "action", "tool": "end_call", "arguments": {"disposition": "menu_done"}},
    }
    config = flow_config(nodes, "press")
    brain, ctx = FlowBrain(config), context(config, extension="1234#")
    outputs = await collect(brain.greeting(ctx))
    assert outputs[1:] == [
        ToolUse("send_dtmf", {"digits": "1234#"}, {"ok": True, "digits": "1234#"}),
        SendDigits("1234#"),
        ToolUse("end_call", {"disposition": "menu_done"}, {"ok": True, "disposition": "menu_done"}),
        Hangup("menu_done"),
    ]


async def test_action_errors_take_the_error_path():
    nodes = {
        "press": {
            "type": "action",
            "tool": "send_dtmf",
            "arguments": {"digits": "abc"},
            "next": "ok",
            "on_error": "bad",
        },
        "ok": {"type": "end", "disposition": "ok"},
        "bad": {"type": "end", "text": "That failed.", "disposition": "failed"},
    }
    config = flow_config(nodes, "press")
    outputs = await collect(FlowBrain(config).greeting(context(config)))
    assert isinstance(outputs[1], ToolUse)
    assert "digits may only" in outputs[1].result["error"]
    assert outputs[-2:] == [Speech("That failed."), Hangup("failed")]


async def test_caller_speaks_first():
    config = {**flow_config({"question": QUESTION, **ENDS}, "question"), "first_speaker": "caller"}
    brain, ctx = FlowBrain(config), context(config)
    assert await collect(brain.greeting(ctx)) == []
    outputs = await collect(brain.reply(ctx, "Hello?"))
    assert speech(outputs) == "Hi Maria. This is a test. Do you like gold plans?"


async def test_an_empty_flow_only_greets():
    config = {"brain": "flow", "greeting": "Hello {{first_name}}."}
    brain, ctx = FlowBrain(config), context(config)
    assert await collect(brain.greeting(ctx)) == [Speech("Hello Maria.")]
    assert await collect(brain.reply(ctx, "hi")) == []


def test_validate_flow_reports_every_problem_with_its_path():
    flow = {
        "start": "nowhere",
        "nodes": {
            "a": {"type": "ask", "prompt": "", "intents": {"yes": []}, "branches": {"yes": "b", "maybe": "c"}},
            "b": {"type": "capture", "kind": "colour", "variable": "1x", "prompt": "Hi", "next": "a", "no_match": "a"},
            "c": {"type": "action", "tool": "launch_rocket", "next": "a"},
            "d": {"type": "end", "disposition": "Not Snake"},
            "e": {"type": "dance"},
        },
    }
    errors = dict(validate_flow(flow))
    assert errors["start"].startswith("must name a node")
    assert errors["nodes.a.prompt"] == "must be non-empty text"
    assert errors["nodes.a.intents.yes"] == "must be a non-empty list of phrases"
    assert errors["nodes.a.branches.maybe"] == "has no intent of that name"
    assert errors["nodes.a.no_match"] == "is required"
    assert errors["nodes.b.kind"].startswith("must be one of datetime")
    assert errors["nodes.b.variable"].startswith("must be a name")
    assert errors["nodes.c.tool"].startswith("must be one of end_call")
    assert errors["nodes.d.disposition"].startswith("must be a snake_case word")
    assert errors["nodes.e.type"].startswith("must be one of say")


def test_validate_flow_refuses_loops_that_never_listen():
    flow = {
        "start": "a",
        "nodes": {"a": {"type": "say", "text": "Hi", "next": "b"}, "b": {"type": "goto", "target": "a"}},
    }
    assert validate_flow(flow) == [("nodes.a", "loops without waiting for the caller: a -> b -> a")]


def test_config_validation_reports_flow_errors_under_flow():
    with pytest.raises(ConfigError) as caught:
        load_config({"brain": "flow", "flow": {"start": "x", "nodes": {"x": {"type": "goto", "target": "y"}}}})
    assert caught.value.errors == {"flow.nodes.x.target": ["'y' is not a node"]}


async def first_then_cancel(stream):
    """Take the first output, then stop the stream, as the engine does on a barge-in."""
    first = await stream.__anext__()
    await stream.aclose()
    return first


OPENING = {"hello": {"type": "say", "text": "Welcome to the survey.", "next": "question"}, "question": QUESTION, **ENDS}


async def test_a_barge_in_over_the_greeting_answers_the_first_question():
    config = flow_config(OPENING, "hello")
    brain, ctx = FlowBrain(config), context(config)
    assert await first_then_cancel(brain.greeting(ctx)) == Speech("Hi Maria. This is a test.")
    assert (await collect(brain.reply(ctx, "Oh yes I love it")))[-1] == Hangup("likes_it")


async def test_an_unmatched_barge_in_over_the_greeting_restarts_the_opening():
    config = flow_config(OPENING, "hello")
    brain, ctx = FlowBrain(config), context(config)
    await first_then_cancel(brain.greeting(ctx))
    outputs = await collect(brain.reply(ctx, "Hello? Who is this?"))
    assert speech(outputs) == "Welcome to the survey. Do you like gold plans?"
    assert brain.waiting_at == "question"


async def test_a_barge_in_over_the_goodbye_still_hangs_up():
    config = flow_config({"question": QUESTION, **ENDS}, "question")
    brain, ctx = FlowBrain(config), context(config)
    await collect(brain.greeting(ctx))
    assert await first_then_cancel(brain.reply(ctx, "yes")) == Speech("Great. Goodbye!")
    assert await collect(brain.reply(ctx, "wait, one more thing")) == [Hangup("likes_it")]
