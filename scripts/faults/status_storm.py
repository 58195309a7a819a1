#!/usr/bin/env python
"""Fault: Twilio status callbacks shuffled and duplicated across two daphne processes.

    .venv/bin/python scripts/faults/status_storm.py [--callbacks 10000] [--servers 2] [--duplicates 0.3]
        [--connections 32] [--seed 13]

Twilio retries, reorders and (behind a load balancer) spreads one call's
callbacks over several processes. This script creates outbound campaign
attempts, builds every callback each would get (initiated, ringing,
in-progress, a final status, an answering-machine result for answered calls),
adds exact duplicates, shuffles the lot and sends it as fast as the servers
answer to `--servers` daphne processes on their own ports, each request to a
process picked at random (so a duplicate usually reaches the other process,
and a call's callbacks race each other in two database threads). Then it
checks every call against the end state its callbacks describe: the final
status and sequence, the end time and duration, the answering-machine result,
the lead's outcome; and that each distinct callback was stored exactly once.

It prints its counts and exits 1 when any call ended wrong, any callback was
lost or stored twice, or any request was not answered 200. It uses its own
PostgreSQL database (voiceops_fault_status, or STORM_DB) and Redis db 13 (or
BENCH_REDIS_URL), never the app's or the tests'.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("BENCH_DB", os.environ.get("STORM_DB", "voiceops_fault_status"))

import bench_status_webhook as bench  # noqa: E402  (its database, server and client helpers)


@dataclass
class Plan:
    """One call's callbacks, and the end state they describe."""

    call_id: str
    sid: str
    to: str
    final: str
    machine: bool
    callbacks: list[dict[str, str]] = field(default_factory=list)

    @property
    def last_sequence(self) -> int:
        return max(int(c["SequenceNumber"]) for c in self.callbacks if "SequenceNumber" in c)

    @property
    def outcome(self) -> str:
        """What the dialer must have recorded ('' while it waits for an answered call's disposition)."""
        if self.final != "completed":
            return self.final
        return "voicemail" if self.machine else ""


def plan_calls(calls: list[tuple[str, str, str]], rng: random.Random) -> list[Plan]:
    plans = []
    for index, (call_id, sid, to) in enumerate(calls):
        final = ("completed", "completed", "busy", "no-answer", "failed")[index % 5]
        plan = Plan(call_id=call_id, sid=sid, to=to, final=final, machine=final == "completed" and rng.random() < 0.5)
        steps = {
            "completed": ["initiated", "ringing", "in-progress", "completed"],
            "busy": ["initiated", "ringing", "busy"],
            "no-answer": ["initiated", "ringing", "no-answer"],
            "failed": ["initiated", "failed"],
        }[final]
        for sequence, status in enumerate(steps):
            params = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(sequence)}
            if status == "completed":
                params["CallDuration"] = "23"
            if status == "failed":
                params.update(SipResponseCode="503", ErrorMessage="carrier unavailable")
            plan.callbacks.append(params)
        if final == "completed":
            plan.callbacks.append({"CallSid": sid, "AnsweredBy": "machine_start" if plan.machine else "human"})
        plans.append(plan)
    return plans


