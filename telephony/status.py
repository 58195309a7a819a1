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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import structlog
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import DatabaseError, close_old_connections, connection
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
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
# Under load, the next batch waits this long for company before it starts.
# A batch costs about 1.7 ms of CPU whatever its size, plus 0.13 ms per
# callback (PostgreSQL, 2 cores, scripts/bench_status_webhook.py), and at
# 600 callbacks/s the database thread, left to itself, wrote batches of 2 to
# 3: most of the process's CPU went on per-batch costs. Only a batch that
# follows another one waits (callbacks queued while the previous batch was
# written mean the process is busy); a callback that finds the thread idle
# starts at once, so a quiet server answers as fast as before.
LINGER_S = 0.003
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
    headers = dict(scope.get("headers", []))
    if not host_allowed(_request_host(scope, headers)):
        # Django refuses such a request in request.get_host() (which its
        # middleware calls); this door has no middleware, so it checks here.
        await _respond(send, 400, "invalid Host header")
        return
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
        call_ref = _query_value(query, "call")
    except (TooManyFieldsSent, ValueError) as error:  # UnicodeDecodeError is a ValueError
        await _respond(send, 400, f"unreadable form: {error}")
        return
    # Django's request.get_full_path(), which is what Twilio signed.
    full_path = escape_uri_path(scope["path"]) + (f"?{iri_to_uri(query)}" if query else "")
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


def _request_host(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    """The host the request names, as Django's request.get_host() reads it (Host header, else the server's address)."""
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        return headers[b"x-forwarded-host"].decode("latin-1")
    if b"host" in headers:
        return headers[b"host"].decode("latin-1")
    name, port = scope.get("server") or ("unknown", "0")  # what Django's ASGIRequest assumes
    return f"{name}:{port}"


# Hosts already checked against ALLOWED_HOSTS, keyed by the setting's value (a
# test or a reload may change it): a campaign's callbacks all name the same
# host, and the check is a loop of pattern matches per request otherwise.
_checked_hosts: dict[tuple[tuple[str, ...], bool, str], bool] = {}
_CHECKED_HOSTS_MAX = 256  # a client sending random Host headers cannot grow it without bound


def host_allowed(host: str) -> bool:
    """Whether Django would accept this Host header (ALLOWED_HOSTS, with its DEBUG default)."""
    key = (tuple(settings.ALLOWED_HOSTS), bool(settings.DEBUG), host)
    allowed = _checked_hosts.get(key)
    if allowed is None:
        patterns = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not patterns:
            patterns = [".localhost", "127.0.0.1", "[::1]"]
        domain, _port = split_domain_port(host)
        allowed = bool(domain) and validate_host(domain, patterns)
        if len(_checked_hosts) >= _CHECKED_HOSTS_MAX:
            _checked_hosts.clear()
        _checked_hosts[key] = allowed
    return allowed


def _query_value(query: str, name: str) -> str:
    """One query parameter's last value, as QueryDict(query).get(name, "") reads it (without building a QueryDict)."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    value = ""
    for key, found in parse_qsl(query, keep_blank_values=True, max_num_fields=limit):
        if key == name:
            value = found
    return value


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


# One thread per process writes the batches. It keeps its connection only
# from one batch to the next while callbacks are waiting (the pool keeps it
# otherwise), so a database restart costs one failed batch at most; under
# load a batch does not pay for taking a connection from the pool and the
# pool's health check, a round trip of its own.
_database_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twilio-status")


def _apply_batch(
    loop: asyncio.AbstractEventLoop,
    callbacks: list[StatusCallback],
    *,
    more_waiting: Callable[[], bool] = lambda: False,
) -> list[str | Exception]:
    """status_callbacks_apply on the database thread; a batch the database refuses is retried one callback at a time.

    (So a callback that cannot be applied fails alone; the others in its batch
    are stored.) Console broadcasts are handed back to the server's loop.
    When `more_waiting()` says the next batch has callbacks already, the
    connection stays with this thread for it.
    """
    if connection.connection is not None and connection.errors_occurred:
        close_old_connections()  # kept from the last batch, which failed: not to be trusted
    try:
        with broadcasts_via(loop):
            return _apply_or_split(callbacks)
    finally:
        if not more_waiting():
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

    def _has_queued(self) -> bool:
        # Read from the database thread: a list's length is read atomically,
        # and only the loop's drainer, which is waiting for that thread, takes from it.
        return bool(self._queue)

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
            following = False
            while self._queue:
                if following and len(self._queue) < MAX_BATCH:
                    await asyncio.sleep(LINGER_S)
                following = True
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                metrics.STATUS_WEBHOOK_BATCH_SIZE.observe(len(batch))
                loop = asyncio.get_running_loop()
                apply = partial(_apply_batch, loop, [c for c, _ in batch], more_waiting=self._has_queued)
                try:
                    results = await loop.run_in_executor(_database_thread, apply)
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
