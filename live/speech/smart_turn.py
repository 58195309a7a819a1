"""Smart Turn v3.2: does the caller's voice sound finished? An 8 MB ONNX model over the last 8 s of audio.

The transcript check (agents.brains.completeness) reads the words, and
Whisper tiny.en loses exactly the words it needs on a phone line: "My name
is, uh" comes back "My name is", "I was wondering if" as "I was wondering
it." (scripts/bench_turns.py). Smart Turn hears the intonation instead; on
our Piper probe lines it scored "I was wondering if" 0.06 and every finished
line above 0.95, but called "Tuesday or" finished (0.99). So turn taking asks
both when the model is configured: a turn is finished only when both say so.

The model (BSD-2, by Daily) ships inside the `pipecat-ai` wheel, whose
dependencies (soxr 1.0, protobuf < 7) clash with ours, so scripts/bootstrap
extracts the one file (voiceops.smart_turn_file) and settings point
SMART_TURN_MODEL at it; with none, the transcript check decides alone. Features: Whisper's 80-bin log-mel of the
zero-mean, unit-variance waveform, the last 8 s, zero-padded at the front;
faster-whisper's FeatureExtractor computes them identically to Pipecat's
vendored copy (largest difference 2e-7 on a test signal). Cost: 120-300 ms
of one core per pause on this busy 2-core machine; it runs at the pause,
beside the speech-to-text of the same audio (live.session), not after it.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np
import structlog

log = structlog.get_logger(__name__)

SECONDS = 8
RATE = 16000
THRESHOLD = 0.5  # the model's own: above is "complete"

_cache: dict[str, SmartTurn] = {}
_lock = threading.Lock()


class TurnModel(Protocol):
    """What turn taking needs from an end-of-turn model (tests use a scripted fake)."""

    def probability(self, audio: Any) -> float: ...


class SmartTurn:
    def __init__(self, path: str) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one call's pause must not take both cores from the others
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(
            feature_size=80, sampling_rate=RATE, hop_length=160, chunk_length=SECONDS, n_fft=400
        )
        log.info("smart_turn_loaded", path=path)

    def probability(self, audio: Any) -> float:
        """How likely the utterance (16 kHz float) is finished, 0 to 1."""
        samples = np.asarray(audio, dtype=np.float32)[-SECONDS * RATE :]
        if len(samples) < SECONDS * RATE:
            samples = np.pad(samples, (SECONDS * RATE - len(samples), 0))
        samples = (samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)
        features = self._features(samples, padding=0)[None].astype(np.float32)
        output = self._session.run(None, {"input_features": features})[0]
        return float(np.asarray(output).reshape(-1)[0])


def loaded_smart_turn(path: str) -> SmartTurn | None:
    """get_smart_turn's model when it is already loaded; never loads (a dictionary read, fine on the event loop)."""
    return _cache.get(path) if path else None


def get_smart_turn(path: str) -> SmartTurn | None:
    """The process-wide model at `path` ("" means not configured: None)."""
    if not path:
        return None
    with _lock:
        model = _cache.get(path)
        if model is None:
            model = _cache[path] = SmartTurn(path)
        return model
