"""Writes for analytics: rebuild a day's rollups from its calls, and refresh the days whose calls changed.

A day's rows are deleted and written again from that day's calls (created in
that UTC day), grouped in the database: a handful of grouped queries per day
whatever its size. Rebuilding rather than adding one call at a time keeps the
rollup exact when things arrive after a call ends (the disposition, the last
turns, a late status callback) and makes a rebuild idempotent.

`rollups_refresh` runs from beat every ANALYTICS_REFRESH_SECONDS (and from a
page that finds the rollups older than that, so the embedded default without
beat stays current): it rebuilds the days of calls created or ended since the
last refresh, less a grace for late writes. Refreshes take the state row's
lock, so two never interleave their deletes and inserts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, F, FloatField, Q, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Floor, Greatest, Ln, TruncDate
from django.utils import timezone

from agents.models import AgentVersion
from analytics.models import CallDaily, LatencyDaily, RollupState
from calls.models import Call, CallTurn
from experiments.selectors import person_answered, success_dispositions

# The lead field rates are broken down by (a custom field of campaigns.Lead).
LEAD_FIELD = "source"
# Latency stages, as CallTurn.timings keys (ms after the end of the caller's speech), with their labels.
STAGES: tuple[tuple[str, str], ...] = (
    ("end_of_turn", "End of turn"),
    ("stt_done", "STT"),
    ("first_brain_text", "Brain"),
    ("first_tts_audio", "TTS"),
    ("first_frame_sent", "First frame (voice to voice)"),
    ("first_mark_acknowledged", "First mark"),
)
BUCKET_RATIO = 1.05
# Writes that may land after a call ended (disposition, final turns, outcome): days are rebuilt this long after.
REFRESH_GRACE = dt.timedelta(minutes=10)


def bucket_of_ms(ms: float) -> int:
    """The histogram bucket of a latency (the same arithmetic the database does in rollup_day_rebuild)."""
    return math.floor(math.log(max(ms, 1.0)) / math.log(BUCKET_RATIO))


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _calls_of(day: dt.date) -> Any:
    start, end = day_bounds(day)
    # TODO(issue 12): leave browser test calls out once calls carry the flag (helper `live` adds it).
    return Call.objects.filter(created_at__gte=start, created_at__lt=end)


def _outcome_label(outcome: str, status: str) -> str:
    return outcome or status


@transaction.atomic
def rollup_day_rebuild(*, day: dt.date) -> int:
    """Replace `day`'s rollups with sums of its calls now; returns the number of call groups written."""
    CallDaily.objects.filter(day=day).delete()
    LatencyDaily.objects.filter(day=day).delete()
    calls = _calls_of(day)
    person = person_answered()
    source = Coalesce(KeyTextTransform(LEAD_FIELD, "lead__custom_fields"), Value(""), output_field=TextField())
    rows = list(
        calls.annotate(lead_source=source)
        .values(
            "agent_version_id",
            "agent_version__agent_id",
            "campaign_id",
            "direction",
            "lead_source",
            "outcome",
            "status",
            "disposition",
        )
        .annotate(
            calls=Count("pk"),
            connected=Count("pk", filter=person),
            duration=Coalesce(Sum("duration_seconds"), 0),
        )
        .order_by()
    )
    versions = _success_lists({row["agent_version_id"] for row in rows})
    groups: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        version_id = row["agent_version_id"]
        key = (
            version_id,
            row["agent_version__agent_id"],
            row["campaign_id"],
            row["direction"],
            row["lead_source"][:80],
            _outcome_label(row["outcome"], row["status"]),
        )
        group = groups[key]
        group["calls"] += row["calls"]
        group["connected"] += row["connected"]
        group["duration_s"] += row["duration"]
        if row["disposition"] and row["disposition"] in versions.get(version_id, ()):
            group["successes"] += row["connected"]

    turn_rows = (
        CallTurn.objects.filter(call__in=calls, speaker=CallTurn.Speaker.AGENT)
        .annotate(
            lead_source=Coalesce(
                KeyTextTransform(LEAD_FIELD, "call__lead__custom_fields"), Value(""), output_field=TextField()
            )
        )
        .values(
            "call__agent_version_id",
            "call__agent_version__agent_id",
            "call__campaign_id",
            "call__direction",
            "lead_source",
            "call__outcome",
            "call__status",
        )
        .annotate(
            turns=Count("pk"),
            interrupted=Count("pk", filter=Q(interrupted=True)),
            prompt=Coalesce(Sum(_usage("prompt_tokens")), 0.0),
            completion=Coalesce(Sum(_usage("completion_tokens")), 0.0),
        )
        .order_by()
    )
    for row in turn_rows:
        key = (
            row["call__agent_version_id"],
            row["call__agent_version__agent_id"],
            row["call__campaign_id"],
            row["call__direction"],
            row["lead_source"][:80],
            _outcome_label(row["call__outcome"], row["call__status"]),
        )
        group = groups[key]
        group["agent_turns"] += row["turns"]
        group["interrupted_turns"] += row["interrupted"]
        group["llm_prompt_tokens"] += int(row["prompt"])
        group["llm_completion_tokens"] += int(row["completion"])

    CallDaily.objects.bulk_create(
        [
            CallDaily(
                day=day,
                agent_version_id=version_id,
                agent_id=agent_id,
                campaign_id=campaign_id,
                direction=direction,
                lead_source=lead_source,
                outcome=outcome[:32],
                **figures,
            )
            for (version_id, agent_id, campaign_id, direction, lead_source, outcome), figures in groups.items()
        ],
        batch_size=1000,
    )
    LatencyDaily.objects.bulk_create(_latency_rows(day, calls), batch_size=5000)
    return len(groups)


