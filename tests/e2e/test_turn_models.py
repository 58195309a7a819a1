"""The real models behind turn taking: Smart Turn on finished and open sentences, prompted decodes of overlaps.

The decisions themselves are tested with fakes on a virtual clock
(tests/live/test_turn_taking.py, tests/live/test_turn_ends.py); here the
packaged Whisper, the Piper voice and the Smart Turn file fetched by
scripts/bootstrap show that what those fakes stand for holds.
"""

from __future__ import annotations

import numpy as np
import pytest
import soxr
from django.conf import settings

from agents.brains.config import DEFAULT_BACKCHANNELS
from live.pipeline.bargein import backchannel_prompt, is_backchannel
from live.speech.smart_turn import get_smart_turn
from live.speech.stt import get_stt
from live.speech.tts import get_tts

pytestmark = [pytest.mark.e2e]


def spoken(text: str) -> np.ndarray:
    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize(text)))
    return soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32)


def test_bootstrap_fetched_smart_turn_and_it_hears_finished_and_open_sentences():
    assert settings.SMART_TURN_MODEL, "scripts/bootstrap fetches Smart Turn into models/"
    model = get_smart_turn(settings.SMART_TURN_MODEL)
    assert model is not None
    assert model.probability(spoken("Tuesday would be good.")) >= 0.5
    assert model.probability(spoken("I was wondering if")) < 0.5


def test_a_decode_prompted_with_backchannels_hears_a_hum_as_one_and_real_words_as_said():
    stt = get_stt()
    prompt = backchannel_prompt(list(DEFAULT_BACKCHANNELS))
    assert is_backchannel(stt.transcribe(spoken("Mhm."), language="en", prompt=prompt), DEFAULT_BACKCHANNELS)
    heard = stt.transcribe(spoken("No, that's the wrong day."), language="en", prompt=prompt)
    assert not is_backchannel(heard, DEFAULT_BACKCHANNELS)
    assert "wrong day" in heard.lower()
