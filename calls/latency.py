"""The per-turn latency bar: each stage of a reply as a segment, drawn by the template as inline SVG.

Stages are milliseconds after the end of the caller's speech (CallTurn.timings,
and the live view while a reply is being made). The bar grows as stages
complete; SVG attributes, not style=, so it holds under a strict CSP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calls.stages import STAGES

WIDTH = 360.0
SCALE_MS = 2000.0  # the bar's full width, unless a turn took longer


@dataclass(frozen=True)
class Segment:
    stage: str
    label: str
    color: str
    start_ms: int
    end_ms: int
    x: float
    width: float

    @property
    def text_x(self) -> float:
        return round(self.x + self.width + 6, 1)


def latency_segments(timings: dict[str, Any] | None) -> list[Segment]:
    """The stages reached so far, each from the previous one's end (a stage not reached yet is left out)."""
    stages = timings or {}
    reached = [(stage, int(stages[stage.key])) for stage in STAGES if isinstance(stages.get(stage.key), int)]
    if not reached:
        return []
    scale = WIDTH / max(SCALE_MS, max(ms for _, ms in reached))
    segments, previous = [], 0
    for stage, ms in reached:
        start = min(previous, ms)
        segments.append(
            Segment(
                stage.key,
                stage.short_label,
                stage.color,
                start,
                ms,
                round(start * scale, 1),
                round(max(1.0, (ms - start) * scale), 1),
            )
        )
        previous = max(previous, ms)
    return segments
