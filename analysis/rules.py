"""Analysis without a language model: what rules can honestly say (pure).

The summary is built from facts the call recorded (disposition, captures,
tools run); sentiment counts the version's positive and negative words in the
caller's turns; success is the version's success dispositions; each field is
read from the flow capture it names (or, for an enum, a choice the caller
said). Every result says it came from rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents.brains.config import AgentConfig, ExtractionField
from analysis.schema import Checked, coerce_value

RULES_NOTE = "No language model is configured: rules only (flow captures and keywords)."


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    data: dict[str, Any]


def _count(words: list[str], text: str) -> int:
    return sum(len(re.findall(rf"\b{re.escape(word)}\b", text)) for word in words if word)


def rules_sentiment(config: AgentConfig, caller_text: str) -> str:
    text = caller_text.lower()
    positive = _count(config.analysis.positive_words, text)
    negative = _count(config.analysis.negative_words, text)
    if positive > negative:
        return "positive"
    if negative > positive:
        return "negative"
    return "neutral"


def _field_value(spec: ExtractionField, variables: dict[str, Any], caller_text: str) -> Any:
    value = variables.get(spec.capture or spec.name)
    if value is None and spec.type == "enum":
        lowered = caller_text.lower()
        said = [choice for choice in spec.choices if re.search(rf"\b{re.escape(choice.lower())}\b", lowered)]
        value = said[0] if len(said) == 1 else None  # two different choices said: the rules cannot tell
    if value is None:
        return None
    coerced, _problem = coerce_value(spec, value)
    return coerced


def rules_analysis(*, config: AgentConfig, turns: list[Turn], variables: dict[str, Any], disposition: str) -> Checked:
    caller_text = " ".join(turn.text for turn in turns if turn.speaker == "caller")
    extraction = {}
    for spec in config.analysis.fields:
        value = _field_value(spec, variables, caller_text)
        if value is not None:
            extraction[spec.name] = value
    success = disposition in config.success_dispositions if disposition else None
    spoken = sum(1 for t in turns if t.speaker in ("caller", "agent"))
    facts = [f"{spoken} turn{'' if spoken == 1 else 's'}"]
    if disposition:
        facts.append(f"ended with disposition {disposition}")
    tools = sorted({turn.text for turn in turns if turn.speaker == "tool"})
    if tools:
        facts.append(f"tools run: {', '.join(tools)}")
    if extraction:
        facts.append("captured " + ", ".join(f"{name} = {value}" for name, value in extraction.items()))
    return Checked(
        summary="Call " + "; ".join(facts) + ".",
        sentiment=rules_sentiment(config, caller_text),
        success=success,
        extraction=extraction,
    )
