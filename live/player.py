"""Agent audio out for one call: encoder, pacer, marks, and what the caller heard.

Each reply speaks through a Playback. Until the reply is committed its audio
is held there as it comes from the speech engine (raw samples); from the
moment it plays, every chunk is encoded and queued for the pacer as soon as
it exists, so an engine that streams a sentence in pieces (Coqui XTTS) puts
its first audio on the line long before the sentence is finished. Piper
yields a sentence at a time, so for it nothing changes.

One encoder serves the whole call: only the playing reply feeds it, every
sentence ends with a flush (which leaves it as new), and a cut flushes away
whatever a cut-off sentence left in it. Each sentence is followed by a mark;
Twilio echoes a mark once the caller has heard the audio before it, and the
Playback's HeardTracker turns those echoes into the words the caller heard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.conf import settings

from live.clock import Clock, wait_event
from live.pipeline.frames import Samples
from live.pipeline.heard import HeardTracker
from live.pipeline.outbound import MediaMessages, OutboundEncoder
from live.pipeline.pacer import FRAME_MS, FramePacer
from live.recording import StereoRecorder

# After the last frame should have played, how long a reply waits for
# Twilio's mark echoes before it counts as over anyway (a lost echo must not
# hold the call).
MARK_GRACE_S = 3.0


class Transport:
    """What the session needs from the socket (the consumer implements it)."""

    async def send_json(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        """A message already serialised (the media frames, built from a prebuilt head)."""
        raise NotImplementedError

    async def close(self, code: int) -> None:
        raise NotImplementedError


class Playback:
    """One reply's audio: held until it plays, then sent as it comes; its marks and heard words."""

    def __init__(self, stamp: Callable[[str], None]) -> None:
        self.stamp = stamp  # the reply's latency stamps (first_frame_sent, first_mark_acknowledged)
        self.heard = HeardTracker()
        self.marks: set[str] = set()  # sent and not acknowledged yet
        self.all_heard = asyncio.Event()
        self.all_heard.set()
        self.has_audio = False
        self._held: list[tuple[str, Any]] = []  # ("sentence", text), ("audio", samples), ("end", None)
        self._text = ""  # the sentence being sent
        self._mark = ""  # its mark, named once its first frame goes out


