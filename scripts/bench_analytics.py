#!/usr/bin/env python
"""Benchmark: experiment results and every analytics page over 1,000,000 calls and 10,000,000 turns.

    .venv/bin/python scripts/bench_analytics.py [--calls 1000000] [--turns-per-call 10] [--repeat 5]

Creates (or reuses) a separate database, voiceops_bench_analytics on the local
PostgreSQL (never the test or app database), migrates it and fills it with
`INSERT ... SELECT generate_series` over the last 365 days: 200,000 leads
(sources web, fair, referral, inbound), four versions of one agent (two with
prices), four campaigns, a running two-variant experiment on the first
campaign (every lead of it assigned), the calls (40% answered by a person,
outcomes, dispositions, durations) and their turns (half agent replies, with
stage timings, interruptions and LLM token usage). Then it rebuilds every
day's rollups (printing the cost of one day's rebuild, which is what the
minute-by-minute refresh pays) and times, through Django's test client as a
logged-in operator: the experiment's results (selector, API and page), each
analytics page and API report for the default 30 days and for the whole year,
and the CSV export. It prints EXPLAIN ANALYZE of the rollup queries.
Figures are wall clock on whatever machine runs it; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "voiceops_bench_analytics"
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LEADS = 200_000
DAYS = 365


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def timed(label: str, fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm: the first run pays plan caching and cold pages
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(samples)
    print(f"  {label:<58} p50 {p50:7.1f} ms   max {max(samples):7.1f} ms")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--turns-per-call", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--refill", action="store_true", help="delete and generate the data again")
    args = parser.parse_args()

    ensure_database()
    os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("VOICEOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "voiceops.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from agents.models import Agent, AgentVersion
    from analytics.models import CallDaily, LatencyDaily, RollupState
    from analytics.selectors import Filters
    from analytics.services import rollup_day_rebuild
    from calls.models import Call
    from campaigns.models import Campaign
    from experiments.models import Experiment, Variant
    from experiments.selectors import experiment_results
    from experiments.services import assignment_outcomes_update

    now = timezone.now()
    pricing = {
        "currency": "USD",
        "telephony_per_minute": 0.014,
        "stt_per_minute": 0.006,
        "tts_per_minute": 0.015,
        "llm_per_1k_prompt_tokens": 0.0005,
        "llm_per_1k_completion_tokens": 0.0015,
    }
    agent, _ = Agent.objects.get_or_create(name="Bench agent")
    versions = []
    for number in range(1, 5):
        config: dict[str, Any] = {"brain": "flow", "greeting": f"Hello from version {number}."}
        if number <= 2:
            config["pricing"] = pricing
        version, _ = AgentVersion.objects.get_or_create(
            agent=agent, number=number, defaults={"config": config, "published_at": now}
        )
        versions.append(version)
    campaigns = []
    for index in range(4):
        campaign, _ = Campaign.objects.get_or_create(
            name=f"Bench campaign {index + 1}",
            defaults={"agent_version": versions[index], "status": "completed", "days": [1, 2, 3, 4, 5]},
        )
        campaigns.append(campaign)
    experiment = Experiment.objects.filter(name="Bench experiment").first()
    if experiment is None:
        experiment = Experiment.objects.create(name="Bench experiment", agent=agent, status="draft")
        Variant.objects.create(experiment=experiment, name="A", agent_version=versions[0], is_control=True)
        Variant.objects.create(experiment=experiment, name="B", agent_version=versions[1])
        Experiment.objects.filter(pk=experiment.pk).update(status="running", started_at=now, weights_changed_at=now)
        experiment.refresh_from_db()
    variant_a, variant_b = list(experiment.variants.order_by("pk"))

    have = Call.objects.count()
    if args.refill or have != args.calls:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE calls_callturn, calls_call, experiments_assignment, calls_lead CASCADE")
            cursor.execute(
                """
                INSERT INTO calls_lead (phone, first_name, last_name, timezone, custom_fields, consent, do_not_call,
                                        status, campaign_id, attempts, last_outcome, created_at, updated_at)
                SELECT '+1212' || (2000000 + i)::text, 'Lead', i::text, 'America/New_York',
                       jsonb_build_object('source', (ARRAY['web', 'fair', 'referral', 'inbound'])[1 + i %% 4]),
                       true, (i %% 97 = 0), CASE WHEN i %% 97 = 0 THEN 'dnc' ELSE 'completed' END,
                       %s, 1, '', now(), now()
                FROM generate_series(1, %s) AS i
                """,
                [campaigns[0].pk, LEADS],
            )
            cursor.execute("SELECT min(id) FROM calls_lead")
            first_lead = cursor.fetchone()[0]
            # Leads i with i % 4 = 0 are the experiment's (its campaign's calls go to them); half to each arm.
            cursor.execute(
                """
                INSERT INTO experiments_assignment (experiment_id, variant_id, lead_id, assigned_at, exposed, succeeded)
                SELECT %s, CASE WHEN (id / 4) %% 2 = 0 THEN %s ELSE %s END, id, now(), false, false
                FROM calls_lead WHERE (id - %s) %% 4 = 0
                """,
                [experiment.pk, variant_a.pk, variant_b.pk, first_lead],
            )
            # Call i: lead (i % LEADS), campaign (lead % 4), attempt (i / LEADS) + 1; created over DAYS days.
            cursor.execute(
                """
                INSERT INTO calls_call (id, direction, status, twilio_call_sid, stream_sid, agent_version_id,
                    lead_id, campaign_id, variant_id, attempt_number, from_number, to_number, disposition,
                    answered_by, status_sequence, variables, recording, failure_reason, created_at, started_at,
                    answered_at, ended_at, duration_seconds, dial_started_at, outcome_applied, outcome, test_kind)
                SELECT gen_random_uuid(), 'outbound', c.status, NULL, '', c.version_id, c.lead_id, c.campaign_id,
                       c.variant_id, c.attempt, '+15005550006', '+12125550000', c.disposition, c.answered_by, -1,
                       '{}'::jsonb, '', '', c.created_at, c.created_at,
                       CASE WHEN c.answered_by <> '' THEN c.created_at END,
                       c.created_at + make_interval(secs => c.duration + 20),
                       CASE WHEN c.answered_by <> '' THEN c.duration END, c.created_at, true, c.outcome, ''
                FROM (
                    SELECT s.*, (ARRAY[%s, %s, %s, %s]::bigint[])[1 + s.slot] AS campaign_id,
                           CASE WHEN s.slot = 0 THEN
                                CASE WHEN ((s.lead_id) / 4) %% 2 = 0 THEN %s ELSE %s END
                           END AS variant_id,
                           CASE WHEN s.slot = 0 THEN
                                CASE WHEN ((s.lead_id) / 4) %% 2 = 0 THEN %s ELSE %s END
                                ELSE (ARRAY[%s, %s, %s, %s]::bigint[])[1 + s.slot]
                           END AS version_id,
                           CASE WHEN s.r < 0.40 THEN 'human' WHEN s.r < 0.55 THEN 'machine_start' ELSE '' END
                               AS answered_by,
                           CASE WHEN s.r < 0.55 THEN 'completed' WHEN s.r < 0.85 THEN 'no-answer' ELSE 'busy' END
                               AS status,
                           CASE WHEN s.r < 0.40 THEN 'completed' WHEN s.r < 0.55 THEN 'voicemail'
                                WHEN s.r < 0.85 THEN 'no-answer' ELSE 'busy' END AS outcome,
                           CASE WHEN s.r < 0.12 THEN 'booked' WHEN s.r < 0.40 THEN 'not_interested'
                                WHEN s.r < 0.55 THEN 'voicemail' ELSE '' END AS disposition,
                           (20 + (s.i::bigint * 7919) %% 280)::int AS duration
                    FROM (
                        SELECT i, %s + (i %% %s) AS lead_id, (i %% %s) %% 4 AS slot, 1 + i / %s AS attempt,
                               random() AS r,
                               now() - make_interval(secs => (i::float8 / %s) * %s * 86400) AS created_at
                        FROM generate_series(0, %s - 1) AS i
                    ) s
                ) c
                """,
                [
                    *(c.pk for c in campaigns),
                    variant_a.pk,
                    variant_b.pk,
                    versions[0].pk,
                    versions[1].pk,
                    *(v.pk for v in versions),
                    first_lead,
                    LEADS,
                    LEADS,
                    LEADS,
                    args.calls,
                    DAYS,
                    args.calls,
                ],
            )
            print(f"inserted {args.calls:,} calls in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            # Turns: caller and agent alternate; agent replies carry the stages, some are interrupted,
            # and LLM usage on the paid versions' replies.
            # The bench database's turns table is unlogged: 10,000,000 rows without writing them to the WAL
            # too (half the disk, and this is throwaway data). In chunks, so each statement stays modest.
            # A logged table may not reference an unlogged one: the turns' clear-text copies (empty here) go first.
            cursor.execute("ALTER TABLE privacy_clearturn SET UNLOGGED")
            cursor.execute("ALTER TABLE calls_callturn SET UNLOGGED")
            for chunk in range(10):
                cursor.execute(
                    """
                INSERT INTO calls_callturn (call_id, index, speaker, text, heard_text, interrupted, started_at,
                                            ended_at, timings, data, created_at)
                SELECT c.id, t.n, CASE WHEN t.n %% 2 = 0 THEN 'caller' ELSE 'agent' END, 'words', '',
                       (t.n %% 2 = 1 AND random() < 0.08), c.created_at, c.created_at,
                       CASE WHEN t.n %% 2 = 1 THEN jsonb_build_object(
                           'stt_done', round(l.base * 0.70), 'first_brain_text', round(l.base * 0.80),
                           'first_tts_audio', round(l.base * 0.95), 'first_frame_sent', round(l.base),
                           'first_mark_acknowledged', round(l.base + 180)) ELSE '{}'::jsonb END,
                       CASE WHEN t.n %% 2 = 1 THEN jsonb_build_object('usage', jsonb_build_object(
                           'prompt_tokens', 300 + t.n * 40, 'completion_tokens', 30 + t.n)) ELSE '{}'::jsonb END,
                       c.created_at
                FROM calls_call c
                CROSS JOIN generate_series(0, %s - 1) AS t(n)
                CROSS JOIN LATERAL (SELECT 450 + 400 * random() * random() + 2000 * (random() ^ 12) + 0 * t.n AS base) l
                WHERE c.lead_id %% 10 = %s
                """,
                    [args.turns_per_call, chunk],
                )
            print(f"inserted {args.calls * args.turns_per_call:,} turns in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            for table in ("calls_lead", "calls_call", "calls_callturn", "experiments_assignment"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        RollupState.objects.all().delete()

    calls_total = Call.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'calls_callturn'")
        turns_estimate = cursor.fetchone()[0]
    print(f"database: {calls_total:,} calls, about {turns_estimate:,} turns")

    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.refreshed_at is None:
        started = time.perf_counter()
        today = now.date()
        day_times = []
        for offset in range(DAYS + 1):
            day_started = time.perf_counter()
            rollup_day_rebuild(day=today - dt.timedelta(days=offset))
            day_times.append((time.perf_counter() - day_started) * 1000)
        outcomes_started = time.perf_counter()
        looked_at = assignment_outcomes_update()
        print(
            f"experiment assignments' exposed/succeeded set for {looked_at:,} leads in "
            f"{time.perf_counter() - outcomes_started:.1f} s"
        )
        RollupState.objects.update_or_create(pk=1, defaults={"refreshed_at": timezone.now()})
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE analytics_calldaily")
            cursor.execute("VACUUM ANALYZE analytics_latencydaily")
        print(
            f"rollups rebuilt for {DAYS + 1} days in {time.perf_counter() - started:.1f} s; one day's rebuild "
            f"(about {calls_total // DAYS:,} calls): p50 {statistics.median(day_times):.0f} ms, "
            f"max {max(day_times):.0f} ms"
        )
    else:
        RollupState.objects.filter(pk=1).update(refreshed_at=timezone.now())
    print(f"rollup rows: {CallDaily.objects.count():,} call groups, {LatencyDaily.objects.count():,} latency buckets")

    user, _ = get_user_model().objects.get_or_create(
        username="bench-operator", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    def get(url: str, params: dict[str, str] | None = None) -> Callable[[], Any]:
        def run() -> Any:
            # Keep the rollups "fresh" so the page's refresh check is a no-op, as it is between beat runs.
            response = client.get(url, params or {})
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return response

        return run

    year = {"start": (now.date() - dt.timedelta(days=DAYS - 1)).isoformat(), "end": now.date().isoformat()}
    print(f"\ntimings ({args.repeat} runs after one warm-up; 2 shared cores, other work moves them):")
    results: dict[str, float] = {}
    results["experiment results (selector)"] = timed(
        "experiment results: selector", lambda: experiment_results(experiment=experiment), args.repeat
    )
    results["experiment results API"] = timed(
        "GET /api/experiments/{id}/results/", get(f"/api/experiments/{experiment.pk}/results/"), args.repeat
    )
    results["experiment page"] = timed("GET /experiments/{id}/", get(f"/experiments/{experiment.pk}/"), args.repeat)
    for label, params in (("30 days", {}), ("365 days", year)):
        for page in ("", "latency/", "cost/"):
            name = f"/analytics/{page} ({label})"
            results[name] = timed(f"GET {name}", get(f"/analytics/{page}", params), args.repeat)
        for report in ("calls", "rates", "latency", "interruptions", "cost"):
            name = f"/api/analytics/{report}/ ({label})"
            results[name] = timed(f"GET {name}", get(f"/api/analytics/{report}/", params), args.repeat)
        name = f"/analytics/export/latency.csv ({label})"
        results[name] = timed(f"GET {name}", get("/analytics/export/latency.csv", params), args.repeat)
    name = "/analytics/?dimension=source&campaign=1 (365 days)"
    results[name] = timed(
        f"GET {name}",
        get("/analytics/", {**year, "dimension": "source", "campaign": str(campaigns[0].pk)}),
        args.repeat,
    )
    name = "/admin/analytics/analyticssummary/"
    results[name] = timed(f"GET {name}", get(name), args.repeat)

    over = {name: ms for name, ms in results.items() if ms >= 300}
    print(f"\nunder 300 ms: {len(results) - len(over)} of {len(results)}" + (f"; over: {over}" if over else ""))

    filters = Filters(start=now.date() - dt.timedelta(days=DAYS - 1), end=now.date())
    from django.db.models import Sum

    plans = {
        "calls per day by outcome (365 days)": CallDaily.objects.filter(filters.q())
        .values("day", "outcome")
        .annotate(calls=Sum("calls"))
        .order_by(),
        "latency histogram (365 days)": LatencyDaily.objects.filter(filters.q())
        .values("stage", "day", "bucket")
        .annotate(turns=Sum("turns"))
        .order_by(),
        "rates by version, one campaign (365 days)": CallDaily.objects.filter(filters.q(), campaign_id=campaigns[0].pk)
        .values("agent_version_id")
        .annotate(calls=Sum("calls"))
        .order_by(),
    }
    for label, queryset in plans.items():
        sql, sql_params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\nEXPLAIN ANALYZE, {label}:\n{plan}")
    print("\nnote: 2 shared cores; other work on the machine makes these figures noisy")


if __name__ == "__main__":
    main()
