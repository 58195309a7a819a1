"""Where speech is cut: one rule for the end of a sentence, used by the engine and the LLM brain.

- `split_sentences` cuts a whole text (one Speech: a flow's prompt, a
  scripted line, a piece of an LLM reply) into the chunks the engine
  synthesises and marks one by one.
- `SentenceChunker` cuts a model's token stream into Speech as early as is
  natural: wherever `split_sentences` would cut, and besides at a line break,
  after the first clause of a reply, and inside a long run with no
  punctuation at all. The engine then finds no other sentence end in a
  piece, so the two never disagree about where a sentence ends.

The hard case is a full stop after an abbreviation. A cut there is heard:
Piper reads each chunk as a sentence, with a falling pitch and a pause, so
"Call Dr." / "Patel at 3 p.m." / "on Friday." sounds broken. A missed
sentence end only costs latency (two sentences synthesised as one chunk).
So `_ABBREVIATIONS`, the one table, errs on the side of keeping text
together, and decides from the next word only where a common word would
otherwise swallow real sentence ends ("No. I can't", "We open at 9 a.m. See
you then").
"""

from __future__ import annotations

import enum
import re

# A sentence or clause may end after . ! ? ; or : (and one closing quote or
# bracket), followed by whitespace.
_BOUNDARY = re.compile(r"(?:(?<=[.!?;:])|(?<=[.!?;:][\"'\u201d\u2019)]))\s+")
_CLOSERS = "\"'\u201d\u2019)]"
_OPENERS = "\"'\u201c\u2018(["
# The word a full stop closes: "9 a.m." -> "a.m", "(e.g." -> "(e.g".
_WORD_BEFORE_STOP = re.compile(r"(\S*)\.$")


class _Stop(enum.Enum):
    """What a full stop after an abbreviation means."""

    NEVER_AN_END = "never"  # titles before a name, "e.g.": the sentence always goes on
    END_BEFORE_CAPITAL = "capital"  # "at 9 a.m. tomorrow" goes on; "at 9 a.m. See you" ends
    END_UNLESS_NUMBER = "number"  # "No. 5 Main St." goes on; "No. I can't" ends


_ABBREVIATIONS: dict[str, _Stop] = {
    **dict.fromkeys(("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "e.g", "i.e"), _Stop.NEVER_AN_END),
    **dict.fromkeys(("etc", "a.m", "p.m"), _Stop.END_BEFORE_CAPITAL),
    "no": _Stop.END_UNLESS_NUMBER,
}


def _ends_sentence(text: str, end: int, following: str | None) -> bool | None:
    """Whether the punctuation that closes ``text[:end]`` ends a sentence.

    `following` is the first character of the next word, None when it has
    not arrived yet (a stream); the answer is then None if it depends on it.
    """
    head = text[:end].rstrip(_CLOSERS)
    if not head.endswith(".") or head.endswith(".."):
        return True  # ! ? ; : and an ellipsis always end
    found = _WORD_BEFORE_STOP.search(head)
    word = found.group(1).lstrip(_OPENERS).lower() if found else ""
    rule = _ABBREVIATIONS.get(word)
    if rule is None and len(word) == 1 and word.isalpha():
        rule = _Stop.NEVER_AN_END  # an initial: "J. Smith"
    if rule is None:
        return True
    if rule is _Stop.NEVER_AN_END:
        return False
    if following is None:
        return None
    if rule is _Stop.END_BEFORE_CAPITAL:
        return following.isupper()
    return not following.isdigit()


def _first_letter_after(text: str, position: int) -> str | None:
    """The first character of the next word (past any opening quote), None at the end of the text."""
    rest = text[position:].lstrip(_OPENERS)
    return rest[0] if rest else None


def split_sentences(text: str) -> list[str]:
    """Sentences (and clauses ending in ; or :): one TTS chunk and one mark each."""
    text = text.strip()
    chunks: list[str] = []
    current = ""
    position = 0
    for boundary in _BOUNDARY.finditer(text):
        current += text[position : boundary.start()]
        position = boundary.end()
        # The text is stripped, so a next word always exists and the answer is never None.
        if _ends_sentence(text, boundary.start(), _first_letter_after(text, position)) is False:
            current += " "
        else:
            chunks.append(current)
            current = ""
    current += text[position:]
    if current:
        chunks.append(current)
    return chunks


_MARKUP = re.compile(r"[*_#`~]+|\[(?:[^\]]*)\]\((?:[^)]*)\)")


def clean_for_speech(text: str) -> str:
    """Drop markdown a chat model may write (asterisks, headings, backticks); TTS would read it aloud."""
    return " ".join(_MARKUP.sub("", text).split())


class SentenceChunker:
    """Cuts a stream of text into speakable pieces as early as is natural.

    A piece ends where `split_sentences` would end a chunk, as soon as that
    is certain: at once after "there! " but only with the next word after
    "a.m. " (see `_ABBREVIATIONS`). A line break ends a piece too (a model's
    list items). The first piece of a reply may also end at a comma or a
    dash once it has a few words, because the caller waits for the first
    audio and Piper speaks a clause in tens of milliseconds. A piece that
    grows long without any break is cut at a space.
    """

    FIRST_CLAUSE_MIN_WORDS = 4
    MAX_CHARS = 220

    def __init__(self) -> None:
        self._buffer = ""
        self._emitted = 0

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        pieces: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            piece, self._buffer = self._buffer[:cut], self._buffer[cut:]
            self._add(pieces, piece)
        return pieces

    def flush(self) -> list[str]:
        pieces: list[str] = []
        self._add(pieces, self._buffer)
        self._buffer = ""
        return pieces

    def _add(self, pieces: list[str], piece: str) -> None:
        cleaned = clean_for_speech(piece)
        if cleaned:
            pieces.append(cleaned)
            self._emitted += 1

    def _find_cut(self) -> int | None:
        text = self._buffer
        cuts: list[int] = []
        for boundary in _BOUNDARY.finditer(text):
            # Undecided (None) only at the end of the buffer: wait for the next word.
            if _ends_sentence(text, boundary.start(), _first_letter_after(text, boundary.end())):
                cuts.append(boundary.start())
                break
        line_break = text.find("\n")
        while line_break != -1 and not text[:line_break].strip():
            line_break = text.find("\n", line_break + 1)
        if line_break != -1:
            cuts.append(line_break + 1)
        if self._emitted == 0:
            clause = self._first_clause_end(text)
            if clause is not None:
                cuts.append(clause)
        if cuts:
            return min(cuts)
        if len(text) > self.MAX_CHARS:
            space = text.rfind(" ", 0, self.MAX_CHARS)
            return space + 1 if space > 0 else self.MAX_CHARS
        return None

    def _first_clause_end(self, text: str) -> int | None:
        for index, char in enumerate(text[:-1]):
            is_break = char == "," or (char in "-\u2013\u2014" and index > 0 and text[index - 1] == " ")
            if is_break and text[index + 1].isspace() and len(text[:index].split()) >= self.FIRST_CLAUSE_MIN_WORDS:
                return index + 1
        return None
