"""Geometry for a call's latency waterfall, drawn by console/_latency_waterfall.html as inline SVG.

One row per agent reply that has timings: each stage (speech recognised,
first brain text, first synthesized audio, first frame sent, first mark
acknowledged) is a segment from the previous stage's time to its own, in ms
after the caller stopped speaking (CallTurn.timings). Server-rendered like
experiments/charts.py, whose tick spacing it reuses: no script, no CDN, and
it works under the console's Content-Security-Policy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from calls.stages import STAGES
from experiments.charts import _nice_step

WIDTH = 720
LABEL_WIDTH = 110
VALUE_WIDTH = 80
ROW_HEIGHT = 22
TOP = 8
AXIS_HEIGHT = 24
PLOT_LEFT = LABEL_WIDTH
PLOT_RIGHT = WIDTH - VALUE_WIDTH


@dataclass(frozen=True)
class Segment:
    stage: str
    x: float
    width: float
    color: str
    title: str


@dataclass(frozen=True)
class WaterfallRow:
    label: str
    y: float
    segments: list[Segment]
    total_text: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Waterfall:
    rows: list[WaterfallRow]
    ticks: list[Tick]
    height: float
    axis_y: float
    legend: list[tuple[str, str]]

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16


def _stage_times(timings: Any) -> list[tuple[str, str, str, float]]:
    if not isinstance(timings, dict):
        return []
    found = []
    for stage in STAGES:
        value = timings.get(stage.key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            found.append((stage.key, stage.label, stage.color, float(value)))
    return found


def waterfall(turns: Iterable[Any]) -> Waterfall | None:
    """The chart for a call's turns (anything with speaker, index and timings); None when no turn has timings."""
    measured = [(turn, _stage_times(turn.timings)) for turn in turns if turn.speaker == "agent"]
    measured = [(turn, stages) for turn, stages in measured if stages]
    if not measured:
        return None
    longest = max(stages[-1][3] for _, stages in measured)
    step = _nice_step(max(longest, 1.0))
    high = math.ceil(max(longest, 1.0) / step) * step
    scale = (PLOT_RIGHT - PLOT_LEFT) / high
    rows = []
    for index, (turn, stages) in enumerate(measured):
        y = TOP + index * ROW_HEIGHT
        segments = []
        previous = 0.0
        for key, label, color, at in stages:
            start = min(previous, at)
            segments.append(
                Segment(
                    stage=key,
                    x=PLOT_LEFT + start * scale,
                    width=max(1.0, (at - start) * scale),
                    color=color,
                    title=f"{label} at {at:.0f} ms",
                )
            )
            previous = max(previous, at)
        rows.append(
            WaterfallRow(label=f"turn {turn.index}", y=y, segments=segments, total_text=f"{stages[-1][3]:.0f} ms")
        )
    axis_y = TOP + len(rows) * ROW_HEIGHT
    count = round(high / step)
    ticks = [Tick(x=PLOT_LEFT + i * step * scale, label=f"{i * step:g}") for i in range(count + 1)]
    return Waterfall(
        rows=rows,
        ticks=ticks,
        height=axis_y + AXIS_HEIGHT,
        axis_y=axis_y,
        legend=[(stage.label, stage.color) for stage in STAGES],
    )
