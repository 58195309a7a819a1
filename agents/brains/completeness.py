"""Does a caller's utterance sound finished? A check on the words of the speculative transcript.

Turn taking asks this after the caller's first short pause, once the held
reply's speech-to-text is back (live.turn_taking): "finished" ends the turn
after a short silence, "unfinished" waits much longer, "unknown" (no words:
a cough, a door) leaves the plain silence window in charge.

Why words and not only the sound: the transcript exists anyway (the reply
needs it), so the check costs nothing, and the words that leave a sentence
open are few and well known: a hesitation ("um", "uh"), a conjunction or
preposition that needs something after it ("and", "to", "with"), an opener
("I think", "let me see"), a linking verb ("My name is"), or Whisper's own
trailing "..." or comma. Smart Turn v3.2 hears the voice instead and misses
other things (it called "Tuesday or" finished, 0.99), so a version whose
end of turn is "smart" (the default) asks both (live.turn_taking).

Whisper's own confidence was measured as a further signal and is not used
(scripts/bench_turns.py's premature-end dialogues, tiny.en, 8 kHz mu-law
with and without 20 dB noise, December 2026): the open sentences it turns
into finished ones ("I'd like to book an" heard as "I'd like to focus.",
"Could we do it on the" as "could we do it on that.") came back with a
confidence (exp of the mean token log-probability) of 0.48-0.72, and the
first decodes of genuinely finished lines spread over 0.21-0.92 ("Tuesday"
0.21-0.26 and "Yes." 0.33-0.64 under noise). No threshold holds the misheard
ones without holding most short finished answers as long, so the rate is not
bought that way; the misheard endings remain the open part of issue 14's
premature-end target.

The rule is deliberately one-sided: a sentence is unfinished only when its
last words say so. Anything else ("Tuesday.", "yes", "nine thirty") is
finished: answering a finished turn late costs more callers than waiting on
a rare open one.
"""

from __future__ import annotations

import re
from enum import Enum


class Verdict(Enum):
    FINISHED = "finished"
    UNFINISHED = "unfinished"
    UNKNOWN = "unknown"  # nothing was said (noise, a cough)
    UNSURE = "unsure"  # finished as heard, but how tiny.en hears an open ending on a phone line


# Sounds people make while they look for the next word.
HESITATIONS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm", "eh", "uhm"})

# Determiners and possessives: no sentence ends on one, not even a question
# ("Could we do it on the?" is tiny.en's "on the" before a pause, where a
# question may well end on a preposition: "Who is it for?").
DETERMINERS = frozenset({"the", "a", "an", "my", "your", "our", "his", "their", "every", "each"})

# Words a sentence does not end on: it goes on after them.
OPEN_ENDINGS = DETERMINERS | frozenset(
    {
        # conjunctions
        "and", "or", "but", "because", "cause", "if", "than", "although", "though", "unless", "whether",
        # prepositions
        "to", "of", "for", "with", "at", "on", "in", "from", "by", "about", "into", "between", "like",
        # subjects and openers that need what follows
        "i", "i'm", "i'd", "i'll", "i've", "we're", "it's", "just", "very", "think", "guess", "suppose",
        "wondering",
    }
)  # fmt: skip

# Openers said before the point, which alone are never the whole answer.
OPEN_PHRASES = (
    "let me see",
    "let me think",
    "let me check",
    "hold on",
    "one second",
    "one moment",
    "just a second",
    "just a moment",
    "give me a second",
    "how do i say",
    "i mean",
)
# Words that open an answer when said alone ("Well..." but not "doing well").
OPEN_ALONE = frozenset({"well", "so", "okay so", "maybe", "yeah so", "and so"})

# Connectives said before an opener: "And maybe" (tiny.en's "Hmm, maybe" on a
# noisy line, scripts/bench_turns.py) opens an answer as "Maybe" does.
LEADING_CONNECTIVES = frozenset({"and", "but", "so"})

# A linking verb at the end leaves the sentence open ("My name is", "The best
# time would be"), unless a pronoun before it is its whole subject ("Yes, it
# is.", "That's what it was.").
LINKING_VERBS = frozenset({"is", "was", "are", "were", "be", "am"})
WHOLE_SUBJECTS = frozenset(
    {"it", "that", "this", "there", "he", "she", "they", "we", "you", "i", "which", "what", "who"}
)

# What Whisper tiny.en makes of an open ending on a phone line: "I was
# wondering if" comes back "I was wondering it." or "I was wondering this."
# (scripts/bench_turns.py).
MISHEARD_OPEN = ("wondering it", "wondering this")

# "Could we do it on the" comes back "could we do it on that." / "on this." /
# "on there." (scripts/bench_turns.py, noisy phone audio): a preposition and
# a demonstrative at the very end is a whole sentence sometimes ("I'll come
# in for that.") and a misheard "the" often. Unsure: the turn waits halfway
# (live.turn_taking), longer than the short window, shorter than the hold.
# Only the prepositions a day or a time follows ("on the fourteenth", "at
# the", "for the morning"): "I agree with that." or "I'm calling about that."
# end a sentence far more often than they mishear one, and would each wait
# 875 ms longer for nothing.
PREPOSITIONS = frozenset({"on", "at", "in", "for", "by", "from"})
DEMONSTRATIVES = frozenset({"that", "this", "there", "these", "those"})

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
_TRAILING_OPEN = re.compile(r"(\.\.\.|\u2026|,|-|\u2013|\u2014)\s*$")


def judge(text: str) -> Verdict:
    """Finished, unfinished (wait for more), unsure (wait halfway), or unknown (no words)."""
    cleaned = text.strip().lower().replace("\u2019", "'")
    words = _WORD.findall(cleaned)
    if not words:
        return Verdict.UNKNOWN
    if words[-1] in DETERMINERS:
        return Verdict.UNFINISHED
    if _preposition_and_demonstrative(words):
        return Verdict.UNSURE  # "on that?" too: tiny.en's question mark is no surer than its full stop
    if cleaned.endswith("?"):
        return Verdict.FINISHED  # a question is a complete turn, whatever else its last word
    if _TRAILING_OPEN.search(cleaned):
        return Verdict.UNFINISHED  # Whisper writes a trailing pause as "..." or a comma
    if words[-1] in HESITATIONS or words[-1] in OPEN_ENDINGS:
        return Verdict.UNFINISHED
    if words[-1] in LINKING_VERBS and (len(words) < 2 or words[-2] not in WHOLE_SUBJECTS):
        return Verdict.UNFINISHED
    while len(words) > 1 and (words[0] in HESITATIONS or words[0] in LEADING_CONNECTIVES):
        words = words[1:]  # "Hmm, maybe" and "And maybe" open an answer as "Maybe" does
    tail = " ".join(words)
    if tail in OPEN_ALONE or any(tail.endswith(phrase) for phrase in MISHEARD_OPEN):
        return Verdict.UNFINISHED
    if any(tail == phrase or tail.endswith(" " + phrase) for phrase in OPEN_PHRASES):
        return Verdict.UNFINISHED
    return Verdict.FINISHED


def _preposition_and_demonstrative(words: list[str]) -> bool:
    return len(words) >= 2 and words[-1] in DEMONSTRATIVES and words[-2] in PREPOSITIONS
