"""Blocking work for the live engine, kept off the event loop that carries every call's media.

Models run in two pools of their own, so a burst of transcriptions cannot
hold back the synthesis of a reply already decided.

Scheduled across calls. Every call in the process shares those pools, and at
four calls a committed turn used to queue behind other calls' speculative
transcriptions (p95 2.8 s). Each pool has a gate in front of it
(`ModelGate`): no more jobs go to the pool than it has threads, and when a
thread frees up the most urgent waiter goes next, whatever call it belongs
to: a committed turn's speech-to-text (and the check on speech over a paused
agent) before speculative work; a committed reply's first sentence before a
held reply's, and both before later sentences. Urgency is read when a thread
frees up, so a speculative job whose turn is committed while it waits moves
to the front. Synthesis is streamed:
each chunk the engine yields crosses to the event loop as soon as it exists,
and the reply encodes and sends it while the engine makes the next one (a
streaming engine's first audio is out before its sentence is finished; the
session used to wait for the whole sentence). Anything else that blocks (a
carrier REST call, writing the recording) goes to asyncio's default pool.

Tests hand the session fakes with the same shape that run on a virtual
clock instead of threads (tests/live/harness.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np
from django.conf import settings

from live.pipeline.frames import Samples
from live.speech.base import SpeechToText, TextToSpeech
from live.speech.phrase_cache import phrases

T = TypeVar("T")

STT_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="stt")
TTS_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="tts")


# Priorities: lower goes first. A callable is read each time a thread frees up.
URGENT = 0  # a committed turn's STT, a committed reply's first sentence, the check on a barge-in
SPECULATIVE = 1  # a held reply's STT or first sentence
LATER = 2  # a reply's later sentences (the first is still playing)
Priority = int | Callable[[], int]


class ModelGate:
    """At most `slots` jobs at once; a freed slot goes to the most urgent waiter (then the oldest)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.running = 0
        self._waiting: list[tuple[Priority, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: Priority) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: Priority) -> None:
        """Wait for a slot; the caller must `release` it (once) when its job is done."""
        if self.running < self.slots and not self._waiting:
            self.running += 1
        else:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (priority, next(self._seq), ready)
            self._waiting.append(entry)
            try:
                await ready  # the slot is handed over already counted
            except BaseException:
                if entry in self._waiting:
                    self._waiting.remove(entry)
                elif ready.done() and not ready.cancelled():
                    self.release()  # handed a slot at the moment it was cancelled: pass it on
                raise

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def release(self) -> None:
        self._waiting = [entry for entry in self._waiting if not entry[2].done()]
        if not self._waiting:
            self.running -= 1
            return
        best = min(self._waiting, key=lambda entry: (_level(entry[0]), entry[1]))
        self._waiting.remove(best)
        best[2].set_result(None)  # the slot passes straight to it: `running` stays


def _level(priority: Priority) -> int:
    return priority() if callable(priority) else priority


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ModelGate]] = weakref.WeakKeyDictionary()


def gate(pool: str) -> ModelGate:
    """The running event loop's gate in front of `pool` ("stt" or "tts"); every call on the loop shares it."""
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    if pool not in gates:
        gates[pool] = ModelGate(settings.ENGINE_THREADS)
    return gates[pool]


class Workers(Protocol):
    async def transcribe(
        self,
        stt: SpeechToText,
        audio: Samples,
        *,
        language: str,
        priority: Priority = URGENT,
        prompt: str = "",
        quick: bool = False,
    ) -> str: ...

    def synthesize(
        self, tts: TextToSpeech, text: str, *, speed: float, priority: Priority = URGENT
    ) -> AsyncIterator[Samples]: ...

    async def call(self, fn: Callable[..., T], *args: Any) -> T: ...


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadWorkers:
    async def transcribe(
        self,
        stt: SpeechToText,
        audio: Samples,
        *,
        language: str,
        priority: Priority = URGENT,
        prompt: str = "",
        quick: bool = False,
    ) -> str:
        """The transcript; a reply thrown away meanwhile stops waiting, not the engine.

        A Whisper run cannot be interrupted, so the slot is free when the
        thread is, not when nobody waits any more (else the gate would send
        the next job, committed or not, to a pool whose threads are all still
        decoding thrown-away audio, where it waits first in, first out).
        """
        loop = asyncio.get_running_loop()
        stt_gate = gate("stt")
        await stt_gate.acquire(priority)
        running = loop.run_in_executor(
            STT_POOL, lambda: stt.transcribe(audio, language=language, prompt=prompt, quick=quick)
        )

        def done(future: asyncio.Future[str]) -> None:
            stt_gate.release()
            if not future.cancelled():
                future.exception()  # read, so an error nobody waits for is not logged as never retrieved

        running.add_done_callback(done)
        return await asyncio.shield(running)

    async def synthesize(
        self, tts: TextToSpeech, text: str, *, speed: float, priority: Priority = URGENT
    ) -> AsyncIterator[Samples]:
        """The engine's chunks, each as soon as the engine yields it.

        Stopping early (the reply was cut off or thrown away) stops the engine
        at its next chunk, so a pool thread is not spent on audio nobody hears.
        """
        cache = phrases()
        kept = cache.get(tts, text, speed)
        if kept is not None:  # said before, in full: no model slot, no pool thread
            for chunk in kept:
                yield chunk
            return
        made: list[Samples] = []
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Samples | _End | _Failed] = asyncio.Queue()
        stop = threading.Event()

        def deliver(item: Samples | _End | _Failed) -> None:
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, item)
            except RuntimeError:  # the loop closed meanwhile (server shutting down)
                stop.set()

        def produce() -> None:
            try:
                for chunk in tts.synthesize(text, speed=speed):
                    if stop.is_set():
                        return
                    deliver(np.asarray(chunk, dtype=np.float32))
            except BaseException as exc:
                deliver(_Failed(exc))
            finally:
                deliver(_End())

        tts_gate = gate("tts")
        await tts_gate.acquire(priority)
        # The slot is free once the engine has stopped (at its next chunk after
        # `stop`), not as soon as nobody listens any more.
        loop.run_in_executor(TTS_POOL, produce).add_done_callback(lambda _: tts_gate.release())
        try:
            while True:
                item = await chunks.get()
                if isinstance(item, _End):
                    cache.put(tts, text, speed, made)  # heard to the end here: the whole sentence
                    return
                if isinstance(item, _Failed):
                    raise item.error
                made.append(item)
                yield item
        finally:
            stop.set()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)
