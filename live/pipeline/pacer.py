"""Paced sending: 20 ms frames a little ahead of real time, a mark after each chunk.

Twilio plays what it is sent, in order, and buffers whatever arrives early.
Sending a whole reply at once would make `clear` (barge-in) the only way to
stop it and would leave the server with no idea what was heard; sending
exactly in real time would turn every scheduling hiccup into a gap. The pacer
keeps about `lead_ms` of audio queued at Twilio: after an initial burst of
lead_ms it tops the queue up again whenever it has drained by `batch_ms`
(one 20 ms frame per wake-up by default; 40 ms sends two frames per wake-up,
and Twilio's queue then holds between lead_ms - 20 and lead_ms + 20 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

FRAME_MS = 20.0
# Float rounding can leave `ahead` a hair over the lead right after a wake-up;
# sleeping for 1e-14 s would only spin the loop (and stall a virtual clock).
_ROUNDING_S = 1e-6


class FramePacer:
    def __init__(
        self,
        *,
        send_frame: Callable[[bytes], Awaitable[None]],
        send_mark: Callable[[str], Awaitable[None]],
        lead_ms: float = 80.0,
        batch_ms: float = FRAME_MS,
        on_frame_sent: Callable[[bytes, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._send_frame = send_frame
        self._send_mark = send_mark
        self._on_frame_sent = on_frame_sent
        self.lead_s = lead_ms / 1000.0
        # Wake when this much audio is left queued at Twilio: never less than a
        # frame, so a wake-up that comes a little late still finds audio playing.
        batch_ms = min(max(batch_ms, FRAME_MS), lead_ms)
        self._refill_at_s = (lead_ms - batch_ms + FRAME_MS) / 1000.0
        self._clock = clock
        self._sleep = sleep  # with `clock`, a test's virtual time drives the pacing
        self._queue: deque[tuple[str, bytes | str]] = deque()
        self._queued_frames = 0  # frames in _queue, kept as a count: read on every media frame
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.playback_end = 0.0  # when the caller will have heard everything sent so far
        self.frames_sent = 0
        self.paused = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="frame-pacer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def push_frames(self, frames: list[bytes]) -> None:
        self._queue.extend(("frame", f) for f in frames)
        self._queued_frames += len(frames)
        self._kick()

    def push_mark(self, name: str) -> None:
        self._queue.append(("mark", name))
        self._kick()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    @property
    def queued_frames(self) -> int:
        return self._queued_frames

    def audible(self) -> bool:
        """Whether the caller is (probably) hearing agent audio now or soon."""
        return bool(self._queue) or self._clock() < self.playback_end

    def pause(self) -> None:
        """Send nothing more until `resume` (or `clear`); what is queued stays queued.

        Twilio plays out what it already holds (about lead_ms), then silence.
        """
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._kick()

    def clear(self) -> list[str]:
        """Drop everything not yet sent; returns the marks that will never be sent."""
        self.paused = False
        dropped = [str(item) for kind, item in self._queue if kind == "mark"]
        self._queue.clear()
        self._queued_frames = 0
        self.playback_end = min(self.playback_end, self._clock())
        self._idle.set()
        return dropped

    async def drained(self) -> None:
        """Wait until everything queued has been sent (not necessarily played)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            if self.paused:
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            kind, item = self._queue[0]
            if kind == "mark":
                self._queue.popleft()
                await self._send_mark(str(item))
                continue
            now = self._clock()
            ahead = self.playback_end - now
            if ahead > self.lead_s + _ROUNDING_S:
                await self._sleep(ahead - self._refill_at_s)
                continue
            self._queue.popleft()
            self._queued_frames -= 1
            assert isinstance(item, bytes)
            await self._send_frame(item)
            self.playback_end = max(self.playback_end, now) + FRAME_MS / 1000.0
            self.frames_sent += 1
            if self._on_frame_sent is not None:
                self._on_frame_sent(item, now)
