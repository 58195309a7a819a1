"""{{name}} templates: one renderer, the same words from every brain, and no stray spaces."""

import pytest

from agents.brains.base import CallContext, Speech
from agents.brains.factory import make_brain
from agents.brains.templating import render_template


@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        ("Hi {{first_name}}, this is Ava.", {"first_name": "Ana"}, "Hi Ana, this is Ava."),
        ("Hi {{ first_name }}!", {"first_name": "Ana"}, "Hi Ana!"),
        # An empty value leaves no space before the punctuation that followed it.
        ("Hi {{first_name}}, this is Ava.", {"first_name": ""}, "Hi, this is Ava."),
        ("Hi {{first_name}}, this is Ava.", {}, "Hi, this is Ava."),
        ("Thanks {{first_name}}.", {"first_name": None}, "Thanks."),
        # A sentence an empty field leaves broken is left out (issue 14: "Am I speaking with?").
        ("Is this {{first_name}} {{last_name}}?", {}, ""),
        ("Hi, this is Ava. Am I speaking with {{first_name}}?", {}, "Hi, this is Ava."),
        ("Am I speaking with {{first_name}}? Great.", {"first_name": "Tom"}, "Am I speaking with Tom? Great."),
        ("Is that for {{pet}}?\nThanks.", {}, "Thanks."),
        ("Good morning.\n  Your plan is {{plan}}.", {}, "Good morning."),
        # ... and no doubled space between the words around it.
        ("Hi {{title}} {{last_name}}, welcome.", {"last_name": "Ruiz"}, "Hi Ruiz, welcome."),
        ("Hi {{title}} {{last_name}}, welcome.", {"title": "Dr."}, "Hi Dr., welcome."),
        ("Your {{adjective}} appointment is set.", {}, "Your appointment is set."),
        ("{{greeting}} Maria, hello.", {}, "Maria, hello."),
        ("{{a}}{{b}}.", {}, "."),
        # A blank value counts as empty.
        ("Hi {{first_name}}, there.", {"first_name": "  "}, "Hi, there."),
        # Falsy values are values: str() of them, never empty.
        ("You have {{count}} new messages.", {"count": 0}, "You have 0 new messages."),
        ("Opted in: {{opted_in}}.", {"opted_in": False}, "Opted in: False."),
        ("Balance {{balance}}", {"balance": 0.0}, "Balance 0.0"),
        # None is never read out as the word None.
        ("Hello {{first_name}}.", {"first_name": None}, "Hello."),
        # Braces that are not a field are text.
        ("Press {{1}} or {{ }}.", {"1": "x"}, "Press {{1}} or {{ }}."),
    ],
)
def test_render_template(template, variables, expected):
    assert render_template(template, variables) == expected


def test_only_the_spacing_around_an_empty_field_changes():
    # A system prompt's layout (line breaks, indentation, spaced punctuation) is the operator's.
    template = "You are Ava.\n\nRules:\n  - call {{first_name}} by name\n  - wait . . . then answer\n{{notes}}\nEnd."
    assert render_template(template, {"first_name": "Ana"}) == (
        "You are Ava.\n\nRules:\n  - call Ana by name\n  - wait . . . then answer\n\nEnd."
    )
    assert render_template("Call {{first_name}}\nnow", {}) == "Call\nnow"


GREETING = "Hi {{first_name}}, this is Ava. You have {{visits}} visits on file."


def brain_config(kind):
    config = {"brain": kind, "greeting": GREETING}
    if kind == "flow":
        config["flow"] = {"start": "bye", "nodes": {"bye": {"type": "end", "disposition": "completed"}}}
    return config


@pytest.mark.parametrize("kind", ["flow", "llm", "scripted"])
@pytest.mark.parametrize(
    ("lead_variables", "spoken"),
    [
        ({"first_name": "", "visits": 0}, "Hi, this is Ava. You have 0 visits on file."),
        ({"first_name": None, "visits": False}, "Hi, this is Ava. You have False visits on file."),
        ({"first_name": "Ana", "visits": 3}, "Hi Ana, this is Ava. You have 3 visits on file."),
    ],
)
async def test_every_brain_speaks_a_template_the_same_way(kind, lead_variables, spoken):
    config = brain_config(kind)
    ctx = CallContext(call_id="templating", config=config, lead_variables=lead_variables)
    outputs = [output async for output in make_brain(ctx).greeting(ctx)]
    assert outputs[0] == Speech(spoken)
