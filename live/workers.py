"""Blocking work for the live engine, kept off the event loop that carries every call's media.

Models run in two pools of their own, so a burst of transcriptions cannot
hold back the synthesis of a reply already decided. Synthesis is streamed:
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
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np
from django.conf import settings

from live.pipeline.frames import Samples
from live.speech.base import SpeechToText, TextToSpeech

T = TypeVar("T")

STT_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="stt")
TTS_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="tts")


class Workers(Protocol):
    async def transcribe(self, stt: SpeechToText, audio: Samples, *, language: str) -> str: ...

    def synthesize(self, tts: TextToSpeech, text: str, *, speed: float) -> AsyncIterator[Samples]: ...

    async def call(self, fn: Callable[..., T], *args: Any) -> T: ...


class _End:
    pass


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadWorkers:
    async def transcribe(self, stt: SpeechToText, audio: Samples, *, language: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(STT_POOL, lambda: stt.transcribe(audio, language=language))

    async def synthesize(self, tts: TextToSpeech, text: str, *, speed: float) -> AsyncIterator[Samples]:
        """The engine's chunks, each as soon as the engine yields it.

        Stopping early (the reply was cut off or thrown away) stops the engine
        at its next chunk, so a pool thread is not spent on audio nobody hears.
        """
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

        loop.run_in_executor(TTS_POOL, produce)
        try:
            while True:
                item = await chunks.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            stop.set()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)