def _usage(name: str) -> Any:
    # OpenAI's usage object, as an LLM agent turn records it in CallTurn.data["usage"].
    return Cast(KeyTextTransform(name, KeyTransform("usage", "data")), FloatField())


def _success_lists(version_ids: Iterable[int]) -> dict[int, list[str]]:
    return {version.pk: success_dispositions(version) for version in AgentVersion.objects.filter(pk__in=version_ids)}


def _latency_rows(day: dt.date, calls: Any) -> list[LatencyDaily]:
    found: list[LatencyDaily] = []
    for stage, _label in STAGES:
        milliseconds = Cast(KeyTextTransform(stage, "timings"), FloatField())
        bucket = Floor(Ln(Greatest(F("ms"), Value(1.0))) / Value(math.log(BUCKET_RATIO)))
        rows = (
            CallTurn.objects.filter(call__in=calls, speaker=CallTurn.Speaker.AGENT, timings__has_key=stage)
            .annotate(ms=milliseconds)
            .filter(ms__isnull=False)
            .annotate(bucket=bucket)
            .values("call__agent_version_id", "call__agent_version__agent_id", "call__campaign_id", "bucket")
            .annotate(turns=Count("pk"))
            .order_by()
        )
        found.extend(
            LatencyDaily(
                day=day,
                agent_version_id=row["call__agent_version_id"],
                agent_id=row["call__agent_version__agent_id"],
                campaign_id=row["call__campaign_id"],
                stage=stage,
                bucket=int(row["bucket"]),
                turns=row["turns"],
            )
            for row in rows
        )
    return found


def rollup_days_rebuild(*, days: Iterable[dt.date]) -> int:
    return sum(rollup_day_rebuild(day=day) for day in sorted(set(days)))


@transaction.atomic
def rollups_refresh(*, now: dt.datetime | None = None, max_age: dt.timedelta | None = None) -> list[dt.date]:
    """Rebuild the days whose calls were created or ended since the last refresh (less the grace).

    With `max_age`, does nothing when the last refresh is younger than that
    (a page's freshness check). Returns the days rebuilt.
    """
    now = now or timezone.now()
    state, _ = RollupState.objects.get_or_create(pk=1)
    state = RollupState.objects.select_for_update().get(pk=1)
    if max_age is not None and state.refreshed_at is not None and now - state.refreshed_at < max_age:
        return []
    if state.refreshed_at is None:
        first = Call.objects.order_by("created_at").values_list("created_at", flat=True).first()
        since = first or now
    else:
        since = state.refreshed_at - REFRESH_GRACE
    changed = Call.objects.filter(Q(created_at__gte=since) | Q(ended_at__gte=since))
    days = set(
        changed.annotate(day=TruncDate("created_at", tzinfo=dt.UTC)).values_list("day", flat=True).order_by().distinct()
    )
    rollup_days_rebuild(days=days)
    state.refreshed_at = now
    state.save(update_fields=["refreshed_at"])
    return sorted(days)
