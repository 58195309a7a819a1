"""Reply jobs: STT, then the brain, then each sentence through TTS into the player, held until committed.

A job answers one caller utterance (or speaks the greeting, a reminder, a
goodbye). Jobs open in turn order; the session starts, commits, discards and
interrupts them as turn taking decides (live.turn_taking).

Held until committed. A job that starts at the caller's pause transcribes at
once; a brain that declares `speculative_safe` also gets its question and the
first sentence is synthesised, all held in the job's Playback. The commit at
the end of the turn lets it play; the caller going on throws it away.

One order for the conversation. A job asks the brain only once every earlier
reply is settled: finished, or cut off by this very turn (a caller turn that
comes while an earlier reply is still playing or still being prepared ends
that reply there: without a barge-in, it is the caller's finished turn that
does). So `ctx.history` always reads caller turn, then what the caller heard
of the answer, in the order they happened, and every prompt holds every
earlier turn; the brain gets its own caller text as an argument, and the job
puts it into the history when its turn is over. (The engine used to settle a
reply only when it stopped playing, so a caller who spoke over a reply got
an answer built without their previous turn, and two replies that overlapped
went into the history in the order they finished.) A job that may be thrown
away runs the brain early only when nothing earlier is open, for the same
reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.utils import timezone

from agents.brains.base import Brain, BrainOutput, Hangup, ModelExchange, SendDigits, Speech, ToolUse, Transfer
from agents.brains.config import AgentConfig
from agents.brains.sentences import split_sentences
from agents.brains.speakable import speakable_text
from agents.brains.templating import render_template
from live.clock import Clock
from live.parts import CallParts
from live.pipeline.bargein import backchannel_prompt, is_backchannel, unsure
from live.pipeline.frames import Samples
from live.pipeline.inbound import MODEL_RATE
from live.player import Playback
from live.speech.base import TextToSpeech
from live.store import CallStore
from live.workers import LATER, SPECULATIVE, URGENT

# The reply whose task is running: the brain reports its token usage from inside that task.
_REPLYING: ContextVar[ReplyJob | None] = ContextVar("replying", default=None)


class ReplyJob:
    def __init__(
        self,
        *,
        clock: Clock,
        speech_end_at: float,
        caller_text: str | None,  # None: not an answer to the caller (greeting, reminder); "" until transcribed
        audio: Samples | None = None,
        fixed_outputs: list[BrainOutput] | None = None,  # said as they are, no brain involved
        greeting: bool = False,
        overlapped_agent: bool = False,
    ) -> None:
        self.clock = clock
        self.speech_end_at = speech_end_at
        self.caller_text = caller_text
        self.audio = audio
        self.fixed_outputs = fixed_outputs
        self.greeting = greeting
        self.overlapped_agent = overlapped_agent
        self.committed = asyncio.Event()
        self.known = asyncio.Event()  # transcribed and checked: whether it will answer is known
        self.answers = True  # False: nothing was said, or only a backchannel over the agent
        self.settled = False  # every earlier reply is over; its caller turn is stored
        self.started_playing = False
        self.finished = False
        self.task: asyncio.Task[None] | None = None
        self.timings: dict[str, int] = {}
        self.turn_started_at: datetime | None = None
        self.action: BrainOutput | None = None  # Hangup / Transfer / SendDigits, run after playback
        self.playback = Playback(self.stamp)
        self.sentences = 0  # sentences sent to synthesis so far
        self.usage: dict[str, int] = {}  # the language model's token counts for this reply

    def urgency(self) -> int:
        """Its place in the model queues: held work waits behind every call's committed work."""
        return URGENT if self.committed.is_set() else SPECULATIVE

    def stamp(self, name: str) -> None:
        if name not in self.timings:
            self.timings[name] = round((self.clock.now() - self.speech_end_at) * 1000)


