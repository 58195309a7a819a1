"""A fast, deterministic harness for the live engine: frames in, messages and stored turns out.

Modelled on Pipecat's `run_test` (push frames into a pipeline, read what
comes out) and LiveKit's fake timelines (scripted speech and latencies on a
clock the test moves). Everything runs on the test's event loop and a
VIRTUAL clock: no threads, no real models, no sleeps, the same result every
run, and a minute of call in a fraction of a second.

- VirtualClock: `now()` and `sleep()` for the session, turn taking, pacer and
  fakes; `advance()` moves time and lets everything due run.
- ScriptedVad: the caller's voice as a switch (`speaking`), turned into Silero-shaped
  32 ms VAD windows; the real resampler and turn detector run on the frames.
- FakeSTT: returns what the caller last said, after `delay_s`; records each call.
- FakeTTS: audio whose level names the sentence it belongs to (so each
  outgoing frame can be traced to its sentence), `chunks` pieces per
  sentence, each `chunk_delay_s` after the one before; records each call.
- FakeSmartTurn: Smart Turn's shape: a scripted probability that the caller
  sounds finished, after `delay_s`; records each call.
- FakeWorkers: ThreadWorkers' shape on the virtual clock.
- ScriptBrain: answers from a script, optionally after `think_s`, and records
  the history each reply was built from (the prompt).
- FakeLine: Twilio's side of the socket: plays the media it is sent in real
  (virtual) time, echoes each mark once the audio before it has played,
  empties its buffer on `clear` (echoing the marks it drops, as Twilio does).
- RecordingStore / RecordingActions: what would have gone to the database
  and the carrier.

    h = Harness({"brain": "scripted", "greeting": "Hi.", "script": ["Sure."]})
    await h.start()
    await h.run(1.0)              # a second of line: the greeting plays
    await h.say("Hello", 0.6)     # the caller talks for 0.6 s
    await h.run(1.0)              # ...and stops: pause, end of turn, reply
    assert h.transcript() == [...]
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from agents.brains.base import BrainOutput, CallContext, Speech
from agents.brains.config import AgentConfig, load_config
from agents.brains.scripted import ScriptedBrain
from live.actions import CallActions
from live.pipeline.frames import VadFrame
from live.pipeline.mulaw import mulaw_decode
from live.player import Transport
from live.session import CallSession

FRAME_S = 0.02
SILENCE = base64.b64encode(b"\xff" * 160).decode()
# An upper bound on event-loop passes for every task woken at one instant to
# run as far as it can (a reply job's chain of awaits is a few dozen hops).
SETTLE_PASSES = 200


class VirtualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if self.t + seconds <= self.t:  # nothing to wait for (or less than the float can tell)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + seconds, next(self._seq), future))
        await future

    async def settle(self) -> None:
        """Let every task that can run at this instant run.

        Done when the loop has nothing left to run now: CPython's queue of
        ready callbacks is empty (everything else waits on this clock or on
        another task). Where that queue cannot be seen, a fixed number of passes.
        """
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(SETTLE_PASSES):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own instant, in order."""
        end = self.t + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= end + 1e-9:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.t = max(self.t, deadline)
            if not future.done():
                future.set_result(None)
                await self.settle()
        self.t = end
        await self.settle()


class ScriptedVad:
    """Silero's output for whatever the test says the caller is doing: one verdict per 512 samples at 16 kHz."""

    def __init__(self) -> None:
        self.speaking = False
        self._samples = 0
        self._fill = 0

    def process(self, frame: Any) -> list[VadFrame]:
        out = []
        self._fill += len(frame.samples)
        while self._fill >= 512:
            self._fill -= 512
            self._samples += 512
            out.append(VadFrame(1.0 if self.speaking else 0.0, self.speaking, 1000.0 * self._samples / 16000))
        return out


class FakeSTT:
    sample_rate = 16000

    def __init__(self, *, delay_s: float = 0.1) -> None:
        self.delay_s = delay_s
        self.heard = ""  # what the caller last said (set by Harness.say)
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: Any, *, language: str | None = None, prompt: str = "", quick: bool = False) -> str:
        self.calls.append(
            {"text": self.heard, "language": language, "samples": len(audio), "prompt": prompt, "quick": quick}
        )
        return self.heard


class FakeSmartTurn:
    """A fixed probability that the utterance sounds finished (or `fails`), after `delay_s` of virtual time."""

    def __init__(self, probability: float, *, delay_s: float = 0.0, fails: bool = False) -> None:
        self.value = probability
        self.delay_s = delay_s
        self.fails = fails
        self.heard: list[int] = []  # samples of each utterance it was asked about

    def probability(self, audio: Any) -> float:
        self.heard.append(len(audio))
        if self.fails:
            raise RuntimeError("onnxruntime: out of memory")
        return self.value


