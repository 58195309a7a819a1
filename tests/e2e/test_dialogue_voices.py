"""The turn-taking dialogue set's second voice: espeak-ng (scripts/bench_turns.py) through the phone band.

The issue asks for the dialogue set to be spoken by Piper and espeak-ng
voices; scripts/test installs espeak-ng beside Chromium. This shows the
benchmark's espeak-ng line reaches the engine's speech-to-text as words, so
its rates are not counted on silence or noise.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soxr

from live.speech.stt import get_stt

pytestmark = [pytest.mark.e2e]

BENCH_TURNS = Path(__file__).resolve().parents[2] / "scripts" / "bench_turns.py"


def bench_turns() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_turns", BENCH_TURNS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is installed by scripts/test")
def test_the_espeak_voice_is_heard_as_words_over_the_phone_band():
    bench = bench_turns()
    speech22 = bench.speak(None, "I would like to book an appointment on Tuesday.", ("espeak", 1.0))
    assert len(speech22) > 22050  # over a second of speech, at the rate the Piper lines use
    line8 = bench.phone_band(soxr.resample(speech22, 22050, 8000).astype(np.float32))
    audio16 = soxr.resample(line8, 8000, 16000).astype(np.float32)
    heard = get_stt().transcribe(np.concatenate([np.zeros(4800, dtype=np.float32), audio16])).lower()
    assert "appointment" in heard and "tuesday" in heard, heard
