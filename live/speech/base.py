"""What the call engine needs from speech engines, whatever backend runs them.

Engines are synchronous and thread-safe; the call engine runs them in worker
threads so the event loop carrying media frames never waits on a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]  # mono, float32 in [-1, 1]


class Transcript(str):
    """What an engine heard, still a plain `str` to everything that reads it, plus its confidence.

    `confidence` is the recogniser's own (Whisper: the exponent of the mean
    token log-probability, 0 to 1); None when the engine gives none. A str
    subclass keeps `transcribe() -> str` as it was for every engine and fake,
    and lets the model I/O log (live.store) read the confidence where the text
    is stored, without a second path through the call engine.
    """

    confidence: float | None
    # The recogniser's probability that the words end a sentence where they
    # stop (Whisper: a full stop or question mark after the last word); None
    # when the engine gives none. live.turn_taking waits longer on a low one.
    sentence_end: float | None

    def __new__(cls, text: str, confidence: float | None = None, sentence_end: float | None = None) -> Transcript:
        made = super().__new__(cls, text)
        made.confidence = confidence
        made.sentence_end = sentence_end
        return made


class SpeechToText(Protocol):
    sample_rate: int  # what transcribe() expects (16000 for Whisper)

    def transcribe(self, audio: Audio, *, language: str | None = None, prompt: str = "", quick: bool = False) -> str:
        """The text of one utterance (empty when nothing was said), in `language` (ISO 639-1; None: the model's).

        `prompt`: text the speaker is likely to say, to bias the decode (Whisper's
        initial prompt); the call engine gives one only where the words are
        expected to be a backchannel (speech over the agent).
        `quick`: one decode and no second pass on a decoding loop ("No? No? No?"
        is as good as "No." to a look at speech over the agent, which only
        asks which words are there, and a second pass took 0.5-1.2 s).
        """
        ...


class TextToSpeech(Protocol):
    sample_rate: int  # of the chunks synthesize() yields

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[Audio]:
        """Audio for `text`, in chunks as soon as each exists (streaming where the model can).

        `speed` is the agent's voice.speed: 2.0 speaks twice as fast, 0.5 half as fast.
        """
        ...
