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
- TurnWindow: how much silence ends this turn. With `end_of_turn` set to
  "words" or "smart" (the default), the pause holds the turn open until the
  held reply's words are known (they are needed before anything can be said
  anyway, so waiting for them costs nothing), then the words decide
  (agents.brains.completeness): a finished sentence ends the turn after
  finished_silence_ms, an open one ("Um, I think") after
  unfinished_silence_ms, no words at all (a cough) after the plain
  end_of_turn_silence_ms; an ending tiny.en often makes of an open one on
  a phone line ("on the" heard as "on that.", completeness.Verdict.UNSURE),
  and words that read as finished but that Whisper was not sure end a
  sentence (a low probability of its full stop: SENTENCE_END_SURE), wait
  halfway between the two. A finished single word ("Yes.", "Hi.") ends it
  after the plain end_of_turn_silence_ms instead: tiny.en hears "Yes," as
  "Yes.", and the comma's ~300 ms pause (Piper's, and people's) outlasted
  the short window, splitting "Yes, that is correct." into two turns
  (bench_voice's 4-8 s tails). "smart" asks the voice too (Smart Turn, run at the
  same pause beside the speech-to-text): both finished, the short window;
  both unfinished, the long hold; they disagree, halfway between. A 900 ms
  pause after "Um, I think" used to end the turn every time; answering a
  finished "Tuesday." after 250 ms instead of 500 ms is where a quarter of a
  second of every turn comes from.
- Commit: the end-of-turn silence completed: the held reply may play (or, with
  none held, a committed one starts).
- Continue: the caller went on before any of the answer was audible (a comma
  taken for the end: Piper pauses about 300 ms at one, Whisper hears "Yes," as
  "Yes."). The turn was not over: the unheard answer is taken back if nothing
  depends on it yet (live.replies), and the new speech is heard as more of the
  same turn (its audio carries the first part). bench_voice's 8.5 s outliers
  were this: the rest of the sentence became a turn of its own, the scripted
  agent ran out of lines, and the caller's next sound was the 8 s reminder.
- PauseAgent / ResumeAgent / BargeIn: the caller talked over audible agent
  speech for barge_in_min_ms. The agent's audio pauses (nothing more is sent;
  Twilio plays out its last ~80 ms) and the overlap goes to speech-to-text,
  prompted with the version's backchannel words (tiny.en hears a bare hum as
  "and make it" otherwise). Words that are not a backchannel cut the reply
  (BargeIn: `clear`, the reply is over); no words (a cough, a door, line
  noise), only a backchannel ("mhm", "yeah", "right", "okay"), or, at the
  caller's pause, words Whisper is unsure of (live.pipeline.bargein.unsure: a
  noisy "Mhm." heard as "and make them.") resume it where it stopped, as
  LiveKit's false-interruption resume does. The words
  may come late (a busy machine), so speech that goes on barge_in_confirm_ms
  past the minimum cuts the reply anyway (the caller is still talking
  barge_in_confirm_ms after the pause): a backchannel is short, and a real
  barge-in still sends `clear` within that time of the minimum speech. The
  exception is speech whose early words were a backchannel, none, or words
  Whisper is unsure of ("Yeah, yeah."): it is not cut for its length until
  BACKCHANNEL_LONGEST_MS, and while the caller talks on the overlap is heard
  again, longer (CheckOverlap: "Actually, I need" whose first 300 ms came back
  "Okay." waited a second for its cut); the words of the last look, or at the
  caller's pause, decide. The words people interrupt with ("no", "wait",
  "sorry": live.pipeline.bargein.INTERRUPTING_WORDS) cut as soon as any
  check hears them. With barge_in_confirm_ms = 0 the minimum
  speech cuts at once. Shorter overlaps are left to the reply job, which
  ignores an overlapping backchannel once it has been transcribed; one of
  those words in them ("Stop.") cuts the agent at the caller's pause.
- Remind / GiveUp: nobody has said anything for reminder_after_s: a reminder,
  and after hangup_after_reminders of them a goodbye and a hang-up.
