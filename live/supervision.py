"""Live supervision of one call: who watches and listens, the listen-in tap, and operators' commands.

A call is handled by whichever daphne process accepted its media socket; the
operator's console socket may be on another one. The only thing they share is
the channel layer, so each session opens one channel of its own there and
joins the call's control group (`control_group(call_id)`). Consoles send it
small messages:

- `watch.join` / `listen.join` {"reply_to": channel}: a lease, renewed by the
  console every few seconds (LEASE_S). A console that vanished without saying
  goodbye stops costing anything when its lease runs out.
- `watch.leave` / `listen.leave` {"reply_to": channel}.
- `call.command` {"command": "hangup" | "transfer" | "say", "actor": name, ...}.

A `listen.join` or `call.command` that names a `reply_to` channel is
acknowledged there (`supervision.ack`): the channel layer's group send cannot
say whether anyone received a message, and an operator's command for a call
whose session is gone (its process died, or the call never had one) must not
be lost silently (`command_deliver`, and the console's listen lease).

Back to each watcher, at most every WATCH_INTERVAL_S and only when something
changed: what the agent is saying now, how much of it the caller has heard
(the marks), and the latency stages of the reply so far. Back to each
listener: both sides' audio as mu-law, in batches of BATCH_MS. With no
listener the caller's side costs one dictionary check per frame and the
agent's side nothing (the player's tap is set only while a listen lease is
held): a call nobody watches sends nothing anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from live.clock import Clock
from live.speaker import NOBODY, SpeakerThrottle
from voiceops.realtime import speaker_publish

log = structlog.get_logger(__name__)

LEASE_S = 10.0  # a console renews every LEASE_S / 3
BATCH_MS = 160  # listen-in batches: 100-200 ms keeps the channel layer at ~6 messages a second per listener
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law
WATCH_INTERVAL_S = 0.1
# How long a console waits for a session's acknowledgement. Redis answers in a
# few milliseconds; the rest is room for a busy daphne process (two cores
# shared by the server, the models and the browser in the e2e runs).
ACK_TIMEOUT_S = 1.0
ACK = "supervision.ack"

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


def control_group(call_id: uuid.UUID | str) -> str:
    """The channel-layer group a call's session listens on (one name, used by both ends)."""
    return f"call-control.{call_id}"


@dataclass(frozen=True)
class LiveView:
    """What a watcher is shown of the reply in progress."""

    speaking: str  # the reply's text so far ("" when the agent is silent)
    heard: str  # the part of it the caller has heard (acknowledged marks)
    stages: dict[str, int]  # latency stages of the newest reply, ms after the caller stopped

    def as_message(self, call_id: str) -> dict[str, Any]:
        return {
            "type": "call.live",
            "call_id": call_id,
            "speaking": self.speaking,
            "heard": self.heard,
            "stages": self.stages,
        }


