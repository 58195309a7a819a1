"""`{{name}}` templates: greetings, prompts, flow texts and tool arguments filled from call variables.

One renderer for every brain, so a greeting reads the same whether a flow, the
LLM brain or a scripted test brain speaks it. A value is spoken as
`str(value)` (0 and False included); a missing or None value is empty text,
never the raw braces or the word None. An empty value must not leave its
spacing behind either: "Hi {{first_name}}, this is Ava" without a first name
is "Hi, this is Ava", which Piper reads without a pause before the comma.
Only the whitespace around an empty field is touched; the rest of the
template (a system prompt's line breaks and indentation) is kept as written.
"""

from __future__ import annotations

import re
from typing import Any

from agents.brains.validation import NAME_PATTERN

_FIELD = re.compile(r"\{\{\s*(" + NAME_PATTERN + r")\s*\}\}")
# Text that attaches to the word before it, so no space may stand in front of it.
_ATTACHES_LEFT = ",.!?;:"
_BLANKS = " \t"


def render_template(template: str, variables: dict[str, Any]) -> str:
    """`template` with each {{name}} replaced by str(variables[name]), "" when missing or None; stripped."""
    # split() with one group alternates literal text and field names: [text, name, text, name, text].
    parts = _FIELD.split(template)
    out = parts[0]
    for index in range(1, len(parts), 2):
        value = variables.get(parts[index])
        text = "" if value is None else str(value)
        literal = parts[index + 1]
        out = out + text + literal if text.strip() else _close_gap(out, literal)
    return out.strip()


def _close_gap(before: str, after: str) -> str:
    """Join the text around an empty field as if the field had never been written."""
    left, right = before.rstrip(_BLANKS), after.lstrip(_BLANKS)
    if not left or left.endswith("\n") or right[:1] in (*_ATTACHES_LEFT, "\n"):
        # Start of a line, or punctuation next: no space at all.
        return left + right
    # Between two words: one space, if the template had any there ("{{a}}{{b}}" had none).
    spaced = len(left) < len(before) or len(right) < len(after)
    return left + (" " if spaced else "") + right