- MaxDuration: the call reached max_duration_s, whatever is happening.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agents.brains.completeness import Verdict, judge
from live.pipeline.bargein import BargeInDetector, interrupts, real_words, unsure
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
class Continue:
    """The caller went on before hearing the answer to the turn just committed: take that answer back."""

    at: float


@dataclass(frozen=True)
class BargeIn:
    at: float
    speech_ms: float  # how long the caller had talked over the agent


@dataclass(frozen=True)
class TurnWindow:
    """The current utterance ends after this much silence."""

    ms: float
    why: str


@dataclass(frozen=True)
class PauseAgent:
    """Stop sending the agent's audio (keep it) and check the caller's overlap for words."""

    at: float


@dataclass(frozen=True)
class CheckOverlap:
    """The caller talks on over the paused agent and no words have settled it yet: hear the overlap again."""

    at: float


@dataclass(frozen=True)
class ResumeAgent:
    """The overlap was no words, a backchannel, or unsure words: the agent goes on where it paused."""

    at: float
    why: str


@dataclass(frozen=True)
class Voicemail:
    """An answering machine took the call: stop, say `message` (if any), hang up as "voicemail"."""

    message: str


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


Decision = (
    Speculate
    | Commit
    | Continue
    | Discard
    | TurnWindow
    | PauseAgent
    | CheckOverlap
    | ResumeAgent
    | BargeIn
    | Remind
    | GiveUp
    | MaxDuration
    | Voicemail
)


@dataclass(frozen=True)
class EndOfTurn:
    """How the end of a turn is decided (agents.brains.config.TurnTaking's fields, in ms)."""

    mode: str = "silence"  # or "words", "smart" (agents.brains.config.TurnTaking.end_of_turn)
    silence_ms: float = 500
    finished_ms: float = 250
    unfinished_ms: float = 2000


# The early check hears only the first ~300 ms, where Whisper turns a "mhm"
# into "here." or "Wow." (scripts/bench_turns.py): one word there that is
# not a backchannel is not enough to cut ("And, Mm-hmm."); two it is sure of
# are, and so is any word people interrupt with ("No.", "Wait").
EARLY_CUT_WORDS = 2

# Speech that goes on over the paused agent, unsettled by the early check, is
# heard again once the last look is back and the caller has said this much
# more (a look at the same audio would hear the same), at most OVERLAP_RECHECKS
# times: by then BACKCHANNEL_LONGEST_MS or the caller's pause decides.
RECHECK_AFTER_MORE_MS = 64  # two VAD windows: "Hold on," then its comma had 80-120 ms more
OVERLAP_RECHECKS = 3
SMART_TURN_THRESHOLD = 0.5  # Smart Turn's own: above, the utterance sounds complete

# Whisper's probability of a full stop after the last word (Transcript.sentence_end,
# live.speech.stt): below this, words that read as finished are not sure of it.
# tiny.en punctuates nearly everything, misheard open sentences too ("My name
# is, uh" as "My name is up."), but less surely: 0.34-0.42 there against
# 0.49-0.99 for finished lines (scripts/bench_turns.py's lines, 2026-12-05).
SENTENCE_END_SURE = 0.45

# Speech over the paused agent that goes on past the confirmation time cuts
# it, unless the early check heard only backchannel words: "Yeah, yeah." runs
# 0.6-0.9 s; a backchannel longer than this is taken for a turn anyway.
BACKCHANNEL_LONGEST_MS = 1200


# Speech after a committed turn and before any of its answer is audible
# continues that turn once it is this long (three VAD windows: longer than the
# 90 ms under which the turn detector drops a sound as noise, so a click
# never takes an answer back) and starts within this time of the commit.
CONTINUE_MIN_SPEECH_MS = 96
CONTINUE_WITHIN_S = 2.0

# Words as counted for the single-word window ("Yes." is one, "930" is one).
_WORD = re.compile(r"[a-z0-9']+")

