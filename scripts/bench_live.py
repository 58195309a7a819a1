"""Live supervision benchmark: listen-in delay and a browser test call's voice-to-voice latency.

    .venv/bin/python scripts/bench_live.py [--seconds 20] [--turns 5] [--redis redis://127.0.0.1:6379/14]

It starts a real server (`daphne voiceops.asgi:application`) on SQLite in a
temporary directory (with --redis, on the Redis channel layer, the way
listen-in crosses daphne processes), creates an operator and a scripted
agent, logs in as a browser would, and measures:

1. listen-in delay: a simulated caller is started from the console (the
   "Run a simulated caller" POST); the console socket listens in; for each
   audio batch, the time from the moment its first frame reached the server
   (the batch's `t0`) to its arrival at the listening socket. Batches are
   BATCH_MS long, so this is the delay of the oldest frame in each batch;
2. test-call voice-to-voice: the browser test-call socket, fed 8 kHz 16-bit
   PCM in real time (Piper saying each line), marks acknowledged as the audio
   would have played; from the end of the caller's audio to the first agent
   media message of the reply.

Client and server run on the same machine, so both sides read the same
wall clock. Other work on the machine moves these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_server import DaphneServer  # noqa: E402  (scripts/, beside this file)

LINES = ["Hi, I would like to book an appointment.", "Tuesday morning would be great.", "My name is Jordan Smith."]
SCRIPT = [
    "Sure, I can help with that. Which day suits you?",
    "Tuesday at nine is free. May I have your name?",
    "Thanks Jordan. I have you down for Tuesday at nine.",
    "Great, you will get a text reminder the day before.",
    "You are welcome.",
]
SETUP = """
from agents.models import Agent, AgentVersion
from django.contrib.auth.models import User
from voiceops.roles import role_assign
user = User.objects.create_user("bench-operator", password="bench-password-123")
role_assign(user=user, role="operator")
agent = Agent.objects.create(name="bench live")
AgentVersion.objects.create(agent=agent, number=1, config={{
    "brain": "scripted", "greeting": "Hello, this is the dental office.", "first_speaker": "agent",
    "script": {script!r}, "turn_taking": {{"end_of_turn_silence_ms": 500}}, "max_duration_s": 300,
    "silence": {{"reminder_after_s": 60, "reminders": []}}}})
