"""Where speech is cut into sentences: one TTS chunk and one mark each."""

from __future__ import annotations

import re

# A cut after . ! ? ; or : (and a closing quote or bracket) followed by space.
_SENTENCE = re.compile(r"(?:(?<=[.!?;:])|(?<=[.!?;:][\"'\u201d\u2019)]))\s+")
# "Dr." or an initial is not the end of a sentence: Piper would read it as one
# (falling pitch, a pause), and the LLM brain's chunker keeps these together.
_NOT_AN_END = re.compile(r"(?:^|\s)(?:mr|mrs|ms|dr|st|prof|jr|sr|vs|[a-z])\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences (and clauses ending in ; or :): one TTS chunk and one mark each."""
    chunks: list[str] = []
    for piece in _SENTENCE.split(text.strip()):
        piece = piece.strip()
        if not piece:
            continue
        if chunks and _NOT_AN_END.search(chunks[-1]):
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks
