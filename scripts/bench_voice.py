"""Voice benchmark: the live call engine measured at the caller's side, on the embedded CPU stack.

    .venv/bin/python scripts/bench_voice.py [--turns 20] [--concurrent 4] [--barge-ins 5] [--max-calls 60]

It starts a real server (`daphne voiceops.asgi:application`) on SQLite and
the in-memory channel layer in a temporary directory, creates a scripted
agent, and calls it with the simulator (signed webhook, Media Streams in real
time, marks echoed after playback). It prints:

1. voice-to-voice latency (end of the caller's audio to the first reply frame)
   p50/p95 for one call at a time, with a 500 ms end-of-turn silence, and the
   server's own per-stage breakdown for the same turns;
2. the same with --concurrent calls at once;
3. barge-in: `clear` latency after the caller's speech passed the minimum;
4. the media path alone (decode, resample, VAD, turn detection, encode,
   pacing, JSON and base64) in one process: CPU per call and how many
   concurrent calls keep outgoing frame gaps under 40 ms at p99;
5. the server process's whole CPU per call during the concurrent run.

Other work on the machine moves these figures: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LINES = [
    "Hi, I would like to book an appointment.",
    "Tuesday morning would be great.",
    "My name is Jordan Smith.",
    "Yes, that is correct.",
    "Do you have parking nearby?",
    "Thanks, that is all for today.",
]
SCRIPT = [
    "Sure, I can help with that. Which day suits you?",
    "Tuesday at nine is free. May I have your name?",
    "Thanks Jordan. I have you down for Tuesday at nine.",
    "Great, you will get a text reminder the day before.",
    "Yes, there is free parking behind the building.",
    "You are welcome. Goodbye! [hangup:booked]",
]
GREETING = "Hello, this is the dental office."
LONG_GREETING = (
    "Thank you for calling the dental office. We are open from eight to six on weekdays. "
    "You can book, move or cancel an appointment with me. How can I help you today?"
)
BARGE_IN_MIN_MS = 300


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, workdir: Path, database_url: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DJANGO_SETTINGS_MODULE": "voiceops.settings",
            "VOICEOPS_VAR_DIR": str(workdir),
            "PUBLIC_BASE_URL": self.base_url,
            "TWILIO_ACCOUNT_SID": "AC" + "b" * 32,
            "SIMULATED_CARRIER": "false",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "SECRET_KEY": "bench-only-secret",
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.log = workdir / "daphne.log"

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True)  # noqa: S603

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and daphne)
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "voiceops.asgi:application"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


SETUP = """
from agents.models import Agent, AgentVersion, PhoneNumber
from django.utils import timezone
for e164, greeting, first in (("+14155550101", {greeting!r}, "agent"), ("+14155550102", {long!r}, "agent")):
    agent = Agent.objects.create(name="bench " + e164)
    AgentVersion.objects.create(agent=agent, number=1, published_at=timezone.now(), config={{
        "brain": "scripted", "greeting": greeting, "first_speaker": first, "script": {script!r},
        "turn_taking": {{"end_of_turn_silence_ms": 500, "barge_in_min_ms": {bmin}}},
        "max_duration_s": 300}})
    PhoneNumber.objects.create(e164=e164, agent=agent)
