"""Turn taking's decisions carried out: on the replies, the player, the caller's turn window, and the looks.

live.turn_taking decides (a pure state machine: events in, decisions out);
this module is where each decision becomes an act on the call's parts. It
also runs the two looks turn taking asks for and hears back from: Whisper on
speech over the paused agent (real words cut it, a backchannel resumes it)
and Smart Turn on the caller's voice at a pause (the `smart` end of turn).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from django.conf import settings

from agents.brains.base import Hangup, Speech
from agents.brains.config import AgentConfig
from agents.brains.templating import render_template
from live import turn_taking as tt
from live.parts import CallParts
from live.pipeline.bargein import backchannel_prompt
from live.pipeline.frames import Samples
from live.pipeline.listener import Listener
from live.pipeline.vad import VadProcessor
from live.replies import Replies
from live.speech.smart_turn import TurnModel
from live.store import TurnStore
from live.workers import URGENT

# Twilio's answering-machine result reaches us through the status webhook and
# the call row (another process may have served it): read it once a second,
# for as long as detection can take (MachineDetectionTimeout is 30 s by
# default, and with DetectMessageEnd the greeting's length comes on top).
AMD_POLL_S = 1.0
AMD_WATCH_S = 90.0


def listener_for(config: AgentConfig, vad: VadProcessor | None = None) -> Listener:
    """The caller's pipeline with the version's silence window and the server's speculation pause."""
    return Listener(
        end_of_turn_ms=config.turn_taking.end_of_turn_silence_ms, pause_ms=settings.SPECULATIVE_PAUSE_MS, vad=vad
    )


def turn_taking_for(config: AgentConfig, *, started_at: float, acoustic: bool) -> tt.TurnTaking:
    """Turn taking as the version configures it; `acoustic`: Smart Turn's say joins the words'."""
    turns = config.turn_taking
    turn_taking = tt.TurnTaking(
        started_at=started_at,
        max_duration_s=config.max_duration_s,
        silence=config.silence,
        barge_in_min_ms=turns.barge_in_min_ms,
        interruptible=turns.interruptible,
        end_of_turn=tt.EndOfTurn(
            mode=turns.end_of_turn,
            silence_ms=turns.end_of_turn_silence_ms,
            finished_ms=turns.finished_silence_ms,
            unfinished_ms=turns.unfinished_silence_ms,
        ),
        barge_in_confirm_ms=turns.barge_in_confirm_ms,
        backchannel_words=turns.backchannel_words,
    )
    turn_taking.expect_acoustic = acoustic
    return turn_taking


