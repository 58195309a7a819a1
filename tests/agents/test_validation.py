"""Dispositions, variable names, DTMF digits and transfer numbers: one rule each, wherever they are written."""

import pytest

from agents.brains.base import CallContext
from agents.brains.config import ConfigError, load_config
from agents.brains.flow_schema import validate_flow
from agents.brains.scripted import ScriptedBrain, ScriptError
from agents.brains.tools import run_tool

# (disposition, valid as written, valid for end_call, valid in a script tag): the tool lower-cases,
# joins words with _ and strips its argument, the script strips its tag; an empty one means
# "completed" to both. Past that, the rule is the same.
DISPOSITIONS = [
    ("booked", True, True, True),
    ("not_interested", True, True, True),
    ("a" * 40, True, True, True),
    ("a" * 41, False, False, False),  # Call.disposition holds 40 characters
    ("No-Answer", False, False, False),
    ("No Answer", False, True, False),
    ("1st_try", False, False, False),
    ("booked\n", False, True, True),
    ("", False, True, True),
]


def context():
    return CallContext(call_id="validation", config={})


def end_node_flow(disposition):
    return {"start": "end", "nodes": {"end": {"type": "end", "disposition": disposition}}}


@pytest.mark.parametrize(("disposition", "valid", "tool_valid", "script_valid"), DISPOSITIONS)
async def test_a_disposition_is_judged_the_same_by_the_flow_the_config_the_tool_and_the_script(
    disposition, valid, tool_valid, script_valid
):
    flow_ok = validate_flow(end_node_flow(disposition), tools=()) == []
    try:
        load_config({"success_dispositions": [disposition]})
        config_ok = True
    except ConfigError:
        config_ok = False
    tool_ok = "error" not in (await run_tool("end_call", {"disposition": disposition}, context())).result
    try:
        ScriptedBrain({"script": [f"Bye. [hangup:{disposition}]"]})
        script_ok = True
    except ScriptError:
        script_ok = False
    assert (flow_ok, config_ok, tool_ok, script_ok) == (valid, valid, tool_valid, script_valid)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("1234#", True), ("*9w1", True), ("1" * 64, True), ("1" * 65, False), ("12a", False), ("", False)],
)
async def test_dtmf_digits_are_judged_the_same_by_the_tool_and_the_script(digits, valid):
    tool_ok = "error" not in (await run_tool("send_dtmf", {"digits": digits}, context())).result
    try:
        ScriptedBrain({"script": [f"[dtmf:{digits}]"]})
        script_ok = True
    except ScriptError:
        script_ok = False
    assert (tool_ok, script_ok) == (valid, valid)


@pytest.mark.parametrize(
    ("name", "valid"),
    [("insurance_provider", True), ("_x1", True), ("a" * 64, True), ("a" * 65, False), ("1st", False), ("a-b", False)],
)
def test_a_capture_variable_follows_the_template_name_rule(name, valid):
    flow = {
        "start": "ask",
        "nodes": {
            "ask": {
                "type": "capture",
                "kind": "text",
                "variable": name,
                "prompt": "Yes?",
                "next": "end",
                "no_match": "end",
            },
            "end": {"type": "end", "disposition": "done"},
        },
    }
    assert (validate_flow(flow, tools=()) == []) == valid


@pytest.mark.parametrize(
    "number",
    [
        "+1415555012",  # E.164 in shape, but too short for a US number
        "+10005550123",  # no US area code starts with 0
        "+14155550123 ext 2",
        "4155550123",
    ],
)
def test_a_scripted_transfer_needs_a_real_e164_number(number):
    with pytest.raises(ScriptError, match=r"script\[0\]: transfer needs an E.164 number"):
        ScriptedBrain({"script": [f"[transfer:{number}]"]})
    # The config's transfer_number refuses the same numbers.
    with pytest.raises(ConfigError, match="transfer_number"):
        load_config({"transfer_number": number})


def test_a_scripted_transfer_to_a_real_number_is_accepted():
    ScriptedBrain({"script": ["[transfer:+14155550123]", "[transfer:+442071838750]"]})


@pytest.mark.parametrize(
    ("written", "runs"),
    [(None, "words"), ("smart", "smart"), ("words", "words"), ("silence", "silence"), ("transcript", "smart")],
)
def test_end_of_turn_modes_with_smart_the_default_and_transcript_its_old_name(written, runs):
    raw = {} if written is None else {"turn_taking": {"end_of_turn": written}}
    assert load_config(raw).turn_taking.end_of_turn == runs


def test_an_unknown_end_of_turn_mode_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"turn_taking\.end_of_turn: must be one of smart, words, silence"):
        load_config({"turn_taking": {"end_of_turn": "vibes"}})
