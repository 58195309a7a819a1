"""`{{name}}` templates: greetings, prompts, flow texts and tool arguments filled from call variables.

One renderer for every brain, so a greeting reads the same whether a flow, the
LLM brain or a scripted test brain speaks it. A value is spoken as
`str(value)` (0 and False included); a missing or None value is empty text,
never the raw braces or the word None. An empty value must not leave its
spacing behind either: "Hi {{first_name}}, this is Ava" without a first name
is "Hi, this is Ava", which Piper reads without a pause before the comma.
Only the whitespace around an empty field is touched; the rest of the
template (a system prompt's line breaks and indentation) is kept as written.

A sentence an empty field leaves broken is dropped whole: "Am I speaking
with {{first_name}}?" to an inbound caller who is no lead was "Am I speaking
with?" (issue 14). Broken means the sentence now ends on a word that needs
what came after it (a preposition, an article, "this", "is": the words
agents.brains.completeness hears as a sentence left open).
"""

from __future__ import annotations

import re
from typing import Any

from agents.brains.completeness import OPEN_ENDINGS
from agents.brains.validation import NAME_PATTERN

_FIELD = re.compile(r"\{\{\s*(" + NAME_PATTERN + r")\s*\}\}")
# Text that attaches to the word before it, so no space may stand in front of it.
_ATTACHES_LEFT = ",.!?;:"
_BLANKS = " \t"
# A sentence ends at . ! or ? followed by whitespace; the whitespace is kept as written.
_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")
_LAST_WORD = re.compile(r"([A-Za-z']+)[^A-Za-z']*$")
# Besides the open endings: words a question or an address cannot end on.
_NEEDS_MORE = OPEN_ENDINGS | {"this", "is", "are", "was", "dear", "mr", "mrs", "ms", "dr"}


def render_template(template: str, variables: dict[str, Any]) -> str:
    """`template` with each {{name}} replaced by str(variables[name]), "" when missing or None; stripped.

    A sentence that an empty value leaves ending on a word that needs more is left out.
    """
    if "{{" not in template:
        return template.strip()
    # With one group, split() alternates sentences and the whitespace between them.
    pieces = _SENTENCE_END.split(template)
    out = ""
    for index in range(0, len(pieces), 2):
        sentence, emptied = _render_sentence(pieces[index], variables)
        if emptied and _broken(sentence):
            continue
        out += sentence + (pieces[index + 1] if index + 1 < len(pieces) else "")
    return out.strip()


def _render_sentence(template: str, variables: dict[str, Any]) -> tuple[str, bool]:
    """The sentence filled in, and whether any of its fields was empty."""
    # split() with one group alternates literal text and field names: [text, name, text, name, text].
    parts = _FIELD.split(template)
    out = parts[0]
    emptied = False
    for index in range(1, len(parts), 2):
        value = variables.get(parts[index])
        text = "" if value is None else str(value)
        literal = parts[index + 1]
        if text.strip():
            out = out + text + literal
        else:
            emptied = True
            out = _close_gap(out, literal)
    return out, emptied


def _broken(sentence: str) -> bool:
    last = _LAST_WORD.search(sentence)
    return last is not None and last.group(1).lower().rstrip(".") in _NEEDS_MORE


def _close_gap(before: str, after: str) -> str:
    """Join the text around an empty field as if the field had never been written."""
    left, right = before.rstrip(_BLANKS), after.lstrip(_BLANKS)
    if not left or left.endswith("\n") or right[:1] in (*_ATTACHES_LEFT, "\n"):
        # Start of a line, or punctuation next: no space at all.
        return left + right
    # Between two words: one space, if the template had any there ("{{a}}{{b}}" had none).
    spaced = len(left) < len(before) or len(right) < len(after)
    return left + (" " if spaced else "") + right