class FakeTTS:
    """`seconds_per_word` of audio per word, in `chunks` pieces; each sentence at its own level."""

    sample_rate = 8000

    def __init__(self, *, seconds_per_word: float = 0.2, chunks: int = 1, chunk_delay_s: float = 0.05) -> None:
        self.seconds_per_word = seconds_per_word
        self.chunks = chunks
        self.chunk_delay_s = chunk_delay_s
        self.calls: list[dict[str, Any]] = []
        self._levels: dict[str, float] = {}

    def level(self, text: str) -> float:
        # Levels 1/8 apart in mu-law's logarithmic scale survive encoding exactly enough to tell apart.
        if text not in self._levels:
            self._levels[text] = 0.02 * 1.25 ** len(self._levels)
        return self._levels[text]

    def sentence_at(self, level: float) -> str | None:
        if abs(level) < 0.005:
            return None
        return min(self._levels, key=lambda text: abs(np.log(self._levels[text] / abs(level))))

    def synthesize(self, text: str, *, speed: float = 1.0) -> Iterator[np.ndarray]:
        self.calls.append({"text": text, "speed": speed})
        samples = round(len(text.split()) * self.seconds_per_word / speed * self.sample_rate)
        audio = np.full(samples, self.level(text), dtype=np.float32)
        yield from np.array_split(audio, self.chunks)


class FakeWorkers:
    """ThreadWorkers on the virtual clock: each engine's scripted delay is virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock

    async def transcribe(
        self, stt: Any, audio: Any, *, language: str, priority: Any = 0, prompt: str = "", quick: bool = False
    ) -> str:
        text = stt.transcribe(audio, language=language, prompt=prompt, quick=quick)
        await self.clock.sleep(getattr(stt, "delay_s", 0.0))
        return text

    async def synthesize(self, tts: Any, text: str, *, speed: float, priority: Any = 0) -> AsyncIterator[np.ndarray]:
        for chunk in tts.synthesize(text, speed=speed):
            await self.clock.sleep(getattr(tts, "chunk_delay_s", 0.0))
            yield chunk

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        result = fn(*args)
        delay = getattr(getattr(fn, "__self__", None), "delay_s", 0.0)  # a fake engine's scripted time
        if delay:
            await self.clock.sleep(delay)
        return result


class ScriptBrain:
    """Replies from `script` in order (a line of text, or a list of outputs); records every prompt."""

    def __init__(
        self,
        script: list[str | list[BrainOutput]] | None = None,
        *,
        greeting: str = "",
        think_s: float = 0.0,
        speculative_safe: bool = False,
    ) -> None:
        self.script = list(script or [])
        self.greeting_text = greeting
        self.think_s = think_s
        self.speculative_safe = speculative_safe
        self.clock: VirtualClock | None = None  # the harness sets it
        self.prompts: list[tuple[str, list[dict[str, Any]]]] = []  # (caller text, history the reply was built on)
        self.closed = False

    async def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        if self.greeting_text:
            yield Speech(self.greeting_text)

    async def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        index = len(self.prompts)
        self.prompts.append((caller_text, [dict(message) for message in ctx.history]))
        if self.think_s and self.clock is not None:
            await self.clock.sleep(self.think_s)
        line = self.script[index] if index < len(self.script) else ""
        for output in [Speech(line)] if isinstance(line, str) and line else line or []:
            yield output

    async def aclose(self) -> None:
        self.closed = True


class FakeLine(Transport):
    """Twilio's end of the media socket."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.play_end = 0.0
        self._marks: list[tuple[float, str]] = []  # (when its audio has played, name)
        self.closed: int | None = None

    async def send_text(self, text: str) -> None:
        self._receive(json.loads(text))

    async def send_json(self, message: dict[str, Any]) -> None:
        self._receive(message)

    async def close(self, code: int) -> None:
        self.closed = code

    def _receive(self, message: dict[str, Any]) -> None:
        now = self.clock.now()
        self.sent.append((now, message))
        if message["event"] == "media":
            self.play_end = max(self.play_end, now) + FRAME_S
        elif message["event"] == "mark":
            self._marks.append((max(self.play_end, now), message["mark"]["name"]))
        elif message["event"] == "clear":
            self.play_end = now
            self._marks = [(now, name) for _, name in self._marks]

    def due_marks(self, now: float) -> list[str]:
        due = [name for at, name in self._marks if at <= now + 1e-9]
        self._marks = [(at, name) for at, name in self._marks if at > now + 1e-9]
        return due