"""


async def one_call(server: Server, number: str, lines: list[str], barge: bool = False) -> Any:
    from calls.personas import Persona
    from calls.simulator import simulate_call

    persona = Persona(name="bench", lines=lines, barge_in=barge)
    return await simulate_call(
        base_url=server.base_url,
        persona=persona,
        to_number=number,
        from_number="+12125550100",
        transcribe=False,
        max_seconds=180,
    )


def turn_timings(server: Server, call_sids: list[str]) -> list[dict[str, int]]:
    import django

    django.setup()
    from calls.models import CallTurn

    turns = CallTurn.objects.filter(call__twilio_call_sid__in=call_sids, speaker="agent", timings__has_key="stt_done")
    return [t.timings for t in turns]


async def run_latency(server: Server, turns: int, concurrent: int, max_calls: int) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    sids: list[str] = []
    calls = 0
    while len(latencies) < turns and calls < max_calls:
        results = await asyncio.gather(*(one_call(server, "+14155550101", LINES) for _ in range(concurrent)))
        calls += concurrent
        for result in results:
            latencies.extend(result.turn_latencies_ms)
            sids.append(result.call_sid)
    return latencies, sids


async def run_barge_ins(server: Server, count: int) -> list[float]:
    clears: list[float] = []
    for _ in range(count):
        result = await one_call(server, "+14155550102", ["Sorry to interrupt, can I come in on Friday?"], barge=True)
        clears.extend(ms - BARGE_IN_MIN_MS for ms in result.barge_in_clear_ms)
    return clears


def media_path_capacity(seconds: float = 6.0, counts: tuple[int, ...] = (10, 25, 50, 75, 100)) -> list[str]:
    """The media path alone, in one process and one event loop, with no sockets.

    Each call receives a JSON media message every 20 ms (decoded, resampled,
    VAD, turn detection) while its pacer sends reply frames (JSON + base64)
    continuously. Returns report lines.
    """
    from calls.pipeline.bargein import BargeInDetector
    from calls.pipeline.inbound import MediaDecoder, Resampler
    from calls.pipeline.outbound import OutboundEncoder, media_message
    from calls.pipeline.pacer import FramePacer
    from calls.pipeline.turns import TurnDetector
    from calls.pipeline.vad import VadProcessor

    reply = OutboundEncoder(22050)
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(22050 * 2) / 22050)).astype(np.float32)
    reply_frames = reply.process(tone) + reply.flush()
    # The caller's side: a spoken sentence, then as long again of line silence, repeated.
    from agents.engines.tts import get_tts
    from calls.pipeline.mulaw import mulaw_encode

    tts = get_tts("piper")
    spoken = np.concatenate(list(tts.synthesize("Tuesday morning would be great, thank you.")))
    import soxr

    caller = mulaw_encode(soxr.resample(spoken, tts.sample_rate, 8000).astype(np.float32))
    caller += b"\xff" * len(caller)
    inbound = [
        json.dumps({"event": "media", "streamSid": "MZ", "media": {"payload": base64.b64encode(chunk).decode()}})
        for chunk in (caller[i : i + 160] for i in range(0, len(caller) - 159, 160))
    ]
    lines: list[str] = []

    async def run(count: int) -> tuple[float, float, float]:
        gaps: list[float] = []
        stop = time.monotonic() + seconds

        async def call() -> None:
            decoder, resampler, vad = MediaDecoder(), Resampler(8000, 16000), VadProcessor()
            turns, barge = TurnDetector(), BargeInDetector()
            last: list[float] = []

            async def send_frame(frame: bytes) -> None:
                json.dumps(media_message("MZ", frame))
                now = time.monotonic()
                if last:
                    gaps.append(1000 * (now - last[0]))
                    last[0] = now
                else:
                    last.append(now)

            async def send_mark(name: str) -> None:
                json.dumps({"event": "mark", "mark": {"name": name}})

            pacer = FramePacer(send_frame=send_frame, send_mark=send_mark, lead_ms=80)
            pacer.start()
            start = time.monotonic()
            tick = 0
            while time.monotonic() < stop:
                if pacer.queued_frames < 50:
                    pacer.push_frames(reply_frames)
                    pacer.push_mark("m")
                message = json.loads(inbound[tick % len(inbound)])
                frame = decoder.process(message["media"]["payload"])
                frame16 = resampler.process(frame)
                for event in turns.process(frame16, vad.process(frame16)):
                    barge.process(event)
                tick += 1
                await asyncio.sleep(max(0.0, start + tick * 0.02 - time.monotonic()))
            await pacer.close()

        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.gather(*(call() for _ in range(count)))
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        return pct(gaps, 99), cpu / wall / count * 100, pct(gaps, 50)

    carried = 0
    for count in counts:
        p99, cpu_pct, p50 = asyncio.run(run(count))
        ok = p99 < 40
        carried = count if ok else carried
        lines.append(
            f"  {count:4d} calls: outgoing frame gap p50 {p50:5.1f} ms, p99 {p99:6.1f} ms, "
            f"CPU {cpu_pct:4.2f}% of a core per call {'ok' if ok else '> 40 ms'}"
        )
        if not ok:
            break
    lines.append(f"  one process carries {carried} concurrent calls with p99 gaps < 40 ms (of those tried)")
    return lines


def reset_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20, help="caller turns to measure, one call at a time")
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--barge-ins", type=int, default=5)
    parser.add_argument("--max-calls", type=int, default=40)
    parser.add_argument("--skip-capacity", action="store_true")
    parser.add_argument(
        "--database-url",
        default="",
        help="a scratch PostgreSQL database (emptied first), e.g. postgres://postgres@127.0.0.1:5432/voiceops_bench; "
        "default: SQLite in a temporary directory",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="voiceops-bench-"))
    if args.database_url:
        reset_database(args.database_url)
    server = Server(workdir, args.database_url)
    os.environ.update(server.env)
    server.manage("migrate", "-v", "0")
    setup = SETUP.format(greeting=GREETING, long=LONG_GREETING, script=SCRIPT, bmin=BARGE_IN_MIN_MS)
    server.manage("shell", "-c", setup)
    server.start()
    try:
        import django

        django.setup()
        from agents.engines.tts import get_tts

        get_tts("piper")  # the simulator's voice
        db = "PostgreSQL" if args.database_url else "SQLite"
        print(f"server {server.base_url} ({db}, in-memory layer, CPU models), load {os.getloadavg()}")
        asyncio.run(one_call(server, "+14155550101", LINES[:1]))  # warm the server's models

        single, single_sids = asyncio.run(run_latency(server, args.turns, 1, args.max_calls))
        print(f"\n1 call at a time: {len(single)} turns, voice-to-voice at the caller")
        print(f"  p50 {pct(single, 50):.0f} ms   p95 {pct(single, 95):.0f} ms   max {max(single):.0f} ms")
        timings = turn_timings(server, single_sids)
        for stage in ("stt_done", "first_brain_text", "first_tts_audio", "first_frame_sent"):
            values = [float(t[stage]) for t in timings if stage in t]
            print(f"  server {stage:<18} p50 {pct(values, 50):5.0f} ms  p95 {pct(values, 95):5.0f} ms")

        pid = server.process.pid
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        many, _ = asyncio.run(run_latency(server, args.turns, args.concurrent, args.max_calls))
        server_cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
        print(f"\n{args.concurrent} concurrent calls: {len(many)} turns")
        print(f"  p50 {pct(many, 50):.0f} ms   p95 {pct(many, 95):.0f} ms   max {max(many):.0f} ms")
        print(
            f"  server process CPU {100 * server_cpu:.0f}% of a core for {args.concurrent} calls "
            f"({100 * server_cpu / args.concurrent:.0f}% per call, models included)"
        )

        clears = asyncio.run(run_barge_ins(server, args.barge_ins))
        print(f"\nbarge-in ({BARGE_IN_MIN_MS} ms minimum): clear received after the minimum was passed")
        worst = max(clears) if clears else float("nan")
        print(f"  p50 {pct(clears, 50):.0f} ms   max {worst:.0f} ms   n={len(clears)}")
    finally:
        server.stop()

    if not args.skip_capacity:
        print("\nmedia path alone (decode, resample, VAD, turns, encode, pacing, JSON), one process:")
        for line in media_path_capacity():
            print(line)
    print(f"\nload average at the end {os.getloadavg()} (2 cores; other work inflates every figure)")
    print(f"single-call turn latencies: {statistics.mean(single):.0f} ms mean")


if __name__ == "__main__":
    main()
