"""POST /twilio/status/: Twilio's call status and answering-machine callbacks.

Two thin doors check a callback and hand it to `telephony.status_callbacks`:
`status_asgi_app`, which voiceops.asgi mounts in front of Django for this one
hot path (Twilio sends hundreds a second during a campaign; sessions, auth,
CSRF and messages middleware do nothing for it but cost most of its CPU), and
the Django view `status_webhook`, kept for reverse() and the test client.

The ASGI door answers 200 only once a callback is committed (an error answer
is logged by Twilio as a failed delivery, and retried where the callback URL
asks for retries with a connection override), but it does not give each one
its own thread hop, database checkout, transaction and commit: callbacks that
arrive while a batch is being written wait for the next batch, applied by one
database thread per process.
Under light load a batch is a single callback and starts at once; under a
burst the per-batch costs are shared by everything that queued meanwhile.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import structlog
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.models import Call
from telephony.signature import FormFields, signature_valid
from telephony.status_callbacks import StatusCallback, status_callbacks_apply
from voiceops import metrics
from voiceops.realtime import broadcasts_via

log = structlog.get_logger(__name__)

STATUS_PATH = "/twilio/status/"
TWILIO_STATUSES = frozenset(str(s) for s in Call.Status)
# Large enough to absorb a burst, small enough that a batch holds its calls'
# row locks (which the call engine and the console also take) only briefly.
MAX_BATCH = 100
MAX_SEQUENCE = 2**31 - 1  # CallEvent.sequence_number and Call.status_sequence are 32-bit integers


class RejectedCallback(Exception):
    """A callback answered with an error and not stored: forged, or not a callback we can read."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def status_callback_read(*, full_path: str, form: FormFields, signature: str, call_ref: str) -> StatusCallback:
    """Check one callback's signature and fields; raises RejectedCallback with the answer to give."""
    if not signature_valid(full_path=full_path, form=form, signature=signature):
        log.warning("twilio_status_forged", path=full_path)
        raise RejectedCallback(403, "invalid Twilio signature")
    params = form.last_values()
    if not params.get("CallSid"):
        raise RejectedCallback(400, "CallSid is required")
    status = params.get("CallStatus", "")
    if status and status not in TWILIO_STATUSES:
        raise RejectedCallback(400, f"unknown CallStatus {status!r}")
    sequence = params.get("SequenceNumber", "")
    if sequence and not (sequence.isdigit() and int(sequence) <= MAX_SEQUENCE):
        raise RejectedCallback(400, f"SequenceNumber must be an integer from 0 to {MAX_SEQUENCE}")
    if any("\x00" in value for value in params.values()):
        # PostgreSQL cannot store NUL in text or JSON; no genuine callback has one.
        raise RejectedCallback(400, "form fields must not contain NUL characters")
    return StatusCallback(params=params, call_ref=call_ref)


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest) -> HttpResponse:
    try:
        callback = status_callback_read(
            full_path=request.get_full_path(),
            form=FormFields.of(request.POST),
            signature=request.headers.get("X-Twilio-Signature", ""),
            call_ref=request.GET.get("call", ""),
        )
    except RejectedCallback as rejected:
        return HttpResponse(rejected.text, status=rejected.code, content_type="text/plain")
    try:
        result = status_callbacks_apply([callback])[0]
    except DatabaseError:  # SQLite locked, PostgreSQL away: nothing stored, so Twilio's retry is not a duplicate
        log.exception("twilio_status_not_stored", call_sid=callback.sid)
        return HttpResponse("callback not stored, retry later", status=503, content_type="text/plain")
    return HttpResponse(result, content_type="text/plain")


# --- the ASGI door ----------------------------------------------------------------------------


async def status_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """POST /twilio/status/ as a plain ASGI app: same checks and answers as the view, minus the middleware."""
    if scope["method"] != "POST":
        await _respond(send, 405, "method not allowed; POST a Twilio status callback", [(b"allow", b"POST")])
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            await _respond(send, 413, "request body too large")
            return
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    query = scope.get("query_string", b"").decode("latin-1")
    try:
        form = _form_fields(b"".join(chunks))
        call_ref = QueryDict(query).get("call", "")
    except (TooManyFieldsSent, ValueError) as error:  # UnicodeDecodeError is a ValueError
        await _respond(send, 400, f"unreadable form: {error}")
        return
    # Django's request.get_full_path(), which is what Twilio signed.
    full_path = escape_uri_path(scope["path"]) + (f"?{iri_to_uri(query)}" if query else "")
    headers = dict(scope.get("headers", []))
    signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
    try:
        callback = status_callback_read(full_path=full_path, form=form, signature=signature, call_ref=call_ref)
    except RejectedCallback as rejected:
        await _respond(send, rejected.code, rejected.text)
        return
    try:
        result = await _batcher_for(asyncio.get_running_loop()).apply(callback)
    except Exception:
        # Not stored, so say so: a retried delivery will not be taken for a duplicate.
        log.exception("twilio_status_not_stored", call_sid=callback.sid)
        await _respond(send, 503, "callback not stored, retry later")
        return
    await _respond(send, 200, result)


def _form_fields(body: bytes) -> FormFields:
    """An urlencoded body as Django would decode it (UTF-8, blank values kept, the field limit applied)."""
    fields = FormFields()
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=limit, errors="strict")
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


async def _respond(send: Any, code: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# One thread per process writes the batches; it keeps no connection between
# them (the pool does), so a database restart costs one failed batch at most.
_database_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twilio-status")


def _apply_batch(loop: asyncio.AbstractEventLoop, callbacks: list[StatusCallback]) -> list[str | Exception]:
    """status_callbacks_apply on the database thread; a batch the database refuses is retried one callback at a time.

    (So a callback that cannot be applied fails alone; the others in its batch
    are stored.) Console broadcasts are handed back to the server's loop.
    """
    close_old_connections()
    try:
        with broadcasts_via(loop):
            return _apply_or_split(callbacks)
    finally:
        close_old_connections()


def _apply_or_split(callbacks: list[StatusCallback]) -> list[str | Exception]:
    try:
        return list(status_callbacks_apply(callbacks))
    except Exception as error:
        if len(callbacks) == 1:
            return [error]
        log.warning("twilio_status_batch_failed", callbacks=len(callbacks), exc_info=True)
    results: list[str | Exception] = []
    for callback in callbacks:
        close_old_connections()
        try:
            results.append(status_callbacks_apply([callback])[0])
        except Exception as error:
            results.append(error)
    return results


class _Batcher:
    """Queues callbacks on one event loop and has the database thread apply them a batch at a time."""

    def __init__(self) -> None:
        self._queue: list[tuple[StatusCallback, asyncio.Future[str]]] = []
        self._drainer: asyncio.Task[None] | None = None

    @property
    def queued(self) -> list[StatusCallback]:
        """The callbacks waiting for the next batch."""
        return [callback for callback, _ in self._queue]

    async def apply(self, callback: StatusCallback) -> str:
        """Store and apply one callback; returns once it is committed (or raises why it was not)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._queue.append((callback, future))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                metrics.STATUS_WEBHOOK_BATCH_SIZE.observe(len(batch))
                loop = asyncio.get_running_loop()
                try:
                    results = await loop.run_in_executor(_database_thread, _apply_batch, loop, [c for c, _ in batch])
                except Exception as error:  # the thread could not run it at all (shutting down)
                    results = [error] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its request went away meanwhile: the answer has nowhere to go
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._drainer = None


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = weakref.WeakKeyDictionary()


def _batcher_for(loop: asyncio.AbstractEventLoop) -> _Batcher:
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = _Batcher()
    return batcher
