"""Writes for analytics: rebuild a day's rollups from its calls, and refresh the days whose calls changed.

A day's rows are deleted and written again from that day's calls (created in
that reporting day, analytics/days.py), grouped in the database: a handful of grouped queries per day
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

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, IntegerField, Q, Sum, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Floor, Greatest, Ln, TruncDate
from django.utils import timezone

from agents.models import AgentVersion
from analytics import days as reporting_days
from analytics.histograms import BUCKET_RATIO, STAGES
from analytics.models import CallDaily, LatencyDaily, RollupState
from calls.models import Call, CallTurn
from experiments.selectors import EARLY_HANGUP_SECONDS, person_answered, success_dispositions
from experiments.services import assignment_outcomes_update

# The lead field rates are broken down by (a custom field of campaigns.Lead).
LEAD_FIELD = "source"
# Writes that may land after a call ended (disposition, final turns, outcome): days are rebuilt this long after.
REFRESH_GRACE = dt.timedelta(minutes=10)


# A call counts for its experiment variant only with the lead it was dealt to (as the results count leads).
_EXPERIMENT_VARIANT = Case(When(lead__isnull=False, then=F("variant_id")), default=None, output_field=IntegerField())
_TURN_EXPERIMENT_VARIANT = Case(
    When(call__lead__isnull=False, then=F("call__variant_id")), default=None, output_field=IntegerField()
)


def _calls_of(day: dt.date) -> Any:
    start, end = reporting_days.day_bounds(day)
    calls = Call.objects.filter(created_at__gte=start, created_at__lt=end)
    # Browser test calls and simulated callers started from the console try a version out: they are
    # not traffic, so the figures leave them out unless ANALYTICS_INCLUDE_TEST_CALLS asks for them.
    return calls if settings.ANALYTICS_INCLUDE_TEST_CALLS else calls.filter(test_kind="")


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
        calls.annotate(lead_source=source, experiment_variant=_EXPERIMENT_VARIANT)
        .values(
            "agent_version_id",
            "agent_version__agent_id",
            "campaign_id",
            "experiment_variant",
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
            timed=Count("pk", filter=person & Q(duration_seconds__isnull=False)),
            timed_s=Coalesce(Sum("duration_seconds", filter=person), 0),
            early=Count("pk", filter=person & Q(disposition="", duration_seconds__lte=EARLY_HANGUP_SECONDS)),
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
            row["experiment_variant"],
            row["direction"],
            row["lead_source"][:80],
            _outcome_label(row["outcome"], row["status"]),
        )
        group = groups[key]
        group["calls"] += row["calls"]
        group["connected"] += row["connected"]
        group["duration_s"] += row["duration"]
        group["connected_timed"] += row["timed"]
        group["connected_duration_s"] += row["timed_s"]
        group["early_hangups"] += row["early"]
        if row["disposition"] and row["disposition"] in versions.get(version_id, ()):
            group["successes"] += row["connected"]

    turn_rows = (
        CallTurn.objects.filter(call__in=calls, speaker=CallTurn.Speaker.AGENT)
        .annotate(
            lead_source=Coalesce(
                KeyTextTransform(LEAD_FIELD, "call__lead__custom_fields"), Value(""), output_field=TextField()
            ),
            experiment_variant=_TURN_EXPERIMENT_VARIANT,
        )
        .values(
            "call__agent_version_id",
            "call__agent_version__agent_id",
            "call__campaign_id",
            "experiment_variant",
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
            row["experiment_variant"],
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
                variant_id=variant_id,
                direction=direction,
                lead_source=lead_source,
                outcome=outcome[:32],
                **figures,
            )
            for (
                version_id,
                agent_id,
                campaign_id,
                variant_id,
                direction,
                lead_source,
                outcome,
            ), figures in groups.items()
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
            # Replies to the caller's speech only (they have an STT stage): the greeting answers no one.
            CallTurn.objects.filter(
                call__in=calls, speaker=CallTurn.Speaker.AGENT, timings__has_keys=list({stage, "stt_done"})
            )
            .annotate(ms=milliseconds)
            .filter(ms__isnull=False)
            .annotate(bucket=bucket, experiment_variant=_TURN_EXPERIMENT_VARIANT)
            .values(
                "call__agent_version_id",
                "call__agent_version__agent_id",
                "call__campaign_id",
                "experiment_variant",
                "bucket",
            )
            .annotate(turns=Count("pk"))
            .order_by()
        )
        found.extend(
            LatencyDaily(
                day=day,
                agent_version_id=row["call__agent_version_id"],
                agent_id=row["call__agent_version__agent_id"],
                campaign_id=row["call__campaign_id"],
                variant_id=row["experiment_variant"],
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
    zone_changed = state.timezone != settings.ANALYTICS_TIMEZONE
    if zone_changed:
        # Days kept in another zone split calls at another midnight: none of them can be reused.
        CallDaily.objects.all().delete()
        LatencyDaily.objects.all().delete()
        state.timezone = settings.ANALYTICS_TIMEZONE
    elif max_age is not None and state.refreshed_at is not None and now - state.refreshed_at < max_age:
        return []
    if state.refreshed_at is None or zone_changed:
        first = Call.objects.order_by("created_at").values_list("created_at", flat=True).first()
        since = first or now
    else:
        since = state.refreshed_at - REFRESH_GRACE
    changed = Call.objects.filter(Q(created_at__gte=since) | Q(ended_at__gte=since))
    days = set(
        changed.annotate(day=TruncDate("created_at", tzinfo=reporting_days.zone()))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    )
    rollup_days_rebuild(days=days)
    # The experiments' exposed and successful leads, from the same calls (experiments own that table).
    assignment_outcomes_update(since=since)
    state.refreshed_at = now
    state.save(update_fields=["refreshed_at", "timezone"])
    return sorted(days)


def rollups_refresh_if_stale() -> list[dt.date]:
    """What a page or API read calls first: refresh unless beat (or another page) did within the refresh period.

    Keeps the embedded default, which runs no beat, current; with beat running it is almost always a no-op.
    """
    return rollups_refresh(max_age=dt.timedelta(seconds=settings.ANALYTICS_REFRESH_SECONDS))
