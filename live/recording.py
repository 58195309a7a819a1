"""Stereo call recordings: caller on the left, agent on the right, time-aligned at 8 kHz.

Twilio sends caller audio continuously, so the caller channel is the call's
clock: sample n of the left channel is n/8000 s after the first media frame.
Agent frames are placed where the caller heard them (the pacer knows when each
frame starts playing); audio wiped by a barge-in `clear` is wiped here too.

A call can span several media streams: after DTMF, Twilio plays the digits
and connects a new stream to the same call, with a new session and recorder.
The later recorder finds the earlier part in the call's file and appends its
own where it happened: each write sets the file's modification time to the
wall-clock time its audio ends, and the gap until the new stream's first
frame (the digits playing, the reconnect) is kept as silence.
"""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog
from django.conf import settings

from calls.recordings import recording_fetch, recording_store
from live.pipeline.frames import Samples
from live.pipeline.mulaw import DECODE_TABLE

log = structlog.get_logger(__name__)

# mu-law byte -> 16-bit PCM sample: one lookup per outgoing frame byte.
_MULAW_TO_PCM16 = np.clip(DECODE_TABLE * 32767, -32768, 32767).astype(np.int16)

RATE = 8000
# Digits and a reconnect take seconds. A longer gap means the clocks (or the
# file's time) are off, and all it would add is silence, so it is capped.
MAX_GAP_S = 60.0


class StereoRecorder:
    def __init__(self) -> None:
        self._caller = np.zeros(RATE * 10, dtype=np.int16)
        self._agent = np.zeros(RATE * 10, dtype=np.int16)
        self._caller_len = 0
        self._agent_len = 0
        self._t0: float | None = None
        self._t0_wall: float | None = None  # the same instant on the wall clock, to place it among other parts

    def _index(self, at: float) -> int:
        if self._t0 is None:
            return 0
        return max(0, round((at - self._t0) * RATE))

    @staticmethod
    def _grow(buffer: npt.NDArray[np.int16], needed: int) -> npt.NDArray[np.int16]:
        if needed <= len(buffer):
            return buffer
        bigger = np.zeros(max(needed, len(buffer) * 2), dtype=np.int16)
        bigger[: len(buffer)] = buffer
        return bigger

    def add_caller(self, samples: Samples, at: float) -> None:
        """Caller audio (8 kHz float); `at` is the monotonic time it arrived."""
        if self._t0 is None:
            self._t0 = at
            self._t0_wall = time.time() - (time.monotonic() - at)
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
        end = self._caller_len + len(pcm)
        self._caller = self._grow(self._caller, end)
        self._caller[self._caller_len : end] = pcm
        self._caller_len = end

    def add_agent(self, frame: bytes, plays_at: float) -> None:
        """One 20 ms mu-law frame the caller starts hearing at monotonic time `plays_at`."""
        pcm = _MULAW_TO_PCM16[np.frombuffer(frame, dtype=np.uint8)]
        start = max(self._index(plays_at), 0)
        end = start + len(pcm)
        self._agent = self._grow(self._agent, end)
        self._agent[start:end] = pcm
        self._agent_len = max(self._agent_len, end)

    def cut_agent(self, at: float) -> None:
        """Erase agent audio after `at` (a barge-in cleared it before it was played)."""
        start = self._index(at)
        if start < self._agent_len:
            self._agent[start : self._agent_len] = 0
            self._agent_len = start

    def write(self, path: Path) -> float:
        """Write the WAV, after the call's earlier part if `path` holds one; returns its duration in seconds."""
        length = max(self._caller_len, self._agent_len)
        earlier, earlier_end = _read_earlier_part(path)
        if length == 0 and len(earlier):
            return len(earlier) / RATE  # this stream recorded nothing: the earlier part stays as it is
        offset = len(earlier)
        if len(earlier) and self._t0_wall is not None:
            offset += round(min(max(0.0, self._t0_wall - earlier_end), MAX_GAP_S) * RATE)
        stereo = np.zeros((offset + length, 2), dtype=np.int16)
        stereo[: len(earlier)] = earlier
        stereo[offset : offset + self._caller_len, 0] = self._caller[: self._caller_len]
        stereo[offset : offset + self._agent_len, 1] = self._agent[: self._agent_len]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(stereo.tobytes())
        if self._t0_wall is not None:
            ends_at = self._t0_wall + length / RATE
            os.utime(tmp, (ends_at, ends_at))  # where a later stream's part goes (see the module's notes)
        tmp.replace(path)
        return len(stereo) / RATE


def save_recording(recorder: StereoRecorder, call_id: object, *, resumed: bool = False, call_over: bool = True) -> str:
    """Write a call's recording and store it (blocking); its name in the recordings storage, or "" if that failed.

    The WAV is written on this server's disk first (RECORDINGS_WORK_DIR),
    after the call's earlier part when a resumed stream has one, then saved
    to the recordings storage (calls.recordings) that every server reads. It
    is stored at the end of every stream, not only the last one: the call's
    next stream may land on another server, which then fetches that part.
    The local copy goes once the call is over; if storing fails it stays
    (logged) so the audio is not lost.
    """
    local = Path(settings.RECORDINGS_WORK_DIR) / f"{call_id}.wav"
    try:
        if resumed and not local.exists():
            recording_fetch(call_id=str(call_id), local_path=local)
        recorder.write(local)
        name = recording_store(call_id=str(call_id), local_path=local)
    except Exception:  # OSError, or whatever an S3 client raises: the call's outcome is stored regardless
        log.exception("recording_store_failed", call_id=str(call_id), local_path=str(local))
        return ""
    if call_over:
        local.unlink(missing_ok=True)
    return name


def _read_earlier_part(path: Path) -> tuple[npt.NDArray[np.int16], float]:
    """The stereo samples already in `path` and the wall-clock time they end (none: an empty array)."""
    nothing = np.zeros((0, 2), dtype=np.int16), 0.0
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            data = wav.readframes(wav.getnframes())
        ends_at = path.stat().st_mtime
    except (FileNotFoundError, wave.Error, EOFError):
        # No earlier part, or a file that is not a WAV: writes go through a
        # temporary file, so it is not one of ours cut short. Nothing to keep.
        return nothing
    if shape != (2, 2, RATE):
        return nothing
    return np.frombuffer(data, dtype=np.int16).reshape(-1, 2), ends_at
