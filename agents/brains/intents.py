"""Intent matching that survives speech-recognition errors.

The caller's words arrive through Whisper: misspelled ("intrested"), split or
merged ("call back" / "callback"), with filler words around them. Each intent
is a list of example phrases; a phrase matches when some window of the
caller's words is close to it by edit distance (rapidfuzz), with or without
the spaces. Among matching intents the one whose phrase covers more of what
was said wins, so "no, I'm not interested" is `not_interested`, not `no`.

Fuzzy phrases were chosen over the packaged sentence-embedding model: they
need no torch, run in microseconds and are auditable by the operator, which is
the point of a flow agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

DEFAULT_THRESHOLD = 80.0

_CONTRACTIONS = {
    "i'm": "i am",
    "im": "i am",
    "it's": "it is",
    "that's": "that is",
    "thats": "that is",
    "don't": "do not",
    "dont": "do not",
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "isn't": "is not",
    "i'd": "i would",
    "i'll": "i will",
    "you've": "you have",
    "you're": "you are",
    "we're": "we are",
    "what's": "what is",
    "o'clock": "oclock",
}


def normalize(text: str) -> str:
    """Lower case, expanded contractions, no punctuation except in "2:30" and "3.5"."""
    lowered = text.lower().replace("\u2019", "'")
    lowered = re.sub(r"\b([ap])\.\s?m\.?", r"\1m", lowered)  # "p.m." -> "pm"
    words = []
    for raw_word in re.findall(r"[a-z0-9']+(?:[:.][0-9]+)?", lowered):
        word = raw_word.strip("'")
        words.append(_CONTRACTIONS.get(word, word))
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    phrase: str
    score: float


def phrase_score(text_tokens: list[str], phrase: str) -> float:
    """How well the closest window of the caller's words matches `phrase` (0-100)."""
    phrase_tokens = phrase.split()
    if not phrase_tokens or not text_tokens:
        return 0.0
    # Very short words ("no", "ok") only count when heard exactly: at edit
    # distance one, "no" would match "now" and "so".
    if len(phrase) <= 3:
        joined = f" {' '.join(text_tokens)} "
        return 100.0 if f" {phrase} " in joined else 0.0
    best = 0.0
    size = len(phrase_tokens)
    squeezed_phrase = phrase.replace(" ", "")
    # A short word at either end of a phrase anchors it and must be heard as
    # is: otherwise "one thanks" would pass for "no thanks".
    anchors = {token for token in (phrase_tokens[0], phrase_tokens[-1]) if len(token) <= 3}
    head = phrase_tokens[0] if len(phrase_tokens[0]) <= 3 else ""
    tail = phrase_tokens[-1] if len(phrase_tokens[-1]) <= 3 else ""
    for width in {max(1, size - 1), size, size + 1}:
        for start in range(0, max(1, len(text_tokens) - width + 1)):
            window = text_tokens[start : start + width]
            candidate = " ".join(window)
            squeezed = candidate.replace(" ", "")
            score = 0.0
            if anchors.issubset(window):
                score = fuzz.ratio(candidate, phrase)
            # Merged words ("ihate it", "colme back"): compare without spaces,
            # the anchors now as the ends of the squeezed text.
            if squeezed.startswith(head) and squeezed.endswith(tail):
                score = max(score, fuzz.ratio(squeezed, squeezed_phrase))
            if score > best:
                best = score
                if best == 100.0:
                    return best
    return best


def match_intent(
    text: str, intents: dict[str, list[str]], *, threshold: float = DEFAULT_THRESHOLD
) -> IntentMatch | None:
    """The intent the caller most plausibly meant, or None when nothing is close enough."""
    tokens = normalize(text).split()
    best: IntentMatch | None = None
    best_weight = 0.0
    for intent, phrases in intents.items():
        for phrase in phrases:
            normalized = normalize(phrase)
            score = phrase_score(tokens, normalized)
            if score < threshold:
                continue
            # Coverage first: a longer phrase heard slightly garbled beats a
            # short one heard exactly ("not intrested" over "no").
            weight = score / 100 * len(normalized)
            if weight > best_weight:
                best, best_weight = IntentMatch(intent=intent, phrase=phrase, score=score), weight
    return best


YES_PHRASES = [
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "correct",
    "that is right",
    "that is me",
    "speaking",
    "of course",
    "absolutely",
    "definitely",
    "okay",
    "ok",
    "sounds good",
    "please do",
    "go ahead",
    "i would like that",
    "that works",
]
NO_PHRASES = ["no", "nope", "nah", "not really", "no thanks", "no thank you", "negative", "i do not", "not me"]


def match_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the caller said neither."""
    found = match_intent(text, {"yes": YES_PHRASES, "no": NO_PHRASES})
    if found is None:
        return None
    return found.intent == "yes"
