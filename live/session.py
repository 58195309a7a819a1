"""One live call: caller audio in, turn taking, replies, paced audio out, actions, storage.

The consumer owns the socket and the protocol; the session only wires the
parts that own the call: the caller's pipeline (live.pipeline), turn taking
(live.turn_taking, a pure state machine), reply jobs (live.replies), the
player (live.player), call actions (live.actions) and the database edge
(live.store). Media frames are handled inline and cheaply (`on_media`);
everything slow runs in tasks and worker threads. Time comes from one
injectable clock (tests pass a virtual one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from typing import Any

import structlog
from django.conf import settings

from agents.brains.base import Brain, CallContext, Hangup, ModelExchange, Speech, Transfer
from agents.brains.config import AgentConfig
from agents.brains.templating import render_template
from live import turn_taking as tt
from live.actions import NO_CARRIER, ActionRunner, CallActions
from live.clock import SYSTEM_CLOCK, Clock
from live.pipeline.bargein import backchannel_prompt
from live.pipeline.frames import Samples
from live.pipeline.listener import Listener
from live.pipeline.vad import VadProcessor
from live.player import Player, Transport
from live.recording import StereoRecorder, save_recording
from live.replies import Replies
from live.speaker import speaker_now
from live.speech.base import SpeechToText, TextToSpeech
from live.speech.smart_turn import TurnModel
from live.store import CallStore, TurnStore
from live.supervision import ChannelLayerLink, LiveView, Supervision
from live.workers import URGENT, ThreadWorkers, Workers

log = structlog.get_logger(__name__)
TICK_S = 0.25  # how often silence and the maximum duration are checked
# Twilio's answering-machine result reaches us through the status webhook and
# the call row (another process may have served it): read it once a second,
# for as long as detection can take (MachineDetectionTimeout is 30 s by
# default, and with DetectMessageEnd the greeting's length comes on top).
AMD_POLL_S = 1.0
AMD_WATCH_S = 90.0


__all__ = ["CallSession", "Transport"]  # Transport: what the consumer implements


class CallSession:
    def __init__(
        self,
        *,
        call_id: uuid.UUID,
        call_sid: str,
        stream_sid: str,
        config: AgentConfig,
        ctx: CallContext,
        brain: Brain,
        stt: SpeechToText,
        tts: TextToSpeech,
        transport: Transport,
        actions: CallActions | None = None,
        resumed: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        workers: Workers | None = None,
        store: TurnStore | None = None,
        vad: VadProcessor | None = None,
        supervised: bool = False,  # reachable from consoles over the channel layer (watch, listen, commands)
        smart_turn: TurnModel | None = None,  # Smart Turn, when the server has it (live.setup loads it)
    ) -> None:
        self.call_id, self.call_sid, self.stream_sid = call_id, call_sid, stream_sid
        self.config, self.ctx, self.brain, self.stt, self.tts = config, ctx, brain, stt, tts
        self.transport, self.resumed, self.clock = transport, resumed, clock
        self.log = log.bind(call_id=str(call_id), call_sid=call_sid)
        self.store = store or CallStore(call_id, privacy=config.privacy)
        ctx.on_model_exchange = self._model_exchange
        self.workers = workers or ThreadWorkers()
        turns = config.turn_taking
        self.listener = Listener(
            end_of_turn_ms=turns.end_of_turn_silence_ms, pause_ms=settings.SPECULATIVE_PAUSE_MS, vad=vad
        )
        self.turn_taking = tt.TurnTaking(
            started_at=clock.now(),
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
        # The voice's say joins the words' only where the version asks for it.
        self.smart_turn = smart_turn if turns.end_of_turn == "smart" else None
        self.turn_taking.expect_acoustic = self.smart_turn is not None
        self.recorder = StereoRecorder() if config.recording.enabled else None
        self.player = Player(
            stream_sid=stream_sid, transport=transport, sample_rate=tts.sample_rate, clock=clock, recorder=self.recorder
        )
        self.actions = ActionRunner(
            actions=actions or NO_CARRIER,
            call_sid=call_sid,
            ctx=ctx,
            store=self.store,
            workers=self.workers,
            end_call=self._end_call,
        )
        self.replies = Replies(
            ctx=ctx,
            config=config,
            brain=brain,
            stt=stt,
            tts=tts,
            workers=self.workers,
            player=self.player,
            store=self.store,
            log=self.log,
            on_turn_over=self.turn_taking.activity,
            on_action=self.actions.run,
            on_words=self._words_heard,
        )
        self.supervision = Supervision(call_id=call_id, clock=clock, view=self._live_view, on_command=self._on_command)
        self.supervision.on_listening = self._listening
        self._link = ChannelLayerLink(self.supervision) if supervised else None
        self._say_next: list[tuple[str, str]] = []  # (text, operator) waiting for the next pause
        self._closing_turns: list[dict[str, Any]] = []  # stored at the end, after the last reply
        self._commands: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._overlap_check: asyncio.Task[None] | None = None
        self._amd_watch: asyncio.Task[None] | None = None
        self._machine = False  # an answering machine took the call
        self._acoustic_check: asyncio.Task[None] | None = None
        self._ending, self.finished = False, asyncio.Event()

    # ---- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        self.store.start()
        self.player.start()
        self._ticker = asyncio.create_task(self._tick(), name="call-ticker")
        if self._link is not None:
            try:
                await self._link.start()
            except Exception:  # supervision is a window on the call, never a reason to drop it
                self.log.warning("supervision_link_failed", exc_info=True)
        if self.call_sid and not self.resumed:
            self._amd_watch = asyncio.create_task(self._watch_answered_by(), name="amd-watch")
        if not self.resumed:  # a stream reconnected after DTMF goes on where the call was
            self.replies.open_call()

    async def finish(self, *, status: str = "completed", reason: str = "") -> None:
        """End the session once: stop audio work, store the last turn and the recording, set the status."""
        if self._ending:
            await self.finished.wait()
            return
        self._ending = True
        # finish() may run inside the ticker (the maximum duration) or a reply's
        # hang-up: cancelling that task would abort the finish itself.
        if self._ticker is not None and self._ticker is not asyncio.current_task():
            self._ticker.cancel()
        await self.supervision.close()
        if self._link is not None:
            await self._link.close()
        for task in (self._overlap_check, self._amd_watch, self._acoustic_check):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        await self.replies.close(self.clock.now())  # and the brain (an LLM brain's HTTP client)
        for turn in self._closing_turns:
            self.store.add_turn(**turn)
        await self.player.close()
        if self.actions.stream_replaced and status == "completed":
            status = ""  # the call goes on over the new stream, which resumes it
        recording_path = (
            await self.workers.call(
                functools.partial(save_recording, resumed=self.resumed, call_over=bool(status)),
                self.recorder,
                self.call_id,
            )
            if self.recorder
            else ""
        )
        disposition, variables = self.ctx.disposition, dict(self.ctx.variables)
        self.store.store_outcome(
            disposition=disposition, recording=recording_path, variables=variables, status=status, reason=reason
        )
        await self.store.close()
        self.log.info("call_session_finished", status=status, reason=reason, disposition=disposition)
        self.finished.set()

    async def _tick(self) -> None:
        while True:
            await self.clock.sleep(TICK_S)
            caller_speaking, agent_audible = self.listener.caller_speaking, self.player.audible()
            self.supervision.on_speaker(speaker_now(caller_speaking=caller_speaking, agent_audible=agent_audible))
            decisions = self.turn_taking.tick(
                self.clock.now(),
                caller_speaking=caller_speaking,
                replying=self.replies.busy,
                agent_audible=agent_audible,
            )
            if self._say_next and not self.replies.busy and not self.listener.caller_speaking:
                self._speak_injected()
            for decision in decisions:
                if isinstance(decision, tt.MaxDuration):
                    self.log.info("call_max_duration")
                    self.ctx.disposition = self.ctx.disposition or "max_duration"
                    await self._end_call()
                    return
                self._decide(decision)

    async def _watch_answered_by(self) -> None:
        """Until the answering-machine result settles it: a machine gets the version's voicemail treatment."""
        voicemail = self.config.voicemail
        started = self.clock.now()
        while self.clock.now() - started < AMD_WATCH_S:
            await self.clock.sleep(AMD_POLL_S)
            try:
                result = await self.store.answered_by()
            except Exception:
                self.log.warning("answered_by_read_failed", exc_info=True)
                continue
            decision, keep_watching = tt.answered_by(result, action=voicemail.action, message=voicemail.message)
            if decision is not None:
                self.log.info("answering_machine", answered_by=result, leave_message=bool(decision.message))
                self._decide(decision)
            if not keep_watching:
                return

    async def _end_call(self) -> None:
        """The agent hangs up: REST hang-up where the carrier wants one, then close the stream."""
        if self._ending:
            return
        await self.actions.hang_up()
        await self.finish(status="completed")
        with contextlib.suppress(Exception):
            await self.transport.close(1000)

    # ---- operators (live.supervision) --------------------------------------

    async def _on_command(self, message: dict[str, Any]) -> None:
        # Its own task: a hang-up finishes the session, which closes the link
        # whose receive loop delivered this message.
        task = asyncio.create_task(self.command(message), name="operator-command")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def command(self, message: dict[str, Any]) -> None:
        """An operator's command from the console: hang up, transfer now, or say a sentence at the next pause."""
        if self._ending:
            return
        command, actor = message.get("command"), str(message.get("actor") or "an operator")
        self.log.info("operator_command", command=command, actor=actor)
        if command == "hangup":
            self.ctx.disposition = "operator_hangup"
            # Stored by finish(), after the reply it cut off: the transcript reads in order.
            self._closing_turns.append(
                {"speaker": "system", "text": f"Hung up by {actor}", "data": {"operator": actor, "command": "hangup"}}
            )
            await self._end_call()
        elif command == "transfer":
            number = str(message.get("number") or "")
            self.ctx.disposition = "transferred"
            await self.actions.transfer(Transfer(number))
        elif command == "say":
            text = str(message.get("text") or "").strip()
            if text:
                self._say_next.append((text, actor))

    def _speak_injected(self) -> None:
        """The operator's sentences, now that nobody is talking; the transcript says who put them there."""
        pending, self._say_next = self._say_next, []
        for text, actor in pending:
            self.store.add_turn(
                speaker="system",
                text=f"{actor} had the agent say: {text}",
                data={"operator_injected": True, "operator": actor, "text": text},
            )
        self.replies.say([Speech(text) for text, _ in pending])

    def _listening(self, listening: bool) -> None:
        """The player hands its frames to listen-in only while someone listens (no call per frame otherwise)."""
        self.player.tap = self.supervision.on_agent_frame if listening else None

    def _live_view(self) -> LiveView:
        playing = self.player.playing
        newest = self.replies.open[-1] if self.replies.open else None
        return LiveView(
            speaking=playing.heard.text if playing is not None else "",
            heard=playing.heard.heard_text() if playing is not None else "",
            stages=dict(newest.timings) if newest is not None else {},
        )

    # ---- media in (synchronous, per 20 ms frame) --------------------------

    def on_media(self, payload: str) -> None:
        now = self.clock.now()
        frame, events, stream_ms, mulaw = self.listener.hear(payload)  # raises BadMediaPayload
        if self.supervision.listeners:  # the one check an unlistened call pays per frame
            self.supervision.on_caller_frame(mulaw)
        if self.recorder is not None:
            self.recorder.add_caller(frame.samples, now)
        if self._machine:
            return  # an answering machine: nothing it plays is a turn to answer
        for event in events:
            audible = self.player.audible()
            for decision in self.turn_taking.hear(event, now=now, stream_ms=stream_ms, agent_audible=audible):
                self._decide(decision)

    def on_mark(self, name: str) -> None:
        self.player.on_mark(name, self.clock.now())

    def on_dtmf(self, digit: str) -> None:
        self.turn_taking.activity(self.clock.now())
        self.ctx.variables["dtmf"] = str(self.ctx.variables.get("dtmf", "")) + digit
        self.store.add_turn(speaker="system", text=f"DTMF {digit}", data={"dtmf": digit})

    def _model_exchange(self, exchange: ModelExchange) -> None:
        """The brain's model I/O hook: the compliance log (a real store), and the reply's token counts."""
        if isinstance(self.store, CallStore):  # test stores record turns only
            self.store.add_model_exchange(exchange)
        self.replies.usage_reported(exchange.usage)

    def _words_heard(self, text: str) -> None:
        for decision in self.turn_taking.words(text, now=self.clock.now()):
            self._decide(decision)

    async def _hear_voice(self, audio: Samples) -> None:
        """Smart Turn on the utterance so far; its verdict joins the words' (a newer pause cancels this one)."""
        assert self.smart_turn is not None
        probability: float | None = None
        try:
            probability = await self.workers.call(self.smart_turn.probability, audio)
        except Exception:  # the words decide alone rather than the turn waiting for the longest hold
            self.log.warning("smart_turn_failed", exc_info=True)
        for decision in self.turn_taking.acoustic(probability):
            self._decide(decision)

    async def _check_overlap(self, audio: Samples) -> None:
        """A look at speech over the paused agent (the first 300 ms, or more of it later): real words cut it now."""
        prompt = backchannel_prompt(self.config.turn_taking.backchannel_words)  # most overlaps are backchannels
        text = await self.workers.transcribe(
            self.stt, audio, language=self.config.stt.language, priority=URGENT, prompt=prompt, quick=True
        )
        for decision in self.turn_taking.overlap_words(text, now=self.clock.now(), final=False):
            self._decide(decision)

    def _check_overlap_now(self) -> None:
        audio = self.listener.turns.audio_so_far()
        self._overlap_check = asyncio.create_task(self._check_overlap(audio), name="overlap-check")

    def _decide(self, decision: tt.Decision) -> None:
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
            self._machine = True
            self.ctx.disposition = "voicemail"
            self.replies.stop_all(self.clock.now())
            # Said after the beep as a reply of its own; with no message, only the hang-up.
            message = render_template(decision.message, self.ctx.variables)
            self.replies.say([Speech(message)] if message else [], hangup="voicemail")
        elif isinstance(decision, tt.GiveUp):
            self.ctx.disposition = self.ctx.disposition or decision.disposition
            self.replies.say([Speech(decision.message), Hangup(self.ctx.disposition)])
