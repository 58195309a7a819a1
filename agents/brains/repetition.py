"""Whisper decoding loops: tell "41, 41, 41, ..." from a caller who repeats himself.

A card number spoken by a caller came back from speech-to-text as "41, 41,
41, ..." eighteen times, and as "4,111, 111, 111, ..." on another call: the
decoder fell into a loop and stayed there until its token budget ran out.
People repeat themselves too, though: "no no no", "thank you, thank you",
and above all digits read one at a time ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"
is the Visa test card), so "the text repeats" is no test on its own.

The rule in `looks_hallucinated`, and why:

1. Repeated runs. The text is cut into words and numbers (a number Whisper
   writes with separators, "4,111,111", is one token: it is one number; the
   loop's "4,111, 111, 111" has spaces and is many). A run is a 1- to 3-token
   unit repeated back to back. A person says a word or short phrase at most
   `MAX_PHRASE_REPEATS` (4) times in a row ("no, no, no, no"); Whisper's
   loops run on until the budget ends, ten or twenty times. Single digits
   are the exception: a caller reading a number digit by digit repeats a
   digit as often as the number does, so a run of single digits (or digit
   words: "one one one", "oh") may cover up to `MAX_DIGITS_READ` (19, the
   longest card number) tokens.
2. Compression ratio, as faster-whisper's `compression_ratio_threshold`
   (2.4, zlib) does inside its decoder: it catches loops of a longer unit
   ("I can help with that." over and over) that rule 1 does not look for.
   It is taken on the words without the single digits, because a number
   read digit by digit compresses like a loop ("4, 1, 1, 1, ..." scores 3.1)
   and is not one. Short texts score under 1 (zlib's header), so "no no no"
   cannot trip it.

A false alarm should cost a second decode (the caller's words come back
from the fallback), not the turn: callers of `looks_hallucinated` re-decode
with faster-whisper's safeguards (`transcribe_safeguards`) rather than
dropping what was heard.

`repetition_rate` is the figure for the benchmark: the share of a
transcript's tokens that repeat the unit of its longest run. It is not the
decision, because a short genuine "no no no" has a high rate (2/3) and a
long loop in a long turn can have a modest one.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# faster-whisper's own thresholds (WhisperModel.transcribe defaults).
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
TEMPERATURE_FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

MAX_PHRASE_REPEATS = 4  # "no, no, no, no" is a person; a fifth time in a row is a loop
MAX_DIGITS_READ = 19  # the longest card number (ISO/IEC 7812), read one digit at a time
MAX_UNIT = 3  # longest repeated unit looked for, in tokens

# A number with its separators ("4,111,111", "9:30", "45.50") is one token;
# a word keeps its apostrophe ("don't").
# Digits as Whisper sometimes spells them out ("one one one"), "oh" for zero.
_DIGIT_WORDS = frozenset({"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"})
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


@dataclass(frozen=True)
class RepeatedRun:
    """`unit` said `repeats` times back to back, from token `start`."""

    unit: tuple[str, ...]
    repeats: int
    start: int

    @property
    def covered(self) -> int:
        return len(self.unit) * self.repeats

    @property
    def is_digits(self) -> bool:
        """Only single digits or digit words: a number read one digit at a time."""
        return all(_is_digit(token) for token in self.unit)

    @property
    def too_long(self) -> bool:
        if self.is_digits:
            return self.covered > MAX_DIGITS_READ
        return self.repeats > MAX_PHRASE_REPEATS


def tokens(text: str) -> list[str]:
    """Words and numbers, lower-cased, without punctuation."""
    return [token.lower() for token in _TOKEN.findall(text)]


def repeated_runs(words: Sequence[str]) -> list[RepeatedRun]:
    """Every maximal back-to-back repetition (two or more) of a 1- to 3-token unit.

    A unit that is itself a repetition ("41 41") is left to its shorter
    period, and a run inside a longer run of the same period is not
    reported again.
    """
    runs: list[RepeatedRun] = []
    for size in range(1, MAX_UNIT + 1):
        start = 0
        while start + 2 * size <= len(words):
            unit = tuple(words[start : start + size])
            repeats = 1
            while tuple(words[start + repeats * size : start + (repeats + 1) * size]) == unit:
                repeats += 1
            if repeats >= 2 and not _is_periodic(unit):
                runs.append(RepeatedRun(unit=unit, repeats=repeats, start=start))
                # The next run of this period starts after this one ends;
                # shifted copies of the same run ("1 2 1 2" seen from "2") are skipped.
                start += repeats * size - size + 1
            else:
                start += 1
    return runs


def repetition_rate(text: str) -> float:
    """Share of the tokens that repeat the unit of the longest run (0.0 to just under 1.0)."""
    words = tokens(text)
    runs = repeated_runs(words)
    if not runs:
        return 0.0
    longest = max(runs, key=lambda run: (run.covered, -len(run.unit)))
    return (longest.covered - len(longest.unit)) / len(words)


def compression_ratio(text: str) -> float:
    """faster-whisper's `get_compression_ratio`: UTF-8 bytes over zlib-compressed bytes."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def looks_hallucinated(text: str) -> bool:
    """True when `text` reads like a decoding loop rather than speech (rule in the module docstring)."""
    words = tokens(text)
    if any(run.too_long for run in repeated_runs(words)):
        return True
    without_digits = " ".join(word for word in words if not _is_digit(word))
    return compression_ratio(without_digits) > COMPRESSION_RATIO_THRESHOLD


def transcribe_safeguards(*, no_repeat_ngram_size: int = 3) -> dict[str, Any]:
    """Keyword arguments for `WhisperModel.transcribe` that keep faster-whisper's guards against loops.

    - `temperature`: the fallback ladder. A decode whose compression ratio
      is over `compression_ratio_threshold` (a loop) or whose average log
      probability is under `log_prob_threshold` is redone at the next
      temperature, unless `no_speech_threshold` says it was silence.
    - `condition_on_previous_text=False`: a hallucinated segment is never
      the prompt for the next one.
    - `no_repeat_ngram_size`: the decoder may not emit the same 3 tokens
      twice. This makes a loop impossible, at a price measured with the
      packaged tiny.en on Piper speech: "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"
      came back "for 111, 111, 1, 111" with 3 and "for 111, 111, 111, 111,
      111, 111, 111" without it (both wrong; tiny.en reads digit strings
      badly either way), and "No, no, no, no." as "No, no, no. No, No."
      (token trigrams such as ", no," may appear once). Pass 0 to leave
      loops to the other guards and to `looks_hallucinated`.

    Only thresholds and decoding policy: beam size, language, timestamps and
    the VAD filter stay the caller's choice.
    """
    return {
        "temperature": TEMPERATURE_FALLBACK,
        "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
        "log_prob_threshold": LOG_PROB_THRESHOLD,
        "no_speech_threshold": NO_SPEECH_THRESHOLD,
        "condition_on_previous_text": False,
        "no_repeat_ngram_size": no_repeat_ngram_size,
    }


def _is_digit(token: str) -> bool:
    return (len(token) == 1 and token.isdigit()) or token in _DIGIT_WORDS


def _is_periodic(unit: tuple[str, ...]) -> bool:
    size = len(unit)
    return any(size % period == 0 and unit == unit[:period] * (size // period) for period in range(1, size))
