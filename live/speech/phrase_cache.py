"""Sentences already spoken, kept as audio: a flow's greeting and prompts are synthesised once per process.

Agents say the same sentences on call after call (a greeting without the
caller's name, a flow's questions, the recording notice). Synthesising them
again costs a TTS slot per call: under load, that is what kept 50 calls'
greetings queued behind each other. Once a sentence has been synthesised in
full, its chunks are kept, keyed by the engine, the text and the speed, and
the next call plays them at once without a model slot or a pool thread.

Least recently used sentences go first once the cache holds TTS_PHRASE_CACHE_MB
of audio; 0 turns it off. A sentence cut off before it was fully made is not
kept (it would replay the cut).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]
_Key = tuple[int, str, float]


class PhraseCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[_Key, tuple[Samples, ...]] = OrderedDict()
        self._engines: dict[int, Any] = {}  # keeps each keyed engine alive, so its id is never reused
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _key(self, engine: Any, text: str, speed: float) -> _Key:
        return (id(engine), text, round(speed, 3))

    def get(self, engine: Any, text: str, speed: float) -> tuple[Samples, ...] | None:
        if self.max_bytes <= 0:
            return None
        key = self._key(engine, text, speed)
        with self._lock:
            chunks = self._entries.get(key)
            if chunks is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return chunks

    def put(self, engine: Any, text: str, speed: float, chunks: Sequence[Samples]) -> None:
        size = sum(chunk.nbytes for chunk in chunks)
        if self.max_bytes <= 0 or size > self.max_bytes or not chunks:
            return
        key = self._key(engine, text, speed)
        frozen = tuple(_read_only(chunk) for chunk in chunks)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= sum(chunk.nbytes for chunk in old)
            self._engines[id(engine)] = engine
            self._entries[key] = frozen
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= sum(chunk.nbytes for chunk in evicted)

    def fill(self, engine: Any, text: str, speed: float) -> bool:
        """Synthesise `text` now (blocking) and keep it, unless it is kept already; returns whether it was made.

        Warm start's way in (voiceops.warmup): the sentences every call opens
        with are made before the first call, which then replays them as the
        hundredth does. Chunks as the live engine keeps them (float32).
        """
        if self.max_bytes <= 0 or self._key(engine, text, speed) in self._entries:  # not a call's hit or miss
            return False
        chunks = [np.asarray(chunk, dtype=np.float32) for chunk in engine.synthesize(text, speed=speed)]
        self.put(engine, text, speed, chunks)
        return True

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def _read_only(chunk: Samples) -> Samples:
    # Every call that replays a sentence gets the same arrays: nobody may change them in place.
    copy = np.array(chunk, dtype=np.float32)
    copy.flags.writeable = False
    return copy


_phrases: PhraseCache | None = None
_phrases_lock = threading.Lock()


def phrases() -> PhraseCache:
    """The process's cache, sized by TTS_PHRASE_CACHE_MB when first used."""
    global _phrases
    with _phrases_lock:
        if _phrases is None:
            from django.conf import settings

            _phrases = PhraseCache(int(settings.TTS_PHRASE_CACHE_MB * 1024 * 1024))
        return _phrases
