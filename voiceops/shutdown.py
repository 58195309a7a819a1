"""Graceful restarts: on SIGTERM a daphne process stops taking calls, lets live ones finish, then ends the rest.

What happens, in order, when the process gets SIGTERM (a deploy, `kill`,
Kubernetes or systemd stopping it):

1. Draining starts: /readyz answers 503 (voiceops.health), so the load
   balancer sends new requests elsewhere, and the voice webhook answers any
   call that still reaches this process with a polite TwiML message and a
   hang-up (telephony.voice). Status callbacks, the console and the API keep
   being served: a draining process is still a healthy one.
2. Live calls (each Media Streams socket registered here) carry on until
   they end by themselves, for at most SHUTDOWN_DRAIN_S seconds.
3. Calls still live then are ended cleanly: the disposition says
   "server_shutdown", the carrier is asked to hang up, the turn and the
   recording are stored and the status set, as when the agent hangs up.
4. The reactor stops (daphne's own shutdown), and the process exits.

A second SIGTERM stops at once. A process that dies without any of this
(SIGKILL, a crash, the machine) leaves its calls "in progress" in the
database: the reconcile beat task (calls.reconcile) asks the carrier how they
ended.

Why a signal handler of our own: Twisted's SIGTERM handler stops the reactor
at once, and daphne's "before shutdown" trigger cancels every application
instance (every live call) in the same step, so no "before shutdown" trigger
of ours could hold calls up. Ours is installed after the reactor's own
(`callWhenRunning`), and only in a process daphne runs; anywhere else
(tests, Celery, manage.py) importing voiceops.asgi changes no signal.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from django.conf import settings

from voiceops import health

log = structlog.get_logger(__name__)

EndCall = Callable[[], Awaitable[None]]

# Time allowed for ending one call at the drain's deadline (a REST hang-up
# has its own timeouts; storing the last turn and the recording is local).
END_CALL_TIMEOUT_S = 15.0


class LiveCalls:
    """The calls this process carries, each with the coroutine that ends it cleanly."""

    def __init__(self) -> None:
        self._calls: dict[object, EndCall] = {}
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._calls)

    def started(self, key: object, end: EndCall) -> None:
        self._calls[key] = end
        self._empty.clear()

    def finished(self, key: object) -> None:
        self._calls.pop(key, None)
        if not self._calls:
            self._empty.set()

    async def wait_empty(self, timeout_s: float) -> bool:
        """True when every call ended within `timeout_s`."""
        if not self._calls:
            return True
        try:
            await asyncio.wait_for(self._empty.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def end_all(self) -> int:
        """End every call still live, all at once; returns how many there were."""
        ends = list(self._calls.items())

        async def end(key: object, end_call: EndCall) -> None:
            try:
                await asyncio.wait_for(end_call(), END_CALL_TIMEOUT_S)
            except Exception:
                log.exception("shutdown_end_call_failed")
            finally:
                self.finished(key)

        await asyncio.gather(*(end(key, end_call) for key, end_call in ends))
        return len(ends)


live_calls = LiveCalls()


def call_started(key: object, end: EndCall) -> None:
    """A media socket started a call in this process (telephony.consumers)."""
    live_calls.started(key, end)


def call_finished(key: object) -> None:
    live_calls.finished(key)


async def drain(calls: LiveCalls | None = None, *, timeout_s: float | None = None) -> dict[str, int]:
    """Stop taking calls, wait for live ones up to `timeout_s` (SHUTDOWN_DRAIN_S), end the rest.

    Returns counts for the log: calls live at the start, calls that ended by
    themselves, calls this ended.
    """
    calls = calls if calls is not None else live_calls
    timeout_s = float(settings.SHUTDOWN_DRAIN_S if timeout_s is None else timeout_s)
    health.mark_draining()
    at_start = len(calls)
    log.info("shutdown_draining", live_calls=at_start, drain_s=timeout_s)
    await calls.wait_empty(timeout_s)
    ended = await calls.end_all()
    counts = {"live_at_start": at_start, "finished_by_themselves": at_start - ended, "ended_by_shutdown": ended}
    log.info("shutdown_drained", **counts)
    return counts


# --- daphne wiring -----------------------------------------------------------------------------


def install_for_daphne() -> None:
    """Take over SIGTERM once daphne's reactor runs (no-op outside a daphne process)."""
    if "twisted.internet.reactor" not in sys.modules or "daphne.server" not in sys.modules:
        return
    from twisted.internet import reactor

    reactor.callWhenRunning(_take_sigterm, reactor)  # after the reactor installed its own handlers


def _take_sigterm(reactor: Any) -> None:
    loop = asyncio.get_event_loop()
    state = {"draining": False}

    def on_sigterm(signum: int, frame: Any) -> None:
        if state["draining"]:
            log.warning("shutdown_second_sigterm_stopping_now")
            reactor.callFromThread(reactor.stop)
            return
        state["draining"] = True
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_drain_then_stop(reactor)))

    signal.signal(signal.SIGTERM, on_sigterm)


async def _drain_then_stop(reactor: Any) -> None:
    try:
        await drain()
    finally:
        reactor.stop()
