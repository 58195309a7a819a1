#!/usr/bin/env python
"""Benchmark: POST /twilio/status/ on a real daphne server, duplicates included.

    .venv/bin/python scripts/bench_status_webhook.py [--rate 500] [--seconds 15] [--servers 1] [--shared-socket]
        [--connections 32]

Uses the benchmark database voiceops_bench_dialer (created by this script or
bench_dialer.py; never the app or test database) and Redis db 13 for the
channel layer. It creates outbound calls, starts `daphne voiceops.asgi:application`
(`--servers N` starts N processes on N ports, as behind a load balancer; with
`--shared-socket` they share one listening socket, `daphne --fd`), then
sends signed Twilio status callbacks open-loop at `--rate` per second:
initiated, ringing, in-progress, completed (busy for a quarter of them, which
reschedules the lead) for every campaign call, plus 25% exact duplicates sent
again a moment later. Latency is measured from each request's
scheduled send time, so queueing in the client counts against the server.
At the end it checks every call is completed and every distinct callback was
stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "voiceops_bench_dialer")  # another name keeps parallel runs apart
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PUBLIC = "http://127.0.0.1:8999"  # the origin Twilio would sign against (shared by all servers)
TOKEN = "bench-twilio-auth-token"  # noqa: S105  (a throwaway server's token, benchmark only)
ACCOUNT = "AC" + "b" * 32
SEQUENCE = ["initiated", "ringing", "in-progress", "completed"]
WARM_CALLS = 50
# How to start a server: daphne itself, or (BENCH_DAPHNE=path/to/script.py) a
# wrapper taking daphne's arguments, e.g. one that profiles the server under load.
DAPHNE = [os.environ["BENCH_DAPHNE"]] if os.environ.get("BENCH_DAPHNE") else ["-m", "daphne"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving the benchmark database (their titles name it)."""
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f" {BENCH_DB} ".encode() in (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                out[int(entry.name)] = process_cpu_seconds(int(entry.name))
        except OSError:  # the process ended meanwhile
            continue
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def setup_django() -> None:
    ensure_database()
    os.environ.update(
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="bench-only",  # noqa: S106  (benchmark database only)
        DJANGO_SETTINGS_MODULE="voiceops.settings",
        LOG_LEVEL="WARNING",
        VOICEOPS_VAR_DIR=str(ROOT / "var" / "bench"),
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_calls(count: int) -> list[tuple[str, str, str]]:
    """Outbound campaign attempts, each with its lead in DIALING, as the dialer leaves them."""
    from django.utils import timezone

    from agents.models import Agent, AgentVersion
    from calls.models import Call
    from campaigns.models import Campaign, Lead

    agent, _ = Agent.objects.get_or_create(name="Bench agent")
    version = AgentVersion.objects.filter(agent=agent).first() or AgentVersion.objects.create(
        agent=agent, number=1, config={"brain": "flow", "greeting": "Hi."}, published_at=timezone.now()
    )
    campaign, _ = Campaign.objects.update_or_create(
        name="Bench status webhook",
        defaults={"agent_version": version, "status": Campaign.Status.RUNNING, "days": [1, 2, 3, 4, 5, 6, 7]},
    )
    Call.objects.filter(from_number="+15005550099").delete()
    Lead.objects.filter(campaign=campaign).delete()
    leads = Lead.objects.bulk_create(
        [
            Lead(
                phone=f"+1332{2000000 + n:07d}",  # valid NANP numbers no other benchmark uses
                timezone="America/New_York",
                consent=True,
                campaign=campaign,
                status=Lead.Status.DIALING,
                attempts=1,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    calls = [
        Call(
            direction=Call.Direction.OUTBOUND,
            agent_version=version,
            campaign=campaign,
            lead=lead,
            twilio_call_sid="CA" + uuid.uuid4().hex,
            from_number="+15005550099",
            to_number=lead.phone,
        )
        for lead in leads
    ]
    Call.objects.bulk_create(calls, batch_size=1000)
    return [(str(c.pk), str(c.twilio_call_sid), c.to_number) for c in calls]


def build_requests(calls: list[tuple[str, str, str]], duplicate_share: float) -> list[bytes]:
    from telephony.signature import signature_compute

    rng = random.Random(7)
    ordered: list[bytes] = []
    for seq, step in enumerate(SEQUENCE):
        for index, (call_id, sid, to) in enumerate(calls):
            # A quarter end busy: the lead is rescheduled (retry rules, calling window).
            status = "busy" if step == "completed" and index % 4 == 0 else step
            params = {
                "AccountSid": ACCOUNT,
                "CallSid": sid,
                "CallStatus": status,
                "SequenceNumber": str(seq),
                "To": to,
                "From": "+15005550099",
                "Direction": "outbound-api",
                "ApiVersion": "2010-04-01",
            }
            if status == "completed":
                params["CallDuration"] = "17"
            path = f"/twilio/status/?call={call_id}"
            body = urlencode(params).encode()
            signature = signature_compute(PUBLIC + path, params, auth_token=TOKEN)
            ordered.append(
                (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body
            )
    out: list[bytes] = []
    pending: list[tuple[int, bytes]] = []
    for index, request in enumerate(ordered):
        out.append(request)
        if rng.random() < duplicate_share:
            pending.append((index + rng.randint(1, 40), request))
        due = [p for p in pending if p[0] <= index]
        for item in due:
            out.append(item[1])
            pending.remove(item)
    out.extend(r for _, r in pending)
    return out


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        return (await self.exchange(request))[0]

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request on this keep-alive connection; returns the answer's status and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length) if length else b""
        if b"connection: close" in head.lower():
            self.writer.close()
            self.writer = None
        return status, body


def start_servers(ports: list[int], *, shared: socket.socket | None = None, log_name: str = "daphne") -> list[Any]:
    """Start daphne processes (one per port, or len(ports) on the one `shared` socket) and wait until they listen."""
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = []
    for index in range(len(ports)):
        if shared is not None:
            listen, keep = ["--fd", str(shared.fileno())], [shared.fileno()]
        else:
            listen, keep = ["-b", "127.0.0.1", "-p", str(ports[index])], []
        log = (log_dir / f"{log_name}-{ports[index]}-{index}.log").open("wb")
        servers.append(
            subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
                [sys.executable, *DAPHNE, *listen, "voiceops.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=keep,
            )
        )
    try:
        for port in set(ports):
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"daphne did not start on {port}; see {log_dir}") from None
                    time.sleep(0.2)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: list[Any]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait(timeout=10)


async def load(
    ports: list[int], requests: list[bytes], rate: float, connections: int
) -> tuple[list[float], dict[int, int], float]:
    """Send every request open-loop; returns latencies (ms), response counts and the seconds from the
    first scheduled send to the last answer."""
    pools: list[asyncio.Queue[Connection]] = []
    for port in ports:
        queue: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(max(1, connections // len(ports))):
            queue.put_nowait(Connection(port))
        pools.append(queue)
    latencies: list[float] = []
    codes: dict[int, int] = {}
    start = time.perf_counter() + 0.2

    async def one(index: int, request: bytes) -> None:
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pool = pools[index % len(pools)]
        connection = await pool.get()
        try:
            code = await connection.send(request)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            # A reset, or an answer we cannot frame (daphne's 500 page closes
            # the connection): count it as a failure and reconnect.
            connection.writer = None
            code = 599
        finally:
            pool.put_nowait(connection)
        latencies.append((time.perf_counter() - scheduled) * 1000)
        codes[code] = codes.get(code, 0) + 1

    await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    return latencies, codes, time.perf_counter() - start


# The target (issue 13): the offered rate held, every callback answered 200,
# and p99 under this from the scheduled send time.
TARGET_P99_MS = 50.0
# An open-loop run's last answers land a little after its last scheduled
# send, so "achieved" reads a shade under "offered" even when the server kept
# up; below this share of the offered rate it did not.
ACHIEVED_SHARE = 0.98


def verdict(*, offered: float, achieved: float, p99_ms: float, failures: int) -> str:
    """The run's last line: whether the offered rate was carried at the target latency, said plainly."""
    reasons = []
    if achieved < offered * ACHIEVED_SHARE:
        reasons.append(f"offered {offered:.0f}/s, achieved {achieved:.0f}/s")
    if p99_ms >= TARGET_P99_MS:
        reasons.append(f"p99 {p99_ms:.1f} ms (target under {TARGET_P99_MS:.0f} ms)")
    if failures:
        reasons.append(f"{failures} callbacks not answered 200")
    if reasons:
        return "; ".join(reasons) + ": TARGET NOT MET"
    return f"offered {offered:.0f}/s, achieved {achieved:.0f}/s, p99 {p99_ms:.1f} ms: target met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500.0, help="callbacks per second, offered open-loop")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--servers", type=int, default=1, help="daphne processes (ports), as behind a balancer")
    parser.add_argument(
        "--shared-socket",
        action="store_true",
        help="one listening socket shared by the --servers processes (daphne --fd), the kernel spreads connections",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duplicates", type=float, default=0.25)
    args = parser.parse_args()

    setup_django()
    total = int(args.rate * args.seconds)
    made = make_calls(WARM_CALLS + max(1, int(total / (len(SEQUENCE) * (1 + args.duplicates)))))
    warm_calls, calls = made[:WARM_CALLS], made[WARM_CALLS:]
    requests = build_requests(calls, args.duplicates)[:total]
    distinct = len(set(requests))
    shared: socket.socket | None = None
    if args.shared_socket:
        # One port for every process, as in the documented deployment: the
        # socket is bound here and inherited (daphne --fd N).
        shared = socket.socket()
        shared.bind(("127.0.0.1", 0))
        shared.listen(1024)
        shared.set_inheritable(True)
        ports = [int(shared.getsockname()[1])]
    else:
        ports = [free_port() for _ in range(args.servers)]
    servers = start_servers(ports * args.servers if shared is not None else ports, shared=shared)
    try:
        # Warm-up, not measured: every status of a few calls of their own, so
        # each server has its database connection, prepared statements and
        # channel layer in place, as a server that has been up a while does.
        asyncio.run(load(ports, build_requests(warm_calls, 0.0), 100, args.connections))
        cpu_before = sum(process_cpu_seconds(server.pid) for server in servers)
        busy_before, total_before = machine_busy()
        pg_before = postgres_cpu_seconds()
        load_before = os.getloadavg()[0]
        client_before = time.process_time()
        latencies, codes, elapsed = asyncio.run(load(ports, requests, args.rate, args.connections))
        client_cpu = time.process_time() - client_before
        server_cpu = sum(process_cpu_seconds(server.pid) for server in servers) - cpu_before
        pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in postgres_cpu_seconds().items())
        busy_after, total_after = machine_busy()
        load_after = os.getloadavg()[0]
    finally:
        stop_servers(servers)

    from calls.models import Call, CallEvent
    from campaigns.models import Lead

    sids = [sid for _, sid, _ in calls]
    stored = CallEvent.objects.filter(call_sid__in=sids).count()
    completed = Call.objects.filter(twilio_call_sid__in=sids, status__in=["completed", "busy"]).count()
    retried = Lead.objects.filter(calls__twilio_call_sid__in=sids, status=Lead.Status.RETRY).count()
    latencies.sort()

    def p(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    print(
        f"{len(requests)} callbacks ({len(requests) - distinct} duplicates) for {len(calls)} calls, "
        f"offered at {args.rate:.0f}/s to {args.servers} daphne process(es)"
        f"{' sharing one socket' if shared else ''}, {args.connections} connections"
    )
    achieved = len(requests) / elapsed
    print(f"achieved {achieved:.0f} callbacks/s; responses {dict(sorted(codes.items()))}")
    print(
        f"latency from scheduled send: p50 {statistics.median(latencies):.1f} ms, p90 {p(0.90):.1f} ms, "
        f"p99 {p(0.99):.1f} ms, max {latencies[-1]:.1f} ms"
    )
    print(
        f"daphne CPU {1000 * server_cpu / len(requests):.2f} ms per callback "
        f"({100 * server_cpu / elapsed:.0f}% of one core over the run)"
    )

    def per(seconds: float) -> float:
        return 1000 * seconds / len(requests)

    cpu_total = server_cpu + pg_cpu + client_cpu
    print(
        f"CPU per callback: daphne {per(server_cpu):.2f} ms + PostgreSQL {per(pg_cpu):.2f} ms "
        f"+ load generator {per(client_cpu):.2f} ms = {per(cpu_total):.2f} ms; "
        f"2 idle cores would carry about {2 * len(requests) / cpu_total:.0f}/s"
    )
    cores = os.cpu_count() or 1
    print(
        f"machine: {100 * (busy_after - busy_before) / max(total_after - total_before, 1e-9):.0f}% busy "
        f"across {cores} cores during the run; load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(
        f"stored events {stored} (distinct callbacks sent {distinct}); calls ended {completed} of {len(calls)}; "
        f"leads rescheduled after busy {retried}"
    )
    print("note: 2 shared cores: the load generator, daphne and PostgreSQL share them; figures are noisy")
    print(verdict(offered=args.rate, achieved=achieved, p99_ms=p(0.99), failures=len(requests) - codes.get(200, 0)))


if __name__ == "__main__":
    main()
