"""What the caller actually heard of an agent turn, from the marks Twilio echoed back.

Each synthesised chunk is followed by a mark. An acknowledged mark means the
caller heard the whole chunk. On barge-in the chunk being played is cut: its
heard part is ESTIMATED in proportion to the time it had been playing (words
spread evenly over its duration), since Twilio reports no finer position.
A chunk cut while its speech engine was still streaming it counts only the
audio sent so far as its duration, so the estimate leans towards more words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Chunk:
    text: str
    mark: str
    duration_s: float
    acked: bool = False


class HeardTracker:
    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []
        self._play_started_at: float | None = None  # when the first not-yet-acked chunk began playing

    def add_chunk(self, *, text: str, mark: str, duration_s: float) -> None:
        self._chunks.append(_Chunk(text, mark, duration_s))

    def extend(self, seconds: float) -> None:
        """More audio of the last chunk went out (speech engines that stream a sentence in pieces)."""
        if self._chunks:
            self._chunks[-1].duration_s += seconds

    def first_frame_sent(self, at: float) -> None:
        if self._play_started_at is None:
            self._play_started_at = at

    def mark_acked(self, mark: str, at: float) -> bool:
        for chunk in self._chunks:
            if chunk.mark == mark and not chunk.acked:
                chunk.acked = True
                self._play_started_at = at  # the next chunk starts playing now
                return True
        return False

    @property
    def all_acked(self) -> bool:
        return all(c.acked for c in self._chunks)

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self._chunks if c.text).strip()

    def heard_text(self, *, interrupted_at: float | None = None) -> str:
        """Acknowledged chunks in full, plus the proportional part of the one cut off."""
        words: list[str] = []
        for chunk in self._chunks:
            if not chunk.mark:
                continue  # nothing speakable in it: never played, never heard
            if chunk.acked:
                words.extend(chunk.text.split())
                continue
            if interrupted_at is not None and self._play_started_at is not None and chunk.duration_s > 0:
                played = max(0.0, interrupted_at - self._play_started_at)
                fraction = min(1.0, played / chunk.duration_s)
                chunk_words = chunk.text.split()
                words.extend(chunk_words[: int(len(chunk_words) * fraction)])
            break
        return " ".join(words)
