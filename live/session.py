"""One live call: caller audio in, turn taking, replies, paced audio out, actions, storage.

The consumer owns the socket and the protocol; the session only wires the
parts that own the call: the caller's pipeline (live.pipeline), turn taking
(live.turn_taking, a pure state machine) and its decisions carried out
(live.decisions), reply jobs (live.replies), the player (live.player), call
actions (live.actions), operators' commands (live.operators) and the
database edge (live.store). Media frames are handled inline and cheaply
(`on_media`); everything slow runs in tasks and worker threads. Time comes
from one injectable clock (tests pass a virtual one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid

import structlog

from agents.brains.base import Brain, CallContext
from agents.brains.config import AgentConfig
from live import turn_taking as tt
from live.actions import NO_CARRIER, ActionRunner, CallActions
from live.clock import SYSTEM_CLOCK, Clock
from live.decisions import Decisions
from live.operators import OperatorDesk
from live.parts import CallParts
from live.pipeline.vad import VadProcessor
from live.player import Player, Transport
from live.recording import StereoRecorder, save_recording
from live.replies import Replies
from live.speaker import speaker_now
from live.speech.base import SpeechToText, TextToSpeech
from live.speech.smart_turn import TurnModel
from live.store import CallStore, TurnStore
from live.supervision import ChannelLayerLink
from live.workers import ThreadWorkers, Workers

log = structlog.get_logger(__name__)
TICK_S = 0.25  # how often silence and the maximum duration are checked

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
        self.config, self.ctx, self.transport, self.resumed, self.clock = config, ctx, transport, resumed, clock
        self.log = log.bind(call_id=str(call_id), call_sid=call_sid)
        self.store = store or CallStore(call_id, privacy=config.privacy)
        self.workers = workers or ThreadWorkers()
        self.recorder = StereoRecorder() if config.recording.enabled else None
        self.player = Player(
            stream_sid=stream_sid, transport=transport, sample_rate=tts.sample_rate, clock=clock, recorder=self.recorder
        )
        parts = CallParts(
            ctx=ctx, config=config, store=self.store, player=self.player, workers=self.workers, stt=stt, log=self.log
        )
        self.actions = ActionRunner(
            parts=parts, actions=actions or NO_CARRIER, call_sid=call_sid, end_call=self._end_call
        )
        # Replies and turn taking answer each other: a reply's words go to turn taking, its end restarts the silence.
        self.replies = Replies(
            parts=parts,
            brain=brain,
            tts=tts,
            on_turn_over=lambda now: self.turn_taking.activity(now),
            on_action=self.actions.run,
            on_words=lambda text: self.decisions.words_heard(text),
        )
        self.decisions = Decisions(parts=parts, replies=self.replies, vad=vad, smart_turn=smart_turn)
        self.listener, self.turn_taking = self.decisions.listener, self.decisions.turn_taking
        self.operators = OperatorDesk(
            parts=parts,
            call_id=call_id,
            replies=self.replies,
            actions=self.actions,
            end_call=self._end_call,
            ending=lambda: self._ending,
        )
        self.supervision = self.operators.supervision
        self._link = ChannelLayerLink(self.supervision) if supervised else None
        self._ticker: asyncio.Task[None] | None = None
        self._ending, self.finished = False, asyncio.Event()

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
            self.decisions.watch_answered_by(self.store)
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
        self.decisions.cancel()  # and the answering-machine watch
        await self.replies.close(self.clock.now())  # and the brain (an LLM brain's HTTP client)
        self.operators.store_closing_turns()
        await self.player.close()
        if self.actions.stream_replaced and status == "completed":
            status = ""  # the call goes on over the new stream, which resumes it
        recording_path = ""
        if self.recorder is not None:
            save = functools.partial(save_recording, resumed=self.resumed, call_over=bool(status))
            recording_path = await self.workers.call(save, self.recorder, self.call_id)
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
            speaking, audible, replying = self.listener.caller_speaking, self.player.audible(), self.replies.busy
            self.supervision.on_speaker(speaker_now(caller_speaking=speaking, agent_audible=audible))
            decisions = self.turn_taking.tick(
                self.clock.now(), caller_speaking=speaking, replying=replying, agent_audible=audible
            )
            if not replying and not speaking:
                self.operators.at_pause()
            if any(isinstance(decision, tt.MaxDuration) for decision in decisions):
                self.log.info("call_max_duration")
                self.ctx.disposition = self.ctx.disposition or "max_duration"
                return await self._end_call()
            self.decisions.run(decisions)

    async def _end_call(self) -> None:
        """The agent hangs up: REST hang-up where the carrier wants one, then close the stream."""
        if self._ending:
            return
        await self.actions.hang_up()
        await self.finish(status="completed")
        with contextlib.suppress(Exception):
            await self.transport.close(1000)

    # ---- media in (synchronous, per 20 ms frame) --------------------------

    def on_media(self, payload: str) -> None:
        now = self.clock.now()
        frame, events, stream_ms, mulaw = self.listener.hear(payload)  # raises BadMediaPayload
        if self.supervision.listeners:  # the one check an unlistened call pays per frame
            self.supervision.on_caller_frame(mulaw)
        if self.recorder is not None:
            self.recorder.add_caller(frame.samples, now)
        if self.decisions.machine:
            return  # an answering machine: nothing it plays is a turn to answer
        for event in events:
            audible = self.player.audible()
            self.decisions.run(self.turn_taking.hear(event, now=now, stream_ms=stream_ms, agent_audible=audible))

    def on_mark(self, name: str) -> None:
        self.player.on_mark(name, self.clock.now())

    def on_dtmf(self, digit: str) -> None:
        self.turn_taking.activity(self.clock.now())
        self.ctx.variables["dtmf"] = str(self.ctx.variables.get("dtmf", "")) + digit
        self.store.add_turn(speaker="system", text=f"DTMF {digit}", data={"dtmf": digit})
