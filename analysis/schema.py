"""The JSON an analysis must have: the schema a model is constrained by, and its validation (pure).

The same field definitions (agents.brains.config.ExtractionField) make the
schema sent with the request (`response_format`, which vLLM and llama.cpp turn
into guided decoding) and check the answer: constrained decoding keeps a
model inside the grammar, but a server that ignores the schema, or a reply
cut short by max_tokens, must not write a wrong value into a lead.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from agents.brains.config import ExtractionField

SENTIMENTS = ("positive", "neutral", "negative")
# Bounds in the grammar itself: a small model that never closes its string
# would otherwise write until max_tokens and leave JSON cut in half.
MAX_SUMMARY_CHARS = 500
MAX_FIELD_CHARS = 200


def field_schema(spec: ExtractionField) -> dict[str, Any]:
    schema: dict[str, Any]
    if spec.type == "number":
        schema = {"type": "number"}
    elif spec.type == "boolean":
        schema = {"type": "boolean"}
    elif spec.type == "enum":
        schema = {"type": "string", "enum": list(spec.choices)}
    elif spec.type == "date":
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string", "maxLength": MAX_FIELD_CHARS}
    if spec.description:
        schema["description"] = spec.description
    return schema


def analysis_schema(fields: list[ExtractionField]) -> dict[str, Any]:
    """The JSON schema of one analysis: summary, sentiment, success and the version's fields."""
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "minLength": 1, "maxLength": MAX_SUMMARY_CHARS},
            "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
            "success": {"type": "boolean"},
            "fields": {
                "type": "object",
                "properties": {spec.name: field_schema(spec) for spec in fields},
                "required": [spec.name for spec in fields if spec.required],
                "additionalProperties": False,
            },
        },
        "required": ["summary", "sentiment", "success", "fields"],
        "additionalProperties": False,
    }


@dataclass
class Checked:
    """A validated analysis: what passed, and a problem per field or key that did not."""

    summary: str = ""
    sentiment: str = ""
    success: bool | None = None
    extraction: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def coerce_value(spec: ExtractionField, value: Any) -> tuple[Any, str]:
    """`value` as the field's type, or (None, why not). Dates come back as ISO text (YYYY-MM-DD)."""
    if value is None or value == "":
        return None, ""
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None, "is not a number"
        try:
            number = float(value)
        except ValueError:
            return None, "is not a number"
        return (int(number) if number.is_integer() else number), ""
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value, ""
        text = str(value).strip().lower()
        if text in ("yes", "true", "y"):
            return True, ""
        if text in ("no", "false", "n"):
            return False, ""
        return None, "is not true or false"
    if spec.type == "enum":
        text = str(value).strip()
        for choice in spec.choices:
            if choice.lower() == text.lower():
                return choice, ""
        return None, f"is not one of {', '.join(spec.choices)}"
    if spec.type == "date":
        text = str(value).strip()
        try:
            return dt.date.fromisoformat(text[:10]).isoformat(), ""
        except ValueError:
            return None, "is not a date (YYYY-MM-DD)"
    if not isinstance(value, str | int | float):
        return None, "is not text"
    return str(value), ""


def check_analysis(raw_text: str, fields: list[ExtractionField]) -> Checked:
    """Parse and validate a model's JSON answer against the version's fields."""
    checked = Checked()
    try:
        data = json.loads(raw_text)
    except json.JSONDecodeError as exc:
        checked.problems.append(f"the answer is not JSON ({exc.msg})")
        return checked
    if not isinstance(data, dict):
        checked.problems.append("the answer is not a JSON object")
        return checked
    summary = data.get("summary")
    if isinstance(summary, str) and summary.strip():
        checked.summary = summary.strip()
    else:
        checked.problems.append("summary is missing")
    sentiment = data.get("sentiment")
    if isinstance(sentiment, str) and sentiment.lower() in SENTIMENTS:
        checked.sentiment = sentiment.lower()
    else:
        checked.problems.append(f"sentiment must be one of {', '.join(SENTIMENTS)}")
    success = data.get("success")
    if isinstance(success, bool):
        checked.success = success
    else:
        checked.problems.append("success must be true or false")
    values = data.get("fields")
    if not isinstance(values, dict):
        values = {}
        if fields:
            checked.problems.append("fields is missing")
    for spec in fields:
        value, problem = coerce_value(spec, values.get(spec.name))
        if problem:
            checked.problems.append(f"{spec.name} {problem}")
        elif value is not None:
            checked.extraction[spec.name] = value
    return checked


def missing_required(fields: list[ExtractionField], extraction: dict[str, Any]) -> list[str]:
    return [spec.name for spec in fields if spec.required and extraction.get(spec.name) is None]
