"""The call simulator: a synthetic caller that reaches a running server exactly as Twilio would.

It posts the signed answer webhook, reads the TwiML, opens the Media Streams
socket from <Connect><Stream>, and then behaves like Twilio's side of a call:
`connected` and `start` (streamSid, callSid, customParameters, mediaFormat),
one 20 ms mu-law `media` frame every 20 ms in real time (silence between
lines, as a phone line does), reply audio played out in real time, each
`mark` echoed only once the audio sent before it has been played, `clear`
honoured (pending marks echoed at once, as Twilio does), and `stop` when the
caller hangs up. The caller's lines are spoken with the Piper voice.

What the caller heard is transcribed with the real STT after each agent turn,
and voice-to-voice latency is measured here, at the caller: from the end of
the caller's audio to the first reply frame.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import soxr
import structlog

from live.pipeline.frames import Samples
from live.pipeline.mulaw import SILENCE_BYTE, mulaw_decode, mulaw_encode
from sandbox.personas import Persona
from telephony.signature import signature_compute

log = structlog.get_logger(__name__)

FRAME_BYTES = 160
FRAME_S = 0.020
SILENCE_FRAME = bytes([SILENCE_BYTE]) * FRAME_BYTES
BEEP_HZ, BEEP_S = 1000.0, 0.5  # an answering machine's beep after its greeting


def beep() -> bytes:
    """Half a second of 1 kHz tone, as 8 kHz mu-law (after a short pause, as machines do)."""
    t = np.arange(int(BEEP_S * 8000)) / 8000.0
    tone = (0.3 * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.float32)
    return SILENCE_FRAME * 20 + mulaw_encode(tone)


@dataclass
class SimulationResult:
    call_sid: str
    transcript: list[tuple[str, str]] = field(default_factory=list)
    turn_latencies_ms: list[float] = field(default_factory=list)
    clears: int = 0
    ended_by: str = "timeout"  # "agent" | "caller" | "timeout"
    close_code: int | None = None
    stream_sid: str = ""
    marks_echoed: int = 0
    # For each barge-in line: ms from the start of the caller's speech to the `clear`.
    barge_in_clear_ms: list[float] = field(default_factory=list)
    # Agent audio as heard (8 kHz float), one entry per agent turn.
    agent_audio: list[Samples] = field(default_factory=list)
    # Gaps between consecutive reply frames arriving while the agent talked (ms).
    frame_gaps_ms: list[float] = field(default_factory=list)
    twiml: str = ""
    beeped_at: float | None = None  # wall-clock time the voicemail beep finished (time.time())
    # ms from the stream's `start` to the agent's first audio frame: how soon a greeting begins.
    greeting_ms: float | None = None


class SimulationError(Exception):
    """The server did not answer like Twilio expects (bad status, no stream TwiML)."""


def speak(text: str) -> bytes:
    """The Piper voice saying `text`, as 8 kHz mu-law with leading and trailing silence trimmed."""
    from live.speech.tts import get_tts

    tts = get_tts("piper")
    chunks = list(tts.synthesize(text))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    audio8 = soxr.resample(audio, tts.sample_rate, 8000).astype(np.float32)
    # Trim so that "end of caller audio" is the end of the voice, not Piper's padding.
    loud = np.nonzero(np.abs(audio8) > 0.02)[0]
    if len(loud):
        audio8 = audio8[loud[0] : loud[-1] + 1]
    return mulaw_encode(audio8)


def _twilio_params(
    *, call_sid: str, from_number: str, to_number: str, direction: str, account_sid: str
) -> dict[str, str]:
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Called": to_number,
        "Caller": from_number,
        "Direction": "inbound" if direction == "inbound" else "outbound-api",
        "From": from_number,
        "To": to_number,
    }


async def post_answer_webhook(
    *, answer_url: str, params: dict[str, str], auth_token: str | None, public_url: str | None = None
) -> str:
    """POST the answer webhook as Twilio does (form body, X-Twilio-Signature); returns the TwiML."""
    headers = {"User-Agent": "TwilioProxy/1.1", "Content-Type": "application/x-www-form-urlencoded"}
    if auth_token:
        headers["X-Twilio-Signature"] = signature_compute(public_url or answer_url, params, auth_token=auth_token)
    async with httpx.AsyncClient(timeout=30.0) as client:
        response = await client.post(answer_url, data=params, headers=headers)
    if response.status_code != 200:
        raise SimulationError(f"answer webhook returned {response.status_code}: {response.text[:200]}")
    return response.text


def parse_stream_twiml(twiml: str) -> tuple[str, dict[str, str], str]:
    """(stream url, custom parameters, text said) from answer TwiML; url is '' when there is no stream."""
    root = ET.fromstring(twiml)  # noqa: S314  (our own server's TwiML)
    said = " ".join((el.text or "").strip() for el in root.iter("Say"))
    stream = root.find("./Connect/Stream")
    if stream is None:
        return "", {}, said
    params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return stream.get("url", ""), params, said


class _Caller:
    """Twilio's side of one media stream, ticking every 20 ms."""

    def __init__(
        self,
        *,
        persona: Persona,
        lines_audio: list[bytes],
        transcribe: bool,
        first_line_after_s: float,
        on_beep: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ):
        self.persona = persona
        self.on_beep = on_beep  # a voicemail persona: told once its greeting and beep have played
        self.beeped_at: float | None = None
        self.beep_task: asyncio.Task[None] | None = None
        self.lines_audio = lines_audio
        self.transcribe = transcribe
        self.first_line_after_s = first_line_after_s
        self.next_line = 0
        self.speech: deque[bytes] = deque()  # caller frames still to send
        self.speaking_line: int | None = None
        self.speech_started_at = 0.0
        self.playback: deque[bytes | str] = deque()  # agent frames and marks, in arrival order
        self.heard: list[bytes] = []  # the agent turn being heard
        self.last_agent_audio_at: float | None = None
        self.awaiting_reply_since: float | None = None  # end of caller audio
        self.barge_pending_since: float | None = None  # when the barge-in line's first frame was sent
        self.barge_starts = False  # a barge-in line is queued: its first frame starts the clock
        self.last_frame_recv: float | None = None
        self.stream_started_at: float | None = None  # when `start` was sent
        self.reply_heard = False  # the agent has answered since the caller's last line
        self.barging = False  # speaking over the agent, waiting for its `clear`
        self.cleared = False