class Replies:
    def __init__(
        self,
        *,
        parts: CallParts,
        brain: Brain,
        tts: TextToSpeech,
        on_turn_over: Callable[[float], None],
        on_action: Callable[[BrainOutput], Awaitable[None]],
        on_words: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx, self.config, self.stt, self.store = parts.ctx, parts.config, parts.stt, parts.store
        self.log, self.workers, self.player, self.clock = parts.log, parts.workers, parts.player, parts.clock
        self.brain, self.tts = brain, tts
        self.ctx.on_model_exchange = self.model_exchanged
        self.on_turn_over, self.on_action = on_turn_over, on_action
        self.on_words = on_words  # a held reply's transcript, for turn taking to judge
        self.open: list[ReplyJob] = []  # in turn order; only the last may be uncommitted
        # Tokens a discarded speculation was billed for: the next stored agent turn carries them, so cost counts them.
        self.discarded_usage: dict[str, int] = {}
        self._last_commit: ReplyJob | None = None  # the newest caller turn's answer (see withdraw)
        self.barge_ins = 0

    @property
    def busy(self) -> bool:
        return bool(self.open)

    # ---- what turn taking decided ------------------------------------------------

    def open_call(self) -> None:
        """The recording notice and the greeting, whichever the agent has."""
        notice = recording_notice(self.config)
        outputs: list[BrainOutput] = [Speech(notice)] if notice else []
        if self.config.first_speaker == "agent" or outputs:
            self.say(outputs, greeting=self.config.first_speaker == "agent")

    def speculate(self, audio: Samples, speech_end_at: float, overlapped_agent: bool) -> None:
        self.discard("new pause")
        self._start(self._caller_job(audio, speech_end_at, overlapped_agent))

    def commit(self, audio: Samples, speech_end_at: float, overlapped_agent: bool) -> None:
        job = self._held() or self._start(self._caller_job(audio, speech_end_at, overlapped_agent))
        job.committed.set()
        self._last_commit = job
        job.stamp("end_of_turn")  # when turn taking decided the caller had finished (analytics' first stage)
        if job.playback.has_audio and self.open[0] is job:
            self._begin_playing(job)  # prepared early: it plays now, not at its task's next step

    def discard(self, reason: str) -> None:
        job = self._held()
        if job is not None:
            self.log.debug("speculation_discarded", why=reason)
            if job.task is not None:
                job.task.cancel()
            # Only what the server reported: a stream cut before its usage chunk leaves no count to carry.
            _add_usage(self.discarded_usage, job.usage)
            self._close(job)

    def withdraw(self) -> bool:
        """The caller went on before hearing the newest answer: take it back if nothing depends on it yet.

        Nothing does while it is unsettled: it has not started playing, its
        caller turn is not stored, and the brain was asked only if it is
        speculative-safe (one that is not, a flow that moves on or an LLM
        that may run a tool, is asked after the job settles). Then the caller
        turn and the answer never happened, and the turn goes on. Returns
        whether it was taken back.
        """
        job = self._last_commit  # the answer to that turn, not an earlier one still open
        if job is None or job not in self.open or job.caller_text is None or job.settled or job.finished:
            return False
        self.log.info("answer_withdrawn", caller_text=job.caller_text)
        if job.task is not None:
            job.task.cancel()
        _add_usage(self.discarded_usage, job.usage)  # billed all the same
        self._close(job)
        return True

    def say(self, outputs: list[BrainOutput], *, greeting: bool = False, hangup: str = "") -> None:
        """A committed reply with fixed words (and the brain's greeting after them when `greeting`).

        `hangup`: a disposition; the call ends with it once the words have been heard.
        """
        if hangup:
            outputs = [*outputs, Hangup(hangup)]
        job = ReplyJob(
            clock=self.clock, speech_end_at=self.clock.now(), caller_text=None, fixed_outputs=outputs, greeting=greeting
        )
        job.committed.set()
        self._start(job)

    def stop_all(self, now: float) -> None:
        """Every open reply ends here (the one playing keeps what was heard of it): the call takes another turn."""
        for job in list(self.open):
            self._interrupt(job, now)

    def barge_in(self, now: float) -> None:
        job = next((j for j in self.open if j.playback is self.player.playing), None)
        if job is None:
            return
        self.barge_ins += 1
        self.log.info("barge_in", heard=job.playback.heard.heard_text(interrupted_at=now))
        self._interrupt(job, now)

    async def close(self, now: float) -> None:
        """The call is over: stop every job (the one playing keeps what was heard of it), then close the brain."""
        current = asyncio.current_task()
        for job in list(self.open):
            if job.started_playing:
                self._finalize(job, interrupted=True, at=now)
            if job.task is not None and job.task is not current:
                job.task.cancel()
            self._close(job)
        aclose = getattr(self.brain, "aclose", None)  # every brain has one; a stand-in in a test may not
        if aclose is not None:
            try:
                await aclose()  # the LLM brain's HTTP client, for one
            except Exception:
                self.log.warning("brain_close_failed", exc_info=True)

    # ---- a job's life --------------------------------------------------------------

    def _caller_job(self, audio: Samples, speech_end_at: float, overlapped_agent: bool) -> ReplyJob:
        job = ReplyJob(clock=self.clock, speech_end_at=speech_end_at, caller_text="", audio=audio)
        job.overlapped_agent = overlapped_agent
        return job

    def _start(self, job: ReplyJob) -> ReplyJob:
        self.open.append(job)
        job.task = asyncio.create_task(self._run(job), name="reply-job")
        return job

    def _held(self) -> ReplyJob | None:
        job = self.open[-1] if self.open else None
        return job if job is not None and not job.committed.is_set() else None

    async def _run(self, job: ReplyJob) -> None:
        _REPLYING.set(job)  # this task's own context: the brain's usage reports land on this reply
        try:
            await self._produce(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception("reply_failed")
            if job.started_playing:
                self._finalize(job, interrupted=False, at=self.clock.now())
        finally:
            job.known.set()
            self._close(job)

    async def _produce(self, job: ReplyJob) -> None:
        if job.audio is not None:
            await self._transcribe(job)
        job.known.set()
        if not job.answers:
            await job.committed.wait()  # held, so the end of the turn does not start a second job
            return
        may_run_early = (
            getattr(self.brain, "speculative_safe", False) and job.fixed_outputs is None and self.open[0] is job
        )
        if not may_run_early:
            await job.committed.wait()
            await self._settle(job)
        async for output in self._outputs(job):
            if isinstance(output, Speech):
                job.stamp("first_brain_text")
                for sentence in split_sentences(output.text):
                    await self._speak(job, sentence)
            elif isinstance(output, ToolUse):
                await job.committed.wait()
                self._begin_playing(job)
                data = {"name": output.name, "arguments": output.arguments, "result": output.result}
                self.store.add_turn(speaker="tool", text=output.name, data=data)
            elif isinstance(output, Hangup | Transfer | SendDigits):
                job.action = output
                break
        await job.committed.wait()
        self._begin_playing(job)
        # Let the caller hear the whole reply before the turn (or the call) ends.
        await self.player.wait_heard(job.playback)
        self._finalize(job, interrupted=False, at=self.clock.now())
        self._close(job)
        if job.action is not None:
            await self.on_action(job.action)

    async def _transcribe(self, job: ReplyJob) -> None:
        assert job.audio is not None
        queued_at = self.clock.now()
        # Behind committed turns (this call's or another's) while held; in front once committed.
        # Speech over the agent is most often a backchannel: the decode is told
        # so, or tiny.en hears a hum as words ("and make it") and cuts the agent.
        prompt = backchannel_prompt(self.config.turn_taking.backchannel_words) if job.overlapped_agent else ""
        text = await self.workers.transcribe(
            self.stt, job.audio, language=self.config.stt.language, priority=job.urgency, prompt=prompt
        )
        job.caller_text = text
        job.stamp("stt_done")
        self.log.debug(
            "stt_finished",
            started_ms=round((queued_at - job.speech_end_at) * 1000),
            took_ms=round((self.clock.now() - queued_at) * 1000),
            audio_s=round(len(job.audio) / MODEL_RATE, 2),
        )
        if not text:
            job.answers = False
            self.log.info("utterance_empty")
        elif (
            job.overlapped_agent
            and self.player.playing is not None
            and (is_backchannel(text, self.config.turn_taking.backchannel_words) or unsure(text))
        ):
            job.answers = False
            self.log.info("backchannel_ignored", text=text)
        if self.on_words is not None and not job.committed.is_set() and job in self.open:
            self.on_words(text)  # the caller paused: do these words end the turn, or cut a paused agent?

    def _outputs(self, job: ReplyJob) -> AsyncIterator[BrainOutput]:
        if job.fixed_outputs is None:
            assert job.caller_text is not None
            return self.brain.reply(self.ctx, job.caller_text)
        outputs = _iterate(job.fixed_outputs)
        return _chain(outputs, self.brain.greeting(self.ctx)) if job.greeting else outputs

    async def _speak(self, job: ReplyJob, sentence: str) -> None:
        """One sentence: each chunk goes to the line as soon as the engine makes it (once the job may play)."""
        self.player.start_sentence(job.playback, sentence)
        # The voice says only what it can say (no other scripts, markup or emoji);
        # the transcript keeps the brain's text as it was.
        spoken = speakable_text(sentence)
        job.sentences += 1
        priority = job.urgency if job.sentences == 1 else LATER  # the first plays while the rest is made
        chunks = (
            self.workers.synthesize(self.tts, spoken, speed=self.config.voice.speed, priority=priority)
            if spoken
            else _no_audio()
        )
        async for chunk in chunks:
            job.stamp("first_tts_audio")
            if job.committed.is_set():
                self._begin_playing(job)
            self.player.add_audio(job.playback, chunk)
        self.player.end_sentence(job.playback)
        # A held job prepares one sentence, no more, until it is committed.
        await job.committed.wait()
        self._begin_playing(job)

    async def _settle(self, job: ReplyJob) -> None:
        for earlier in list(self.open):
            if earlier is job:
                break
            await earlier.known.wait()  # its caller words go into the history before this turn's
        self._settle_now(job)

    def _settle_now(self, job: ReplyJob) -> None:
        """End every earlier reply (this turn cuts them off) and store this turn's caller words."""
        if job.settled:
            return
        job.settled = True
        now = self.clock.now()
        for earlier in list(self.open):
            if earlier is job:
                break
            self._interrupt(earlier, now)
        if job.caller_text:
            self.log.info("caller_turn", text=job.caller_text, timings=job.timings)
            self.store.add_turn(speaker="caller", text=job.caller_text)

    def _begin_playing(self, job: ReplyJob) -> None:
        if job.started_playing:
            return
        self._settle_now(job)
        job.started_playing = True
        job.turn_started_at = timezone.now()
        self.player.play(job.playback)

    def _interrupt(self, job: ReplyJob, now: float) -> None:
        """Cut a reply off: drop its unsent audio, keep what was heard, stop its task."""
        if self.player.playing is job.playback:
            self.player.cut(now)
        self._finalize(job, interrupted=True, at=now)
        if job.task is not None and job.task is not asyncio.current_task():
            job.task.cancel()
        self._close(job)

    def _finalize(self, job: ReplyJob, *, interrupted: bool, at: float) -> None:
        """The turn is over: the history gets the caller's words and what they heard; the agent turn is stored."""
        if job.finished:
            return
        job.finished = True
        self.on_turn_over(self.clock.now())
        heard_tracker = job.playback.heard
        text = heard_tracker.text
        heard = heard_tracker.heard_text(interrupted_at=at if interrupted else None)
        if interrupted and isinstance(job.action, Hangup) and job.started_playing:
            # A goodbye cut off (the caller spoke over it, or hung up): the outcome it
            # ends with stands, so a caller who hangs up on "Booked. Goodbye!" leaves a booked call.
            self.ctx.disposition = job.action.disposition or self.ctx.disposition
        if job.caller_text and job.answers:
            if not job.settled:  # cut off before it got that far: its caller turn is still part of the call
                job.settled = True
                self.store.add_turn(speaker="caller", text=job.caller_text)
            self.ctx.history.append({"role": "user", "content": job.caller_text})
        if heard:
            self.ctx.history.append({"role": "assistant", "content": heard})
        if not text:
            return
        self.log.info("agent_turn", text=text, heard=heard, interrupted=interrupted, timings=job.timings)
        if self.discarded_usage:
            _add_usage(job.usage, self.discarded_usage)
            self.discarded_usage = {}
        self.store.add_turn(
            speaker="agent",
            text=text,
            heard_text=heard,
            interrupted=interrupted,
            started_at=job.turn_started_at,
            ended_at=timezone.now(),
            timings=dict(job.timings),
            data={"usage": dict(job.usage)} if job.usage else None,
        )

    def model_exchanged(self, exchange: ModelExchange) -> None:
        """The brain's model I/O hook: the compliance log, and the token counts of the reply whose task asked."""
        if isinstance(self.store, CallStore):  # test stores record turns only
            self.store.add_model_exchange(exchange)
        job = _REPLYING.get()
        if job is not None:  # none: a request no reply made
            _add_usage(job.usage, exchange.usage)

    def _close(self, job: ReplyJob) -> None:
        if job in self.open:
            self.open.remove(job)
        self.player.release(job.playback)


def recording_notice(config: AgentConfig) -> str:
    """The sentence a recorded call opens with ("" when the version does not record or says nothing of it)."""
    recording = config.recording
    return recording.notice if recording.enabled else ""


def opening_speech(config: AgentConfig) -> list[str]:
    """What a call to this version hears first, sentence by sentence as the voice is given it.

    The recording notice and the greeting rendered with no lead variables:
    what a caller the agent knows nothing about hears, and the sentences
    without a lead's field that every call hears. Warm start synthesises
    these into the phrase cache, so the first call greets as fast as the
    hundredth (voiceops.warmup). Split and made speakable as `_speak` does,
    so the cache keys match the sentences the calls ask for.
    """
    texts = [recording_notice(config)]
    if config.first_speaker == "agent":
        texts.append(render_template(config.greeting, {}))
    sentences = [speakable_text(sentence) for text in texts if text for sentence in split_sentences(text)]
    return [sentence for sentence in sentences if sentence]


def _add_usage(total: dict[str, int], usage: dict[str, int]) -> None:
    for name, count in usage.items():
        total[name] = total.get(name, 0) + count


async def _iterate(outputs: list[BrainOutput]) -> AsyncIterator[BrainOutput]:
    for output in outputs:
        yield output


async def _chain(*streams: AsyncIterator[BrainOutput]) -> AsyncIterator[BrainOutput]:
    for stream in streams:
        async for output in stream:
            yield output


async def _no_audio() -> AsyncIterator[Any]:
    """A sentence with nothing speakable in it: no audio, and the reply goes on."""
    return
    yield  # an async generator that yields nothing