def signed_request(plan: Plan, params: dict[str, str]) -> bytes:
    from telephony.signature import signature_compute

    form = {
        "AccountSid": bench.ACCOUNT,
        "To": plan.to,
        "From": "+15005550099",
        "Direction": "outbound-api",
        "ApiVersion": "2010-04-01",
        **params,
    }
    path = f"/twilio/status/?call={plan.call_id}"
    body = urlencode(form).encode()
    signature = signature_compute(bench.PUBLIC + path, form, auth_token=bench.TOKEN)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def storm(ports: list[int], requests: list[bytes], connections: int, seed: int) -> tuple[Counter[str], float]:
    """Send every request, each to a server picked at random, `connections` at a time; count the answers."""
    rng = random.Random(seed)
    answers: Counter[str] = Counter()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        pool = {port: bench.Connection(port) for port in ports}
        while not queue.empty():
            request = queue.get_nowait()
            connection = pool[rng.choice(ports)]
            try:
                code, body = await connection.exchange(request)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                connection.writer = None
                code, body = 599, b"connection failed"
            answers[f"{code} {body.decode(errors='replace')}" if code == 200 else str(code)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return answers, time.perf_counter() - started


def check(plans: list[Plan], distinct: int) -> tuple[Counter[str], list[str]]:
    """Every call against its plan; returns counts and a few examples of what went wrong."""
    from calls.models import Call, CallEvent
    from campaigns.models import Lead

    rows = Call.objects.filter(pk__in=[p.call_id for p in plans]).select_related("lead")
    by_id = {str(call.pk): call for call in rows}
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    for plan in plans:
        call = by_id[plan.call_id]
        problems = []
        if call.status != plan.final:
            problems.append(f"status {call.status}, expected {plan.final}")
        if call.status_sequence != plan.last_sequence:
            problems.append(f"sequence {call.status_sequence}, expected {plan.last_sequence}")
        if call.ended_at is None:
            problems.append("no end time")
        if plan.final == "completed":
            if call.duration_seconds != 23:
                problems.append(f"duration {call.duration_seconds}")
            if call.answered_by != ("machine_start" if plan.machine else "human"):
                problems.append(f"answered_by {call.answered_by!r}")
        if call.outcome != plan.outcome or call.outcome_applied != bool(plan.outcome):
            problems.append(f"outcome {call.outcome!r} applied={call.outcome_applied}, expected {plan.outcome!r}")
        if plan.outcome and call.lead is not None and call.lead.status == Lead.Status.DIALING:
            problems.append("lead still dialing")
        counts["calls right" if not problems else "calls wrong"] += 1
        if problems and len(wrong) < 10:
            wrong.append(f"call {plan.call_id} ({plan.final}): {'; '.join(problems)}")
    stored = CallEvent.objects.filter(call_sid__in=[p.sid for p in plans]).count()
    keys = CallEvent.objects.filter(call_sid__in=[p.sid for p in plans]).values("idempotency_key").distinct().count()
    counts["events stored"] = stored
    counts["callbacks lost"] = max(0, distinct - keys)
    counts["callbacks stored twice"] = stored - keys
    return counts, wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callbacks", type=int, default=10_000, help="callbacks sent, duplicates included")
    parser.add_argument("--servers", type=int, default=2, help="daphne processes, each on its own port")
    parser.add_argument("--duplicates", type=float, default=0.3, help="share of callbacks sent a second time")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    bench.setup_django()
    rng = random.Random(args.seed)
    per_call = 3.6  # callbacks per call, on average over the plan's mix of endings
    calls = bench.make_calls(max(1, round(args.callbacks / (per_call * (1 + args.duplicates)))))
    plans = plan_calls(calls, rng)
    distinct = [signed_request(plan, params) for plan in plans for params in plan.callbacks]
    requests = distinct + [rng.choice(distinct) for _ in range(max(0, args.callbacks - len(distinct)))]
    rng.shuffle(requests)

    ports = [bench.free_port() for _ in range(args.servers)]
    servers = bench.start_servers(ports, log_name="storm")
    try:
        answers, elapsed = asyncio.run(storm(ports, requests, args.connections, args.seed))
    finally:
        bench.stop_servers(servers)

    counts, wrong = check(plans, len(distinct))
    print(
        f"sent {len(requests)} callbacks ({len(requests) - len(distinct)} duplicates) for {len(plans)} calls, "
        f"shuffled, to {args.servers} daphne processes in {elapsed:.1f} s"
    )
    print("answers: " + ", ".join(f"{answer} {n}" for answer, n in sorted(answers.items())))
    print(
        f"calls right {counts['calls right']}, calls wrong {counts['calls wrong']}; events stored "
        f"{counts['events stored']} of {len(distinct)} distinct callbacks; lost {counts['callbacks lost']}, "
        f"stored twice {counts['callbacks stored twice']}"
    )
    for line in wrong:
        print("  " + line)
    not_ok = sum(n for answer, n in answers.items() if not answer.startswith("200"))
    failed = counts["calls wrong"] or counts["callbacks lost"] or counts["callbacks stored twice"] or not_ok
    print("STORM FAILED" if failed else "storm passed: every call ended as its callbacks say, nothing lost")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
