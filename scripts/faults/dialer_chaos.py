#!/usr/bin/env python
"""Fault suite: a 1,000-lead campaign on the simulated carrier while a worker, PostgreSQL and Redis fail.

    .venv/bin/python scripts/faults/dialer_chaos.py [--leads 1000] [--per-minute 300] [--timeout 900]

Runs everything on its own: a PostgreSQL cluster (initdb into a temporary
directory, a free port) and a redis-server on a free port (the machine's
shared ones are never touched), one daphne process (the product's webhooks
and its simulated carrier at /carrier/), two Celery workers and beat. The
campaign's leads are carrier-level personas in turn (busy, no_answer,
failed), so each attempt has one known final status and needs no speech
models; retries are set hours out, so each lead is dialed once in the run.

Faults, by progress (attempts created / leads):
- 15%: worker 1's whole process group is SIGKILLed mid-dispatch, and
  started again 5 s later (as a supervisor would);
- 40%: PostgreSQL is stopped (fast: connections cut) and started again;
- 65%: Redis (broker and channel layer, no persistence: queued dial tasks
  are lost with it) is restarted.

What recovers what: a dial task lost with a worker or with Redis is re-queued
by the tick's stale-dial sweep (DIALER_STALE_DIAL_SECONDS, 30 s here) when it
never started, and failed, never re-dialed, when it started but got no SID;
status callbacks refused while PostgreSQL was down are lost (the carrier,
like Twilio, does not retry them) and the reconcile beat task
(RECONCILE_AFTER_S 5 s, every 5 s) reads those calls back from the carrier.

Prints the counts: attempts, double dials (a lead dialed twice, a call with
callbacks from two CallSids, or more carrier calls than calls with a SID),
lost attempts (leads never settled, calls not final), lost status updates
(a final status other than the persona's), backward statuses (a stored
callback of a later status than the call's own), and how many calls the
reconcile task settled. Exit status 0 when the three "0" figures are 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import PYTHON, ROOT, OwnPostgres, OwnRedis, base_env, daphne, free_port, manage

ACCOUNT = "AC" + "c" * 32
AUTH = "chaos-carrier-auth"  # the throwaway server's Twilio auth token
PERSONAS = ("busy", "no_answer", "failed")
EXPECTED = {"busy": "busy", "no_answer": "no-answer", "failed": "failed"}
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
# A call whose stored status callbacks include a later status than its own (statuses ranked as Call.STATUS_RANK).
BACKWARD_SQL = """
SELECT count(*) FROM (
    SELECT c.id FROM calls_call c JOIN calls_callevent e ON e.call_id = c.id
    WHERE c.campaign_id = %s AND e.kind = 'status'
    GROUP BY c.id, c.status
    HAVING max(CASE e.payload->>'CallStatus' WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2
                   WHEN 'in-progress' THEN 3 ELSE 4 END)
         > min(CASE c.status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2
                   WHEN 'in-progress' THEN 3 ELSE 4 END)
) t
"""

SETUP = """
import os
from datetime import datetime, time
from zoneinfo import ZoneInfo
from django.core.management import call_command
from agents.models import Agent
from campaigns.models import Campaign, Lead
call_command("seed_demo", stdout=open(os.devnull, "w"))
Campaign.objects.update(status="draft")  # the demo's own campaign stays out of it
version = next(a.live_version for a in Agent.objects.order_by("pk") if a.live_version)
zone = next(z for z in ("America/New_York", "Europe/London", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata",
    "Australia/Sydney", "Pacific/Auckland") if 9 <= datetime.now(ZoneInfo(z)).hour < 20)
retry = {o: {"delay_minutes": 600, "max_attempts": 3} for o in ("busy", "no-answer", "failed")}
campaign = Campaign.objects.create(name="Chaos", agent_version=version, status="running", window_start=time(0),
    window_end=time(23, 59), max_concurrent=50, calls_per_minute=int(os.environ["CHAOS_PER_MINUTE"]),
    retry_rules=retry, require_consent=False)
