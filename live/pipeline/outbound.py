"""Agent audio out: TTS chunks to 8 kHz mu-law, cut into Twilio's 20 ms frames."""

from __future__ import annotations

import base64
import json

import numpy as np

from live.pipeline.frames import AudioFrame, Samples
from live.pipeline.inbound import TWILIO_RATE, Resampler
from live.pipeline.mulaw import SILENCE_BYTE, mulaw_encode

FRAME_BYTES = 160  # 20 ms at 8 kHz, one byte per sample


class OutboundEncoder:
    """Float audio at the TTS rate in, whole 160-byte mu-law frames out.

    A partial frame is held for the next chunk; `flush` pads the last one
    with silence so a reply always ends on a frame boundary, and leaves the
    encoder as good as new: one encoder serves every sentence of a call.
    """

    def __init__(self, in_rate: int) -> None:
        self.in_rate = in_rate
        self._resampler = Resampler(in_rate, TWILIO_RATE) if in_rate != TWILIO_RATE else None
        self._pending = b""

    def process(self, samples: Samples) -> list[bytes]:
        frame = AudioFrame(np.asarray(samples, dtype=np.float32), self.in_rate)
        audio = self._resampler.process(frame).samples if self._resampler else frame.samples
        return self._cut(mulaw_encode(audio))

    def flush(self) -> list[bytes]:
        tail = b""
        if self._resampler is not None:
            tail = mulaw_encode(self._resampler.flush().samples)
            self._resampler.reset()
        frames = self._cut(tail)
        if self._pending:
            frames.append(self._pending + bytes([SILENCE_BYTE]) * (FRAME_BYTES - len(self._pending)))
            self._pending = b""
        return frames

    def _cut(self, data: bytes) -> list[bytes]:
        data = self._pending + data
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        return [data[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]


class MediaMessages:
    """One stream's outgoing Twilio `media` messages, as compact JSON text.

    Fifty a second per call and only the payload changes, so the rest is
    built once; base64 needs no JSON escaping.
    """

    def __init__(self, stream_sid: str) -> None:
        self._head = '{"event":"media","streamSid":' + json.dumps(stream_sid) + ',"media":{"payload":"'

    def text(self, frame: bytes) -> str:
        return self._head + base64.b64encode(frame).decode("ascii") + '"}}'
