"""The caller's side of the pipeline, per 20 ms media frame: decode, resample, VAD, turn detector.

All synchronous and cheap (about 10 microseconds plus Silero's window), so it
runs inline on the event loop as each frame arrives.
"""

from __future__ import annotations

from typing import NamedTuple

from live.pipeline.frames import AudioFrame
from live.pipeline.inbound import FrameUpsampler, MediaDecoder
from live.pipeline.pacer import FRAME_MS
from live.pipeline.turns import Event, TurnDetector
from live.pipeline.vad import VadProcessor


class Heard(NamedTuple):
    """One media frame, heard: the 8 kHz frame, the speech events it completed, the stream time after it."""

    frame: AudioFrame
    events: list[Event]
    stream_ms: float
    mulaw: bytes  # the payload decoded from base64 (listen-in sends these on as they are)


class Listener:
    def __init__(self, *, end_of_turn_ms: float, pause_ms: float, vad: VadProcessor | None = None) -> None:
        self.decoder = MediaDecoder()
        self.resampler = FrameUpsampler()  # a frame in, a frame out: the VAD hears each frame at once
        self.vad = vad or VadProcessor()
        self.turns = TurnDetector(end_of_turn_ms=end_of_turn_ms, pause_ms=min(pause_ms, end_of_turn_ms))

    @property
    def caller_speaking(self) -> bool:
        """An utterance has started and not ended (or been dropped as noise)."""
        return self.turns.active

    def hear(self, payload: str) -> Heard:
        """One base64 mu-law payload, heard (see Heard).

        Raises BadMediaPayload for a payload that is not base64.
        """
        mulaw, frame = self.decoder.decode(payload)
        frame16 = self.resampler.process(frame)
        return Heard(frame, self.turns.process(frame16, self.vad.process(frame16)), frame.t_ms + FRAME_MS, mulaw)
