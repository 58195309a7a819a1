"""The analytics reports as data: one function per report gives the JSON the API returns and the CSV rows.

Pages, API and CSV export all go through `report_json` / `report_csv`, so the
three never disagree about a figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from analytics.selectors import (
    Filters,
    calls_per_day,
    cost_by_version,
    latency,
    rates_by,
    summary,
)

REPORTS = ("calls", "rates", "latency", "interruptions", "cost")


def _calls(filters: Filters, dimension: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures = calls_per_day(filters)
    rows = figures.rows()
    return {"summary": summary(filters), "outcomes": figures.outcomes, "calls_per_day": rows}, rows


def _rates(filters: Filters, dimension: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [row.as_dict() for row in rates_by(filters, dimension=dimension)]
    return {"dimension": dimension, "rates": rows}, rows


def _latency(filters: Filters, dimension: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures = latency(filters)
    stages = [
        {
            "stage": stage.stage,
            "label": stage.label,
            "turns": stage.turns,
            **{f"p{p}_ms": None if v is None else round(v, 1) for p, v in stage.overall.items()},
        }
        for stage in figures.stages
    ]
    rows = figures.rows()
    return {"period": figures.period, "stages": stages, "per_period": rows}, rows


def _interruptions(filters: Filters, dimension: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    figures = latency(filters, with_stages=False)
    rows = [
        {figures.period: day.isoformat(), "interruptions_per_call": None if value is None else round(value, 4)}
        for day, value in zip(figures.days, figures.interruptions_per_call, strict=True)
    ]
    overall = figures.interruptions_overall
    return {
        "interruptions_per_call": None if overall is None else round(overall, 4),
        "interrupted_turns": figures.interrupted_turns,
        "connected_calls": figures.connected_calls,
        "period": figures.period,
        "per_period": rows,
    }, rows


def _cost(filters: Filters, dimension: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [row.as_dict() for row in cost_by_version(filters)]
    flat = []
    for row in rows:
        cost = row.pop("cost") or {}
        flat.append({**row, **{f"cost_{key}": value for key, value in cost.items()}})
        row["cost"] = cost or None
    return {"versions": rows}, flat


_BUILDERS: dict[str, Callable[[Filters, str], tuple[dict[str, Any], list[dict[str, Any]]]]] = {
    "calls": _calls,
    "rates": _rates,
    "latency": _latency,
    "interruptions": _interruptions,
    "cost": _cost,
}


def report_json(report: str, filters: Filters, *, dimension: str = "version") -> dict[str, Any]:
    body, _ = _BUILDERS[report](filters, dimension)
    return {"report": report, "filters": filters.as_params(), **body}


def report_csv(report: str, filters: Filters, *, dimension: str = "version") -> str:
    _, rows = _BUILDERS[report](filters, dimension)
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    writer = csv.DictWriter(out, fieldnames=columns or ["day"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