async def simulate_call(
    *,
    base_url: str,
    persona: Persona,
    to_number: str,
    from_number: str,
    call_sid: str | None = None,
    direction: str = "inbound",
    answer_url: str | None = None,
    auth_token: str | None = None,
    max_seconds: float = 120.0,
    account_sid: str = "AC00000000000000000000000000000000",
    transcribe: bool = True,
    agent_done_gap_s: float = 0.8,
    first_line_after_s: float = 3.0,
    hangup_after_s: float = 2.5,
    on_beep: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> SimulationResult:
    """Play `persona` as the caller of one call against the server at `base_url`.

    The answer URL is signed as the server's PUBLIC_BASE_URL sees it, so
    `base_url` should be that origin (a test server sets PUBLIC_BASE_URL to
    its own address). An agent turn is over when no reply audio has been
    playing for `agent_done_gap_s`; then the next line is spoken. After the
    last line and the agent's answer, the caller hangs up if the agent has
    not within `hangup_after_s`.

    A voicemail persona plays its greeting, then a beep, then listens;
    `on_beep` is awaited (in a task) the moment the beep has been sent, which
    is when Twilio's answering-machine detection would report machine_end_beep.
    """
    call_sid = call_sid or "CA" + uuid.uuid4().hex
    stream_sid = "MZ" + uuid.uuid4().hex
    answer_url = answer_url or base_url.rstrip("/") + "/twilio/voice/"
    params = _twilio_params(
        call_sid=call_sid, from_number=from_number, to_number=to_number, direction=direction, account_sid=account_sid
    )
    result = SimulationResult(call_sid=call_sid, stream_sid=stream_sid)
    lines_task = asyncio.create_task(_speak_lines(persona))
    twiml = await post_answer_webhook(answer_url=answer_url, params=params, auth_token=auth_token)
    result.twiml = twiml
    url, custom, said = parse_stream_twiml(twiml)
    if not url:
        lines_task.cancel()
        if said:
            result.transcript.append(("agent", said))
        result.ended_by = "agent"
        return result
    lines_audio = await lines_task
    caller = _Caller(
        persona=persona,
        lines_audio=lines_audio,
        transcribe=transcribe,
        first_line_after_s=first_line_after_s,
        on_beep=on_beep,
    )
    import websockets

    async with websockets.connect(url, max_size=2**20, open_timeout=30) as socket:
        await socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await socket.send(
            json.dumps(
                {
                    "event": "start",
                    "sequenceNumber": "1",
                    "start": {
                        "accountSid": account_sid,
                        "streamSid": stream_sid,
                        "callSid": call_sid,
                        "tracks": ["inbound"],
                        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                        "customParameters": custom,
                    },
                    "streamSid": stream_sid,
                }
            )
        )
        caller.stream_started_at = time.monotonic()
        receiver = asyncio.create_task(_receive(socket, caller, result))
        try:
            await asyncio.wait_for(
                _run(socket, caller, result, stream_sid, agent_done_gap_s, hangup_after_s), max_seconds
            )
        except TimeoutError:
            result.ended_by = "timeout"
            with contextlib.suppress(Exception):
                await socket.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {"callSid": call_sid}}))
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
        result.close_code = socket.close_code
    return result


