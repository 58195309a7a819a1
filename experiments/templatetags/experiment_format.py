"""Formatting for experiment figures: rates, differences, p-values (None shows as a dash)."""

from __future__ import annotations

from django import template

register = template.Library()

DASH = "\u2013"  # an en dash: no figure yet


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.1234 -> "12.3%"."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


@register.filter
def signed_percent(value: float | None) -> str:
    """A relative change: 0.25 -> "+25.0%"."""
    return DASH if value is None else f"{value * 100:+.1f}%"


@register.filter
def points(value: float | None) -> str:
    """A difference of rates in percentage points: 0.031 -> "+3.1 pp"."""
    return DASH if value is None else f"{value * 100:+.1f} pp"


@register.filter
def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@register.filter
def milliseconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.0f} ms"


@register.filter
def seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} s"
