#!/usr/bin/env python
"""daphne with the status webhook profiled: a wrapper for `BENCH_DAPHNE` (scripts/bench_status_webhook.py).

    BENCH_DAPHNE=scripts/profile_daphne.py PROFILE_DIR=var/profile \\
        .venv/bin/python scripts/bench_status_webhook.py --rate 400 --seconds 8

Takes daphne's arguments. While the server runs, cProfile measures the event
loop's thread and the status webhook's database thread on a thread-CPU clock
(so waiting on PostgreSQL, the GIL or the network does not count as time
spent), and every batch's size, wall time and CPU time are recorded. When
daphne stops (the benchmark terminates it) it writes `main.prof` and `db.prof`
under PROFILE_DIR (read them with `python -m pstats`) and prints one line of
batch figures to its log: wall time per batch far above CPU time per batch
means the thread spends its time waiting.
"""

from __future__ import annotations

import cProfile
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())  # run from the repository root, as the benchmark does
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")

import voiceops.asgi  # noqa: F401  (start-up as daphne does it: settings, warm start, gc.freeze)
from telephony import status

OUT = Path(os.environ.get("PROFILE_DIR", "var/profile"))
loop_profile = cProfile.Profile(time.thread_time)
database_profiles: list[cProfile.Profile] = []
batches: list[tuple[int, float, float]] = []  # (callbacks, wall seconds, thread CPU seconds)
_local = threading.local()
_apply_batch = status._apply_batch


def profiled_apply_batch(loop: Any, callbacks: list[Any], **kwargs: Any) -> Any:
    profile = getattr(_local, "profile", None)
    if profile is None:
        profile = _local.profile = cProfile.Profile(time.thread_time)
        database_profiles.append(profile)
    wall, cpu = time.perf_counter(), time.thread_time()
    profile.enable()
    try:
        return _apply_batch(loop, callbacks, **kwargs)
    finally:
        profile.disable()
        batches.append((len(callbacks), time.perf_counter() - wall, time.thread_time() - cpu))


def write_out() -> None:
    loop_profile.disable()
    OUT.mkdir(parents=True, exist_ok=True)
    loop_profile.dump_stats(OUT / "main.prof")
    for index, profile in enumerate(database_profiles):
        profile.dump_stats(OUT / ("db.prof" if index == 0 else f"db-{index}.prof"))
    if batches:
        count = len(batches)
        callbacks = sum(b[0] for b in batches)
        wall = sum(b[1] for b in batches)
        cpu = sum(b[2] for b in batches)
        print(
            f"status batches: {count}, mean size {callbacks / count:.1f}; per batch wall {1000 * wall / count:.2f} ms, "
            f"CPU {1000 * cpu / count:.2f} ms; per callback wall {1000 * wall / callbacks:.3f} ms, "
            f"CPU {1000 * cpu / callbacks:.3f} ms (profiled: CPU figures include cProfile's overhead)",
            file=sys.stderr,
            flush=True,
        )


status._apply_batch = profiled_apply_batch

if __name__ == "__main__":
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", *sys.argv[1:]]
    loop_profile.enable()
    try:
        CommandLineInterface.entrypoint()
    finally:
        write_out()
