"""Reads for analytics: every figure comes from the daily rollups (analytics.models), never from calls or turns.

`Filters` is the one description of what an operator asked for (pages, API
and CSV export alike). Each report function runs one or two grouped queries
over the rollup rows of the range, so its cost follows the number of days and
groups, not the number of calls.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek

from agents.models import Agent, AgentVersion
from analytics.histograms import STAGES, VOICE_TO_VOICE_STAGE, histogram_percentile, histogram_percentiles
from analytics.models import CallDaily, LatencyDaily, RollupState
from analytics.pricing import Pricing, PricingError, pricing_of
from campaigns.models import Campaign

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
# Longer ranges show latency and interruptions per week: a point per day is unreadable there, and a year of
# daily histograms is tens of thousands of rows to add up.
WEEKLY_AFTER_DAYS = 92
DIMENSIONS = {"version": "agent_version", "campaign": "campaign", "source": "lead_source"}
PERCENTILES: tuple[int, ...] = (50, 95, 99)


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # inclusive
    agent_id: int | None = None
    version_id: int | None = None
    campaign_id: int | None = None

    def q(self) -> Q:
        query = Q(day__gte=self.start, day__lte=self.end)
        if self.agent_id is not None:
            query &= Q(agent_id=self.agent_id)
        if self.version_id is not None:
            query &= Q(agent_version_id=self.version_id)
        if self.campaign_id is not None:
            query &= Q(campaign_id=self.campaign_id)
        return query

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def as_params(self) -> dict[str, str]:
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name, value in (("agent", self.agent_id), ("version", self.version_id), ("campaign", self.campaign_id)):
            if value is not None:
                params[name] = str(value)
        return params


def default_filters(*, today: dt.date) -> Filters:
    return Filters(start=today - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1), end=today)


def rollups_refreshed_at() -> dt.datetime | None:
    return RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()


# --- choices for the filter bar ------------------------------------------------------------------


def filter_agents() -> QuerySet[Agent]:
    return Agent.objects.order_by("name")


def filter_versions() -> QuerySet[AgentVersion]:
    return (
        AgentVersion.objects.filter(published_at__isnull=False)
        .select_related("agent")
        .order_by("agent__name", "number")
    )


def filter_campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.order_by("name")


# --- calls per day by outcome ------------------------------------------------------------------------


@dataclass
class CallsPerDay:
    days: list[dt.date]
    outcomes: list[str]  # most frequent first
    counts: dict[str, list[int]]  # outcome -> calls per day, aligned with days
    totals: list[int]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"day": day.isoformat(), "outcome": outcome, "calls": self.counts[outcome][index]}
            for index, day in enumerate(self.days)
            for outcome in self.outcomes
            if self.counts[outcome][index]
        ]


def calls_per_day(filters: Filters) -> CallsPerDay:
    days = filters.days
    position = {day: index for index, day in enumerate(days)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for row in CallDaily.objects.filter(filters.q()).values("day", "outcome").annotate(calls=Sum("calls")).order_by():
        counts[row["outcome"]][position[row["day"]]] += row["calls"]
    outcomes = sorted(counts, key=lambda outcome: (-sum(counts[outcome]), outcome))
    totals = [sum(counts[outcome][index] for outcome in outcomes) for index in range(len(days))]
    return CallsPerDay(days=days, outcomes=outcomes, counts=dict(counts), totals=totals)


# --- connect and success rates -------------------------------------------------------------------------


@dataclass
class RateRow:
    key: Any
    label: str
    calls: int
    connected: int
    successes: int

    @property
    def connect_rate(self) -> float | None:
        return self.connected / self.calls if self.calls else None

    @property
    def success_rate(self) -> float | None:
        """Successes among connected calls: the calls where the agent had its chance."""
        return self.successes / self.connected if self.connected else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "calls": self.calls,
            "connected": self.connected,
            "successes": self.successes,
            "connect_rate": self.connect_rate,
            "success_rate": self.success_rate,
        }


def rates_by(filters: Filters, *, dimension: str) -> list[RateRow]:
    """Connect and success rates grouped by version, campaign or the lead's source; most calls first."""
    column = DIMENSIONS[dimension]
    group = "lead_source" if column == "lead_source" else f"{column}_id"
    rows = (
        CallDaily.objects.filter(filters.q())
        .values(group)
        .annotate(calls=Sum("calls"), connected=Sum("connected"), successes=Sum("successes"))
        .order_by()
    )
    labels = _labels(dimension, [row[group] for row in rows])
    found = [
        RateRow(
            key=row[group],
            label=labels.get(row[group], str(row[group])),
            calls=row["calls"],
            connected=row["connected"],
            successes=row["successes"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda r: (-r.calls, r.label))


def _labels(dimension: str, keys: list[Any]) -> dict[Any, str]:
    if dimension == "version":
        versions = AgentVersion.objects.filter(pk__in=[k for k in keys if k is not None]).select_related("agent")
        return {version.pk: f"{version.agent.name} v{version.number}" for version in versions}
    if dimension == "campaign":
        names = dict(Campaign.objects.filter(pk__in=[k for k in keys if k is not None]).values_list("pk", "name"))
        return {None: "No campaign (inbound)", **names}
    return {key: key or "(none)" for key in keys}


# --- latency ----------------------------------------------------------------------------------------------


@dataclass
class StageLatency:
    stage: str
    label: str
    turns: int
    overall: dict[int, float | None]  # percentile -> ms over the whole range
    per_day: dict[int, list[float | None]]  # percentile -> ms per day


@dataclass
class Latency:
    days: list[dt.date]  # the periods' first days
    stages: list[StageLatency]
    interruptions_per_call: list[float | None]  # per day
    interruptions_overall: float | None
    period: str = "day"  # or "week", for ranges longer than WEEKLY_AFTER_DAYS
    interrupted_turns: int = 0
    connected_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for stage in self.stages:
            for index, day in enumerate(self.days):
                values = {f"p{p}_ms": _round(stage.per_day[p][index]) for p in PERCENTILES}
                if any(value is not None for value in values.values()):
                    out.append({self.period: day.isoformat(), "stage": stage.stage, **values})
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def latency(filters: Filters, *, with_stages: bool = True) -> Latency:
    """p50/p95/p99 of every stage per day (per week beyond WEEKLY_AFTER_DAYS) and over the range, and
    interruptions per connected call. `with_stages=False` skips the histograms (the interruptions report)."""
    weekly = len(filters.days) > WEEKLY_AFTER_DAYS
    if weekly:
        periods = sorted({day - dt.timedelta(days=day.weekday()) for day in filters.days})
        period_of = {day: day - dt.timedelta(days=day.weekday()) for day in filters.days}
    else:
        periods = filters.days
        period_of = {day: day for day in periods}
    position = {period: index for index, period in enumerate(periods)}
    per_day: dict[str, list[dict[int, int]]] = {stage: [defaultdict(int) for _ in periods] for stage, _ in STAGES}
    overall: dict[str, dict[int, int]] = {stage: defaultdict(int) for stage, _ in STAGES}
    if with_stages:
        # Grouped by week in the database when weekly: a year of days is tens of thousands of bucket rows.
        period = TruncWeek("day") if weekly else F("day")
        rows = (
            LatencyDaily.objects.filter(filters.q())
            .annotate(period=period)
            .values("stage", "period", "bucket")
            .annotate(turns=Sum("turns"))
            .order_by()
            .values_list("stage", "period", "bucket", "turns")
        )
        for stage, when, bucket, turns in rows:
            if stage in per_day:
                when = when.date() if isinstance(when, dt.datetime) else when
                per_day[stage][position[when]][bucket] += turns
                overall[stage][bucket] += turns
    stages = []
    for stage, label in STAGES:
        daily = [histogram_percentiles(h, PERCENTILES) for h in per_day[stage]]
        stages.append(
            StageLatency(
                stage=stage,
                label=label,
                turns=sum(overall[stage].values()),
                overall=histogram_percentiles(overall[stage], PERCENTILES),
                per_day={p: [day[p] for day in daily] for p in PERCENTILES},
            )
        )
    interrupted = [0] * len(periods)
    connected = [0] * len(periods)
    for row in (
        CallDaily.objects.filter(filters.q())
        .values("day")
        .annotate(interrupted=Sum("interrupted_turns"), connected=Sum("connected"))
        .order_by()
    ):
        interrupted[position[period_of[row["day"]]]] += row["interrupted"]
        connected[position[period_of[row["day"]]]] += row["connected"]
    total_interrupted, total_connected = sum(interrupted), sum(connected)
    return Latency(
        days=periods,
        period="week" if weekly else "day",
        stages=stages,
        interruptions_per_call=[i / c if c else None for i, c in zip(interrupted, connected, strict=True)],
        interruptions_overall=total_interrupted / total_connected if total_connected else None,
        interrupted_turns=total_interrupted,
        connected_calls=total_connected,
    )


# --- cost --------------------------------------------------------------------------------------------------


@dataclass
class CostRow:
    version_id: int
    label: str
    calls: int
    minutes: float
    prompt_tokens: int
    completion_tokens: int
    currency: str | None
    components: dict[str, float] | None  # None: the version carries no prices
    problem: str = ""

    @property
    def total(self) -> float | None:
        return sum(self.components.values()) if self.components is not None else None

    @property
    def per_call(self) -> float | None:
        return self.total / self.calls if self.total is not None and self.calls else None

    @property
    def per_minute(self) -> float | None:
        return self.total / self.minutes if self.total is not None and self.minutes else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "label": self.label,
            "calls": self.calls,
            "minutes": round(self.minutes, 2),
            "llm_prompt_tokens": self.prompt_tokens,
            "llm_completion_tokens": self.completion_tokens,
            "currency": self.currency,
            "cost": None if self.components is None else {k: round(v, 6) for k, v in self.components.items()},
            "total": _money(self.total),
            "per_call": _money(self.per_call),
            "per_minute": _money(self.per_minute),
            "problem": self.problem,
        }


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def cost_by_version(filters: Filters) -> list[CostRow]:
    """Cost per call and per answered minute of each version, from the prices its configuration carries."""
    rows = (
        CallDaily.objects.filter(filters.q())
        .values("agent_version_id")
        .annotate(
            calls=Sum("calls"),
            seconds=Sum("duration_s"),
            prompt=Sum("llm_prompt_tokens"),
            completion=Sum("llm_completion_tokens"),
        )
        .order_by()
    )
    versions = {
        version.pk: version
        for version in AgentVersion.objects.filter(pk__in=[row["agent_version_id"] for row in rows]).select_related(
            "agent"
        )
    }
    found = []
    for row in rows:
        version = versions[row["agent_version_id"]]
        pricing: Pricing | None = None
        problem = ""
        try:
            pricing = pricing_of(version.config)
        except PricingError as exc:
            problem = str(exc)
        found.append(
            CostRow(
                version_id=version.pk,
                label=f"{version.agent.name} v{version.number}",
                calls=row["calls"],
                minutes=(row["seconds"] or 0) / 60,
                prompt_tokens=int(row["prompt"] or 0),
                completion_tokens=int(row["completion"] or 0),
                currency=pricing.currency if pricing else None,
                components=(
                    pricing.cost(
                        seconds=row["seconds"] or 0,
                        prompt_tokens=int(row["prompt"] or 0),
                        completion_tokens=int(row["completion"] or 0),
                    )
                    if pricing
                    else None
                ),
                problem=problem,
            )
        )
    return sorted(found, key=lambda r: (-r.calls, r.label))


def summary(filters: Filters) -> dict[str, Any]:
    """The headline figures (the admin's summary page and the top of the console's page)."""
    totals = CallDaily.objects.filter(filters.q()).aggregate(
        calls=Sum("calls"), connected=Sum("connected"), successes=Sum("successes"), seconds=Sum("duration_s")
    )
    calls, connected, successes = (totals[k] or 0 for k in ("calls", "connected", "successes"))
    v2v: dict[int, int] = defaultdict(int)
    for bucket, turns in (
        LatencyDaily.objects.filter(filters.q(), stage=VOICE_TO_VOICE_STAGE)
        .values("bucket")
        .annotate(turns=Sum("turns"))
        .order_by()
        .values_list("bucket", "turns")
    ):
        v2v[bucket] += turns
    return {
        "calls": calls,
        "connected": connected,
        "successes": successes,
        "connect_rate": connected / calls if calls else None,
        "success_rate": successes / connected if connected else None,
        "minutes": (totals["seconds"] or 0) / 60,
        "voice_to_voice_p50_ms": _round(histogram_percentile(v2v, 50)),
        "voice_to_voice_p95_ms": _round(histogram_percentile(v2v, 95)),
    }


@dataclass
class VariantFigures:
    """What an experiment's guardrails need of a variant's calls, from the rollups (all days)."""

    answered_calls: int = 0
    early_hangups: int = 0
    timed_calls: int = 0
    timed_seconds: int = 0
    voice_to_voice: dict[int, int] = field(default_factory=dict)  # histogram bucket -> replies

    @property
    def mean_duration_s(self) -> float | None:
        return self.timed_seconds / self.timed_calls if self.timed_calls else None


def variant_figures(variant_ids: list[int]) -> dict[int, VariantFigures]:
    """Per variant: answered calls, early hang-ups, durations and the voice-to-voice histogram (two queries)."""
    found = {variant_id: VariantFigures() for variant_id in variant_ids}
    for row in (
        CallDaily.objects.filter(variant_id__in=variant_ids)
        .values("variant_id")
        .annotate(
            answered=Sum("connected"),
            early=Sum("early_hangups"),
            timed=Sum("connected_timed"),
            seconds=Sum("connected_duration_s"),
        )
        .order_by()
    ):
        figures = found[row["variant_id"]]
        figures.answered_calls = row["answered"] or 0
        figures.early_hangups = row["early"] or 0
        figures.timed_calls = row["timed"] or 0
        figures.timed_seconds = row["seconds"] or 0
    for variant_id, bucket, turns in (
        LatencyDaily.objects.filter(variant_id__in=variant_ids, stage=VOICE_TO_VOICE_STAGE)
        .values("variant_id", "bucket")
        .annotate(turns=Sum("turns"))
        .order_by()
        .values_list("variant_id", "bucket", "turns")
    ):
        found[variant_id].voice_to_voice[bucket] = turns
    return found