# A paused agent with no verdict on the overlap this long after the caller
# went quiet goes on talking (speech-to-text lost or very late).
RESUME_UNHEARD_S = 1.5


class TurnTaking:
    def __init__(
        self,
        *,
        started_at: float,
        max_duration_s: float,
        silence: SilencePolicy,
        barge_in_min_ms: float,
        interruptible: bool,
        end_of_turn: EndOfTurn | None = None,
        barge_in_confirm_ms: float = 0.0,
        backchannel_words: list[str] | None = None,
    ) -> None:
        self.started_at = started_at
        self.max_duration_s = max_duration_s
        self.silence = silence
        self.end_of_turn = end_of_turn or EndOfTurn()
        self.bargein = BargeInDetector(min_ms=barge_in_min_ms, enabled=interruptible)
        self.confirm_ms = barge_in_confirm_ms
        self.backchannel_words = list(backchannel_words or [])
        self.paused_at_speech_ms: float | None = None  # the agent is paused, waiting for the overlap's words
        self.paused_at: float | None = None  # when it paused (clock time)
        self.pause_quiet_since: float | None = None  # paused, and the caller has stopped talking since
        self.cut_this_utterance = False  # this utterance cut the agent off: it is a turn, not an overlap
        # The last look at the overlap heard only a backchannel, nothing, or first words Whisper is
        # unsure of: speech that goes on past the confirmation is spared (until BACKCHANNEL_LONGEST_MS).
        self._early_backchannel = False
        self._spoke_past_confirm = False  # the caller talked on past barge_in_confirm_ms after the pause
        self._rechecks = 0  # CheckOverlap sent for this pause
        self._recheck_wanted = False  # the last look settled nothing: look again when there is more
        self._looked_at_ms = 0.0  # how much of the caller's speech the last look heard
        self._speech_ms = 0.0  # how much of it there is now
        self._utterance_ms = 0.0  # how long the caller spoke before the last pause
        # This speculation's verdicts: the words' (agents.brains.completeness) and the voice's (Smart Turn).
        self.expect_acoustic = False  # the session sets it when the version is "smart" and the model is there
        self._heard: Verdict | None = None
        self._ending_unsure = False  # ...finished words, but Whisper was not sure they end a sentence
        self._one_word = False  # the utterance so far is one word ("Yes.", "Hi.")
        self._voice: float | None = None  # Smart Turn's probability that the caller has finished
        self._voice_known = False
        self.last_activity = started_at
        self.reminders_sent = 0
        self.speculating = False  # a Speculate is out with no Commit or Discard after it
        self._unheard: tuple[Samples, float] | None = None  # the last commit's audio and time, its answer unheard
        self._carried: Samples | None = None  # a continued turn's first part, heard again with the rest
        self.over = False  # MaxDuration went out: nothing more to decide

    def hear(self, event: SpeechEvent, *, now: float, stream_ms: float, agent_audible: bool) -> list[Decision]:
        """One speech event; `stream_ms` is the stream time at `now` (media arrives in real time)."""
        if agent_audible:
            self._unheard = None  # the answer is being heard: speech from now on talks over it
        if isinstance(event, UserSpeechStarted):
            self.last_activity = now
            self.cut_this_utterance = False
            self.pause_quiet_since = None
            if self.paused_at_speech_ms is not None:
                self.paused_at_speech_ms = 0.0  # still paused: talking on from here cuts it
                self._looked_at_ms = self._speech_ms = 0.0  # speech is counted afresh
            self.bargein.set_agent_speaking(agent_audible)
            self.bargein.process(event)
            return []
        if isinstance(event, UserSpeaking):
            self.last_activity = now
            self.pause_quiet_since = None
            if self._unheard is not None and event.speech_ms >= CONTINUE_MIN_SPEECH_MS:
                audio, committed_at = self._unheard
                self._unheard = None
                if now - committed_at <= CONTINUE_WITHIN_S:
                    self._carried = audio
                    return [Continue(at=now)]  # the agent is not audible: nothing to barge in on
            if self.paused_at_speech_ms is not None:
                self._speech_ms = event.speech_ms
                out = self._look_again(now)
                if self.paused_at is not None and now - self.paused_at >= self.confirm_ms / 1000.0:
                    # Long enough to cut, whether or not the early words are back (issue 14: a real
                    # barge-in cuts within 300 ms of the minimum speech; bench_voice measured the
                    # clear 327 ms after it when this waited 260 ms for late words).
                    self._spoke_past_confirm = True
                    if self._early_backchannel and event.speech_ms < BACKCHANNEL_LONGEST_MS:
                        return out  # "Yeah, yeah.": past the confirmation, but its words so far are a backchannel
                    return self._cut(now, event.speech_ms)  # still talking: too long for a backchannel, words or not
                return out
            self.bargein.set_agent_speaking(agent_audible, event.speech_ms)
            fired = self.bargein.process(event)
            if fired is None:
                return []
            if self.confirm_ms <= 0:
                return self._cut(now, fired.speech_ms)
            self.paused_at_speech_ms = event.speech_ms
            self.paused_at = now
            self._early_backchannel = self._spoke_past_confirm = False
            self._rechecks, self._recheck_wanted = 0, False
            self._looked_at_ms = self._speech_ms = event.speech_ms
            return [PauseAgent(at=now)]
        if isinstance(event, UserSpeechResumed):
            self.pause_quiet_since = None
            return self._discard("caller resumed")
        speech_end_at = now - max(0.0, stream_ms - event.speech_end_ms) / 1000.0
        overlapped = self.bargein.overlapped and not self.cut_this_utterance
        if self.paused_at_speech_ms is not None and self.pause_quiet_since is None:
            self.pause_quiet_since = now
        if isinstance(event, UserSpeechPaused):
            self._utterance_ms = event.speech_ms
            out = self._discard("new pause")
            self.speculating = True
            self._heard, self._voice, self._voice_known = None, None, False
            out.append(Speculate(self._with_carried(event.audio), speech_end_at, overlapped))
            if self.end_of_turn.mode != "silence":
                # Hold the turn open until the words are known (or the longest wait).
                out.append(TurnWindow(self.end_of_turn.unfinished_ms, "waiting for the words"))
            return out
        self.last_activity = now
        self.reminders_sent = 0
        self.speculating = False
        audio = self._with_carried(event.audio)
        self._carried = None
        self._unheard = (audio, now)
        return [Commit(audio, speech_end_at, overlapped)]

    def keep_separate(self) -> None:
        """The answer could not be taken back (live.replies settled it): the new speech is a turn of its own."""
        self._carried = None

    def _with_carried(self, audio: Samples) -> Samples:
        return audio if self._carried is None else np.concatenate([self._carried, audio])

    def words(self, text: str, *, now: float) -> list[Decision]:
        """The held reply's transcript of the utterance so far (the caller paused).

        Over a paused agent, they settle the overlap (cut or resume); then,
        unless the version ends turns on silence alone, they say how soon the turn ends.
        """
        if self.paused_at_speech_ms is not None:
            out = self.overlap_words(text, now=now, final=True)
        else:
            out = self._short_interruption(text, now)
        if not self.speculating or self.end_of_turn.mode == "silence":
            return out
        self._heard = judge(text)
        sentence_end = getattr(text, "sentence_end", None)  # a Transcript (live.speech.base) may say
        self._ending_unsure = sentence_end is not None and sentence_end < SENTENCE_END_SURE
        self._one_word = len(_WORD.findall(text.lower())) == 1
        return out + self._window()

    def _short_interruption(self, text: str, now: float) -> list[Decision]:
        """ "Stop." over the agent, shorter than barge_in_min_ms: it never paused the agent; its words cut it.

        Only the words people interrupt with (a short overlap is most often a
        backchannel or a cough): bench_turns.py's quick "Sorry?" and "Stop."
        were 5 of 24 real barge-ins, and the agent talked on over them.
        """
        detector = self.bargein
        if not (detector.enabled and detector.overlapped and detector.agent_speaking) or self.cut_this_utterance:
            return []
        if not interrupts(real_words(text, self.backchannel_words)):
            return []
        return self._cut(now, self._utterance_ms)

    def acoustic(self, probability: float | None) -> list[Decision]:
        """Smart Turn's score for the utterance so far (live.speech.smart_turn); None: it failed, words alone."""
        if not self.speculating or self.end_of_turn.mode != "smart":
            return []
        self._voice = probability
        self._voice_known = True
        return self._window()

    def _window(self) -> list[Decision]:
        """The end-of-turn window once the words (and, when expected, the voice) are known.

        Both run side by side from the pause (live.session), so waiting for
        the slower of the two costs little. Both finished: the short window.
        Words that leave the sentence open ("Tuesday or", which Smart Turn
        calls finished), or both unfinished: the long hold. Finished words
        and an unfinished voice, or words unsure of their ending: halfway
        between, since tiny.en drops the "uh" of "My name is, uh" (the voice
        still hears a hesitation) and mishears open endings as closed ones.
        """
        settings = self.end_of_turn
        if self._heard is None or (self.expect_acoustic and not self._voice_known):
            return []  # until both are known the turn stays held open
        if self._heard is Verdict.UNKNOWN:
            return [TurnWindow(settings.silence_ms, "no words")]
        halfway = (settings.finished_ms + settings.unfinished_ms) / 2
        # Finished words Whisper was unsure of count as unfinished beside the
        # voice, and halfway alone: longer than a hesitation, far short of the
        # longest hold for a turn that is most likely over.
        unsure_stop = self._heard is Verdict.FINISHED and self._ending_unsure
        words_finished = self._heard is Verdict.FINISHED and not unsure_stop
        if words_finished and self._one_word:
            # "Yes," heard as "Yes.": Piper (and people) pause ~300 ms at the comma, longer
            # than the short window; the plain silence window outlasts it (issue 14's tails).
            return [TurnWindow(max(settings.finished_ms, settings.silence_ms), "a single word: maybe a comma")]
        if self._voice is None:  # the words alone
            if words_finished:
                return [TurnWindow(settings.finished_ms, "sounds finished")]
            if self._heard is Verdict.UNSURE:  # "on that.": often a misheard "on the"
                return [TurnWindow(halfway, "the ending may be misheard")]
            if unsure_stop:
                return [TurnWindow(halfway, "the words may not be finished")]
            return [TurnWindow(settings.unfinished_ms, "sounds unfinished")]
        voice_finished = self._voice >= SMART_TURN_THRESHOLD
        if words_finished and voice_finished:
            return [TurnWindow(settings.finished_ms, "words and voice sound finished")]
        if self._heard is Verdict.UNFINISHED:
            # Words that leave the sentence open ("on the?", "Maybe.") hold it whatever the voice says:
            # Smart Turn called espeak-ng's "Could we do it on the" finished (0.94), and halfway
            # (1,125 ms) ended it before the rest came after a 900 ms hesitation (scripts/bench_turns.py).
            return [TurnWindow(settings.unfinished_ms, "the words sound unfinished")]
        if not words_finished and not voice_finished:
            return [TurnWindow(settings.unfinished_ms, "words and voice sound unfinished")]
        why = "the voice sounds unfinished" if words_finished else "the words may not be finished"
        return [TurnWindow(halfway, why)]

    def overlap_words(self, text: str, *, now: float, final: bool) -> list[Decision]:
        """Words the caller said over the paused agent: real words cut it.

        `final`: the caller has paused and this is all they said. No words, or
        only a backchannel or a hesitation, then resume the agent; earlier
        (a check on the first few hundred ms) they only mean "not yet".
        """
        if self.paused_at_speech_ms is None:
            return []  # already cut (the speech went on), or resumed
        words = real_words(text, self.backchannel_words)
        if not final:
            return self._early_words(text, words, now)
        if words and not unsure(text):
            return self._cut(now, self.paused_at_speech_ms)
        self.paused_at_speech_ms = None
        self.pause_quiet_since = None
        why = "unsure words" if words else "backchannel" if text.strip() else "no words"
        return [ResumeAgent(at=now, why=why)]

    def _early_words(self, text: str, words: list[str], now: float) -> list[Decision]:
        """A look at the overlap while the caller may still be talking: cut, wait for more, or look again."""
        assert self.paused_at_speech_ms is not None
        sure = not unsure(text)
        if interrupts(words) or (len(words) >= EARLY_CUT_WORDS and sure):
            return self._cut(now, self.paused_at_speech_ms)
        if words and sure:
            if self._spoke_past_confirm:
                # Late words ("Here," then a comma's silence): the length rule waited only for
                # them, and the caller may be quiet now, with no speech event to cut on.
                return self._cut(now, self.paused_at_speech_ms)
            self._early_backchannel = False  # one word: speech that goes on is cut for its length
            return []
        if words and self._rechecks > 0:
            # Whisper garbles the first 300 ms most ("Okay." for espeak-ng's "Actually"): a longer
            # look's unsure words ("I killed.", 0.26) no longer spare speech that goes on; they do
            # not cut on their own (a noisy hum came back "Okay." then "and make them.", 0.47).
            self._early_backchannel = False
            return []
        # Nothing but a backchannel, no words, or first words Whisper is unsure of ("and make it."
        # for a hum): speech that goes on is not cut for its length (a noisy "Yeah, yeah."
        # came back ""); while it goes on, a longer look may hear the words it holds.
        self._early_backchannel = True
        self._recheck_wanted = self._rechecks < OVERLAP_RECHECKS
        return self._look_again(now)  # the caller may have said more (or all of it) while this look ran

    def _look_again(self, now: float) -> list[Decision]:
        if not self._recheck_wanted or self._speech_ms < self._looked_at_ms + RECHECK_AFTER_MORE_MS:
            return []
        self._recheck_wanted = False
        self._rechecks += 1
        self._looked_at_ms = self._speech_ms
        return [CheckOverlap(at=now)]

    def _cut(self, now: float, speech_ms: float) -> list[Decision]:
        self.cut_this_utterance = True
        self.paused_at_speech_ms = None
        self.pause_quiet_since = None
        return [BargeIn(at=now, speech_ms=speech_ms)]

    def tick(self, now: float, *, caller_speaking: bool, replying: bool, agent_audible: bool) -> list[Decision]:
        """A look at the clock (the session ticks a few times a second)."""
        if self.over:
            return []
        if agent_audible:
            self._unheard = None
        if now - self.started_at >= self.max_duration_s:
            self.over = True
            return [MaxDuration()]
        if self.pause_quiet_since is not None and now - self.pause_quiet_since >= RESUME_UNHEARD_S:
            self.paused_at_speech_ms = None
            self.pause_quiet_since = None
            return [ResumeAgent(at=now, why="no verdict on the overlap")]
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


MACHINE_END = ("machine_end_beep", "machine_end_silence", "machine_end_other")


def answered_by(result: str, *, action: str, message: str) -> tuple[Voicemail | None, bool]:
    """Twilio's answering-machine result: what to do now, and whether to keep watching for a later one.

    With MachineDetection=DetectMessageEnd Twilio reports a machine only at
    the end of its greeting (machine_end_beep, _silence or _other), which is
    when a message can be left; a carrier set to Enable reports machine_start
    at once, which is enough to hang up but not to speak. "human", "unknown"
    and "fax" settle it.
    """
    if not result:
        return None, True
    if result in MACHINE_END:
        return Voicemail(message if action == "leave_message" else ""), False
    if result.startswith("machine"):
        if action == "leave_message":
            return None, True  # the greeting is still playing: wait for its end
        return Voicemail(""), False
    if result == "fax":
        return Voicemail(""), False
    return None, False  # a person (or Twilio could not tell): the conversation goes on