class RecordingStore:
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.turns: list[dict[str, Any]] = []
        self.outcome: dict[str, Any] | None = None
        self.closed = False
        self.amd = ""  # what the status webhook would have stored as the call's answered_by
        self.amd_reads = 0

    def start(self) -> None:
        pass

    async def answered_by(self) -> str:
        self.amd_reads += 1
        return self.amd

    def add_turn(self, **fields: Any) -> None:
        self.turns.append({"at": self.clock.now(), **fields})

    def store_outcome(self, **fields: Any) -> None:
        self.outcome = fields

    async def close(self) -> None:
        self.closed = True


class RecordingActions:
    def __init__(self) -> None:
        self.done: list[tuple[str, ...]] = []

    def port(self, *, use_rest_for_hangup: bool = True) -> CallActions:
        return CallActions(
            hangup=lambda sid: self.done.append(("hangup", sid)),
            transfer=lambda sid, number: self.done.append(("transfer", sid, number)),
            send_digits=lambda sid, digits: self.done.append(("digits", sid, digits)),
            use_rest_for_hangup=use_rest_for_hangup,
        )


class Harness:
    def __init__(
        self,
        config: dict[str, Any] | AgentConfig,
        *,
        brain: Any = None,
        stt: FakeSTT | None = None,
        tts: FakeTTS | None = None,
        history: list[dict[str, Any]] | None = None,
        resumed: bool = False,
        smart_turn: FakeSmartTurn | None = None,
    ) -> None:
        raw = config if isinstance(config, dict) else {}
        self.config = load_config(config) if isinstance(config, dict) else config
        self.clock = VirtualClock()
        self.stt, self.tts = stt or FakeSTT(), tts or FakeTTS()
        self.brain = brain if brain is not None else ScriptedBrain(self.config)
        if hasattr(self.brain, "clock"):
            self.brain.clock = self.clock
        self.vad = ScriptedVad()
        self.line = FakeLine(self.clock)
        self.store = RecordingStore(self.clock)
        self.actions = RecordingActions()
        self.ctx = CallContext(call_id=str(uuid.uuid4()), config=raw, history=list(history or []))
        self.session = CallSession(
            call_id=uuid.UUID(self.ctx.call_id),
            call_sid="CA" + "1" * 32,
            stream_sid="MZ" + "1" * 32,
            config=self.config,
            ctx=self.ctx,
            brain=self.brain,
            stt=self.stt,
            tts=self.tts,
            transport=self.line,
            actions=self.actions.port(),
            resumed=resumed,
            clock=self.clock,
            workers=FakeWorkers(self.clock),
            store=self.store,
            vad=self.vad,  # type: ignore[arg-type]  # a scripted stand-in with VadProcessor's process()
            smart_turn=smart_turn,
        )
        self.started_at = self.clock.now()

    @staticmethod
    def configure(config: dict[str, Any], **changes: Any) -> AgentConfig:
        return replace(load_config(config), **changes)

    # ---- driving ---------------------------------------------------------------

    async def start(self) -> None:
        await self.session.start()
        await self.clock.settle()

    async def run(self, seconds: float) -> None:
        """`seconds` of line, 20 ms at a time: a media frame in, time on, marks echoed."""
        for _ in range(round(seconds / FRAME_S)):
            if self.line.closed is None and not self.session.finished.is_set():
                self.session.on_media(SILENCE)
            await self.clock.advance(FRAME_S)
            for name in self.line.due_marks(self.clock.now()):
                self.session.on_mark(name)

    async def say(self, text: str, seconds: float) -> None:
        """The caller talks for `seconds` (what STT will hear: `text`)."""
        self.stt.heard = text
        self.vad.speaking = True
        await self.run(seconds)
        self.vad.speaking = False

    async def finish(self) -> None:
        await self.session.finish()
        await self.clock.settle()

    # ---- reading -----------------------------------------------------------------

    def at(self, t: float) -> float:
        """A clock time as seconds since the harness started."""
        return round(t - self.started_at, 3)

    def events(self, kind: str) -> list[tuple[float, dict[str, Any]]]:
        return [(self.at(t), m) for t, m in self.line.sent if m["event"] == kind]

    def spoken(self) -> list[tuple[float, str | None]]:
        """Each media frame sent: when (seconds since start) and the sentence its audio belongs to."""
        out = []
        for t, message in self.events("media"):
            level = float(mulaw_decode(base64.b64decode(message["media"]["payload"]))[0])
            out.append((t, self.tts.sentence_at(level)))
        return out

    def turns(self, speaker: str | None = None) -> list[dict[str, Any]]:
        return [turn for turn in self.store.turns if speaker is None or turn["speaker"] == speaker]

    def transcript(self) -> list[tuple[str, str]]:
        return [(turn["speaker"], turn["text"]) for turn in self.store.turns]
