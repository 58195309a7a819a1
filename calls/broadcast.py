"""Console broadcasts: small messages on the channel layer, never audio.

A broadcast must never slow down the write that caused it. Inside the ASGI
server (webhooks, the call engine's database threads) the message is handed
to the server's event loop and sent there, after the caller has moved on;
changes to the same call that pile up before the loop gets to them go out as
one message (consoles re-render the call from the database, so the latest
state is all they need). Outside a server (Celery workers, management
commands, the test client) there is no loop to hand it to, and it is sent
before returning, as before.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import Any

import structlog
from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

CONSOLE_GROUP = "console.live"
log = structlog.get_logger(__name__)


def broadcast_call_changed(call_id: uuid.UUID | str) -> None:
    """Tell every open console that a call changed; they re-render it. Never raises, never waits on a server."""
    if get_channel_layer() is None:
        return
    loop = _server_loop()
    if loop is None:
        _send_now(str(call_id))
    else:
        _sender_for(loop).add(str(call_id))


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop this code serves, if any: our own, or the one a sync_to_async thread works for."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    # asgiref records the calling loop in each sync_to_async worker thread
    # (that is how async_to_sync finds its way back); a forked child must not use it.
    loop: asyncio.AbstractEventLoop | None = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() and not loop.is_closed() else None


def _send_now(call_id: str) -> None:
    try:
        async_to_sync(_group_send)(call_id)
    except Exception:  # a console update must never break a call
        log.warning("console_broadcast_failed", call_id=call_id, exc_info=True)


async def _group_send(call_id: str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(CONSOLE_GROUP, {"type": "call.changed", "call_id": call_id})


class _LoopSender:
    """Collects call ids from any thread and sends them from one event loop, each pending id once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}  # insertion-ordered set
        self._scheduled = False
        self._tasks: set[asyncio.Task[Any]] = set()  # strong references until done

    def add(self, call_id: str) -> None:
        with self._lock:
            self._pending[call_id] = None
            if self._scheduled:
                return  # the flush already scheduled will take this id too
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._start_flush)
        except RuntimeError:  # the loop closed in between (server shutting down)
            with self._lock:
                self._scheduled = False
            log.warning("console_broadcast_dropped", call_id=call_id)

    def _start_flush(self) -> None:
        task = self.loop.create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        with self._lock:
            call_ids, self._pending = list(self._pending), {}
            self._scheduled = False
        for call_id in call_ids:
            try:
                await _group_send(call_id)
            except Exception:  # a console update must never break a call
                log.warning("console_broadcast_failed", call_id=call_id, exc_info=True)


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
