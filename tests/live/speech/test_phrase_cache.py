"""Sentences already synthesised are replayed from the phrase cache: no engine run, no model slot."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from live.speech import phrase_cache
from live.speech.phrase_cache import PhraseCache
from live.workers import ThreadWorkers


class CountingTTS:
    sample_rate = 8000

    def __init__(self) -> None:
        self.texts: list[tuple[str, float]] = []

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[np.ndarray]:
        self.texts.append((text, speed))
        for level in (0.1, 0.2, 0.3):
            yield np.full(160, level * speed, dtype=np.float32)


@pytest.fixture
def fresh_cache(settings, monkeypatch):
    def use(megabytes: float) -> PhraseCache:
        settings.TTS_PHRASE_CACHE_MB = megabytes
        monkeypatch.setattr(phrase_cache, "_phrases", None)
        return phrase_cache.phrases()

    return use


async def said(tts, text, speed=1.0):
    return [chunk async for chunk in ThreadWorkers().synthesize(tts, text, speed=speed)]


async def test_a_sentence_said_before_plays_the_same_audio_without_the_engine(fresh_cache):
    cache = fresh_cache(64)
    tts = CountingTTS()
    first = await said(tts, "Thanks for calling Bright Smile Dental.")
    again = await said(tts, "Thanks for calling Bright Smile Dental.")
    assert tts.texts == [("Thanks for calling Bright Smile Dental.", 1.0)]
    assert [c.tolist() for c in again] == [c.tolist() for c in first]
    assert (cache.hits, cache.misses) == (1, 1)
    # Another speed or other words are other audio.
    await said(tts, "Thanks for calling Bright Smile Dental.", speed=1.2)
    await said(tts, "How can I help?")
    assert len(tts.texts) == 3


async def test_a_sentence_cut_off_before_it_was_made_in_full_is_not_kept(fresh_cache):
    cache = fresh_cache(64)
    tts = CountingTTS()
    chunks = ThreadWorkers().synthesize(tts, "A long sentence.", speed=1.0)
    await anext(chunks)
    await chunks.aclose()  # the caller barged in
    assert cache.size_bytes == 0
    await said(tts, "A long sentence.")
    assert len(tts.texts) == 2


def test_the_least_recently_used_sentence_goes_first_when_full():
    engine = object()
    second = np.zeros(100, dtype=np.float32)  # 400 bytes each
    cache = PhraseCache(max_bytes=1000)
    cache.put(engine, "one", 1.0, [second.copy()])
    cache.put(engine, "two", 1.0, [second.copy()])
    assert cache.get(engine, "one", 1.0) is not None  # "one" is now the more recent
    cache.put(engine, "three", 1.0, [second.copy()])
    assert cache.get(engine, "two", 1.0) is None
    assert cache.get(engine, "one", 1.0) is not None and cache.get(engine, "three", 1.0) is not None
    assert cache.size_bytes == 800
    # What a call replays cannot be changed by another call.
    [kept] = cache.get(engine, "one", 1.0)
    with pytest.raises(ValueError):
        kept[0] = 1.0


async def test_zero_megabytes_turns_the_cache_off(fresh_cache):
    fresh_cache(0)
    tts = CountingTTS()
    await said(tts, "Hello.")
    await said(tts, "Hello.")
    assert len(tts.texts) == 2
