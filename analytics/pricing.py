"""Per-version prices, read from an agent version's configuration (`"pricing"`).

    "pricing": {"currency": "USD", "telephony_per_minute": 0.014, "stt_per_minute": 0.006,
                "tts_per_minute": 0.015, "llm_per_minute": 0.0,
                "llm_per_1k_prompt_tokens": 0.0005, "llm_per_1k_completion_tokens": 0.0015}

Every price is optional and at least 0; a version without a "pricing" object
has no cost figures (shown as unknown, never as free). Minutes are the calls'
answered minutes; tokens are the LLM usage its agent turns recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PER_MINUTE = ("telephony_per_minute", "stt_per_minute", "tts_per_minute", "llm_per_minute")
PER_1K_TOKENS = ("llm_per_1k_prompt_tokens", "llm_per_1k_completion_tokens")


class PricingError(ValueError):
    """A pricing object that cannot be read: which key, and why."""


@dataclass(frozen=True)
class Pricing:
    currency: str
    telephony_per_minute: float = 0.0
    stt_per_minute: float = 0.0
    tts_per_minute: float = 0.0
    llm_per_minute: float = 0.0
    llm_per_1k_prompt_tokens: float = 0.0
    llm_per_1k_completion_tokens: float = 0.0

    def cost(self, *, seconds: float, prompt_tokens: int, completion_tokens: int) -> dict[str, float]:
        """Cost by component for `seconds` of answered calls and the tokens their turns used."""
        minutes = seconds / 60
        return {
            "telephony": minutes * self.telephony_per_minute,
            "stt": minutes * self.stt_per_minute,
            "tts": minutes * self.tts_per_minute,
            "llm": minutes * self.llm_per_minute
            + prompt_tokens / 1000 * self.llm_per_1k_prompt_tokens
            + completion_tokens / 1000 * self.llm_per_1k_completion_tokens,
        }


def pricing_of(config: Any) -> Pricing | None:
    """The version's prices; None without a "pricing" object. Raises PricingError for a bad one."""
    raw = config.get("pricing") if isinstance(config, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PricingError("pricing: must be an object of prices")
    known = {"currency", *PER_MINUTE, *PER_1K_TOKENS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PricingError(f"pricing: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")
    currency = raw.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        raise PricingError("pricing.currency: must be a currency code such as USD")
    prices: dict[str, float] = {}
    for key in (*PER_MINUTE, *PER_1K_TOKENS):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise PricingError(f"pricing.{key}: must be a number of at least 0")
        prices[key] = float(value)
    return Pricing(currency=currency.strip().upper(), **prices)
