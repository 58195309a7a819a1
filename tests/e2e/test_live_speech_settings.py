"""An agent's voice.speed reaches Piper and its stt.language reaches Whisper (issue 9, defect 9, engine side)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from live.speech.stt import WhisperSTT
from live.speech.tts import get_tts

pytestmark = [pytest.mark.e2e]  # real models (or real threads and time)

SENTENCE = "Your appointment is on Tuesday at ten in the morning."


def seconds_of(speed: float) -> float:
    tts = get_tts("piper")
    audio = np.concatenate(list(tts.synthesize(SENTENCE, speed=speed)))
    return len(audio) / tts.sample_rate


def test_a_faster_voice_speaks_the_same_sentence_in_less_time(monkeypatch):
    # Piper samples phoneme durations; without the noise its output is the same every time.
    config = get_tts("piper")._voice.config
    monkeypatch.setattr(config, "noise_scale", 0.0)
    monkeypatch.setattr(config, "noise_w_scale", 0.0)
    normal, fast, slow = seconds_of(1.0), seconds_of(2.0), seconds_of(0.5)
    # length_scale is 1/speed of the voice's own; the silence after a sentence does not scale with it.
    assert 0.5 < fast / normal < 0.7
    assert 1.5 < slow / normal < 1.9
    assert seconds_of(1.0) == normal  # one engine serves every agent: a speed does not stick to it


class RecordingWhisper:
    """faster_whisper.WhisperModel's transcribe, recording what it was asked."""

    def __init__(self, *, multilingual: bool) -> None:
        self.model = SimpleNamespace(is_multilingual=multilingual)
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[list[Any], None]:
        self.calls.append(options)
        return [SimpleNamespace(text=" hola ", no_speech_prob=0.01, avg_logprob=-0.1)], None


def whisper_with(model: RecordingWhisper) -> WhisperSTT:
    stt = WhisperSTT.__new__(WhisperSTT)  # the model is stood in for: no weights to load
    stt.model_name, stt.device, stt._model = "small", "cpu", model
    return stt


SPEECH = np.zeros(16000, dtype=np.float32)


def test_the_language_reaches_a_multilingual_model():
    model = RecordingWhisper(multilingual=True)
    stt = whisper_with(model)
    assert stt.transcribe(SPEECH, language="es") == "hola"
    assert model.calls[-1]["language"] == "es"
    stt.transcribe(SPEECH)  # no language configured: Whisper detects it
    assert model.calls[-1]["language"] is None


def test_an_english_only_model_is_always_asked_for_english(settings):
    settings.STT_ENCODER_WINDOW_S = 0  # the standard path, where the argument is visible
    model = RecordingWhisper(multilingual=False)
    whisper_with(model).transcribe(SPEECH, language="en")
    assert model.calls[-1]["language"] == "en"
