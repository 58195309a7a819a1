"""`{% latency_bar timings %}`: a reply's latency stages as an inline SVG bar (calls.latency)."""

from __future__ import annotations

import json
from typing import Any

from django import template

from calls.latency import latency_segments

register = template.Library()


@register.inclusion_tag("console/_latency_bar.html")
def latency_bar(timings: dict[str, Any] | None) -> dict[str, Any]:
    return {"segments": latency_segments(timings)}


@register.filter
def unheard(text: str, heard: str) -> str:
    """The part of `text` after what the caller heard (the heard words are its beginning)."""
    text, heard = text or "", heard or ""
    if not heard:
        return text
    if text.startswith(heard):
        return text[len(heard) :].strip()
    # Heard text is whole words of the text: drop as many words as were heard.
    return " ".join(text.split()[len(heard.split()) :])


@register.filter
def as_json(value: Any) -> str:
    """A tool's arguments or result, compact (escaped by the template as any text)."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
