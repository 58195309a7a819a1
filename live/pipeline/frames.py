"""Frames that flow between the media pipeline's processors (small dataclasses, Pipecat style).

Times are stream milliseconds: the position in the caller's audio, counted
from the first media frame. Twilio sends media continuously (silence too), so
stream time follows the wall clock of the call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioFrame:
    """Mono float32 audio in [-1, 1]."""

    samples: Samples
    sample_rate: int
    t_ms: float = 0.0  # stream time of the first sample

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class VadFrame:
    """Silero's verdict on one 32 ms window of 16 kHz audio."""

    probability: float
    speech: bool
    t_ms: float  # stream time of the end of the window


@dataclass(frozen=True)
class UserSpeechStarted:
    t_ms: float


@dataclass(frozen=True)
class UserSpeaking:
    """Sent for every speech window while the caller talks: how long this utterance has lasted."""

    speech_ms: float
    t_ms: float


@dataclass(frozen=True)
class UserSpeechPaused:
    """The caller paused long enough to guess the turn is over: start STT speculatively."""

    audio: Samples
    speech_end_ms: float
    speech_ms: float


@dataclass(frozen=True)
class UserSpeechResumed:
    """The caller went on talking: anything started at the pause is stale."""

    t_ms: float


@dataclass(frozen=True)
class UserTurnEnded:
    """The end-of-turn silence completed: the utterance is final."""

    audio: Samples
    speech_end_ms: float
    speech_ms: float


@dataclass(frozen=True)
class BargeIn:
    """The caller spoke over the agent for longer than the configured minimum."""

    speech_ms: float
    t_ms: float
