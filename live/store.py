"""The live engine's database edge, on database threads of its own.

The session never touches the ORM: its writes go through the owning app's
services (calls.services), queued here off the media path.

Why not channels' database_sync_to_async: it runs every call of a daphne
process on asgiref's ONE shared thread, so a single call waiting on a row
lock (an operator's transaction, a status-webhook batch) stalled every
other call's turns and every new call's setup behind it. Here each call has
a queue of its own, written by one task that hands one write at a time to a
small pool: a call's writes stay in order, and a call that waits holds up a
pool thread, not the other calls. DB_THREADS stays well under the
connection pool's size (DB_POOL_MAX_SIZE, 10 by default) so that web
requests still find connections while calls write (on SQLite, one thread).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import structlog
from django.conf import settings
from django.db import close_old_connections

from agents.brains.base import ModelExchange
from agents.brains.config import PrivacySettings
from analysis.services import model_exchange_record
from calls.selectors import call_answered_by
from calls.services import call_add_turn, call_store_outcome
from voiceops.realtime import broadcasts_via

T = TypeVar("T")
log = structlog.get_logger(__name__)

DB_THREADS = 4
# SQLite takes one writer at a time (a lock on the whole file): more threads
# would only queue on that lock (or, on the test suite's shared in-memory
# database, fail at once with "table is locked"). It has no row locks for a
# call to wait on either.
_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
DB_POOL = ThreadPoolExecutor(max_workers=1 if _SQLITE else DB_THREADS, thread_name_prefix="live-db")


async def db_run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run database work on the engine's own threads (the way database_sync_to_async would, minus the queue)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(DB_POOL, functools.partial(_in_thread, loop, fn, *args, **kwargs))


def _in_thread(loop: asyncio.AbstractEventLoop, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # As database_sync_to_async does: no connection outlives its use here
    # (CONN_MAX_AGE=0 hands it back to the pool), and a broken one is replaced.
    close_old_connections()
    try:
        with broadcasts_via(loop):  # console broadcasts go out from the server's loop, not this thread
            return fn(*args, **kwargs)
    finally:
        close_old_connections()


class TurnStore(Protocol):
    """What a session writes (tests record it instead)."""

    def start(self) -> None: ...

    def add_turn(self, **fields: Any) -> None: ...

    def store_outcome(self, **fields: Any) -> None: ...

    async def answered_by(self) -> str: ...

    async def close(self) -> None: ...


class CallStore:
    """One call's writes, in the order they were made, never on the event loop."""

    def __init__(self, call_id: uuid.UUID, privacy: PrivacySettings | None = None) -> None:
        self.call_id = call_id
        # The version's redaction applies to what is stored; the brain keeps hearing the clear words.
        self.privacy = privacy or PrivacySettings()
        self._queue: asyncio.Queue[Callable[[], Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.log = log.bind(call_id=str(call_id))

    def start(self) -> None:
        self._task = asyncio.create_task(self._write_all(), name="call-store")

    def add_turn(self, **fields: Any) -> None:
        """calls.services.call_add_turn, queued (speaker, text, heard_text, timings, ...), under the redaction.

        A caller turn is also the speech recogniser's output: it goes into the
        model I/O log as such.
        """
        redacting = self.privacy.redact_pii
        self._queue.put_nowait(
            functools.partial(
                call_add_turn,
                call_id=self.call_id,
                redacting=redacting,
                keep_clear_text=self.privacy.keep_clear_text,
                **fields,
            )
        )
        if fields.get("speaker") == "caller":
            self._queue.put_nowait(
                functools.partial(
                    model_exchange_record,
                    call_id=self.call_id,
                    kind="stt",
                    response={"text": str(fields.get("text", ""))},
                    # The recogniser's confidence rides on its text (live.speech.base.Transcript).
                    confidence=getattr(fields.get("text"), "confidence", None),
                    redacting=redacting,
                )
            )

    def add_model_exchange(self, exchange: ModelExchange) -> None:
        """The brain's model I/O hook (CallContext.on_model_exchange): queued like every other write."""
        self._queue.put_nowait(
            functools.partial(
                model_exchange_record,
                call_id=self.call_id,
                kind="llm",
                request={"messages": exchange.messages, "tools": exchange.tools},
                response={"reply": exchange.reply, "tool_calls": exchange.tool_calls},
                endpoint=exchange.endpoint,
                model=exchange.model,
                error=exchange.error,
                redacting=self.privacy.redact_pii,
            )
        )

    def store_outcome(self, **fields: Any) -> None:
        """calls.services.call_store_outcome, queued (disposition, recording, variables, status, reason),
        under the same redaction as the turns (the captures are what the caller said)."""
        self._queue.put_nowait(
            functools.partial(call_store_outcome, call_id=self.call_id, redacting=self.privacy.redact_pii, **fields)
        )

    async def answered_by(self) -> str:
        """The answering-machine result the status webhook stored ("" until Twilio sends it)."""
        return await db_run(call_answered_by, call_id=self.call_id)

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put_nowait(None)
        if self._task is None:  # never started (the call ended during setup): still write what it learned
            self.start()
        assert self._task is not None
        await self._task

    async def _write_all(self) -> None:
        while True:
            write = await self._queue.get()
            if write is None:
                return
            try:
                await db_run(write)
            except Exception:
                self.log.exception("call_db_write_failed")