"""


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Server(DaphneServer):
    def __init__(self, workdir: Path, redis_url: str) -> None:
        env = {"SIMULATED_CARRIER": "true"}
        if redis_url:
            env["REDIS_URL"] = redis_url
        super().__init__(workdir, env)


def log_in(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    data = {"username": "bench-operator", "password": "bench-password-123", "csrfmiddlewaretoken": token.group(1)}
    response = client.post("/login/", data=data, headers={"Referer": server.base_url + "/login/"})
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


def socket_headers(server: Server, client: httpx.Client) -> dict[str, str]:
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Origin": server.base_url, "Cookie": cookies}


def simulated_caller_start(server: Server, client: httpx.Client) -> str:
    """The console's "Run a simulated caller" on version 1; returns the new call's id."""
    home = client.get("/test-calls/1/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home.text)
    assert token, "no CSRF token on the test-call page"
    response = client.post(
        "/test-calls/1/simulate/",
        data={"persona": "booker", "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": server.base_url + "/test-calls/1/"},
    )
    assert response.status_code == 302, f"simulated caller not started: {response.status_code}"
    return str(response.headers["location"]).rstrip("/").rsplit("/", 1)[-1]


async def listen_delays(
    server: Server, client: httpx.Client, call_id: str, seconds: float
) -> tuple[list[float], list[int]]:
    import websockets

    delays: list[float] = []
    sizes: list[int] = []
    url = server.base_url.replace("http", "ws", 1) + "/ws/console/live/"
    async with websockets.connect(url, additional_headers=socket_headers(server, client)) as ws:
        await ws.send(json.dumps({"action": "listen", "call_id": call_id}))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                continue
            if not isinstance(raw, str) or not raw.startswith("{"):
                continue
            message = json.loads(raw)
            batch = message.get("listen")
            if batch and batch.get("t0"):
                delays.append((time.time() - batch["t0"]) * 1000)
                sizes.append(len(base64.b64decode(batch["caller"])) + len(base64.b64decode(batch["agent"])))
    return delays, sizes


def pcm_for(text: str) -> bytes:
    import soxr

    from live.speech.tts import get_tts

    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize(text)))
    audio8 = soxr.resample(audio, tts.sample_rate, 8000).astype(np.float32)
    loud = np.nonzero(np.abs(audio8) > 0.02)[0]
    audio8 = audio8[loud[0] : loud[-1] + 1] if len(loud) else audio8
    pcm: bytes = (np.clip(audio8, -1, 1) * 32767).astype("<i2").tobytes()
    return pcm


class _Clock:
    """The browser side's view of the agent's audio: when it stops playing, and the reply being timed."""

    playing_until = 0.0
    last_media = 0.0
    first_after: float | None = None
    speech_end: float | None = None


async def test_call_latencies(server: Server, client: httpx.Client, turns: int) -> list[float]:
    import websockets

    lines = [pcm_for(LINES[i % len(LINES)]) for i in range(turns)]
    silence = b"\0\0" * 160
    url = server.base_url.replace("http", "ws", 1) + "/ws/console/test-call/1/"
    latencies: list[float] = []
    async with websockets.connect(url, additional_headers=socket_headers(server, client), max_size=2**20) as ws:
        clock = _Clock()
        marks: list[tuple[float, str]] = []

        async def receive() -> None:
            async for raw in ws:
                message = json.loads(raw)
                now = time.monotonic()
                if message.get("event") == "media":
                    clock.playing_until = max(clock.playing_until, now) + 0.02
                    clock.last_media = now
                    if clock.speech_end is not None and clock.first_after is None:
                        clock.first_after = now
                elif message.get("event") == "mark":
                    marks.append((max(clock.playing_until, now), message["mark"]["name"]))
                elif message.get("event") == "clear":
                    clock.playing_until = now

        async def stream(pcm: bytes) -> None:
            for start in range(0, len(pcm), 320):
                await ws.send(pcm[start : start + 320].ljust(320, b"\0"))
                now = time.monotonic()
                for at, name in list(marks):
                    if at <= now:
                        marks.remove((at, name))
                        await ws.send(json.dumps({"event": "mark", "mark": {"name": name}}))
                await asyncio.sleep(0.02)

        async def until_agent_done(since: float, limit_s: float = 20.0) -> None:
            # The agent's turn is over once it has started (media after `since`) and then
            # no reply audio has played for 0.8 s.
            deadline = time.monotonic() + limit_s
            while time.monotonic() < deadline:
                await stream(silence * 10)
                started = clock.last_media > since
                if started and time.monotonic() - max(clock.last_media, clock.playing_until) > 0.8:
                    return

        receiver = asyncio.create_task(receive())
        await until_agent_done(time.monotonic())  # the greeting
        for pcm in lines:
            clock.first_after = None
            await stream(pcm)
            clock.speech_end = speech_end = time.monotonic()
            await until_agent_done(speech_end)
            if clock.first_after is not None:
                latencies.append((clock.first_after - speech_end) * 1000)
            clock.speech_end = None
        await ws.send(json.dumps({"event": "stop"}))
        receiver.cancel()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to listen in")
    parser.add_argument("--turns", type=int, default=5, help="caller lines in the browser test call")
    parser.add_argument("--redis", default="", help="REDIS_URL for the server (default: the in-memory layer)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")
    # This process only loads Piper for the caller's lines: it runs on the embedded default, whatever the
    # shell exports (with DATABASE_URL set, the settings demand a SECRET_KEY). The server gets --redis.
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VOICEOPS_VAR_DIR"] = tmp
        import django

        django.setup()
        server = Server(Path(tmp), args.redis)
        server.manage("migrate", "-v", "0")
        server.manage("shell", "-c", SETUP.format(script=SCRIPT))
        server.start()
        try:
            client = log_in(server)
            call_id = simulated_caller_start(server, client)
            delays, sizes = asyncio.run(listen_delays(server, client, call_id, args.seconds))
            print(f"listen-in ({'Redis' if args.redis else 'in-memory'} channel layer): {len(delays)} batches")
            if delays:
                print(
                    f"  oldest frame of each batch, server to socket: p50 {pct(delays, 50):.0f} ms, "
                    f"p95 {pct(delays, 95):.0f} ms, max {max(delays):.0f} ms"
                )
                print(f"  batch size: median {statistics.median(sizes):.0f} bytes of 8 kHz mu-law (both sides)")
            latencies = asyncio.run(test_call_latencies(server, client, args.turns))
            print(f"browser test call: {len(latencies)} replies")
            if latencies:
                print(
                    f"  voice to voice (end of caller audio to first reply frame): p50 {pct(latencies, 50):.0f} ms, "
                    f"p95 {pct(latencies, 95):.0f} ms"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
