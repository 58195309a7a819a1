"""One live call: caller audio in, turn-taking, STT, brain, TTS, paced audio out, barge-in.

The consumer owns the socket and the protocol; this session owns the call. The
media path (`on_media`) is synchronous and cheap: decode, resample, VAD and
the turn detector run inline for each 20 ms frame. Everything slow (Whisper,
the brain, Piper, the database) runs in tasks and worker threads so frames
keep flowing.

Latency: a caller turn ends after `end_of_turn_silence_ms` of silence, but the
engine does not wait idle for it. After SPECULATIVE_PAUSE_MS of silence it
starts a reply job: STT, then (for brains that declare `speculative_safe`)
the brain and the first TTS chunk, all held back. When the end-of-turn
silence completes the job is committed and its audio goes out at once; if the
caller speaks again first, the job is thrown away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from agents.brains.base import Brain, BrainOutput, CallContext, Hangup, SendDigits, Speech, ToolUse, Transfer
from agents.brains.config import AgentConfig
from agents.brains.sentences import split_sentences
from live.pipeline.bargein import BargeInDetector, is_backchannel
from live.pipeline.frames import (
    Samples,
    UserSpeaking,
    UserSpeechPaused,
    UserSpeechResumed,
    UserSpeechStarted,
    UserTurnEnded,
)
from live.pipeline.heard import HeardTracker
from live.pipeline.inbound import MODEL_RATE, TWILIO_RATE, MediaDecoder, Resampler
from live.pipeline.outbound import MediaMessages, OutboundEncoder
from live.pipeline.pacer import FRAME_MS, FramePacer
from live.pipeline.turns import TurnDetector
from live.pipeline.vad import VadProcessor
from live.recording import StereoRecorder
from live.speech.base import SpeechToText, TextToSpeech

log = structlog.get_logger(__name__)

# Models run here, never on the event loop. Two pools so a burst of
# transcriptions cannot hold back the synthesis of a reply already decided.
STT_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="stt")
TTS_POOL = ThreadPoolExecutor(max_workers=settings.ENGINE_THREADS, thread_name_prefix="tts")


class Transport:
    """What the session needs from the socket (the consumer implements it)."""

    async def send_json(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        """A message already serialised (the media frames, built from a prebuilt head)."""
        raise NotImplementedError

    async def close(self, code: int) -> None:
        raise NotImplementedError


@dataclass
class CallActions:
    """Side effects on the live call through Twilio's REST API (replaceable for the console's browser calls)."""

    hangup: Callable[[str], None]
    update_twiml: Callable[[str, str], None]
    use_rest_for_hangup: bool


def default_actions() -> CallActions:
    from telephony.rest import twilio_hangup, twilio_update_twiml

    # Closing the media socket ends a <Connect><Stream> call by itself; the REST
    # hang-up is for a real account (or the built-in simulated carrier).
    use_rest = bool(settings.TWILIO_AUTH_TOKEN) or bool(getattr(settings, "SIMULATED_CARRIER", False))
    return CallActions(hangup=twilio_hangup, update_twiml=twilio_update_twiml, use_rest_for_hangup=use_rest)


@dataclass
class ReplyJob:
    """One agent reply: to a caller utterance (or the greeting), held until committed."""

    caller_text: str | None  # None for the greeting and reminders
    speech_end_at: float  # monotonic time the caller stopped speaking (or the job started)
    audio: Samples | None = None
    fixed_outputs: list[BrainOutput] | None = None  # reminders: no brain involved
    overlapped_agent: bool = False
    committed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    timings: dict[str, int] = field(default_factory=dict)
    heard: HeardTracker = field(default_factory=HeardTracker)
    started_playing: bool = False
    finished: bool = False
    turn_started_at: datetime | None = None
    marks: set[str] = field(default_factory=set)
    all_marks_acked: asyncio.Event = field(default_factory=asyncio.Event)
    action: BrainOutput | None = None  # Hangup / Transfer / SendDigits to run after playback

    def stamp(self, name: str) -> None:
        if name not in self.timings:
            self.timings[name] = round((time.monotonic() - self.speech_end_at) * 1000)


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
    ) -> None:
        self.call_id = call_id
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.config = config
        self.ctx = ctx
        self.brain = brain
        self.stt = stt
        self.tts = tts
        self.transport = transport
        self.actions = actions or default_actions()
        self.resumed = resumed
        self.log = log.bind(call_id=str(call_id), call_sid=call_sid)
        tt = config.turn_taking
        self.decoder = MediaDecoder()
        self.resampler = Resampler(TWILIO_RATE, MODEL_RATE)
        self.vad = VadProcessor()
        self.turns = TurnDetector(
            end_of_turn_ms=tt.end_of_turn_silence_ms,
            pause_ms=min(settings.SPECULATIVE_PAUSE_MS, tt.end_of_turn_silence_ms),
        )
        self.bargein = BargeInDetector(min_ms=tt.barge_in_min_ms, enabled=tt.interruptible)
        self.recorder = StereoRecorder() if config.recording.enabled else None
        # One encoder for every sentence: flush() leaves it as new, and a
        # sentence is encoded and flushed with no await in between, so replies
        # being prepared side by side never interleave in it.
        self.encoder = OutboundEncoder(tts.sample_rate)
        self.media_messages = MediaMessages(stream_sid)
        self.pacer = FramePacer(
            send_frame=self._send_frame,
            send_mark=self._send_mark,
            lead_ms=settings.MEDIA_LEAD_MS,
            on_frame_sent=self._frame_sent,
        )
        self.started_at = time.monotonic()
        self.last_activity = self.started_at
        self.reminders_sent = 0
        self.pending: ReplyJob | None = None  # speculative or committed, not yet playing
        self.playing: ReplyJob | None = None  # owns the outgoing audio
        self._mark_owner: dict[str, ReplyJob] = {}
        self._mark_seq = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._db_queue: asyncio.Queue[Callable[[], Any] | None] = asyncio.Queue()
        self._db_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._ending = False
        # Set once Twilio was told to run new TwiML that reconnects a stream
        # (DTMF): the stop on this stream then ends the stream, not the call.
        self.stream_replaced = False
        self.finished = asyncio.Event()
        self.barge_ins = 0

    # ---- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        self.pacer.start()
        self._db_task = asyncio.create_task(self._db_writer(), name="call-db-writer")
        self._ticker = asyncio.create_task(self._tick(), name="call-ticker")
        if self.resumed:
            return
        outputs: list[BrainOutput] = []
        if self.config.recording.enabled and self.config.recording.notice:
            outputs.append(Speech(self.config.recording.notice))
        if self.config.first_speaker == "agent" or outputs:
            job = ReplyJob(caller_text=None, speech_end_at=time.monotonic(), fixed_outputs=outputs)
            job.committed.set()
            self._start_job(job, greeting=self.config.first_speaker == "agent")

    async def finish(self, *, status: str = "completed", reason: str = "") -> None:
        """End the session once: stop audio work, store the last turn and the recording, set the status."""
        if self._ending:
            await self.finished.wait()
            return
        self._ending = True
        # finish() may run inside one of these tasks (a hang-up, the max-duration
        # timer): cancelling that one would abort the finish itself.
        current = asyncio.current_task()
        for job in (self.pending, self.playing):
            if job is not None and job.task is not None and job.task is not current:
                job.task.cancel()
        if self.playing is not None and self.playing.started_playing and not self.playing.finished:
            self._finalize_agent_turn(self.playing, interrupted=True, at=time.monotonic())
        for task in [self._ticker, *self._tasks]:
            if task is not None and task is not current:
                task.cancel()
        await self.pacer.close()
        recording_path = ""
        if self.recorder is not None:
            relative = Path("recordings") / f"{self.call_id}.wav"
            try:
                await asyncio.to_thread(self.recorder.write, Path(settings.MEDIA_ROOT) / relative)
                recording_path = str(relative)
            except OSError:
                self.log.exception("recording_write_failed")
        disposition = self.ctx.disposition
        if self.stream_replaced and status == "completed":
            status = ""  # the call goes on over the new stream, which resumes it
        variables = dict(self.ctx.variables)
        self._db(lambda: _store_end(self.call_id, status, reason, disposition, recording_path, variables))
        self._db_queue.put_nowait(None)
        if self._db_task is not None:
            with contextlib.suppress(Exception):
                await self._db_task
        self.log.info("call_session_finished", status=status, reason=reason, disposition=disposition)
        self.finished.set()

    async def _tick(self) -> None:
        silence = self.config.silence
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if now - self.started_at >= self.config.max_duration_s:
                self.log.info("call_max_duration")
                self.ctx.disposition = self.ctx.disposition or "max_duration"
                await self._end_call()
                return
            busy = self.pending is not None or self.playing is not None or self.turns.active
            if busy or self.pacer.audible() or now - self.last_activity < silence.reminder_after_s:
                continue
            self.last_activity = now
            if self.reminders_sent < silence.hangup_after_reminders and silence.reminders:
                text = silence.reminders[self.reminders_sent % len(silence.reminders)]
                self.reminders_sent += 1
                outputs: list[BrainOutput] = [Speech(text)]
            else:
                self.ctx.disposition = self.ctx.disposition or "no_response"
                outputs = [Speech(silence.hangup_message), Hangup(self.ctx.disposition)]
            job = ReplyJob(caller_text=None, speech_end_at=now, fixed_outputs=outputs)
            job.committed.set()
            self._start_job(job)

    async def _end_call(self) -> None:
        """The agent hangs up: REST hang-up where an account is configured, then close the stream."""
        if self._ending:
            return
        if self.actions.use_rest_for_hangup and self.call_sid:
            try:
                await asyncio.to_thread(self.actions.hangup, self.call_sid)
            except Exception:
                self.log.warning("twilio_hangup_failed", exc_info=True)
        await self.finish(status="completed")
        with contextlib.suppress(Exception):
            await self.transport.close(1000)

    # ---- media in (synchronous, per 20 ms frame) --------------------------

    def on_media(self, payload: str) -> None:
        now = time.monotonic()
        frame = self.decoder.process(payload)  # raises BadMediaPayload
        if self.recorder is not None:
            self.recorder.add_caller(frame.samples, now)
        frame16 = self.resampler.process(frame)
        windows = self.vad.process(frame16)
        for event in self.turns.process(frame16, windows):
            if isinstance(event, UserSpeechStarted):
                self.last_activity = now
                self.bargein.set_agent_speaking(self.pacer.audible())
                self.bargein.process(event)
            elif isinstance(event, UserSpeaking):
                self.last_activity = now
                self.bargein.set_agent_speaking(self.pacer.audible(), event.speech_ms)
                if self.bargein.process(event) is not None:
                    self._barge_in(now)
            elif isinstance(event, UserSpeechPaused):
                self._speculate(event.audio, self._wall(event.speech_end_ms, frame.t_ms + FRAME_MS, now))
            elif isinstance(event, UserSpeechResumed):
                self._discard_pending("caller resumed")
            elif isinstance(event, UserTurnEnded):
                self.last_activity = now
                self.reminders_sent = 0
                self._commit(event.audio, self._wall(event.speech_end_ms, frame.t_ms + FRAME_MS, now))

    @staticmethod
    def _wall(stream_ms: float, stream_now_ms: float, now: float) -> float:
        """Monotonic time of a stream instant (media arrives in real time)."""
        return now - max(0.0, stream_now_ms - stream_ms) / 1000.0

    def on_mark(self, name: str) -> None:
        now = time.monotonic()
        job = self._mark_owner.pop(name, None)
        if job is None:
            return
        job.stamp("first_mark_acknowledged")
        job.heard.mark_acked(name, now)
        job.marks.discard(name)
        if not job.marks:
            job.all_marks_acked.set()

    def on_dtmf(self, digit: str) -> None:
        self.last_activity = time.monotonic()
        self.ctx.variables["dtmf"] = str(self.ctx.variables.get("dtmf", "")) + digit
        self._db(lambda: _add_turn(self.call_id, speaker="system", text=f"DTMF {digit}", data={"dtmf": digit}))

    # ---- turns ---------------------------------------------------------

    def _speculate(self, audio: Samples, speech_end_at: float) -> None:
        self._discard_pending("new pause")
        self._start_caller_job(audio, speech_end_at)

    def _commit(self, audio: Samples, speech_end_at: float) -> None:
        job = self.pending
        if job is None or job.committed.is_set():
            job = self._start_caller_job(audio, speech_end_at)
        job.committed.set()

    def _start_caller_job(self, audio: Samples, speech_end_at: float) -> ReplyJob:
        """A reply to the caller's utterance: transcribed first, so its text is not known yet."""
        job = ReplyJob(
            caller_text="",
            speech_end_at=speech_end_at,
            audio=audio,
            overlapped_agent=self.bargein.overlapped and not self.bargein.fired,
        )
        self._start_job(job)
        return job

    def _discard_pending(self, why: str) -> None:
        job = self.pending
        if job is not None and not job.committed.is_set():
            self.log.debug("speculation_discarded", why=why)
            if job.task is not None:
                job.task.cancel()
            self.pending = None

    def _start_job(self, job: ReplyJob, *, greeting: bool = False) -> None:
        self.pending = job
        job.task = asyncio.create_task(self._run_job(job, greeting=greeting), name="reply-job")

    def _barge_in(self, now: float) -> None:
        job = self.playing
        if job is None:
            return
        self.barge_ins += 1
        self.log.info("barge_in", heard=job.heard.heard_text(interrupted_at=now))
        self._interrupt(job, now)

    def _interrupt(self, job: ReplyJob, now: float) -> None:
        """Cut off the reply that is playing: drop its unsent audio, store what was heard, stop its task."""
        self._clear_playback(now)
        self._finalize_agent_turn(job, interrupted=True, at=now)
        if job.task is not None:
            job.task.cancel()

    def _clear_playback(self, now: float) -> None:
        for mark in self.pacer.clear():
            self._mark_owner.pop(mark, None)
        if self.recorder is not None:
            self.recorder.cut_agent(now)
        self._spawn(self.transport.send_json({"event": "clear", "streamSid": self.stream_sid}))

    async def _run_job(self, job: ReplyJob, *, greeting: bool) -> None:
        try:
            await self._produce(job, greeting=greeting)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception("reply_failed")
            if self.playing is job and not job.finished:
                self._finalize_agent_turn(job, interrupted=False, at=time.monotonic())
        finally:
            if self.pending is job:
                self.pending = None
            if self.playing is job:
                self.playing = None

    async def _produce(self, job: ReplyJob, *, greeting: bool) -> None:
        loop = asyncio.get_running_loop()
        if job.audio is not None:
            queued_at = time.monotonic()
            job.caller_text = await loop.run_in_executor(STT_POOL, self.stt.transcribe, job.audio)
            job.stamp("stt_done")
            self.log.debug(
                "stt_finished",
                started_ms=round((queued_at - job.speech_end_at) * 1000),
                took_ms=round((time.monotonic() - queued_at) * 1000),
                audio_s=round(len(job.audio) / MODEL_RATE, 2),
            )
        if not getattr(self.brain, "speculative_safe", False) or job.fixed_outputs is not None:
            await job.committed.wait()
        caller_text = job.caller_text
        if job.audio is not None:
            if not caller_text:
                await job.committed.wait()
                self.log.info("utterance_empty")
                return
            backchannel = is_backchannel(caller_text, self.config.turn_taking.backchannel_words)
            if job.overlapped_agent and self.playing is not None and backchannel:
                await job.committed.wait()
                self.log.info("backchannel_ignored", text=caller_text)
                return
        outputs: AsyncIterator[BrainOutput]
        if job.fixed_outputs is not None:
            outputs = _iterate(job.fixed_outputs)
            if greeting:
                outputs = _chain(outputs, self.brain.greeting(self.ctx))
        else:
            assert caller_text is not None
            outputs = self.brain.reply(self.ctx, caller_text)
        async for output in outputs:
            if isinstance(output, Speech):
                job.stamp("first_brain_text")
                for sentence in split_sentences(output.text):
                    audio = await self._synthesize(sentence)
                    job.stamp("first_tts_audio")
                    frames = self.encoder.process(audio) + self.encoder.flush()
                    await job.committed.wait()
                    self._begin_playing(job)
                    self._queue_chunk(job, sentence, frames)
            elif isinstance(output, ToolUse):
                await job.committed.wait()
                self._begin_playing(job)
                data = {"name": output.name, "arguments": output.arguments, "result": output.result}
                self._db(lambda d=data: _add_turn(self.call_id, speaker="tool", text=d["name"], data=d))  # type: ignore[misc]
            elif isinstance(output, Hangup | Transfer | SendDigits):
                job.action = output
                break
        await job.committed.wait()
        self._begin_playing(job)
        # Let the caller hear the whole reply before the turn (or the call) ends.
        if job.marks:
            remaining = max(0.0, self.pacer.playback_end - time.monotonic())
            remaining += self.pacer.queued_frames * FRAME_MS / 1000.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.all_marks_acked.wait(), timeout=remaining + 3.0)
        self._finalize_agent_turn(job, interrupted=False, at=time.monotonic())
        self.playing = None
        if job.action is not None:
            await self._act(job.action)

    async def _synthesize(self, text: str) -> Samples:
        def run() -> Samples:
            chunks = list(self.tts.synthesize(text))
            return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

        return await asyncio.get_running_loop().run_in_executor(TTS_POOL, run)

    def _begin_playing(self, job: ReplyJob) -> None:
        if job.started_playing:
            return
        job.started_playing = True
        job.turn_started_at = timezone.now()
        if self.pending is job:
            self.pending = None
        previous = self.playing
        if previous is not None and previous is not job and not previous.finished:
            # A new committed reply replaces one still playing (the caller spoke over it).
            self._interrupt(previous, time.monotonic())
        self.playing = job
        if job.caller_text:
            self.log.info("caller_turn", text=job.caller_text, timings=job.timings)
            text = job.caller_text
            self._db(lambda: _add_turn(self.call_id, speaker="caller", text=text))

    def _queue_chunk(self, job: ReplyJob, text: str, frames: list[bytes]) -> None:
        if not frames:
            return
        self._mark_seq += 1
        mark = f"m{self._mark_seq}"
        job.heard.add_chunk(text=text, mark=mark, duration_s=len(frames) * FRAME_MS / 1000.0)
        job.marks.add(mark)
        job.all_marks_acked.clear()
        self._mark_owner[mark] = job
        self.pacer.push_frames(frames)
        self.pacer.push_mark(mark)

    def _finalize_agent_turn(self, job: ReplyJob, *, interrupted: bool, at: float) -> None:
        if job.finished:
            return
        job.finished = True
        self.last_activity = time.monotonic()
        text = job.heard.text
        heard = job.heard.heard_text(interrupted_at=at if interrupted else None)
        for mark in list(job.marks):
            self._mark_owner.pop(mark, None)
        if job.caller_text:
            self.ctx.history.append({"role": "user", "content": job.caller_text})
        if heard:
            self.ctx.history.append({"role": "assistant", "content": heard})
        if not text:
            return
        timings = dict(job.timings)
        started = job.turn_started_at
        self.log.info("agent_turn", text=text, heard=heard, interrupted=interrupted, timings=timings)
        self._db(
            lambda: _add_turn(
                self.call_id,
                speaker="agent",
                text=text,
                heard_text=heard,
                interrupted=interrupted,
                started_at=started,
                ended_at=timezone.now(),
                timings=timings,
            )
        )

    async def _act(self, action: BrainOutput) -> None:
        if isinstance(action, Hangup):
            self.ctx.disposition = action.disposition or self.ctx.disposition
            await self._end_call()
        elif isinstance(action, Transfer):
            from telephony.twiml import dial_twiml

            self.ctx.disposition = self.ctx.disposition or "transferred"
            await self._rest_update(
                dial_twiml(action.number), f"Transferred to {action.number}", {"transfer": action.number}
            )
        elif isinstance(action, SendDigits):
            # Media Streams cannot carry DTMF: play the digits through TwiML, then
            # connect a new stream to the same call (the new session resumes it).
            from telephony.twiml import answer_twiml_for

            twiml = answer_twiml_for(self.call_id, play_digits=action.digits)
            if await self._rest_update(twiml, f"Sent digits {action.digits}", {"digits": action.digits}):
                self.stream_replaced = True

    async def _rest_update(self, twiml: str, note: str, data: dict[str, Any]) -> bool:
        ok = True
        try:
            await asyncio.to_thread(self.actions.update_twiml, self.call_sid, twiml)
        except Exception as exc:
            self.log.warning("twilio_update_failed", note=note, exc_info=True)
            note = f"{note} failed: {exc}"
            ok = False
        self._db(lambda: _add_turn(self.call_id, speaker="system", text=note, data=data))
        return ok

    # ---- media out -------------------------------------------------------

    async def _send_frame(self, frame: bytes) -> None:
        await self.transport.send_text(self.media_messages.text(frame))

    async def _send_mark(self, name: str) -> None:
        await self.transport.send_json({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def _frame_sent(self, frame: bytes, at: float) -> None:
        job = self.playing
        if job is not None:
            job.stamp("first_frame_sent")
            job.heard.first_frame_sent(max(at, self.pacer.playback_end - FRAME_MS / 1000.0))
        if self.recorder is not None:
            self.recorder.add_agent(frame, self.pacer.playback_end - FRAME_MS / 1000.0)

    # ---- plumbing --------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _db(self, write: Callable[[], Any]) -> None:
        """Queue a database write; they run in order, off the media path."""
        self._db_queue.put_nowait(write)

    async def _db_writer(self) -> None:
        while True:
            write = await self._db_queue.get()
            if write is None:
                return
            try:
                await database_sync_to_async(write)()
            except Exception:
                self.log.exception("call_db_write_failed")


async def _iterate(outputs: list[BrainOutput]) -> AsyncIterator[BrainOutput]:
    for output in outputs:
        yield output


async def _chain(*streams: AsyncIterator[BrainOutput]) -> AsyncIterator[BrainOutput]:
    for stream in streams:
        async for output in stream:
            yield output


def _add_turn(call_id: uuid.UUID, **fields: Any) -> None:
    from calls.services import call_add_turn

    call_add_turn(call_id=call_id, **fields)


def _store_end(
    call_id: uuid.UUID, status: str, reason: str, disposition: str, recording: str, variables: dict[str, Any]
) -> None:
    from live.store import call_store_outcome

    call_store_outcome(
        call_id=call_id,
        disposition=disposition,
        recording=recording,
        variables=variables,
        status=status,
        reason=reason,
    )
