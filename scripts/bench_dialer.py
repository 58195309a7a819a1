#!/usr/bin/env python
"""Benchmark: one dialer tick over 1,000,000 leads in PostgreSQL.

    .venv/bin/python scripts/bench_dialer.py [--leads 1000000] [--ticks 10] [--batch 100]

Creates (or reuses) a separate database, voiceops_bench_dialer on the local
PostgreSQL (never the test or app database), migrates it, fills it with leads
by `INSERT ... SELECT generate_series` (a quarter of them in a zone where it is
night now, so the claim query has rows to skip), then times the tick's claim
(select + lock + create the Call rows, one transaction) and prints EXPLAIN
ANALYZE of the claim query to show the partial index is used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "voiceops_bench_dialer"
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    ensure_database()
    os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.pop("REDIS_URL", None)  # dial tasks are not dispatched here; nothing needs Redis
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("VOICEOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "voiceops.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    settings.DIALER_GLOBAL_MAX_CONCURRENT = 10**9
    settings.DIALER_BATCH_SIZE = args.batch

    from agents.models import Agent, AgentVersion
    from calls.models import Call
    from campaigns.dialer import campaign_window, claimable_leads, dialer_tick
    from campaigns.models import Campaign, Lead
    from campaigns.windows import open_zones

    now = timezone.now()
    agent, _ = Agent.objects.get_or_create(name="Bench agent")
    version = AgentVersion.objects.filter(agent=agent).first() or AgentVersion.objects.create(
        agent=agent, number=1, config={"brain": "flow", "greeting": "Hi."}, published_at=now
    )
    campaign, _ = Campaign.objects.get_or_create(
        name="Bench campaign",
        defaults={
            "agent_version": version,
            "status": "running",
            "window_start": "08:00",
            "window_end": "21:00",
            "days": [],
            "max_concurrent": 10**6,
            "calls_per_minute": 10**6,
            "require_consent": True,
        },
    )
    window = campaign_window(campaign)
    open_now = open_zones(window, now)
    closed_now = [
        z for z in ("Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Sydney") if z not in open_now
    ]
    day_zones = [z for z in ("America/New_York", "America/Chicago", "Europe/London", "Asia/Kolkata") if z in open_now]
    day_zones = day_zones or open_now[:3]
    zones = day_zones * 3 + closed_now[:1]  # about a quarter of leads asleep, when a closed zone exists

    if Lead.objects.filter(campaign=campaign, phone__startswith="+12000").exists():
        Lead.objects.filter(campaign=campaign).delete()  # an older run's numbers were not valid E.164
    existing = Lead.objects.filter(campaign=campaign).count()
    # Reset leads from earlier runs so every run measures the same starting point.
    Call.objects.filter(campaign=campaign).delete()
    if existing < args.leads:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO calls_lead (phone, first_name, last_name, timezone, custom_fields, consent, do_not_call,
                                        status, campaign_id, attempts, last_outcome, created_at, updated_at)
                SELECT '+1212' || (2000000 + i)::text, 'Lead', i::text,
                       (%s::text[])[1 + (i %% array_length(%s::text[], 1))],
                       '{}'::jsonb, (i %% 20 <> 0), false, 'new', %s, 0, '', now(), now()
                FROM generate_series(%s, %s) AS i
                """,
                [zones, zones, campaign.pk, existing + 1, args.leads],
            )
            cursor.execute("ANALYZE calls_lead")
        print(f"inserted {args.leads - existing:,} leads in {time.perf_counter() - started:.1f} s")
    Lead.objects.filter(campaign=campaign).exclude(status="new").update(status="new", attempts=0)
    with connection.cursor() as cursor:
        # Autocommit (no atomic block here), so VACUUM may run: a fresh table
        # or a reset leaves dead index entries the first claim would wade through.
        cursor.execute("VACUUM ANALYZE calls_lead")
        cursor.execute("VACUUM ANALYZE calls_call")
    total = Lead.objects.filter(campaign=campaign).count()
    print(f"leads in the campaign: {total:,}; zones open now: {len(open_now)} of the known zones")
    print(f"lead zones: {sorted(set(zones))} (closed now: {closed_now[:1]})")

    # The claim query, as the tick runs it.
    qs = claimable_leads(campaign, now=now, zones=open_now).select_for_update(skip_locked=True, of=("self",))[
        : args.batch
    ]
    with transaction.atomic():
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)  # EXPLAIN ANALYZE took the locks; give them back
    print("\nEXPLAIN ANALYZE of the claim query:\n" + plan + "\n")

    timings = []
    claimed = 0
    for _ in range(args.ticks):
        started = time.perf_counter()
        result = dialer_tick(dispatch=False)
        timings.append((time.perf_counter() - started) * 1000)
        claimed += len(result.call_ids)
    timings.sort()
    print(
        f"dialer tick (select + lock + create {args.batch} Call rows + commit) over {total:,} leads, "
        f"{args.ticks} ticks, {claimed} claimed: "
        f"p50 {statistics.median(timings):.1f} ms, min {timings[0]:.1f} ms, max {timings[-1]:.1f} ms"
    )
    print("note: 2 shared cores; other work on the machine makes these figures noisy")


if __name__ == "__main__":
    main()
