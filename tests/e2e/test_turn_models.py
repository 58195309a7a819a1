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
from piper.config import SynthesisConfig

from agents.brains.config import DEFAULT_BACKCHANNELS
from live.pipeline.bargein import backchannel_prompt, is_backchannel
from live.pipeline.mulaw import mulaw_decode, mulaw_encode
from live.speech.smart_turn import get_smart_turn
from live.speech.stt import get_stt
from live.speech.tts import get_tts

pytestmark = [pytest.mark.e2e]


def spoken(text: str) -> np.ndarray:
    """`text` as the engine hears it: the phone band (8 kHz mu-law), 300 ms of pre-roll, a 200 ms pause after."""
    tts = get_tts("piper")
    # Without Piper's sampling noise the line is the same audio on every run: with it, one "Mhm." in
    # about eight comes back "And make a chance." (the rate bench_turns.py measures), and the test flaked.
    still = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = tts._voice.synthesize(text, syn_config=still)  # type: ignore[attr-defined]
    speech = np.concatenate([np.asarray(chunk.audio_float_array, dtype=np.float32) for chunk in chunks])
    audio8 = soxr.resample(speech, tts.sample_rate, 8000).astype(np.float32)
    line = mulaw_decode(mulaw_encode(np.clip(audio8, -1, 1)))
    audio16 = soxr.resample(line, 8000, 16000).astype(np.float32)
    return np.concatenate([np.zeros(4800, dtype=np.float32), audio16, np.zeros(3200, dtype=np.float32)])


def test_bootstrap_fetched_smart_turn_and_it_hears_finished_and_open_sentences():
    assert settings.SMART_TURN_MODEL, "scripts/bootstrap fetches Smart Turn into models/"
    model = get_smart_turn(settings.SMART_TURN_MODEL)
    assert model is not None
    # Lines it scores the same way at every speed and noise in scripts/bench_turns.py (it is unsure of
    # others on the phone band: "Tuesday would be good." scored 0.02-0.12, see the README).
    assert model.probability(spoken("Nine thirty works for me.")) >= 0.5
    assert model.probability(spoken("So I'm calling because")) < 0.5


def test_a_decode_prompted_with_backchannels_hears_a_hum_as_one_and_real_words_as_said():
    stt = get_stt()
    prompt = backchannel_prompt(list(DEFAULT_BACKCHANNELS))
    assert is_backchannel(stt.transcribe(spoken("Mhm."), language="en", prompt=prompt), DEFAULT_BACKCHANNELS)
    heard = stt.transcribe(spoken("No, that's the wrong day."), language="en", prompt=prompt)
    assert not is_backchannel(heard, DEFAULT_BACKCHANNELS)
    assert "wrong day" in heard.lower()


def test_whisper_says_how_sure_it_is_that_the_words_end_a_sentence():
    """Transcript.sentence_end (live.turn_taking.SENTENCE_END_SURE): sure for a question, not for a trailing "if"."""
    from live.turn_taking import SENTENCE_END_SURE

    stt = get_stt()
    finished = stt.transcribe(spoken("Can I come in on Friday?"))
    trailing = stt.transcribe(spoken("I was wondering if"))
    assert finished.sentence_end is not None and finished.sentence_end > SENTENCE_END_SURE, finished
    assert trailing.sentence_end is not None and trailing.sentence_end < SENTENCE_END_SURE, trailing
    print(f"\nsentence end: {finished!r} {finished.sentence_end:.2f}; {trailing!r} {trailing.sentence_end:.2f}")
