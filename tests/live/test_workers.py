"""The engines' worker threads: synthesis crosses to the event loop chunk by chunk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from live.workers import LATER, SPECULATIVE, URGENT, ModelGate, ThreadWorkers, gate


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


async def test_a_freed_model_slot_goes_to_the_most_urgent_waiter_of_any_call():
    """Issue 14: a committed turn's STT does not queue behind other calls' speculative work."""
    gate = ModelGate(1)
    order: list[str] = []
    release_first = asyncio.Event()

    async def job(name: str, priority) -> None:
        async with gate.slot(priority):
            order.append(name)
            if name == "running":
                await release_first.wait()

    running = asyncio.create_task(job("running", SPECULATIVE))
    await asyncio.sleep(0)
    committed_later = asyncio.Event()
    waiters = [
        asyncio.create_task(job("call B speculative", SPECULATIVE)),
        asyncio.create_task(job("call C second sentence", LATER)),
        asyncio.create_task(job("call D committed", URGENT)),
        # held when it queued, committed while it waited: it moves up
        asyncio.create_task(job("call E promoted", lambda: URGENT if committed_later.is_set() else SPECULATIVE)),
    ]
    await asyncio.sleep(0)
    assert gate.waiting == 4
    committed_later.set()
    release_first.set()
    await asyncio.gather(running, *waiters)
    assert order == ["running", "call D committed", "call E promoted", "call B speculative", "call C second sentence"]
    assert gate.running == 0


async def test_a_waiter_that_gives_up_does_not_keep_its_slot():
    gate = ModelGate(1)
    await gate.acquire(URGENT)
    waiter = asyncio.create_task(gate.acquire(SPECULATIVE))
    await asyncio.sleep(0)
    waiter.cancel()  # the reply was thrown away while it waited
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.release()
    assert (gate.running, gate.waiting) == (0, 0)
    await asyncio.wait_for(gate.acquire(URGENT), 1)  # free for the next one at once


class BlockingSTT:
    """Transcribes on a worker thread until the test lets it finish."""

    sample_rate = 16000

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go_on = threading.Event()
        self.finished = threading.Event()

    def transcribe(self, audio, *, language=None, prompt="", quick=False) -> str:
        self.started.set()
        self.go_on.wait(30)
        self.finished.set()
        return "words"


async def test_a_thrown_away_transcription_keeps_its_slot_until_its_thread_is_free():
    """A discarded speculation's Whisper run cannot be stopped: its pool thread stays busy, and so must its slot.

    Releasing the slot when the waiting task was cancelled let the gate send the next (maybe committed)
    job to a pool whose threads were all still decoding thrown-away audio, where it queued first in,
    first out, behind them: no priority at all.
    """
    stt = BlockingSTT()
    stt_gate = gate("stt")
    job = asyncio.create_task(ThreadWorkers().transcribe(stt, np.zeros(1600, dtype=np.float32), language="en"))
    assert await asyncio.to_thread(stt.started.wait, 10)
    job.cancel()  # the caller went on: the held reply is thrown away
    with pytest.raises(asyncio.CancelledError):
        await job
    assert stt_gate.running == 1  # the thread is still decoding
    stt.go_on.set()
    assert await asyncio.to_thread(stt.finished.wait, 10)
    for _ in range(100):  # the thread's done callback reaches the loop
        if stt_gate.running == 0:
            break
        await asyncio.sleep(0.01)
    assert stt_gate.running == 0