class Player:
    def __init__(
        self,
        *,
        stream_sid: str,
        transport: Transport,
        sample_rate: int,
        clock: Clock,
        recorder: StereoRecorder | None = None,
        lead_ms: float | None = None,  # None: MEDIA_LEAD_MS
    ) -> None:
        self.stream_sid = stream_sid
        self.transport = transport
        self.clock = clock
        self.recorder = recorder
        self.encoder = OutboundEncoder(sample_rate)
        self.media_messages = MediaMessages(stream_sid)
        self.pacer = FramePacer(
            send_frame=self._send_frame,
            send_mark=self._send_mark,
            lead_ms=settings.MEDIA_LEAD_MS if lead_ms is None else lead_ms,
            on_frame_sent=self._frame_sent,
            clock=clock.now,
            sleep=clock.sleep,
        )
        self.playing: Playback | None = None  # owns the outgoing audio
        self._mark_owner: dict[str, Playback] = {}
        self._mark_seq = 0
        self._sends: set[asyncio.Task[None]] = set()
        self.tap: Callable[[bytes], None] | None = None  # listen-in (live.supervision): each frame sent

    def start(self) -> None:
        self.pacer.start()

    async def close(self) -> None:
        for task in list(self._sends):
            task.cancel()
        await self.pacer.close()

    def audible(self) -> bool:
        return self.pacer.audible()

    # ---- a reply's audio, sentence by sentence -------------------------------

    def start_sentence(self, playback: Playback, text: str) -> None:
        if playback is not self.playing:
            playback._held.append(("sentence", text))
            return
        playback._text, playback._mark = text, ""

    def add_audio(self, playback: Playback, samples: Samples) -> None:
        playback.has_audio = True
        if playback is not self.playing:
            playback._held.append(("audio", samples))
            return
        self._push(playback, self.encoder.process(samples))

    def end_sentence(self, playback: Playback) -> None:
        if playback is not self.playing:
            playback._held.append(("end", None))
            return
        self._push(playback, self.encoder.flush())
        mark, playback._mark = playback._mark, ""
        if not mark and playback._text:
            # Nothing speakable in it: no audio and no mark, but the transcript
            # keeps the words (never heard, so never in the heard text).
            playback.heard.add_chunk(text=playback._text, mark="", duration_s=0.0)
        if mark:  # a sentence that made no audio gets no mark
            playback.marks.add(mark)
            playback.all_heard.clear()
            self._mark_owner[mark] = playback
            self.pacer.push_mark(mark)

    def play(self, playback: Playback) -> None:
        """`playback` owns the line from now on: what it holds goes out at once, the rest as it comes."""
        self.playing = playback
        held, playback._held = playback._held, []
        for kind, item in held:
            if kind == "sentence":
                self.start_sentence(playback, item)
            elif kind == "audio":
                self.add_audio(playback, item)
            else:
                self.end_sentence(playback)

    def pause(self) -> None:
        """Hold the playing reply's audio where it is (the caller may be barging in): send nothing more for now."""
        self.pacer.pause()

    def resume(self) -> None:
        """The pause was a false alarm: the reply goes on from where it stopped."""
        self.pacer.resume()

    @property
    def paused(self) -> bool:
        return self.pacer.paused

    def cut(self, now: float) -> None:
        """Stop the playing reply: drop its unsent audio, wipe it from the recording, tell Twilio to clear."""
        for mark in self.pacer.clear():
            self._mark_owner.pop(mark, None)
        self.encoder.flush()  # what a cut-off sentence left in the encoder must not start the next reply
        if self.recorder is not None:
            self.recorder.cut_agent(now)
        if self.playing is not None:
            self.playing._mark = ""
        self.playing = None
        self._spawn(self.transport.send_json({"event": "clear", "streamSid": self.stream_sid}))

    def release(self, playback: Playback) -> None:
        """The reply is over: echoes of its marks from now on mean nothing."""
        for mark in playback.marks:
            self._mark_owner.pop(mark, None)
        if self.playing is playback:
            self.playing = None

    def on_mark(self, name: str, now: float) -> None:
        playback = self._mark_owner.pop(name, None)
        if playback is None:
            return
        playback.stamp("first_mark_acknowledged")
        playback.heard.mark_acked(name, now)
        playback.marks.discard(name)
        if not playback.marks:
            playback.all_heard.set()

    async def wait_heard(self, playback: Playback) -> None:
        """Until the caller has heard all of it (every mark echoed), or it should long have been."""
        if not playback.marks:
            return
        remaining = max(0.0, self.pacer.playback_end - self.clock.now())
        remaining += self.pacer.queued_frames * FRAME_MS / 1000.0
        await wait_event(playback.all_heard, remaining + MARK_GRACE_S, self.clock)

    # ---- the wire ----------------------------------------------------------------

    def _push(self, playback: Playback, frames: list[bytes]) -> None:
        if not frames:
            return
        if not playback._mark:
            self._mark_seq += 1
            playback._mark = f"m{self._mark_seq}"
            playback.heard.add_chunk(text=playback._text, mark=playback._mark, duration_s=0.0)
        playback.heard.extend(len(frames) * FRAME_MS / 1000.0)
        self.pacer.push_frames(frames)

    async def _send_frame(self, frame: bytes) -> None:
        await self.transport.send_text(self.media_messages.text(frame))

    async def _send_mark(self, name: str) -> None:
        await self.transport.send_json({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def _frame_sent(self, frame: bytes, at: float) -> None:
        plays_at = self.pacer.playback_end - FRAME_MS / 1000.0
        playback = self.playing
        if playback is not None:
            playback.stamp("first_frame_sent")
            playback.heard.first_frame_sent(max(at, plays_at))
        if self.recorder is not None:
            self.recorder.add_agent(frame, plays_at)
        if self.tap is not None:
            self.tap(frame)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