async def _speak_lines(persona: Persona) -> list[bytes]:
    if persona.voicemail:
        return [await asyncio.to_thread(speak, " ".join(persona.lines)) + beep()]
    return [await asyncio.to_thread(speak, line) for line in persona.lines]


class _AgentHungUp(Exception):
    pass


async def _receive(socket: Any, caller: _Caller, result: SimulationResult) -> None:
    import websockets

    try:
        async for raw in socket:
            message = json.loads(raw)
            event = message.get("event")
            now = time.monotonic()
            if event == "media":
                frame = base64.b64decode(message["media"]["payload"])
                if result.greeting_ms is None and caller.stream_started_at is not None:
                    result.greeting_ms = 1000.0 * (now - caller.stream_started_at)
                if caller.awaiting_reply_since is not None:
                    result.turn_latencies_ms.append(1000.0 * (now - caller.awaiting_reply_since))
                    caller.awaiting_reply_since = None
                # Gaps are counted within one stretch of agent speech, not between replies.
                previous = caller.last_frame_recv
                if previous is not None and now - previous < 0.2:
                    result.frame_gaps_ms.append(1000.0 * (now - previous))
                caller.last_frame_recv = now
                caller.playback.append(frame)
                caller.last_agent_audio_at = now
            elif event == "mark":
                caller.playback.append("mark:" + str(message.get("mark", {}).get("name", "")))
            elif event == "clear":
                result.clears += 1
                caller.cleared = True
                if caller.barge_pending_since is not None:
                    result.barge_in_clear_ms.append(1000.0 * (now - caller.barge_pending_since))
                    caller.barge_pending_since = None
                # Twilio empties its buffer and sends back every pending mark.
                pending = [item for item in caller.playback if isinstance(item, str)]
                caller.playback.clear()
                for item in pending:
                    await socket.send(_mark(result.stream_sid, item[5:]))
                    result.marks_echoed += 1
    except websockets.ConnectionClosed:
        pass


def _mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


