"""The STT engine's short encoder window gives the standard path's words, and silence stays silent."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soxr

from live.speech.stt import WhisperSTT, get_stt
from live.speech.tts import get_tts

pytestmark = [pytest.mark.e2e]  # real models (or real threads and time)

LINES = [
    "Yes, speaking.",
    "I'm busy right now. Please call me back later.",
    "I would like the first slot on Tuesday please.",
]


@pytest.fixture(scope="module")
def stt() -> WhisperSTT:
    engine = get_stt()
    assert isinstance(engine, WhisperSTT)
    return engine


def _spoken(text: str) -> np.ndarray:
    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize(text)))
    return soxr.resample(audio, tts.sample_rate, 16000).astype(np.float32)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.mark.parametrize("line", LINES)
def test_short_window_hears_the_same_words_as_the_standard_path(stt, settings, monkeypatch, line):
    audio = _spoken(line)
    settings.STT_ENCODER_WINDOW_S = 10
    with monkeypatch.context() as patch:
        patch.setattr(stt, "_transcribe_standard", lambda audio: pytest.fail("took the 30 s path"))
        short = stt.transcribe(audio)
    settings.STT_ENCODER_WINDOW_S = 0
    standard = stt.transcribe(audio)
    assert _words(short) == _words(line)
    assert _words(short) == _words(standard)


def test_short_window_returns_nothing_for_silence_and_noise(stt, settings):
    settings.STT_ENCODER_WINDOW_S = 10
    assert stt.transcribe(np.zeros(16000, dtype=np.float32)) == ""
    noise = (np.random.default_rng(7).standard_normal(16000) * 0.002).astype(np.float32)
    assert stt.transcribe(noise) == ""


def test_audio_longer_than_the_window_is_still_heard_whole(stt, settings):
    settings.STT_ENCODER_WINDOW_S = 2
    line = "I'm busy right now. Please call me back later."
    audio = _spoken(line)
    assert len(audio) > 2 * 16000  # the window grows to fit the utterance
    assert _words(stt.transcribe(audio)) == _words(line)


def test_a_decoding_loop_is_decoded_again_with_faster_whispers_guards(stt, settings, monkeypatch):
    """Issue 14: "41, 41, 41, ..." from the short window goes back through the standard path's safeguards."""
    import live.speech.stt as stt_module

    line = "I would like the first slot on Tuesday please."
    audio = _spoken(line)
    settings.STT_ENCODER_WINDOW_S = 10
    calls: list[dict[str, object]] = []
    standard = stt._transcribe_standard

    def recorded(audio: np.ndarray, language: str | None, *, safeguards: bool = False, prompt: str = "") -> str:
        calls.append({"language": language, "safeguards": safeguards, "prompt": prompt})
        return standard(audio, language, safeguards=safeguards, prompt=prompt)

    monkeypatch.setattr(stt, "_transcribe_standard", recorded)
    monkeypatch.setattr(stt_module, "looks_hallucinated", lambda text: True)  # as if the decode had looped
    assert _words(stt.transcribe(audio)) == _words(line)  # the guarded decode still hears the words
    assert calls == [{"language": "en", "safeguards": True, "prompt": ""}]


def test_a_prompted_decode_that_loops_on_the_prompts_words_is_kept_and_any_other_loop_is_decoded_again(
    stt, settings, monkeypatch
):
    """Speech over the agent is decoded with a backchannel prompt, which invites repeats ("Okay. Okay. Okay.")."""
    import live.speech.stt as stt_module

    settings.STT_ENCODER_WINDOW_S = 10
    monkeypatch.setattr(stt, "_transcribe_standard", lambda *a, **k: pytest.fail("took the 30 s path"))
    monkeypatch.setattr(stt_module, "looks_hallucinated", lambda text: True)  # as if every decode had looped
    okay = _spoken("Okay.")
    heard = stt.transcribe(okay, prompt="Okay. Yeah. Right.")
    assert set(_words(heard)) == {"okay"}  # only the prompt's words: kept as decoded (a backchannel either way)

    decodes: list[str] = []
    window = stt._transcribe_short_window

    def recorded(audio: np.ndarray, window_s: float, prompt: str = "", *, quick: bool = False) -> str:
        decodes.append(prompt)
        return window(audio, window_s, prompt, quick=quick)

    monkeypatch.setattr(stt, "_transcribe_short_window", recorded)
    monkeypatch.setattr(stt_module, "looks_hallucinated", lambda text: bool(decodes) and len(decodes) == 1)
    line = "I would like the first slot on Tuesday please."
    assert _words(stt.transcribe(_spoken(line), prompt="Okay. Yeah.")) == _words(line)
    assert decodes == ["Okay. Yeah.", ""]  # looped on other words: once more, without the prompt


def test_a_quick_look_is_one_decode_whatever_it_heard(stt, settings, monkeypatch):
    """A look at speech over the agent only asks which words are there: a loop is kept as decoded."""
    import live.speech.stt as stt_module

    settings.STT_ENCODER_WINDOW_S = 10
    monkeypatch.setattr(stt, "_transcribe_standard", lambda *a, **k: pytest.fail("took the 30 s path"))
    monkeypatch.setattr(stt_module, "looks_hallucinated", lambda text: True)  # as if every decode had looped
    decodes: list[bool] = []
    window = stt._transcribe_short_window

    def recorded(audio: np.ndarray, window_s: float, prompt: str = "", *, quick: bool = False) -> str:
        decodes.append(quick)
        return window(audio, window_s, prompt, quick=quick)

    monkeypatch.setattr(stt, "_transcribe_short_window", recorded)
    line = "I would like the first slot on Tuesday please."
    heard = stt.transcribe(_spoken(line), prompt="Okay. Yeah.", quick=True)
    assert decodes == [True]  # not decoded again without the prompt, nor the standard way
    assert {"tuesday", "slot"} <= set(_words(heard))
    assert heard.confidence is not None  # a Transcript, as the turn-taking rules read it
