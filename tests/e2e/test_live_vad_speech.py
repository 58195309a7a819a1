"""Silero VAD on real synthesized speech (the packaged Piper voice): the pipeline's VAD stage end to end."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from live.pipeline.frames import AudioFrame
from live.pipeline.vad import VadProcessor

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def speech_audio_16k() -> np.ndarray:
    """A real spoken sentence (the packaged Piper voice) at 16 kHz."""

    from live.speech.tts import get_tts

    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize("Good morning, I would like to book an appointment.")))
    return soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32)


def test_vad_hears_speech_and_not_silence(speech_audio_16k):
    vad = VadProcessor()
    silent = vad.process(AudioFrame(np.zeros(16000, dtype=np.float32), 16000))
    assert len(silent) == 16000 // 512 and not any(w.speech for w in silent)
    spoken = vad.process(AudioFrame(speech_audio_16k, 16000))
    assert sum(w.speech for w in spoken) > len(spoken) // 2