class Supervision:
    """The session's side: leases, the listen-in tap and commands (transport-free; see ChannelLayerLink)."""

    def __init__(
        self,
        *,
        call_id: uuid.UUID,
        clock: Clock,
        view: Callable[[], LiveView],
        on_command: Callable[[dict[str, Any]], Awaitable[None]],
        batch_ms: int = BATCH_MS,
    ) -> None:
        self.call_id = str(call_id)
        self.clock = clock
        self.view = view
        self.on_command = on_command
        self.batch_bytes = FRAME_BYTES * batch_ms // 20
        self.send: Send | None = None  # set by the link; None: nobody can reach this call
        # Told when the first listener arrives and when the last one goes (the
        # session sets the player's tap only in between).
        self.on_listening: Callable[[bool], None] | None = None
        # Who is speaking now, for the live list (live.speaker); set by the link.
        self.publish_speaker: Callable[[str, str], Awaitable[None]] | None = None
        self.speakers = SpeakerThrottle()
        self.listeners: dict[str, float] = {}  # reply channel -> lease end (clock time)
        self.watchers: dict[str, float] = {}
        self._caller = bytearray()
        self._agent = bytearray()
        self._batch_started: float | None = None  # wall time the batch's first frame reached us
        self._last_view: LiveView | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch_task: asyncio.Task[None] | None = None
        self.batches_sent = 0

    # ---- from consoles ---------------------------------------------------------

    async def deliver(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        reply_to = str(message.get("reply_to") or "")
        now = self.clock.now()
        was_listening = bool(self.listeners)
        if kind == "listen.join" and reply_to:
            self.listeners[reply_to] = now + LEASE_S
            self._acknowledge(reply_to, kind)
        elif kind == "listen.leave":
            self.listeners.pop(reply_to, None)
        elif kind == "watch.join" and reply_to:
            self.watchers[reply_to] = now + LEASE_S
            self._last_view = None  # a new watcher gets the current view at once
            self._ensure_watching()
        elif kind == "watch.leave":
            self.watchers.pop(reply_to, None)
        elif kind == "call.command":
            await self.on_command(message)
            if reply_to:
                self._acknowledge(reply_to, kind)
        self._listening_changed(was_listening)

    def _acknowledge(self, reply_to: str, kind: str) -> None:
        if self.send is not None:
            self._spawn(self.send(reply_to, {"type": ACK, "call_id": self.call_id, "of": kind}))

    def _listening_changed(self, was_listening: bool) -> None:
        if bool(self.listeners) != was_listening and self.on_listening is not None:
            self.on_listening(bool(self.listeners))

    @property
    def listening(self) -> bool:
        """Whether audio should be tapped at all (the media path asks this per frame)."""
        return bool(self.listeners)

    # ---- the live list ------------------------------------------------------------

    def on_speaker(self, speaker: str) -> None:
        """Who is speaking now (the session's tick): sent on to the consoles when it changed, throttled."""
        if self.publish_speaker is None:
            return
        changed = self.speakers.observe(speaker, self.clock.now())
        if changed is not None:
            self._spawn(self.publish_speaker(self.call_id, changed))

    # ---- the listen-in tap (media path: synchronous, cheap) ---------------------

    def on_caller_frame(self, mulaw: bytes) -> None:
        self._add(self._caller, mulaw)

    def on_agent_frame(self, mulaw: bytes) -> None:
        self._add(self._agent, mulaw)

    def _add(self, buffer: bytearray, mulaw: bytes) -> None:
        if not self.listeners:
            return
        if self._batch_started is None:
            self._batch_started = time.time()
        buffer.extend(mulaw)
        if len(self._caller) >= self.batch_bytes or len(self._agent) >= self.batch_bytes:
            self._flush()

    def _flush(self) -> None:
        now = self.clock.now()
        was_listening = bool(self.listeners)
        for channel, until in list(self.listeners.items()):
            if until < now:
                del self.listeners[channel]
        self._listening_changed(was_listening)
        message = {
            "type": "listen.audio",
            "call_id": self.call_id,
            "caller": base64.b64encode(bytes(self._caller)).decode(),
            "agent": base64.b64encode(bytes(self._agent)).decode(),
            "t0": self._batch_started,  # wall time (s) the batch's first frame reached the server
        }
        self._caller.clear()
        self._agent.clear()
        self._batch_started = None
        if self.send is None or not self.listeners:
            return
        self.batches_sent += 1
        for channel in self.listeners:
            self._spawn(self.send(channel, message))

    # ---- watchers ------------------------------------------------------------------

    def _ensure_watching(self) -> None:
        if self._watch_task is None or self._watch_task.done():
            self._watch_task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        """While anyone watches: the reply in progress, sent when it changed."""
        while self.watchers:
            now = self.clock.now()
            for channel, until in list(self.watchers.items()):
                if until < now:
                    del self.watchers[channel]
            view = self.view()
            if view != self._last_view and self.send is not None:
                self._last_view = view
                message = view.as_message(self.call_id)
                for channel in self.watchers:
                    self._spawn(self.send(channel, message))
            await self.clock.sleep(WATCH_INTERVAL_S)

    async def close(self) -> None:
        """The call is over: watchers are told so (their page then shows the stored turns)."""
        if self._watch_task is not None:
            self._watch_task.cancel()
        if self.send is not None:
            ended = LiveView(speaking="", heard="", stages={}).as_message(self.call_id)
            for channel in self.watchers:
                self._spawn(self.send(channel, {**ended, "ended": True}))
        if self.publish_speaker is not None and self.speakers.sent:
            self._spawn(self.publish_speaker(self.call_id, NOBODY))  # nobody speaks on a call that is over
        was_listening = bool(self.listeners)
        self.listeners.clear()
        self.watchers.clear()
        self._listening_changed(was_listening)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=1.0)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._quietly(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _quietly(self, coro: Awaitable[None]) -> None:
        try:
            await coro
        except Exception:  # a console that went away must never break the call
            log.warning("supervision_send_failed", call_id=self.call_id, exc_info=True)


class ChannelLayerLink:
    """Connects a Supervision to the channel layer: one channel per call, in the call's control group.

    Each call gets a layer instance of its own (one Redis connection while it
    lives). The process's shared instance serves the consoles' sockets: a
    session blocking on it for its own messages, and being cancelled there when
    the call ends, would take turns with their receive loop instead of
    staying out of its way.
    """

    def __init__(self, supervision: Supervision) -> None:
        self.supervision = supervision
        self._task: asyncio.Task[None] | None = None
        self._layer: Any = None
        self._channel = ""

    async def start(self) -> None:
        from channels import DEFAULT_CHANNEL_LAYER
        from channels.layers import channel_layers

        if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
            return
        if "InMemory" in channel_layers.configs[DEFAULT_CHANNEL_LAYER]["BACKEND"]:
            # The embedded default: one process, one in-memory layer; a second
            # instance would be a different memory that no console can reach.
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
        else:
            layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
            self._own = layer
        if layer is None:
            return
        self._layer = layer
        self._channel = await layer.new_channel()
        await layer.group_add(control_group(self.supervision.call_id), self._channel)
        self.supervision.send = layer.send
        self.supervision.publish_speaker = speaker_publish
        self._task = asyncio.create_task(self._receive(layer), name="call-supervision")

    _own: Any = None

    async def _receive(self, layer: Any) -> None:
        while True:
            message = await layer.receive(self._channel)
            try:
                await self.supervision.deliver(message)
            except Exception:
                log.exception("supervision_message_failed", call_id=self.supervision.call_id)

    async def close(self) -> None:
        """Leave the call's group and let go of the layer, in the background.

        channels_redis finishes a cancelled receive only when its blocking
        read returns (up to its 5 s timeout): the call's end must not wait
        for that.
        """
        if self._task is None:
            return
        self._task.cancel()
        cleanup = asyncio.ensure_future(self._clean_up(self._task))
        _CLEANUPS.add(cleanup)
        cleanup.add_done_callback(_CLEANUPS.discard)

    async def _clean_up(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, timeout=10)
        with contextlib.suppress(Exception):
            await self._layer.group_discard(control_group(self.supervision.call_id), self._channel)
        if self._own is not None:
            with contextlib.suppress(Exception):
                await self._own.close_pools()


_CLEANUPS: set[asyncio.Future[None]] = set()  # strong references until each is done


async def control_send(call_id: uuid.UUID | str, message: dict[str, Any]) -> None:
    """A console's message to a call's session, wherever that session runs."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(control_group(call_id), message)


async def command_deliver(
    call_id: uuid.UUID | str, message: dict[str, Any], *, timeout_s: float = ACK_TIMEOUT_S
) -> bool:
    """Send an operator's command to the call's session and wait for its acknowledgement.

    False when no session acknowledged it within `timeout_s`: the call has no
    live session on any process (it died with its process, or never started),
    and the caller must say so, or end the call another way.
    """
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return False
    reply_to = await layer.new_channel()
    await layer.group_send(control_group(call_id), {**message, "reply_to": reply_to})
    receive = asyncio.ensure_future(layer.receive(reply_to))
    done, _ = await asyncio.wait({receive}, timeout=timeout_s)
    if not done:
        # Not awaited: channels_redis ends a cancelled receive only when its
        # blocking read returns, and the operator must not wait for that.
        receive.cancel()
        _CLEANUPS.add(receive)
        receive.add_done_callback(_CLEANUPS.discard)
        return False
    answer = receive.result()
    return bool(answer.get("type") == ACK and answer.get("of") == "call.command")
