"""Console broadcasts: small messages on the channel layer, never audio.

A broadcast must never slow down the write that caused it. Inside the ASGI
server (webhooks, the call engine's database threads) the message is handed
to the server's event loop and sent there, after the caller has moved on;
changes that pile up before the loop gets to them go out as one message
naming each call once (consoles re-render the calls from the database, so the
latest state is all they need, and a burst of status callbacks costs one
channel-layer send, not one per call). Outside a server (Celery workers,
management commands, the test client) there is no loop to hand it to, and it
is sent before returning.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

CONSOLE_GROUP = "console.live"
# Who is speaking now on each live call (live.speaker), kept where every
# process's pages read it: the cache (Redis with REDIS_URL). A session that
# died leaves its last value; the call's row goes once reconcile ends it.
SPEAKER_TTL_S = 4 * 3600
FLUSH_INTERVAL_S = 0.1  # operators see a change within this; Redis sees at most ten sends a second per process
_thread_state = threading.local()
log = structlog.get_logger(__name__)


def broadcast_call_changed(call_id: uuid.UUID | str) -> None:
    """Tell every open console that a call changed; they re-render it. Never raises, never waits on a server."""
    broadcast_calls_changed([call_id])


def broadcast_calls_changed(call_ids: Iterable[uuid.UUID | str]) -> None:
    """broadcast_call_changed for several calls at once: one message on the channel layer."""
    if get_channel_layer() is None:
        return
    ids = [str(call_id) for call_id in call_ids]
    loop = _server_loop()
    if loop is None:
        _send_now(ids)
    else:
        _sender_for(loop).add(ids)


def broadcast_campaigns_changed(campaign_ids: Iterable[int]) -> None:
    """Tell consoles that these campaigns' counts changed where no call row did (leads claimed, settled,
    imported or added): campaign pages re-send their progress, throttled per socket (calls.consumers).
    Never raises, never waits on a server."""
    if get_channel_layer() is None:
        return
    ids = sorted({int(pk) for pk in campaign_ids})
    if not ids:
        return
    message = {"type": "campaigns.changed", "campaign_ids": ids}
    loop = _server_loop()
    if loop is None:
        try:
            async_to_sync(_group_send_message)(message)
        except Exception:  # a console update must never break a write
            log.warning("console_broadcast_failed", campaign_ids=ids, exc_info=True)
        return
    try:
        asyncio.run_coroutine_threadsafe(_group_send_message(message), loop)
    except RuntimeError:  # the loop closed in between (server shutting down)
        log.warning("console_broadcast_dropped", campaign_ids=ids)


async def _group_send_message(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(CONSOLE_GROUP, message)
    except Exception:
        log.warning("console_broadcast_failed", message_type=message.get("type"), exc_info=True)


@contextmanager
def broadcasts_via(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Inside this block, broadcasts from this thread go to `loop`: for a server's own worker threads.

    (sync_to_async threads are found without it; a thread a server runs by
    other means, like the status webhook's database thread, says so here.)
    """
    previous = getattr(_thread_state, "loop", None)
    _thread_state.loop = loop
    try:
        yield
    finally:
        _thread_state.loop = previous


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop this code serves, if any: our own, or the one this worker thread works for."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    declared: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    if declared is not None:
        return declared if declared.is_running() and not declared.is_closed() else None
    # asgiref records the calling loop in each sync_to_async worker thread
    # (that is how async_to_sync finds its way back); a forked child must not use it.
    loop: asyncio.AbstractEventLoop | None = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


def _send_now(call_ids: list[str]) -> None:
    try:
        async_to_sync(_group_send)(call_ids)
    except Exception:  # a console update must never break a call
        log.warning("console_broadcast_failed", call_ids=call_ids, exc_info=True)


async def _group_send(call_ids: list[str]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(CONSOLE_GROUP, {"type": "calls.changed", "call_ids": call_ids})


class _LoopSender:
    """Collects call ids from any thread and sends them from one event loop: one message, each pending id once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}  # insertion-ordered set
        self._scheduled = False
        self._last_flush = float("-inf")  # loop time of the last send
        self._tasks: set[asyncio.Task[Any]] = set()  # strong references until done

    def add(self, call_ids: list[str]) -> None:
        with self._lock:
            self._pending.update(dict.fromkeys(call_ids))
            if self._scheduled:
                return  # the flush already scheduled will take this id too
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._start_flush)
        except RuntimeError:  # the loop closed in between (server shutting down)
            with self._lock:
                self._scheduled = False
            log.warning("console_broadcast_dropped", call_ids=call_ids)

    def _start_flush(self) -> None:
        # At most one send per interval: a change after a quiet spell goes out
        # at once, while a burst (hundreds of status callbacks a second) is
        # gathered into a few messages instead of one per database batch.
        wait = self._last_flush + FLUSH_INTERVAL_S - self.loop.time()
        if wait > 0:
            self.loop.call_later(wait, self._start_flush)
            return
        self._last_flush = self.loop.time()
        task = self.loop.create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        with self._lock:
            call_ids, self._pending = list(self._pending), {}
            self._scheduled = False
        try:
            await _group_send(call_ids)
        except Exception:  # a console update must never break a call
            log.warning("console_broadcast_failed", call_ids=call_ids, exc_info=True)


_senders: dict[asyncio.AbstractEventLoop, _LoopSender] = {}
_senders_lock = threading.Lock()


def _sender_for(loop: asyncio.AbstractEventLoop) -> _LoopSender:
    with _senders_lock:
        sender = _senders.get(loop)
        if sender is None:
            # Drop senders of loops that have closed (tests start many).
            for old in [old for old in _senders if old.is_closed()]:
                del _senders[old]
            sender = _senders[loop] = _LoopSender(loop)
        return sender


def _speaker_key(call_id: str) -> str:
    return f"live-speaker:{call_id}"


async def speaker_publish(call_id: str, speaker: str) -> None:
    """A live call's current speaker changed: kept for pages rendered later, and sent to open consoles."""
    from django.core.cache import cache

    await asyncio.to_thread(cache.set, _speaker_key(call_id), speaker, SPEAKER_TTL_S)  # a blocking client
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(CONSOLE_GROUP, {"type": "call.speaker", "call_id": call_id, "speaker": speaker})


def speakers_now(call_ids: Iterable[uuid.UUID | str]) -> dict[str, str]:
    """The current speaker of each call its session published one for (live.speaker values)."""
    from django.core.cache import cache

    keys = {_speaker_key(str(call_id)): str(call_id) for call_id in call_ids}
    return {keys[key]: str(value) for key, value in cache.get_many(list(keys)).items()}
