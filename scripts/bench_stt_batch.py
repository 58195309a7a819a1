#!/usr/bin/env python
"""Benchmark: does batching speech-to-text across calls pay on this machine?

    .venv/bin/python scripts/bench_stt_batch.py [--turns 4] [--rounds 5]

Issue 14 asks for STT batched across calls "when it pays". Several calls'
turns that end at the same moment are transcribed here three ways, on the
engine's own short-window decode (live.speech.stt) of the packaged tiny.en,
with Piper's lines as the audio:

- as the engine runs them now: through ENGINE_THREADS model slots
  (live.workers), each turn decoded on its own;
- one at a time;
- as one batch (one CTranslate2 `generate` over every turn's features).

It prints when each turn's words were ready (median over the rounds), the
mean and the last. A batch makes every turn wait for the slowest, so it pays
only when it brings the last one in sooner than the slots do without making
the mean worse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = [
    "Yes, that is correct.",
    "I would like to book an appointment.",
    "Tuesday afternoon works for me.",
    "Do you have anything next week?",
    "Can I bring my daughter as well?",
    "My number is five five five, one two three four.",
    "No, the second one is better.",
    "Thank you, that is all for today.",
]
WINDOW_FRAMES = 1000  # the engine's 10 s encoder window (STT_ENCODER_WINDOW_S), 100 feature frames a second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=4, help="turns ending at once (one per call), at most 8")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")
    import django

    django.setup()
    import ctranslate2
    import soxr
    from django.conf import settings
    from faster_whisper.tokenizer import Tokenizer

    from live.speech.stt import get_stt
    from live.speech.tts import get_tts

    stt, tts = get_stt(), get_tts("piper")
    whisper: Any = stt._model  # type: ignore[attr-defined]
    features = []
    for line in LINES[: max(1, min(args.turns, len(LINES)))]:
        audio = np.concatenate(list(tts.synthesize(line))).astype(np.float32)
        audio16 = soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32)
        frames = whisper.feature_extractor(audio16)[:, :WINDOW_FRAMES]
        features.append(np.pad(frames, ((0, 0), (0, WINDOW_FRAMES - frames.shape[1]))))
    tokenizer = Tokenizer(whisper.hf_tokenizer, False, task="transcribe", language="en")
    prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]

    def decode(batch: list[np.ndarray]) -> None:
        whisper.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(np.stack(batch), dtype=np.float32)),
            [prompt] * len(batch),
            beam_size=1,
            max_length=len(prompt) + 60,
        )

    slots = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS)

    def through_slots() -> list[float]:
        started = time.perf_counter()

        def job(frames: np.ndarray) -> float:
            decode([frames])
            return time.perf_counter() - started

        return [done.result() for done in [slots.submit(job, frames) for frames in features]]

    def one_at_a_time() -> list[float]:
        started, ready = time.perf_counter(), []
        for frames in features:
            decode([frames])
            ready.append(time.perf_counter() - started)
        return ready

    def one_batch() -> list[float]:
        started = time.perf_counter()
        decode(features)
        return [time.perf_counter() - started] * len(features)

    schedules = {
        f"{settings.ENGINE_THREADS} model slots (the engine)": through_slots,
        "one at a time": one_at_a_time,
        "one batch": one_batch,
    }
    for schedule in schedules.values():
        schedule()  # warm-up
    print(
        f"{len(features)} turns ending at once, tiny.en short window, ENGINE_THREADS={settings.ENGINE_THREADS}; "
        f"load average {os.getloadavg()[0]:.1f} (2 shared cores)"
    )
    for name, schedule in schedules.items():
        runs = [schedule() for _ in range(args.rounds)]
        each = [statistics.median(run[i] for run in runs) * 1000 for i in range(len(features))]
        mean = statistics.median(statistics.mean(run) for run in runs) * 1000
        last = statistics.median(max(run) for run in runs) * 1000
        print(f"  {name:28s} ready at {', '.join(f'{ms:.0f}' for ms in each)} ms; mean {mean:.0f}, last {last:.0f} ms")


if __name__ == "__main__":
    main()
