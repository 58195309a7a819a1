"""The dashboard's figures: today's calls, rates and latency, running campaigns, alerts.

"Today" is the operator's day: midnight in the timezone active for the
request (accounts' preference), not UTC's. Every figure is a grouped query
whose count does not depend on how many calls, turns or leads there are
(tests/calls/test_dashboard.py asserts the counts):

- connect rate: calls a person or machine picked up (answered_at set) over
  the calls that have ended, both among today's calls;
- success rate: connected calls whose disposition is in *their own
  version's* `success_dispositions` (the setting each version carries; a
  version that names none counts "booked", the configuration's default),
  over connected calls;
- voice to voice: the first reply frame sent after the caller stopped
  speaking (the stage experiments use), p50 and p95 over today's replies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from agents.selectors import agent_versions_by_id
from analytics.histograms import VOICE_TO_VOICE_STAGE
from calls.models import Call, CallTurn
from experiments.selectors import success_dispositions

RECENT_FAILURES_HOURS = 24
RECENT_FAILURES_SHOWN = 5


def today_start() -> dt.datetime:
    """Midnight today in the active (operator's) timezone, as an aware datetime."""
    now = timezone.localtime()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class DayFigures:
    live_now: int
    calls_today: int
    ended_today: int
    connected_today: int
    succeeded_today: int
    v2v_p50_ms: float | None
    v2v_p95_ms: float | None
    v2v_replies: int

    @property
    def connect_rate(self) -> float | None:
        return _rate(self.connected_today, self.ended_today)

    @property
    def success_rate(self) -> float | None:
        return _rate(self.succeeded_today, self.connected_today)


def success_sets(version_ids: set[int]) -> dict[int, set[str]]:
    """Each version's success dispositions, in one query."""
    return {pk: set(success_dispositions(version)) for pk, version in agent_versions_by_id(version_ids).items()}


def successes_count(rows: Iterable[tuple[int, str, int]]) -> int:
    """Connected calls that succeeded, from (version id, disposition, count) rows: one query for the versions."""
    rows = list(rows)
    wins = success_sets({version_id for version_id, _, _ in rows})
    return sum(n for version_id, disposition, n in rows if disposition in wins.get(version_id, ()))


def disposition_rows(calls: QuerySet[Call]) -> list[tuple[int, str, int]]:
    """(version id, disposition, count) of the connected calls in `calls` that have a disposition."""
    grouped = (
        calls.filter(answered_at__isnull=False)
        .exclude(disposition="")
        .values_list("agent_version_id", "disposition")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [(version_id, disposition, n) for version_id, disposition, n in grouped]


class _Percentile(Aggregate):
    """PostgreSQL's percentile_cont (linear interpolation, as numpy's default percentile)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float) -> None:
        # A float literal in the SQL, never user input.
        super().__init__(expression, fraction=repr(float(fraction)))


def voice_to_voice(*, since: dt.datetime) -> tuple[float | None, float | None, int]:
    """p50 and p95 (ms) of the replies to caller speech made since `since`, and how many there are."""
    # Replies made today (the turn's own time), read through the partial index callturn_agent_created_idx.
    replies = CallTurn.objects.filter(
        created_at__gte=since,
        speaker=CallTurn.Speaker.AGENT,
        timings__has_keys=["stt_done", VOICE_TO_VOICE_STAGE],
    )
    milliseconds = Cast(KeyTextTransform(VOICE_TO_VOICE_STAGE, "timings"), FloatField())
    if connection.vendor == "postgresql":
        row = replies.aggregate(
            p50=_Percentile(milliseconds, fraction=0.5), p95=_Percentile(milliseconds, fraction=0.95), n=Count("id")
        )
        return row["p50"], row["p95"], row["n"]
    # SQLite has no percentile function: the values come back and numpy takes them (same interpolation).
    values = [v for v in replies.annotate(ms=milliseconds).values_list("ms", flat=True) if v is not None]
    if not values:
        return None, None, 0
    return float(np.percentile(values, 50)), float(np.percentile(values, 95)), len(values)


def day_figures() -> DayFigures:
    since = today_start()
    today = Call.objects.filter(created_at__gte=since)
    counts = today.aggregate(
        total=Count("id"),
        ended=Count("id", filter=Q(status__in=Call.FINAL_STATUSES)),
        connected=Count("id", filter=Q(answered_at__isnull=False)),
    )
    p50, p95, replies = voice_to_voice(since=since)
    return DayFigures(
        live_now=Call.objects.filter(status__in=Call.LIVE_STATUSES).count(),
        calls_today=counts["total"],
        ended_today=counts["ended"],
        connected_today=counts["connected"],
        succeeded_today=successes_count(disposition_rows(today)),
        v2v_p50_ms=p50,
        v2v_p95_ms=p95,
        v2v_replies=replies,
    )


def recent_failed_calls(*, limit: int = RECENT_FAILURES_SHOWN) -> list[Call]:
    since = timezone.now() - dt.timedelta(hours=RECENT_FAILURES_HOURS)
    failed = Call.objects.filter(status=Call.Status.FAILED, created_at__gte=since)
    return list(failed.select_related("agent_version__agent", "lead").order_by("-created_at")[:limit])


# --- the LLM endpoints' state ---------------------------------------------------------------------


@dataclass
class _LlmState:
    checks: dict[str, str] = field(default_factory=dict)
    at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


_llm_state = _LlmState()


def llm_endpoints_down(*, clock: Any = time.monotonic) -> list[str]:
    """The configured LLM endpoints that do not answer, by position ("llm-2"), never by host.

    The same probe as /readyz (GET <base>/models, LLM_PROBE_TIMEOUT_MS at
    most, every endpoint at once), run at most once per LLM_PROBE_CACHE_S per
    process however many dashboards poll; concurrent renders wait for one probe.
    The alerts are their own fragment, so a slow probe never delays the figures.
    """
    if not settings.LLM_BASE_URLS:
        return []
    from voiceops.health import DOWN, _probe_llms

    state = _llm_state
    with state.lock:
        if clock() - state.at >= settings.LLM_PROBE_CACHE_S:
            # A view runs in a worker thread with no event loop of its own.
            state.checks = asyncio.run(_probe_llms())
            state.at = clock()
        return sorted(name for name, value in state.checks.items() if value == DOWN)


def llm_state_reset() -> None:
    """Forget the cached probe (tests)."""
    global _llm_state
    _llm_state = _LlmState()
