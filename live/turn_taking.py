"""Turn taking as a pure state machine: speech events and the clock in, decisions out.

No asyncio, no Django, no I/O: the session feeds it the turn detector's
events (live.pipeline.turns), says whether the agent is audible, and carries
out what comes back. Pipecat's user-turn processors and LiveKit's turn
detector split the same way: detection below, policy here, side effects
above, so each decision can be tested by feeding events and reading the list
that comes out.

The policy, decision by decision:

- Speculate: the caller paused (SPECULATIVE_PAUSE_MS of silence). A reply to
  the utterance so far starts, held back: STT at once, the brain too where
  that is safe. Waiting for the whole end-of-turn silence before starting STT
  would add Whisper's 0.4-0.5 s to every turn.
- Discard: the caller went on talking (or paused again): the held reply is stale.
- Commit: the end-of-turn silence completed: the held reply may play (or, with
  none held, a committed one starts).
- BargeIn: the caller talked over audible agent speech for barge_in_min_ms.
  Shorter overlaps (a "mhm") are left to the reply job, which ignores an
  overlapping backchannel once it has been transcribed.
- Remind / GiveUp: nobody has said anything for reminder_after_s: a reminder,
  and after hangup_after_reminders of them a goodbye and a hang-up.
- MaxDuration: the call reached max_duration_s, whatever is happening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from live.pipeline.bargein import BargeInDetector
from live.pipeline.frames import (
    Samples,
    UserSpeaking,
    UserSpeechPaused,
    UserSpeechResumed,
    UserSpeechStarted,
    UserTurnEnded,
)


class SilencePolicy(Protocol):
    """What to do when nobody speaks (agents.brains.config.SilenceSettings has this shape)."""

    @property
    def reminder_after_s(self) -> float: ...
    @property
    def reminders(self) -> list[str]: ...
    @property
    def hangup_after_reminders(self) -> int: ...
    @property
    def hangup_message(self) -> str: ...


SpeechEvent = UserSpeechStarted | UserSpeaking | UserSpeechPaused | UserSpeechResumed | UserTurnEnded


@dataclass(frozen=True)
class Speculate:
    """Start a reply to this audio, held until committed."""

    audio: Samples
    speech_end_at: float  # clock time the caller stopped speaking
    overlapped_agent: bool  # the utterance overlapped agent speech without barging in


@dataclass(frozen=True)
class Commit:
    """The turn is final: commit the held reply to it, or start a committed one."""

    audio: Samples
    speech_end_at: float
    overlapped_agent: bool


@dataclass(frozen=True)
class Discard:
    reason: str


@dataclass(frozen=True)
class BargeIn:
    at: float
    speech_ms: float  # how long the caller had talked over the agent


@dataclass(frozen=True)
class Remind:
    text: str


@dataclass(frozen=True)
class GiveUp:
    message: str
    disposition: str = "no_response"


@dataclass(frozen=True)
class MaxDuration:
    pass


Decision = Speculate | Commit | Discard | BargeIn | Remind | GiveUp | MaxDuration


class TurnTaking:
    def __init__(
        self,
        *,
        started_at: float,
        max_duration_s: float,
        silence: SilencePolicy,
        barge_in_min_ms: float,
        interruptible: bool,
    ) -> None:
        self.started_at = started_at
        self.max_duration_s = max_duration_s
        self.silence = silence
        self.bargein = BargeInDetector(min_ms=barge_in_min_ms, enabled=interruptible)
        self.last_activity = started_at
        self.reminders_sent = 0
        self.speculating = False  # a Speculate is out with no Commit or Discard after it
        self.over = False  # MaxDuration went out: nothing more to decide

    def hear(self, event: SpeechEvent, *, now: float, stream_ms: float, agent_audible: bool) -> list[Decision]:
        """One speech event; `stream_ms` is the stream time at `now` (media arrives in real time)."""
        if isinstance(event, UserSpeechStarted):
            self.last_activity = now
            self.bargein.set_agent_speaking(agent_audible)
            self.bargein.process(event)
            return []
        if isinstance(event, UserSpeaking):
            self.last_activity = now
            self.bargein.set_agent_speaking(agent_audible, event.speech_ms)
            fired = self.bargein.process(event)
            return [BargeIn(at=now, speech_ms=fired.speech_ms)] if fired is not None else []
        if isinstance(event, UserSpeechResumed):
            return self._discard("caller resumed")
        speech_end_at = now - max(0.0, stream_ms - event.speech_end_ms) / 1000.0
        overlapped = self.bargein.overlapped and not self.bargein.fired
        if isinstance(event, UserSpeechPaused):
            out = self._discard("new pause")
            self.speculating = True
            return [*out, Speculate(event.audio, speech_end_at, overlapped)]
        self.last_activity = now
        self.reminders_sent = 0
        self.speculating = False
        return [Commit(event.audio, speech_end_at, overlapped)]

    def tick(self, now: float, *, caller_speaking: bool, replying: bool, agent_audible: bool) -> list[Decision]:
        """A look at the clock (the session ticks a few times a second)."""
        if self.over:
            return []
        if now - self.started_at >= self.max_duration_s:
            self.over = True
            return [MaxDuration()]
        silence = self.silence
        if caller_speaking or replying or agent_audible or now - self.last_activity < silence.reminder_after_s:
            return []
        self.last_activity = now
        if self.reminders_sent < silence.hangup_after_reminders and silence.reminders:
            text = silence.reminders[self.reminders_sent % len(silence.reminders)]
            self.reminders_sent += 1
            return [Remind(text)]
        return [GiveUp(silence.hangup_message)]

    def activity(self, now: float) -> None:
        """Something happened that is not speech (the agent finished a turn, a key was pressed)."""
        self.last_activity = now

    def _discard(self, reason: str) -> list[Decision]:
        if not self.speculating:
            return []
        self.speculating = False
        return [Discard(reason)]
