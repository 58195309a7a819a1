"""Writes for clear-text copies (keyword-only). Retention purges live in privacy.retention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from privacy.models import ClearTurn

if TYPE_CHECKING:
    from calls.models import CallTurn


def clear_turn_keep(*, turn: CallTurn, text: str, heard_text: str, data: dict[str, Any]) -> ClearTurn:
    """Keep the clear text of a turn stored redacted (the version's privacy.keep_clear_text)."""
    return ClearTurn.objects.create(turn=turn, text=text, heard_text=heard_text, data=data)
