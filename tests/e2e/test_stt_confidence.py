"""The real Whisper engine returns its confidence with the text, on both encoder paths (the model I/O log keeps it)."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from live.speech.base import Transcript
from live.speech.stt import WhisperSTT, get_stt
from live.speech.tts import get_tts

pytestmark = [pytest.mark.e2e]


@pytest.mark.parametrize("window_s", [10, 0])  # the short encoder window, then the standard 30 s path
def test_transcripts_carry_a_confidence_between_0_and_1(settings, window_s):
    stt = get_stt()
    assert isinstance(stt, WhisperSTT)
    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize("I would like the first slot on Tuesday please.")))
    settings.STT_ENCODER_WINDOW_S = window_s
    text = stt.transcribe(soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32))
    assert isinstance(text, Transcript) and "tuesday" in text.lower()
    assert text.confidence is not None and 0.3 < text.confidence <= 1.0
