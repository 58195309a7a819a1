#!/usr/bin/env python
"""Fault suite: N simultaneous Twilio-protocol calls on one daphne process; no call dropped, frame gaps reported.

    .venv/bin/python scripts/faults/concurrent_calls.py [--calls 50] [--seconds 30]

Starts one `daphne voiceops.asgi:application` on the embedded default (SQLite
in a temporary VOICEOPS_VAR_DIR, in-memory channel layer) with a scripted
agent whose greeting is about 20 s of speech (Piper, synthesised by the
server sentence by sentence), routed from an inbound number. Then N callers
start at once, each as Twilio does: the answer webhook, the <Stream> URL and
its token from the TwiML, the Media Streams socket (connected, start), a
20 ms mu-law frame of silence every 20 ms, each `mark` echoed back, and
`stop` after --seconds.

Prints: calls started, calls dropped (the server closed the socket before
the caller's stop, or the call is not completed in the database
afterwards), calls that got no agent audio at all, agent turns stored as
interrupted, and the gaps between consecutive outgoing media
frames of each call while the agent talks (gaps over 1 s are between
replies and left out): p50, p99, max, and how many exceeded 60 ms. The
gaps are measured in this client, which shares the machine with the server:
on a busy machine they include this process's own scheduling delays.
Exit status 0 when no call was dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import base_env, daphne, free_port, manage

NUMBER = "+15005550077"
SILENCE = base64.b64encode(b"\xff" * 160).decode()  # 20 ms of mu-law silence
GREETING = " ".join(
    f"Thank you for calling, this is announcement part {n}, please stay on the line while we check your details."
    for n in range(1, 6)
)
SETUP = f"""
from agents.models import Agent, AgentVersion, PhoneNumber
from agents.services import agent_version_publish
agent = Agent.objects.create(name="Load test line")
version = AgentVersion.objects.create(agent=agent, number=1,
    config={{"brain": "scripted", "greeting": {GREETING!r}, "script": []}})
agent_version_publish(version=version)
PhoneNumber.objects.create(e164={NUMBER!r}, agent=agent, label="load test")
"""


class Caller:
    def __init__(self, base: str, index: int, seconds: float) -> None:
        self.base, self.index, self.seconds = base, index, seconds
        self.sid = "CA" + uuid.uuid4().hex
        self.arrivals: list[float] = []
        self.dropped = ""

    async def run(self, http: httpx.AsyncClient) -> None:
        try:
            await self._run(http)
        except Exception as exc:  # anything that ends the call early is a dropped call
            self.dropped = self.dropped or f"{type(exc).__name__}: {exc}"

    async def _run(self, http: httpx.AsyncClient) -> None:
        answer = await http.post(
            self.base + "/twilio/voice/",
            data={"CallSid": self.sid, "From": f"+1212555{self.index:04d}", "To": NUMBER, "Direction": "inbound"},
        )
        stream = ET.fromstring(answer.text).find("./Connect/Stream")  # noqa: S314  (our own server's TwiML)
        if stream is None:
            self.dropped = f"no <Stream> in the answer: {answer.text[:200]}"
            return
        url = str(stream.get("url"))
        token = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}["token"]
        stream_sid = "MZ" + uuid.uuid4().hex
        async with websockets.connect(url, max_queue=None) as socket:
            await socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            start = {
                "event": "start",
                "streamSid": stream_sid,
                "start": {
                    "streamSid": stream_sid,
                    "callSid": self.sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"token": token},
                },
            }
            await socket.send(json.dumps(start))
            receiving = asyncio.create_task(self._receive(socket, stream_sid))
            loop = asyncio.get_running_loop()
            began = loop.time()
            frame = 0
            media = {"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "payload": SILENCE}}
            while loop.time() - began < self.seconds:
                if receiving.done():
                    self.dropped = self.dropped or "the server closed the stream early"
                    return
                await socket.send(json.dumps(media))
                frame += 1
                await asyncio.sleep(max(0.0, began + frame * 0.02 - loop.time()))
            await socket.send(json.dumps({"event": "stop", "streamSid": stream_sid}))
            receiving.cancel()

    async def _receive(self, socket: websockets.ClientConnection, stream_sid: str) -> None:
        async for raw in socket:
            message = json.loads(raw)
            if message.get("event") == "media":
                self.arrivals.append(time.monotonic())
            elif message.get("event") == "mark":
                await socket.send(json.dumps({"event": "mark", "streamSid": stream_sid, "mark": message["mark"]}))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def call_all(base: str, calls: int, seconds: float) -> list[Caller]:
    callers = [Caller(base, n, seconds) for n in range(calls)]
    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(caller.run(http) for caller in callers))
    return callers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="voiceops-concurrent-"))
    env = base_env(VOICEOPS_VAR_DIR=str(work), SECRET_KEY="concurrent-only-key", WARM_START="true")  # noqa: S106
    for name in ("DATABASE_URL", "REDIS_URL", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID"):
        env.pop(name, None)
    manage(env, "migrate", "-v", "0")
    manage(env, "shell", "-v", "0", "-c", SETUP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["PUBLIC_BASE_URL"] = base
    database = sqlite3.connect(work / "voiceops.sqlite3", timeout=30)
    with daphne(env, port, work / "daphne.log"):
        callers = asyncio.run(call_all(base, args.calls, args.seconds))
        # Each call's session stores its last turn and status after the caller's stop: give them time.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (live,) = database.execute("SELECT count(*) FROM calls_call WHERE status = 'in-progress'").fetchone()
            if not live:
                break
            time.sleep(1)
    statuses = dict(database.execute("SELECT twilio_call_sid, status FROM calls_call").fetchall())
    for caller in callers:
        if not caller.dropped and statuses.get(caller.sid) != "completed":
            caller.dropped = f"call stored as {statuses.get(caller.sid)!r}"
    gaps = [
        (later - earlier) * 1000
        for caller in callers
        for earlier, later in zip(caller.arrivals, caller.arrivals[1:], strict=False)
        if later - earlier < 1.0
    ]
    dropped = [caller for caller in callers if caller.dropped]
    log_text = (work / "daphne.log").read_text(errors="replace")
    print(f"calls started: {len(callers)}")
    print(f"calls dropped: {len(dropped)}")
    print(f"calls that got no agent audio: {sum(not c.arrivals for c in callers)}")
    interrupted = log_text.count('"interrupted": true')
    print(f"agent turns cut short (barge-in or the caller hanging up mid-reply): {interrupted}")
    for caller in dropped[:10]:
        print(f"  call {caller.index}: {caller.dropped}")
    print(f"outgoing frames received: {sum(len(c.arrivals) for c in callers)}")
    if gaps:
        print(
            f"frame gaps ms: p50 {statistics.median(gaps):.1f}  p99 {percentile(gaps, 0.99):.1f}  "
            f"max {max(gaps):.1f}  over 60 ms: {sum(g > 60 for g in gaps)} of {len(gaps)}"
        )
    print(f"logs: {work}")
    print("result:", "OK" if not dropped else "FAILED")
    return 0 if not dropped else 1


if __name__ == "__main__":
    sys.exit(main())