class Decisions:
    """One call's caller pipeline and turn taking, and turn taking's decisions carried out."""

    def __init__(
        self,
        *,
        parts: CallParts,
        replies: Replies,
        vad: VadProcessor | None = None,
        smart_turn: TurnModel | None = None,  # the voice's say joins the words' only where the version asks for it
    ) -> None:
        self.ctx, self.config, self.stt, self.workers = parts.ctx, parts.config, parts.stt, parts.workers
        self.player, self.clock, self.log, self.replies = parts.player, parts.clock, parts.log, replies
        self.smart_turn = smart_turn if self.config.turn_taking.end_of_turn == "smart" else None
        self.listener = listener_for(self.config, vad)
        self.turn_taking = turn_taking_for(
            self.config, started_at=self.clock.now(), acoustic=self.smart_turn is not None
        )
        self.machine = False  # an answering machine took the call: nothing it plays is a turn to answer
        self._overlap_check: asyncio.Task[None] | None = None
        self._acoustic_check: asyncio.Task[None] | None = None
        self._amd_watch: asyncio.Task[None] | None = None

    def run(self, decisions: Iterable[tt.Decision]) -> None:
        for decision in decisions:
            self.decide(decision)

    def words_heard(self, text: str) -> None:
        """A held reply's transcript: do these words end the turn, or cut a paused agent?"""
        self.run(self.turn_taking.words(text, now=self.clock.now()))

    def cancel(self) -> None:
        """The call is ending: no look or answering-machine result is waited for any more."""
        for task in (self._overlap_check, self._acoustic_check, self._amd_watch):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    def decide(self, decision: tt.Decision) -> None:
        if isinstance(decision, tt.Speculate):
            self.replies.speculate(decision.audio, decision.speech_end_at, decision.overlapped_agent)
            if self.smart_turn is not None:
                if self._acoustic_check is not None:
                    self._acoustic_check.cancel()
                self._acoustic_check = asyncio.create_task(self._hear_voice(decision.audio), name="smart-turn")
        elif isinstance(decision, tt.Commit):
            self.replies.commit(decision.audio, decision.speech_end_at, decision.overlapped_agent)
        elif isinstance(decision, tt.Continue):
            if not self.replies.withdraw():
                self.turn_taking.keep_separate()
        elif isinstance(decision, tt.Discard):
            self.replies.discard(decision.reason)
        elif isinstance(decision, tt.TurnWindow):
            self.log.debug("turn_window", ms=decision.ms, why=decision.why)
            self.listener.turns.set_window(decision.ms)
        elif isinstance(decision, tt.PauseAgent):
            self.player.pause()
            self.log.info("agent_paused_for_overlap")
            if self._overlap_check is not None:
                self._overlap_check.cancel()
            self._check_overlap_now()
        elif isinstance(decision, tt.CheckOverlap):
            self._check_overlap_now()  # the last look is back: this one hears more of the overlap
        elif isinstance(decision, tt.ResumeAgent):
            self.log.info("agent_resumed", why=decision.why)
            self.player.resume()
        elif isinstance(decision, tt.BargeIn):
            if self._overlap_check is not None:
                self._overlap_check.cancel()
            self.replies.barge_in(decision.at)
            if self.player.paused:  # paused audio with no reply playing any more: nothing of it may play
                self.player.cut(decision.at)
        elif isinstance(decision, tt.Remind):
            self.replies.say([Speech(decision.text)])
        elif isinstance(decision, tt.Voicemail):
            self.machine = True
            self.ctx.disposition = "voicemail"
            self.replies.stop_all(self.clock.now())
            # Said after the beep as a reply of its own; with no message, only the hang-up.
            message = render_template(decision.message, self.ctx.variables)
            self.replies.say([Speech(message)] if message else [], hangup="voicemail")
        elif isinstance(decision, tt.GiveUp):
            self.ctx.disposition = self.ctx.disposition or decision.disposition
            self.replies.say([Speech(decision.message), Hangup(self.ctx.disposition)])

    def watch_answered_by(self, store: TurnStore) -> None:
        """Until the answering-machine result settles it: a machine gets the version's voicemail treatment."""
        self._amd_watch = asyncio.create_task(self._watch_answered_by(store), name="amd-watch")

    async def _watch_answered_by(self, store: TurnStore) -> None:
        voicemail = self.config.voicemail
        started = self.clock.now()
        while self.clock.now() - started < AMD_WATCH_S:
            await self.clock.sleep(AMD_POLL_S)
            try:
                result = await store.answered_by()
            except Exception:
                self.log.warning("answered_by_read_failed", exc_info=True)
                continue
            decision, keep_watching = tt.answered_by(result, action=voicemail.action, message=voicemail.message)
            if decision is not None:
                self.log.info("answering_machine", answered_by=result, leave_message=bool(decision.message))
                self.decide(decision)
            if not keep_watching:
                return

    async def _hear_voice(self, audio: Samples) -> None:
        """Smart Turn on the utterance so far; its verdict joins the words' (a newer pause cancels this one)."""
        assert self.smart_turn is not None
        probability: float | None = None
        try:
            probability = await self.workers.call(self.smart_turn.probability, audio)
        except Exception:  # the words decide alone rather than the turn waiting for the longest hold
            self.log.warning("smart_turn_failed", exc_info=True)
        self.run(self.turn_taking.acoustic(probability))

    async def _check_overlap(self, audio: Samples) -> None:
        """A look at speech over the paused agent (the first 300 ms, or more of it later): real words cut it now."""
        prompt = backchannel_prompt(self.config.turn_taking.backchannel_words)  # most overlaps are backchannels
        text = await self.workers.transcribe(
            self.stt, audio, language=self.config.stt.language, priority=URGENT, prompt=prompt, quick=True
        )
        self.run(self.turn_taking.overlap_words(text, now=self.clock.now(), final=False))

    def _check_overlap_now(self) -> None:
        audio = self.listener.turns.audio_so_far()
        self._overlap_check = asyncio.create_task(self._check_overlap(audio), name="overlap-check")
