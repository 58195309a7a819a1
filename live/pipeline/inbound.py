"""Caller audio in: Twilio's base64 mu-law 8 kHz frames to 16 kHz float32 for the models."""

from __future__ import annotations

import base64
import binascii

import numpy as np
import soxr

from live.pipeline.frames import AudioFrame
from live.pipeline.mulaw import mulaw_decode

TWILIO_RATE = 8000
MODEL_RATE = 16000


class BadMediaPayload(ValueError):
    """A media payload that is not base64 mu-law."""


class MediaDecoder:
    """base64 mu-law payload -> AudioFrame at 8 kHz, stamped with stream time."""

    def __init__(self) -> None:
        self.samples_in = 0

    def process(self, payload: str) -> AudioFrame:
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise BadMediaPayload(f"media payload is not base64: {exc}") from None
        t_ms = 1000.0 * self.samples_in / TWILIO_RATE
        self.samples_in += len(data)
        return AudioFrame(mulaw_decode(data), TWILIO_RATE, t_ms)


class Resampler:
    """Streaming resampler (soxr keeps its filter state between frames, so no clicks at edges)."""

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
        self._out_samples = 0

    def process(self, frame: AudioFrame) -> AudioFrame:
        out = self._stream.resample_chunk(np.ascontiguousarray(frame.samples, dtype=np.float32))
        t_ms = 1000.0 * self._out_samples / self.out_rate
        self._out_samples += len(out)
        return AudioFrame(out.astype(np.float32, copy=False), self.out_rate, t_ms)

    def flush(self) -> AudioFrame:
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        t_ms = 1000.0 * self._out_samples / self.out_rate
        self._out_samples += len(out)
        return AudioFrame(out.astype(np.float32, copy=False), self.out_rate, t_ms)

    def reset(self) -> None:
        """Ready for a new signal after `flush` (soxr takes no input after its last chunk until cleared)."""
        self._stream.clear()
        self._out_samples = 0
