"""The engine's sense of time: one injectable clock for the session, turn taking and the pacer.

Production reads the monotonic clock and sleeps on the event loop; tests hand
in a virtual clock they move forward themselves (tests/live/harness.py), so a
ten-minute call or a two-second reminder runs in milliseconds and the same
way every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


async def wait_event(event: asyncio.Event, limit_s: float, clock: Clock) -> bool:
    """Wait for `event` at most `limit_s` seconds of `clock` time; returns whether it was set.

    (asyncio.timeout would measure the loop's own clock, which a test's virtual one does not move.)
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    timer = asyncio.ensure_future(clock.sleep(limit_s))
    try:
        await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, timer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return event.is_set()
