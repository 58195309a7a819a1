"""Geometry for the results chart, drawn by the template as inline SVG.

Server-rendered so the page needs no chart library, no CDN and no script: it
works under a Content-Security-Policy without 'unsafe-inline' and with
JavaScript off. Two panels, one row per variant:

- each variant's success rate with its 95% Wilson interval;
- each variant's difference from control with its always-valid 95% interval
  (the confidence sequence), around a zero line: an interval clear of zero
  is a difference the operator may act on, however often they looked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

WIDTH = 720
LABEL_WIDTH = 150
VALUE_WIDTH = 190
ROW_HEIGHT = 34
TOP = 34  # panel title
AXIS_HEIGHT = 26
PLOT_LEFT = LABEL_WIDTH
PLOT_RIGHT = WIDTH - VALUE_WIDTH


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    x_low: float | None
    x_high: float | None
    x_point: float | None
    text: str
    highlight: bool  # control in the rates panel; an interval clear of zero in the differences panel


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    height: float
    rows: list[Row]
    ticks: list[Tick]
    axis_y: float
    zero_x: float | None  # the differences panel's reference line

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16


class ChartInput(Protocol):
    """What the chart needs of one variant (experiments.selectors.VariantResult has all of it)."""

    @property
    def name(self) -> str: ...
    @property
    def is_control(self) -> bool: ...
    @property
    def rate(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def seq_ci_low(self) -> float | None: ...
    @property
    def seq_ci_high(self) -> float | None: ...


def _nice_step(span: float, target_ticks: int = 5) -> float:
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return float(multiple * magnitude)
    return float(10 * magnitude)


def _scale(low: float, high: float) -> tuple[float, float, float]:
    """Axis bounds widened to whole steps, and the step."""
    if high - low < 1e-9:
        high = low + 0.01
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _x(value: float, low: float, high: float) -> float:
    return PLOT_LEFT + (value - low) / (high - low) * (PLOT_RIGHT - PLOT_LEFT)


def _percent(value: float, *, signed: bool = False) -> str:
    text = f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"
    return f"{text} pp" if signed else f"{text}%"


def _decimals(step: float) -> int:
    """Decimals that tell ticks `step` apart in percent: 2.5 pp needs one, 0.2 pp one, 10 pp none."""
    text = f"{step * 100:.6g}"
    return len(text.split(".")[1]) if "." in text else 0


def _ticks(low: float, high: float, step: float, *, signed: bool) -> list[Tick]:
    ticks = []
    count = round((high - low) / step)
    decimals = _decimals(step)
    for index in range(count + 1):
        value = low + index * step
        if abs(value) < step / 1e6:
            value = 0.0  # no "-0" from rounding
        label = f"{value * 100:+.{decimals}f}" if signed and value else f"{value * 100:.{decimals}f}"
        ticks.append(Tick(x=_x(value, low, high), label=label + ("" if signed else "%")))
    return ticks


def rates_panel(variants: Sequence[ChartInput]) -> Panel:
    highs = [v.ci_high for v in variants if v.ci_high is not None]
    low, high, step = _scale(0.0, max(highs) if highs else 0.1)
    rows = []
    for index, variant in enumerate(variants):
        y = TOP + index * ROW_HEIGHT + ROW_HEIGHT / 2
        if variant.rate is None or variant.ci_low is None or variant.ci_high is None:
            rows.append(Row(variant.name, y, None, None, None, "no exposed leads yet", variant.is_control))
            continue
        rows.append(
            Row(
                label=variant.name + (" (control)" if variant.is_control else ""),
                y=y,
                x_low=_x(variant.ci_low, low, high),
                x_high=_x(variant.ci_high, low, high),
                x_point=_x(variant.rate, low, high),
                text=f"{_percent(variant.rate)} [{_percent(variant.ci_low)}, {_percent(variant.ci_high)}]",
                highlight=variant.is_control,
            )
        )
    axis_y = TOP + len(variants) * ROW_HEIGHT
    return Panel(
        title="Success rate with 95% interval",
        height=axis_y + AXIS_HEIGHT,
        rows=rows,
        ticks=_ticks(low, high, step, signed=False),
        axis_y=axis_y,
        zero_x=None,
    )


def differences_panel(variants: Sequence[ChartInput]) -> Panel | None:
    """None when there is nothing to compare yet (no variant with an interval against control)."""
    others = [v for v in variants if not v.is_control]
    bounds = [abs(b) for v in others for b in (v.seq_ci_low, v.seq_ci_high) if b is not None]
    if not others or not bounds:
        return None
    reach = max(bounds)
    low, high, step = _scale(-reach, reach)
    low, high = -max(-low, high), max(-low, high)  # symmetric: zero in the middle
    rows = []
    for index, variant in enumerate(others):
        y = TOP + index * ROW_HEIGHT + ROW_HEIGHT / 2
        if variant.seq_ci_low is None or variant.seq_ci_high is None or variant.rate is None:
            rows.append(Row(variant.name, y, None, None, None, "no exposed leads yet", False))
            continue
        control_rate = next((v.rate for v in variants if v.is_control), None) or 0.0
        difference = variant.rate - control_rate
        clear = variant.seq_ci_low > 0 or variant.seq_ci_high < 0
        rows.append(
            Row(
                label=variant.name,
                y=y,
                x_low=_x(variant.seq_ci_low, low, high),
                x_high=_x(variant.seq_ci_high, low, high),
                x_point=_x(difference, low, high),
                text=(
                    f"{_percent(difference, signed=True)} "
                    f"[{_percent(variant.seq_ci_low, signed=True)}, {_percent(variant.seq_ci_high, signed=True)}]"
                ),
                highlight=clear,
            )
        )
    axis_y = TOP + len(others) * ROW_HEIGHT
    return Panel(
        title="Difference from control, always-valid 95% interval (percentage points)",
        height=axis_y + AXIS_HEIGHT,
        rows=rows,
        ticks=_ticks(low, high, step, signed=True),
        axis_y=axis_y,
        zero_x=_x(0.0, low, high),
    )


def results_chart(variants: Sequence[ChartInput]) -> list[Panel]:
    panels = [rates_panel(variants)] if variants else []
    differences = differences_panel(variants)
    if differences is not None:
        panels.append(differences)
    return panels
