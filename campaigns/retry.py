"""Retry rules per outcome: how long to wait and how many attempts in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

RETRYABLE_OUTCOMES = ("no-answer", "busy", "failed", "voicemail")


@dataclass(frozen=True)
class RetryRule:
    delay_minutes: int
    max_attempts: int


DEFAULT_RULES: dict[str, RetryRule] = {
    "no-answer": RetryRule(delay_minutes=60, max_attempts=3),
    "busy": RetryRule(delay_minutes=15, max_attempts=3),
    "failed": RetryRule(delay_minutes=30, max_attempts=2),
    "voicemail": RetryRule(delay_minutes=240, max_attempts=2),
}


def retry_rules_validate(raw: Any) -> dict[str, dict[str, int]]:
    """Check a campaign's `retry_rules` JSON; returns it normalised or raises ValidationError.

    Shape: {"no-answer": {"delay_minutes": 60, "max_attempts": 3}, ...}; any
    outcome left out keeps its default.
    """
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("retry_rules must be an object keyed by outcome.")
    clean: dict[str, dict[str, int]] = {}
    for outcome, rule in raw.items():
        if outcome not in RETRYABLE_OUTCOMES:
            raise ValidationError(
                f"retry_rules: unknown outcome {outcome!r}; use one of {', '.join(RETRYABLE_OUTCOMES)}."
            )
        if not isinstance(rule, dict):
            raise ValidationError(f"retry_rules[{outcome!r}] must be an object with delay_minutes and max_attempts.")
        unknown = set(rule) - {"delay_minutes", "max_attempts"}
        if unknown:
            raise ValidationError(f"retry_rules[{outcome!r}]: unknown keys {sorted(unknown)}.")
        default = DEFAULT_RULES[outcome]
        delay = rule.get("delay_minutes", default.delay_minutes)
        attempts = rule.get("max_attempts", default.max_attempts)
        for name, value, low in (("delay_minutes", delay, 0), ("max_attempts", attempts, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValidationError(f"retry_rules[{outcome!r}].{name} must be an integer >= {low}, got {value!r}.")
        clean[outcome] = {"delay_minutes": delay, "max_attempts": attempts}
    return clean


def retry_rule_for(rules: dict[str, Any] | None, outcome: str) -> RetryRule:
    """The rule for `outcome`, falling back to the default for anything missing or malformed."""
    default = DEFAULT_RULES[outcome]
    rule = (rules or {}).get(outcome)
    if not isinstance(rule, dict):
        return default
    delay = rule.get("delay_minutes", default.delay_minutes)
    attempts = rule.get("max_attempts", default.max_attempts)
    if not isinstance(delay, int) or not isinstance(attempts, int) or delay < 0 or attempts < 1:
        return default
    return RetryRule(delay_minutes=delay, max_attempts=attempts)
