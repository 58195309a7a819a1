#!/usr/bin/env python
"""Benchmark: what PII redaction costs per stored turn and per log line.

    .venv/bin/python scripts/bench_redaction.py [--rounds 2000]

Redaction (privacy.redaction) runs on the live engine's database threads for
every stored turn of a version with `privacy.redact_pii`, and on every log
line in every process (voiceops.logging). Prints p50/p99 microseconds per
call for: a turn with no personal data (the common case), a turn with a
spoken card number and e-mail, a typical log line, and a log line with a
phone number. Pure CPU, no database or model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from privacy.redaction import redact  # noqa: E402

TEXTS = {
    "turn, nothing personal": "Yes, Tuesday afternoon works for me, thank you so much.",
    "turn, spoken card and e-mail": (
        "my card is four one one one one one one one one one one one one one one one "
        "and my email is jordan at example dot com"
    ),
    "turn, written phone": "You can reach me on (415) 555-2671 after five.",
}
LOG_LINES = {
    "log line, ids and times": (
        "call e52f6c23-4187-4901-9300-cad29a877bf2 CA0123456789abcdef0123456789abcdef 2026-12-04T14:00:00Z"
    ),
    "log line, phone": "dialing +14155550101 for lead 42",
}


def measure(fn: Callable[[str], str], text: str, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        fn(text)
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")
    import django

    django.setup()
    from voiceops.logging import redact_log_text

    print(f"{'what':34} {'p50 us':>9} {'p99 us':>9}")
    for name, text in TEXTS.items():
        p50, p99 = measure(redact, text, args.rounds)
        print(f"{name:34} {p50:9.1f} {p99:9.1f}")
    for name, text in LOG_LINES.items():
        p50, p99 = measure(redact_log_text, text, args.rounds)
        print(f"{name:34} {p50:9.1f} {p99:9.1f}")


if __name__ == "__main__":
    main()
