#!/usr/bin/env python
"""Benchmark: server time of every console page with 100,000 calls, 1,000,000 turns and 100,000 leads.

    .venv/bin/python scripts/bench_console.py [--calls 100000] [--turns-per-call 10] [--leads 100000] [--repeat 5]

Creates (or reuses) a separate database, voiceops_bench_console on the local
PostgreSQL (never the test or app database; BENCH_PG_ADMIN_URL names the
server), migrates it and fills it with `INSERT ... SELECT generate_series`
(a few seconds per million rows): leads in four timezones and three
campaigns, one call per lead spread over the last 90 days (so about 1,100
are "today"), ten turns per call with latency timings on the agent's, a few
failed calls and a campaign paused by the breaker. A second run with the
same sizes reuses the rows.

Each page is then requested through Django's test client in this process
(campaign progress, cached 5 s per process, is measured both cached and counted)
(the whole request: middleware, session, view, queries, template), once to
warm up and `--repeat` times measured; it prints the median and the worst
in milliseconds and the number of queries, and flags any page over 150 ms.
Other work on the machine moves these figures.
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
BENCH_DB = "voiceops_bench_console"
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BUDGET_MS = 150.0

PHRASES = [
    "Hi, I got your message about the appointment.",
    "Could we move it to Tuesday afternoon?",
    "I'd rather not, please take me off your list.",
    "Yes, that works for me, thank you.",
    "What does the checkup cost with my insurance?",
    "Can you call back tomorrow morning?",
    "Sure, book me for ten thirty.",
    "Sorry, who is this again?",
]


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def fill(*, calls: int, turns_per_call: int, leads: int) -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from agents.models import Agent, AgentVersion
    from calls.models import Call
    from campaigns.models import Campaign, Lead

    now = timezone.now()
    agent, _ = Agent.objects.get_or_create(name="Bench agent")
    versions = []
    for number, wins in ((1, ["booked"]), (2, ["booked", "qualified"])):
        version = AgentVersion.objects.filter(agent=agent, number=number).first() or AgentVersion.objects.create(
            agent=agent,
            number=number,
            config={"brain": "flow", "greeting": "Hi.", "success_dispositions": wins},
            published_at=now,
        )
        versions.append(version)
    campaigns = []
    for index, status in enumerate(("running", "running", "paused")):
        campaign, _ = Campaign.objects.get_or_create(
            name=f"Bench campaign {index + 1}",
            defaults={
                "agent_version": versions[index % 2],
                "status": status,
                "status_reason": "Circuit breaker: 9 of the last 10 attempts failed (last: 503)."
                if status == "paused"
                else "",
                "days": [],
            },
        )
        campaigns.append(campaign)
    if not User.objects.filter(username="bench").exists():
        User.objects.create_superuser("bench", password=None)  # the benchmark logs in with force_login

    if Lead.objects.count() != leads or Call.objects.count() != calls:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE calls_callturn, calls_call, calls_lead CASCADE")
            cursor.execute(
                """
                INSERT INTO calls_lead (phone, first_name, last_name, timezone, custom_fields, consent, do_not_call,
                                        status, campaign_id, attempts, last_outcome, created_at, updated_at)
                SELECT '+1212' || (2000000 + i)::text,
                       (ARRAY['Maria','Olivia','Omar','Chen','Aisha','Lucas','Sofia','Noah'])[1 + i %% 8],
                       'Lead' || i::text,
                       (ARRAY['America/New_York','America/Chicago','America/Los_Angeles','Europe/London'])[1 + i %% 4],
                       jsonb_build_object('plan', (ARRAY['gold','silver','bronze'])[1 + i %% 3]),
                       true, false,
                       (ARRAY['new','retry','completed','exhausted','callback'])[1 + i %% 5],
                       (%s::bigint[])[1 + i %% 3], 1, '', now() - (i %% 90) * interval '1 day', now()
                FROM generate_series(1, %s) AS i
                """,
                [[c.pk for c in campaigns], leads],
            )
            # One call per lead (attempt 1), spread over 90 days; every 200th failed, a third not answered.
            cursor.execute(
                """
                INSERT INTO calls_call (id, direction, status, twilio_call_sid, stream_sid, attempt_number,
                    from_number, to_number, disposition, answered_by, status_sequence, variables, recording,
                    failure_reason, created_at, started_at, answered_at, ended_at, duration_seconds,
                    agent_version_id, campaign_id, lead_id, outcome, outcome_applied)
                SELECT gen_random_uuid(), CASE WHEN l.id %% 4 = 0 THEN 'inbound' ELSE 'outbound' END,
                       CASE WHEN l.id %% 200 = 0 THEN 'failed' WHEN l.id %% 3 = 0 THEN 'no-answer'
                            ELSE 'completed' END,
                       'CA' || md5(l.id::text), '', 1, '+15005550006', l.phone,
                       CASE WHEN l.id %% 3 = 0 OR l.id %% 200 = 0 THEN ''
                            ELSE (ARRAY['booked','qualified','not_interested','callback'])[1 + l.id %% 4] END,
                       'human', 3, '{}'::jsonb, '',
                       CASE WHEN l.id %% 200 = 0 THEN 'carrier error 31005' ELSE '' END,
                       t.at, t.at, CASE WHEN l.id %% 3 = 0 OR l.id %% 200 = 0 THEN NULL ELSE t.at END,
                       t.at + (30 + l.id %% 300) * interval '1 second', 30 + l.id %% 300,
                       (%s::bigint[])[1 + l.id %% 2], l.campaign_id, l.id, '', true
                FROM (SELECT id, phone, campaign_id FROM calls_lead ORDER BY id LIMIT %s) AS l,
                     LATERAL (SELECT now() - (l.id %% 90) * interval '1 day'
                                     - (l.id %% 600) * interval '1 second' AS at) AS t
                """,
                [[v.pk for v in versions], calls],
            )
            cursor.execute(
                """
                INSERT INTO calls_callturn (call_id, index, speaker, text, heard_text, interrupted, timings, data,
                                            created_at)
                SELECT c.id, i, CASE WHEN i %% 2 = 0 THEN 'agent' ELSE 'caller' END,
                       (%s::text[])[1 + (i + length(c.twilio_call_sid) + ascii(substr(c.twilio_call_sid, 3, 1))) %% 8],
                       '', false,
                       CASE WHEN i %% 2 = 0 AND i > 0 THEN jsonb_build_object(
                           'stt_done', 300 + i * 7, 'first_brain_text', 420 + i * 9, 'first_tts_audio', 520 + i * 11,
                           'first_frame_sent', 560 + i * 13 + ascii(substr(c.twilio_call_sid, 4, 1)),
                           'first_mark_acknowledged', 700 + i * 13)
                            ELSE '{}'::jsonb END,
                       '{}'::jsonb, c.created_at
                FROM calls_call c, generate_series(0, %s - 1) AS i
                """,
                [PHRASES, turns_per_call],
            )
            # As autovacuum would: statistics, and the visibility map that index-only scans need.
            cursor.execute("VACUUM ANALYZE calls_lead")
            cursor.execute("VACUUM ANALYZE calls_call")
            cursor.execute("VACUUM ANALYZE calls_callturn")
        print(
            f"filled {leads:,} leads, {calls:,} calls, {calls * turns_per_call:,} turns in "
            f"{time.perf_counter() - started:.1f} s"
        )


def pages() -> list[tuple[str, str]]:
    from agents.models import AgentVersion
    from calls.models import Call
    from campaigns.models import Campaign, Lead

    call = Call.objects.order_by("-created_at").first()
    lead = Lead.objects.order_by("-id").first()
    campaign = Campaign.objects.order_by("id").first()
    version = AgentVersion.objects.order_by("id").first()
    assert call and lead and campaign and version
    return [
        ("dashboard", "/"),
        ("dashboard figures (poll)", "/dashboard/"),
        ("dashboard alerts (poll)", "/dashboard/alerts/"),
        ("call history", "/calls/"),
        ("call history, filtered", "/calls/?direction=outbound&disposition=booked&min_duration=60"),
        ("call history, full text", "/calls/?q=insurance"),
        ("call history, full text + filter", "/calls/?q=%22ten+thirty%22&direction=outbound"),
        ("call history, page 200", "/calls/?page=200"),
        ("call page", f"/calls/{call.pk}/"),
        ("leads", "/leads/"),
        ("leads, search name", "/leads/?q=maria"),
        ("leads, search phone", "/leads/?q=2012345"),
        ("leads, filters", f"/leads/?status=retry&campaign={campaign.pk}&timezone=Europe/London&field=plan&value=gold"),
        ("lead page", f"/leads/{lead.pk}/"),
        ("campaigns", "/campaigns/"),
        ("campaign page", f"/campaigns/{campaign.pk}/"),
        ("campaign edit", f"/campaigns/{campaign.pk}/edit/"),
        ("agents", "/agents/"),
        ("agent page", f"/agents/{version.agent_id}/"),
        ("version page", f"/agents/versions/{version.pk}/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--turns-per-call", type=int, default=10)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.calls > args.leads:
        parser.error("--calls is at most --leads (one call per lead)")

    ensure_database()
    os.environ["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("LLM_BASE_URLS", None)
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("VOICEOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "voiceops.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    fill(calls=args.calls, turns_per_call=args.turns_per_call, leads=args.leads)

    import campaigns.selectors

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    print(f"\n{'page':44} {'median ms':>10} {'worst ms':>9} {'queries':>8}")
    over = []
    measured = pages()
    # Campaign progress is cached for 5 s per process (the pages poll every 5 s): also measure the
    # render that counts it, which one poller in every 5 s pays.
    measured += [
        (f"{name} (progress counted)", url) for name, url in measured if url in ("/", "/dashboard/", "/campaigns/")
    ]
    for name, url in measured:
        campaigns.selectors.PROGRESS_CACHE_S = 0 if name.endswith("(progress counted)") else 5.0
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
        median = statistics.median(timings)
        flag = "  OVER 150 ms" if median > BUDGET_MS else ""
        if flag:
            over.append(name)
        print(f"{name:44} {median:10.1f} {max(timings):9.1f} {len(queries):8d}{flag}")
    print(f"\n{len(over)} page(s) over {BUDGET_MS:.0f} ms (median): {', '.join(over) or 'none'}")


if __name__ == "__main__":
    main()