personas = os.environ["CHAOS_PERSONAS"].split(",")
Lead.objects.bulk_create([Lead(phone=f"+1617555{n:04d}", timezone=zone, campaign=campaign, consent=True,
    custom_fields={"persona": personas[n % len(personas)]}) for n in range(int(os.environ["CHAOS_LEADS"]))])
print(campaign.pk)
"""


class Processes:
    """The Celery workers and beat, each in its own process group (a SIGKILL takes the pool with it)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = {}

    def start(self, name: str) -> None:
        if name == "beat":
            args = ["beat", "-l", "info", "-s", str(self.log_dir / "beat-schedule")]
        else:
            args = ["worker", "-l", "info", "-n", f"{name}@chaos", "-c", "2", "--without-gossip", "--without-mingle"]
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(  # noqa: S603  (our own interpreter and celery)
                [PYTHON, "-m", "celery", "-A", "voiceops", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def supervise(self) -> None:
        """Start again whatever died by itself (a supervisor's job; counted)."""
        for name, process in list(self.running.items()):
            if process.poll() is not None:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.start(name)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)


def query(pg_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(pg_url.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())


def progress(pg_url: str, campaign: int) -> tuple[int, int, int]:
    """(attempts created, attempts final, leads still new or dialing)."""
    try:
        [(attempts, final)] = query(
            pg_url,
            "SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)) FROM calls_call WHERE campaign_id = %s",
            list(FINAL),
            campaign,
        )
        [(open_leads,)] = query(
            pg_url, "SELECT count(*) FROM calls_lead WHERE campaign_id = %s AND status IN ('new', 'dialing')", campaign
        )
    except Exception:  # the database is restarting
        return -1, -1, -1
    return int(attempts), int(final), int(open_leads)


def counts(pg_url: str, campaign: int, carrier_calls: int) -> dict[str, int]:
    def one(sql: str, *params: Any) -> int:
        return int(query(pg_url, sql, *params)[0][0])

    attempts = one("SELECT count(*) FROM calls_call WHERE campaign_id = %s", campaign)
    leads_twice = one(
        "SELECT count(*) FROM (SELECT lead_id FROM calls_call WHERE campaign_id = %s GROUP BY lead_id"
        " HAVING count(*) > 1) t",
        campaign,
    )
    two_sids = one(
        "SELECT count(*) FROM (SELECT e.call_id FROM calls_callevent e JOIN calls_call c ON c.id = e.call_id"
        " WHERE c.campaign_id = %s GROUP BY e.call_id HAVING count(DISTINCT e.call_sid) > 1) t",
        campaign,
    )
    with_sid = one("SELECT count(*) FROM calls_call WHERE campaign_id = %s AND twilio_call_sid IS NOT NULL", campaign)
    unknown = one(
        "SELECT count(*) FROM calls_call WHERE campaign_id = %s AND status = 'failed' AND twilio_call_sid IS NULL",
        campaign,
    )
    not_final = one(
        "SELECT count(*) FROM calls_call WHERE campaign_id = %s AND NOT (status = ANY(%s))", campaign, list(FINAL)
    )
    leads_open = one(
        "SELECT count(*) FROM calls_lead WHERE campaign_id = %s AND status IN ('new', 'dialing')", campaign
    )
    wrong = one(
        "SELECT count(*) FROM calls_call c JOIN calls_lead l ON l.id = c.lead_id WHERE c.campaign_id = %s"
        " AND c.twilio_call_sid IS NOT NULL AND c.status <> CASE l.custom_fields->>'persona'"
        " WHEN 'busy' THEN 'busy' WHEN 'no_answer' THEN 'no-answer' ELSE 'failed' END",
        campaign,
    )
    backward = one(BACKWARD_SQL, campaign)
    reconciled = one(
        "SELECT count(DISTINCT e.call_id) FROM calls_callevent e JOIN calls_call c ON c.id = e.call_id"
        " WHERE c.campaign_id = %s AND e.payload->>'Reconciled' = 'rest'",
        campaign,
    )
    return {
        "attempts": attempts,
        "carrier_calls_placed": carrier_calls,
        "double_dials": leads_twice + two_sids + max(0, carrier_calls - with_sid),
        "lost_attempts": not_final + leads_open,
        "lost_status_updates": wrong,
        "backward_statuses": backward,
        "failed_outcome_unknown_not_redialed": unknown,
        "settled_by_reconcile": reconciled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--per-minute", type=int, default=300, help="the campaign's pacing (calls per minute)")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="voiceops-chaos-"))
    pg, redis = OwnPostgres(), OwnRedis()
    pg.start()
    redis.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = base_env(
        DATABASE_URL=pg.url,
        REDIS_URL=redis.url,
        SECRET_KEY="chaos-only-secret-key",  # noqa: S106  (a throwaway server)
        PUBLIC_BASE_URL=base,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=AUTH,
        TWILIO_API_BASE_URL=base + "/carrier",
        SIMULATED_CARRIER="true",
        DIALER_TICK_SECONDS="1",
        DIALER_STALE_DIAL_SECONDS="30",
        DIALER_GLOBAL_MAX_CONCURRENT="50",
        # A third of the personas fail at the carrier by design; the breaker would pause the campaign.
        DIALER_BREAKER_PERCENT="100",
        DIALER_BREAKER_WINDOW="5000",
        RECONCILE_INTERVAL_S="5",
        RECONCILE_AFTER_S="5",
        VOICEOPS_VAR_DIR=str(work),
        CHAOS_LEADS=str(args.leads),
        CHAOS_PER_MINUTE=str(args.per_minute),
        CHAOS_PERSONAS=",".join(PERSONAS),
        LOG_LEVEL="INFO",
    )
    processes = Processes(env, work)
    faults: list[str] = []
    try:
        manage(env, "migrate", "-v", "0")
        campaign = int(manage(env, "shell", "-v", "0", "-c", SETUP).split()[-1])
        print(f"campaign {campaign}: {args.leads} leads, {args.per_minute}/min; logs in {work}", flush=True)
        started = time.monotonic()
        with daphne(env, port, work / "daphne.log"):
            for name in ("w1", "w2", "beat"):
                processes.start(name)
            plan = [(0.15, "kill-worker"), (0.40, "restart-postgresql"), (0.65, "restart-redis")]
            revive_w1_at: float | None = None
            settled_at: float | None = None
            while time.monotonic() - started < args.timeout:
                time.sleep(1)
                attempts, final, open_leads = progress(pg.url, campaign)
                if plan and attempts >= plan[0][0] * args.leads:
                    _, fault = plan.pop(0)
                    faults.append(f"{fault} at {attempts} attempts ({time.monotonic() - started:.0f} s)")
                    print(faults[-1], flush=True)
                    if fault == "kill-worker":
                        processes.kill("w1")
                        revive_w1_at = time.monotonic() + 5
                    elif fault == "restart-postgresql":
                        pg.restart()
                    else:
                        redis.restart()
                if revive_w1_at is not None and time.monotonic() >= revive_w1_at:
                    processes.start("w1")
                    revive_w1_at = None
                processes.supervise()
                done = not plan and attempts >= args.leads and final == attempts and open_leads == 0
                if done and settled_at is None:
                    settled_at = time.monotonic()
                if settled_at is not None and time.monotonic() - settled_at > 12:
                    break  # two reconcile runs after the last call settled: nothing left to move
                if int(time.monotonic() - started) % 15 == 0:
                    print(f"  {attempts} attempts, {final} final, {open_leads} leads open", flush=True)
            log_text = (work / "daphne.log").read_text(errors="replace")
            carrier_calls = log_text.count('"carrier_call_created"')
        result = counts(pg.url, campaign, carrier_calls)
        result["seconds"] = int(time.monotonic() - started)
        result.update({f"restarts_{name}": n for name, n in processes.restarts.items()})
    finally:
        processes.stop_all()
        redis.stop()
        pg.stop()
    for fault in faults:
        print("fault:", fault)
    for name, value in result.items():
        print(f"{name}: {value}")
    ok = not (result["double_dials"] or result["lost_attempts"] or result["lost_status_updates"])
    ok = ok and not result["backward_statuses"] and len(faults) == 3
    print("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