async def _run(
    socket: Any, caller: _Caller, result: SimulationResult, stream_sid: str, agent_done_gap_s: float, hangup_s: float
) -> None:
    import websockets

    start = time.monotonic()
    tick = 0
    sequence = 2
    persona = caller.persona
    last_heard_at = start
    done_since: float | None = None
    transcribing: asyncio.Task[str] | None = None
    while True:
        tick += 1
        # Play 20 ms of agent audio; echo marks whose audio has all been played.
        played_audio = False
        while caller.playback:
            item = caller.playback[0]
            if isinstance(item, str):
                caller.playback.popleft()
                await socket.send(_mark(stream_sid, item[5:]))
                result.marks_echoed += 1
                continue
            if played_audio:
                break
            caller.heard.append(item)
            caller.playback.popleft()
            played_audio = True
        now = time.monotonic()
        if played_audio:
            last_heard_at = now
        # Send 20 ms of caller audio (speech or line silence).
        if caller.speech:
            frame = caller.speech.popleft()
            if caller.barge_starts:
                # The caller starts talking with this frame, not when the line was queued
                # (a tick earlier): the `clear` latency counts from here.
                caller.barge_starts = False
                caller.barge_pending_since = time.monotonic()
            if not caller.speech:
                caller.awaiting_reply_since = time.monotonic() + FRAME_S
                caller.speaking_line = None
                if caller.persona.voicemail and caller.beeped_at is None:
                    caller.beeped_at = time.monotonic()
                    result.beeped_at = time.time()
                    if caller.on_beep is not None:
                        caller.beep_task = asyncio.create_task(caller.on_beep())
        else:
            frame = SILENCE_FRAME
        message = {
            "event": "media",
            "sequenceNumber": str(sequence),
            "media": {
                "track": "inbound",
                "chunk": str(tick),
                "timestamp": str(int((now - start) * 1000)),
                "payload": base64.b64encode(frame).decode("ascii"),
            },
            "streamSid": stream_sid,
        }
        sequence += 1
        try:
            await socket.send(json.dumps(message))
        except websockets.ConnectionClosed:
            await _finish_turn(caller, result, transcribing)
            result.ended_by = "agent"
            return
        if caller.barging and caller.cleared and transcribing is None:
            # The agent stopped for our barge-in: what we heard of it is one (cut) turn.
            caller.barging = caller.cleared = False
            if caller.heard:
                transcribing = _start_transcription(caller, result)
        # The agent's turn is over after a quiet gap: note what was heard, speak next.
        agent_quiet = not caller.playback and now - last_heard_at >= agent_done_gap_s
        if caller.heard and agent_quiet and not caller.speech and not caller.barging and transcribing is None:
            transcribing = _start_transcription(caller, result)
            caller.reply_heard = True
        if transcribing is not None and transcribing.done():
            result.transcript.append(("agent", transcribing.result()))
            transcribing = None
        idle = not caller.speech and not caller.playback and transcribing is None and not caller.heard
        if caller.next_line < len(caller.lines_audio) and not caller.speech:
            barge = persona.barge_in and caller.next_line == 0 and bool(caller.playback) and len(caller.heard) > 25
            first_wait = caller.next_line == 0 and now - start >= caller.first_line_after_s
            if barge or (idle and (caller.reply_heard or first_wait)) or persona.voicemail:
                if barge:
                    caller.barge_starts = True
                    caller.barging = True
                _say_line(caller, result)
        elif caller.next_line >= len(caller.lines_audio) and idle and caller.awaiting_reply_since is None:
            done_since = done_since or now
            if now - done_since >= hangup_s:
                await socket.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {}}))
                await socket.close()
                result.ended_by = "caller"
                return
        else:
            done_since = None
        # Real time: the next frame is due 20 ms after this one.
        await asyncio.sleep(max(0.0, start + tick * FRAME_S - time.monotonic()))


def _say_line(caller: _Caller, result: SimulationResult) -> None:
    index = caller.next_line
    caller.next_line += 1
    audio = caller.lines_audio[index]
    frames = [audio[i : i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES)]
    if frames and len(frames[-1]) < FRAME_BYTES:
        frames[-1] = frames[-1] + bytes([SILENCE_BYTE]) * (FRAME_BYTES - len(frames[-1]))
    caller.speech.extend(frames)
    caller.speaking_line = index
    caller.reply_heard = False
    caller.speech_started_at = time.monotonic()
    caller.awaiting_reply_since = None
    text = " ".join(caller.persona.lines) if caller.persona.voicemail else caller.persona.lines[index]
    result.transcript.append(("caller", text))
    if caller.persona.voicemail:
        caller.next_line = len(caller.lines_audio)


def _start_transcription(caller: _Caller, result: SimulationResult) -> asyncio.Task[str]:
    audio = mulaw_decode(b"".join(caller.heard))
    caller.heard = []
    result.agent_audio.append(audio)

    async def run() -> str:
        if not caller.transcribe:
            return ""
        return await asyncio.to_thread(_transcribe, audio)

    return asyncio.create_task(run())


def _transcribe(audio8: Samples) -> str:
    from live.speech.stt import get_stt

    stt = get_stt()
    return stt.transcribe(soxr.resample(audio8, 8000, stt.sample_rate).astype(np.float32))


async def _finish_turn(caller: _Caller, result: SimulationResult, transcribing: asyncio.Task[str] | None) -> None:
    if transcribing is not None:
        result.transcript.append(("agent", await transcribing))
    # Whatever was still queued when the agent hung up would be played by Twilio.
    caller.heard.extend(item for item in caller.playback if isinstance(item, bytes))
    caller.playback.clear()
    if caller.heard:
        task = _start_transcription(caller, result)
        result.transcript.append(("agent", await task))


def host_of(url: str) -> str:
    return urlsplit(url).netloc
