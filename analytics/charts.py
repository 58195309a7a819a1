"""Geometry for the analytics charts, drawn by the templates as inline SVG (no script, no chart library).

As experiments.charts: computed here, so the templates only place points,
and the pages work under a Content-Security-Policy without 'unsafe-inline'.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 240
LEFT = 56
RIGHT = 16
TOP = 16
BOTTOM = 40
PALETTE = ("#2f6fed", "#0a7a3b", "#d97706", "#b42318", "#6941c6", "#0e7490", "#667085", "#c11574")


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    points: str  # "x,y x,y ..." for <polyline>, gaps split into segments
    segments: list[str]
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    x: float


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    lines: list[Line]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[LegendItem]
    empty: bool
    plot_left: float = LEFT
    plot_right: float = WIDTH - RIGHT
    plot_top: float = TOP + 18
    plot_bottom: float = HEIGHT - BOTTOM

    @property
    def marks(self) -> SafeString:
        """The bars, lines and points as SVG markup, built here in one pass.

        A year of daily bars is over a thousand elements; a template loop with
        filters per attribute cost hundreds of milliseconds for them. Every
        text that reaches the markup is escaped by format_html.
        """
        bars = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            ((f"{b.x:.2f}", f"{b.y:.2f}", f"{b.width:.2f}", f"{b.height:.2f}", b.color, b.title) for b in self.bars),
        )
        lines = format_html_join(
            "",
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
            ((segment, line.color) for line in self.lines for segment in line.segments),
        )
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}</title></circle>',
            ((f"{x:.1f}", f"{y:.1f}", line.color, label) for line in self.lines for x, y, label in line.dots),
        )
        return mark_safe(bars + lines + dots)  # noqa: S308  (each part built by format_html_join)

    @property
    def x_label_y(self) -> float:
        return self.plot_bottom + 16

    @property
    def legend_y(self) -> float:
        return self.height - 6


def _nice_step(top: float, ticks: int = 4) -> float:
    if top <= 0:
        return 1.0
    raw = top / ticks
    magnitude: float = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _format(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0%}"
    if value >= 1000 and value == int(value):
        return f"{value:,.0f}"
    return f"{value:g}"


def _y_axis(top_value: float, unit: str, *, whole: bool = False) -> tuple[float, list[float]]:
    step = _nice_step(top_value)
    if whole:
        step = max(1.0, float(math.ceil(step)))  # counts: no tick at 0.5 of a call
    top = step * max(1, math.ceil(top_value / step))
    return top, [step * n for n in range(round(top / step) + 1)]


def _x_positions(count: int) -> list[float]:
    span = WIDTH - RIGHT - LEFT
    slot = span / max(count, 1)
    return [LEFT + slot * (index + 0.5) for index in range(count)]


def _x_ticks(days: Sequence[dt.date]) -> list[Tick]:
    positions = _x_positions(len(days))
    every = max(1, math.ceil(len(days) / 8))
    return [Tick(positions[i], f"{days[i]:%b %d}") for i in range(0, len(days), every)]


def _legend(labels: Sequence[str]) -> list[LegendItem]:
    items, x = [], float(LEFT)
    for index, label in enumerate(labels):
        items.append(LegendItem(label=label, color=PALETTE[index % len(PALETTE)], x=x))
        x += 22 + 7 * len(label)
    return items


def stacked_bars(*, title: str, days: Sequence[dt.date], series: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Calls per day, one colour per outcome stacked in the order given."""
    totals = [sum(values[i] for _, values in series) for i in range(len(days))]
    top, ticks = _y_axis(max(totals, default=0) or 1, "", whole=True)
    plot_top, plot_bottom = TOP + 18, HEIGHT - BOTTOM
    scale = (plot_bottom - plot_top) / top
    positions = _x_positions(len(days))
    width = max(1.0, (WIDTH - RIGHT - LEFT) / max(len(days), 1) * 0.7)
    bars = []
    for index, x in enumerate(positions):
        base: float = plot_bottom
        for series_index, (label, values) in enumerate(series):
            value = values[index]
            if not value:
                continue
            height = value * scale
            base -= height
            bars.append(
                Bar(
                    x=x - width / 2,
                    y=base,
                    width=width,
                    height=height,
                    color=PALETTE[series_index % len(PALETTE)],
                    title=f"{days[index]:%b %d}: {value:,} {label}",
                )
            )
    return Chart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        lines=[],
        y_ticks=[Tick(plot_bottom - t * scale, _format(t, "")) for t in ticks],
        x_ticks=_x_ticks(days),
        legend=_legend([label for label, _ in series]),
        empty=not any(totals),
    )


def line_chart(
    *, title: str, days: Sequence[dt.date], series: Sequence[tuple[str, Sequence[float | None]]], unit: str = ""
) -> Chart:
    """One line per series over the days; a day without a value breaks the line rather than inventing one."""
    values = [v for _, vs in series for v in vs if v is not None]
    top, ticks = _y_axis(max(values, default=0) or 1, unit)
    plot_top, plot_bottom = TOP + 18, HEIGHT - BOTTOM
    scale = (plot_bottom - plot_top) / top
    positions = _x_positions(len(days))
    lines = []
    for index, (label, vs) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        dots = []
        for day, x, value in zip(days, positions, vs, strict=True):
            if value is None:
                if segments[-1]:
                    segments.append([])
                continue
            y = plot_bottom - value * scale
            segments[-1].append(f"{x:.1f},{y:.1f}")
            shown = f"{value:.0%}" if unit == "%" else f"{value:,.2f}".rstrip("0").rstrip(".") + (unit and f" {unit}")
            dots.append((round(x, 1), round(y, 1), f"{label}, {day:%b %d}: {shown}"))
        parts = [" ".join(segment) for segment in segments if segment]
        lines.append(Line(label=label, color=color, points=" ".join(parts), segments=parts, dots=dots))
    return Chart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        bars=[],
        lines=lines,
        y_ticks=[Tick(plot_bottom - t * scale, _format(t, unit)) for t in ticks],
        x_ticks=_x_ticks(days),
        legend=_legend([label for label, _ in series]),
        empty=not values,
    )
