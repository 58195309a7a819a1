"""The engines' worker threads: synthesis crosses to the event loop chunk by chunk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from live.workers import ThreadWorkers


class GatedTTS:
    """Yields its first chunk, then waits (on a worker thread) until the test lets it make the second."""

    sample_rate = 8000

    def __init__(self) -> None:
        self.go_on = threading.Event()
        self.stopped_early = threading.Event()
        self.speeds: list[float] = []

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[np.ndarray]:
        self.speeds.append(speed)
        yield np.full(160, 0.1, dtype=np.float32)
        if not self.go_on.wait(30):  # longer than the test waits for the first chunk
            return
        try:
            yield np.full(160, 0.2, dtype=np.float32)
            yield np.full(160, 0.3, dtype=np.float32)
        except GeneratorExit:
            self.stopped_early.set()
            raise


async def test_the_first_chunk_arrives_while_the_engine_is_still_making_the_rest():
    """Issue 9, defect 3: a streaming engine's chunks are not collected into one before they are sent."""
    tts = GatedTTS()
    chunks = ThreadWorkers().synthesize(tts, "Hello there.", speed=1.25)
    first = await asyncio.wait_for(anext(chunks), 10)  # a bound: the engine is blocked until go_on
    assert float(first[0]) == pytest.approx(0.1)
    tts.go_on.set()
    rest = [chunk async for chunk in chunks]
    assert [round(float(c[0]), 1) for c in rest] == [0.2, 0.3]
    assert tts.speeds == [1.25]


async def test_an_engine_error_reaches_the_reply():
    class Broken:
        sample_rate = 8000

        def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[np.ndarray]:
            yield np.zeros(160, dtype=np.float32)
            raise RuntimeError("voice file is corrupt")

    chunks = ThreadWorkers().synthesize(Broken(), "Hi.", speed=1.0)
    assert len(await anext(chunks)) == 160
    with pytest.raises(RuntimeError, match="corrupt"):
        await anext(chunks)


async def test_a_reply_that_stops_listening_stops_the_engine_at_its_next_chunk():
    tts = GatedTTS()
    chunks = ThreadWorkers().synthesize(tts, "Hello there.", speed=1.0)
    await asyncio.wait_for(anext(chunks), 10)
    await chunks.aclose()  # the reply was cut off
    tts.go_on.set()
    # The engine makes the chunk it was on, sees nobody wants it, and is closed before the third.
    assert await asyncio.to_thread(tts.stopped_early.wait, 10)
