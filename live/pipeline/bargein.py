"""Barge-in: caller speech over the agent, longer than a backchannel, interrupts it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agents.brains.completeness import HESITATIONS
from live.pipeline.frames import BargeIn, UserSpeaking, UserSpeechStarted

# The caller's words over the paused agent, at their pause, that Whisper itself
# is unsure of (Transcript.confidence, the exponent of its mean token
# log-probability) are no barge-in (the overlap is short: longer ones are cut
# for their length): a noisy "Mhm." came back "and make
# them." (0.54), "Let me" (0.27-0.40), "and make CHEM" (0.32); the real
# barge-ins' full transcripts were 0.65-0.91 (scripts/bench_turns.py
# --verbose). The early check's words cut regardless: there a real barge-in's
# first 300 ms came back 0.40-0.55 ("No? No?", "Wait... Wait..."), and
# waiting for the length rule instead raised the cut's p50 from 180 to 220 ms.
OVERLAP_CONFIDENCE_MIN = 0.6

# The words people cut an agent off with are few and short, and tiny.en is
# often unsure of them alone ("Sorry?" 0.49-0.61, "No." 0.41-0.75, "Stop."
# 0.39-0.62 over the agent): they cut however unsure, since ignoring a caller
# who said "No." is worse than stopping for a hum. The hums it mishears
# ("and make them.", "Let me") use none of them.
INTERRUPTING_WORDS = frozenset(
    {"no", "nope", "stop", "wait", "sorry", "hold", "hang", "excuse", "pardon", "what", "actually", "hello", "hey"}
)

# Thanks said over the agent asks it nothing, and "Thank you." is what Whisper
# writes for sound it cannot place: a noisy hum over the agent came back
# "Thank you." (0.54) and "Okay. Thank you." (0.47) in scripts/bench_turns.py.
# Neither is a barge-in or a turn to answer, whatever the version's backchannel words.
THANKS = frozenset({"thanks", "thank you", "thank you very much", "thanks a lot"})

_HUM_LETTERS = frozenset("mhnu")  # a hum that Whisper spelled out letter by letter
_WORDS = re.compile(r"[a-z']+(?:-[a-z']+)*")


class BargeInDetector:
    """Emits one BargeIn when the caller has talked `min_ms` while the agent is audible.

    The engine sets `agent_speaking` from its playback state. Speech that
    started before the agent began (the tail of the caller's own turn) counts
    only from the moment the agent became audible.
    """

    def __init__(self, *, min_ms: float = 300, enabled: bool = True) -> None:
        self.min_ms = min_ms
        self.enabled = enabled
        self.agent_speaking = False
        self._speech_ms_at_agent_start: float | None = None
        self.fired = False
        self.overlapped = False  # the current utterance overlapped agent speech

    def set_agent_speaking(self, speaking: bool, current_speech_ms: float = 0.0) -> None:
        if speaking and not self.agent_speaking:
            self._speech_ms_at_agent_start = current_speech_ms
            self.fired = False
        self.agent_speaking = speaking

    def process(self, event: object) -> BargeIn | None:
        if isinstance(event, UserSpeechStarted):
            self._speech_ms_at_agent_start = 0.0
            self.fired = False
            self.overlapped = self.agent_speaking
            return None
        if not isinstance(event, UserSpeaking) or not self.agent_speaking or not self.enabled or self.fired:
            return None
        self.overlapped = True
        over_agent = event.speech_ms - (self._speech_ms_at_agent_start or 0.0)
        if over_agent >= self.min_ms:
            self.fired = True
            return BargeIn(over_agent, event.t_ms)
        return None


# How Whisper itself spells a hum; the prompt uses its spelling.
_WHISPER_SPELLING = {"mhm": "mm-hmm", "mm-hm": "mm-hmm", "uh huh": "uh-huh"}


def backchannel_prompt(words: list[str]) -> str:
    """The version's backchannel words as a Whisper prompt ("Mm-hmm. Uh-huh. Yeah."), for speech over the agent.

    Whisper tiny.en turned Piper's "Mhm." into "and make it" and a cut-short
    one into "here." (scripts/bench_turns.py): prompted with the words a
    caller says over an agent, it spells a hum as the backchannel it is,
    while real words ("Wait, stop.") still come through as said. The hums
    go first, in Whisper's spelling: a prompt that began "Mhm." still gave
    "and make 10." for one of three Piper hums, "Mm-hmm." first none.
    """
    spelled = [_WHISPER_SPELLING.get(w.strip().lower(), w.strip().lower()) for w in words if w.strip()]
    ordered = sorted(dict.fromkeys(spelled), key=lambda word: "-" not in word)  # stable: hums first
    return " ".join(word[0].upper() + word[1:] + "." for word in ordered)


def is_backchannel(text: str, words: list[str]) -> bool:
    """True when an utterance is only acknowledgement words ("mhm", "okay", "yeah yeah") or hesitations ("um").

    Neither asks the agent anything: said over it, they neither stop it nor get an answer.
    """
    return not real_words(text, words)


def real_words(text: str, words: list[str]) -> list[str]:
    """The words of `text` that are neither backchannel words, hesitations, nor a hum spelled out."""
    said = " " + " ".join(_WORDS.findall(text.lower())) + " "
    allowed = {w.lower().strip() for w in words} | HESITATIONS | THANKS
    for phrase in sorted((p for p in allowed if " " in p), key=len, reverse=True):  # the longest first
        said = said.replace(f" {phrase} ", " ")  # a backchannel of more than one word ("i see")
    # A hum that Whisper spelled out ("M H M", "M-H-N-N", "Mm-h", "Mm-huh") is no word either.
    return [token for token in said.split() if token not in allowed and set(token) - _HUM_LETTERS - {"-", "'"}]


def interrupts(words: Iterable[str]) -> bool:
    """Whether any of these (lower-case) words is one people interrupt with (INTERRUPTING_WORDS)."""
    return not INTERRUPTING_WORDS.isdisjoint(words)


def unsure(text: str) -> bool:
    """Words Whisper is unsure of (OVERLAP_CONFIDENCE_MIN); a plain `str` (no confidence known) is sure.

    Said over the agent, they neither cut it (live.turn_taking) nor get an
    answer (live.replies). Only a short overlap is asked: speech over the
    paused agent is cut for its length by BACKCHANNEL_LONGEST_MS at the latest.
    """
    confidence = getattr(text, "confidence", None)
    if confidence is None or confidence >= OVERLAP_CONFIDENCE_MIN:
        return False
    return not interrupts(_WORDS.findall(text.lower()))
