"""The scripted test brain: its action tags, and a clear refusal of a bad one."""

import pytest

from agents.brains.base import CallContext, Hangup, SendDigits, Speech, ToolUse, Transfer
from agents.brains.scripted import ScriptedBrain, ScriptError


async def collect(stream):
    return [item async for item in stream]


def context(history=()):
    return CallContext(call_id="scripted", config={}, lead_variables={"first_name": "Ana"}, history=list(history))


async def test_lines_follow_the_callers_turns_and_tags_become_actions():
    brain = ScriptedBrain(
        {
            "greeting": "Hi {{first_name}}.",
            "script": [
                "Connecting you. [transfer:+14155550123]",
                "[dtmf:12w#]",
                "Bye. [hangup:done]",
                "Bye. [hangup]",
            ],
        }
    )
    assert await collect(brain.greeting(context())) == [Speech("Hi Ana.")]
    said = [{"role": "user", "content": "x"}]
    assert await collect(brain.reply(context(), "x")) == [
        Speech("Connecting you."),
        ToolUse("transfer_to_human", {}, {"ok": True, "number": "+14155550123"}),
        Transfer("+14155550123"),
    ]
    assert await collect(brain.reply(context(said), "x")) == [
        ToolUse("send_dtmf", {"digits": "12w#"}, {"ok": True, "digits": "12w#"}),
        SendDigits("12w#"),
    ]
    assert await collect(brain.reply(context(said * 2), "x")) == [Speech("Bye."), Hangup("done")]
    assert await collect(brain.reply(context(said * 3), "x")) == [Speech("Bye."), Hangup("completed")]
    # Past the end, a caller who spoke over the last line's goodbye gets its hang-up again.
    assert await collect(brain.reply(context(said * 4), "x")) == [Hangup("completed")]


async def test_a_script_that_does_not_hang_up_says_nothing_past_its_end():
    brain = ScriptedBrain({"greeting": "Hi.", "script": ["Noted. [transfer:+14155550123]", "Okay."]})
    said = [{"role": "user", "content": "x"}]
    assert await collect(brain.reply(context(said * 2), "x")) == []
    assert await collect(brain.reply(context(said * 5), "x")) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Hold on. [transfer:4155550123]", "script[0]: transfer needs an E.164 number"),
        ("[transfer]", "script[0]: transfer needs an E.164 number"),
        ("[dtmf:12a]", "script[0]: dtmf digits may only be"),
        ("[hangup:no way]", "script[0]: disposition 'no way'"),
        ("[dtmf:1] [hangup]", "script[0]: one action tag per line"),
    ],
)
def test_a_bad_tag_is_refused_when_the_brain_is_built(line, message):
    with pytest.raises(ScriptError, match=message.replace("[", r"\[")):
        ScriptedBrain({"greeting": "Hi.", "script": [line]})
