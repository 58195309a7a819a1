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

cProfile multiplies the cost of Python calls several times over, unevenly
(Twisted's many small calls more than C-heavy code). With PROFILE_CPROFILE=0
nothing is profiled: the log line then gives the database thread's real CPU
per callback and the rest of the process's (the event loop: Twisted, daphne,
the door), which is how to tell the two apart without that distortion.
"""

from __future__ import annotations

import cProfile
import os
import resource
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
PROFILING = os.environ.get("PROFILE_CPROFILE", "1") != "0"
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
    if PROFILING:
        profile.enable()
    try:
        return _apply_batch(loop, callbacks, **kwargs)
    finally:
        if PROFILING:
            profile.disable()
        batches.append((len(callbacks), time.perf_counter() - wall, time.thread_time() - cpu))


def write_out() -> None:
    if PROFILING:
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
            f"CPU {1000 * cpu / callbacks:.3f} ms"
            + (" (profiled: CPU figures include cProfile's overhead)" if PROFILING else ""),
            file=sys.stderr,
            flush=True,
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rest = usage.ru_utime + usage.ru_stime - cpu - start_cpu
        print(
            f"process CPU since start-up, per callback: database thread {1000 * cpu / callbacks:.3f} ms, "
            f"everything else (event loop: Twisted, daphne, the door) {1000 * rest / callbacks:.3f} ms "
            "(warm-up callbacks included)",
            file=sys.stderr,
            flush=True,
        )


status._apply_batch = profiled_apply_batch
_startup = resource.getrusage(resource.RUSAGE_SELF)
start_cpu = _startup.ru_utime + _startup.ru_stime  # imports and warm start, not serving

if __name__ == "__main__":
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", *sys.argv[1:]]
    if PROFILING:
        loop_profile.enable()
    try:
        CommandLineInterface.entrypoint()
    finally:
        write_out()
