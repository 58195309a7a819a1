"""POST /twilio/status/: Twilio's call status and answering-machine callbacks.

Callbacks arrive late, twice and out of order. Each one is stored once in
CallEvent (keyed by CallSid + CallStatus + SequenceNumber; AMD results by
CallSid + AnsweredBy), then applied under the call's row lock, only ever
forward. A final status hands the attempt to the dialer, which moves the lead.

Two thin doors lead to the same `status_callback_handle`: `status_asgi_app`,
which voiceops.asgi mounts in front of Django for this one hot path (Twilio
sends hundreds a second during a campaign; sessions, auth, CSRF and messages
middleware do nothing for it but cost most of its CPU), and the Django view
`status_webhook`, kept for reverse() and the test client.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import close_old_connections, connection, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.broadcast import broadcast_call_changed
from calls.dialer import call_outcome_apply_locked
from calls.models import Call
from calls.services import call_event_record, call_status_advance
from calls.twilio_signature import signature_valid

log = structlog.get_logger(__name__)

STATUS_PATH = "/twilio/status/"
TWILIO_STATUSES = frozenset(str(s) for s in Call.Status)


def status_callback_handle(*, full_path: str, form: QueryDict, signature: str, call_ref: str) -> tuple[int, str]:
    """Check, store and apply one callback; returns the HTTP status and plain-text body to answer with."""
    if not signature_valid(full_path=full_path, form=form, signature=signature):
        log.warning("twilio_status_forged", path=full_path)
        return 403, "invalid Twilio signature"
    params: dict[str, Any] = form.dict()  # the last value of each field, as request.POST.dict()
    if not params.get("CallSid"):
        return 400, "CallSid is required"
    status = params.get("CallStatus", "")
    if status and status not in TWILIO_STATUSES:
        return 400, f"unknown CallStatus {status!r}"
    sequence = params.get("SequenceNumber", "")
    if sequence and not sequence.lstrip("-").isdigit():
        return 400, "SequenceNumber must be an integer"
    return 200, status_callback_apply(params=params, call_ref=call_ref)


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest) -> HttpResponse:
    code, text = status_callback_handle(
        full_path=request.get_full_path(),
        form=request.POST,
        signature=request.headers.get("X-Twilio-Signature", ""),
        call_ref=request.GET.get("call", ""),
    )
    return HttpResponse(text, status=code, content_type="text/plain")


# --- the ASGI door ----------------------------------------------------------------------------

# Long-lived worker threads (Django would start a thread per request). Half
# the database pool: a burst of callbacks queues here and leaves connections
# for the console and the call engine.
_executor = ThreadPoolExecutor(
    max_workers=max(1, int(settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 4)) // 2),
    thread_name_prefix="twilio-status",
)


def _handle_and_release(**kwargs: Any) -> tuple[int, str]:
    """status_callback_handle on a worker thread, handing the thread's connection back to the pool after each callback.

    (channels' database_sync_to_async does the same, but its test harness
    turns that off; this way the tests run exactly what production runs.)
    """
    close_old_connections()
    try:
        return status_callback_handle(**kwargs)
    finally:
        close_old_connections()


_handle_in_thread = sync_to_async(_handle_and_release, thread_sensitive=False, executor=_executor)


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
        form = QueryDict(b"".join(chunks))
        call_ref = QueryDict(query).get("call", "")
    except (TooManyFieldsSent, UnicodeDecodeError) as error:
        await _respond(send, 400, f"unreadable form: {error}")
        return
    # Django's request.get_full_path(), which is what Twilio signed.
    full_path = escape_uri_path(scope["path"]) + (f"?{iri_to_uri(query)}" if query else "")
    headers = dict(scope.get("headers", []))
    signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
    code, text = await _handle_in_thread(full_path=full_path, form=form, signature=signature, call_ref=call_ref)
    await _respond(send, code, text)


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


def _parse_call_ref(call_ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(call_ref) if call_ref else None
    except ValueError:
        return None


def _lock_call(call_ref: str, sid: str) -> Call | None:
    """The call this callback is about, locked FOR UPDATE (by our id in the URL, else by SID)."""
    locked = Call.objects.select_for_update(of=("self",))
    call_id = _parse_call_ref(call_ref)
    if call_id is not None:
        call = locked.filter(pk=call_id).first()
        # The URL names our row; the SID must not belong to another one.
        if call is not None and call.twilio_call_sid in (None, "", sid):
            return call
    return locked.filter(twilio_call_sid=sid).first()


# PostgreSQL: _lock_call and the idempotent insert in one statement (one round
# trip, no ORM compilation on the dialer's hottest path). The call is locked
# before the event is inserted, as in the two-step version; a callback for an
# unknown call still comes back as one row of NULLs with event_stored.
_LOCK_AND_STORE = """
WITH target AS (
    SELECT * FROM calls_call
    WHERE (id = %(ref)s AND (twilio_call_sid IS NULL OR twilio_call_sid IN ('', %(sid)s)))
       OR twilio_call_sid = %(sid)s
    ORDER BY id = %(ref)s DESC NULLS LAST
    LIMIT 1
    FOR UPDATE
), stored AS (
    INSERT INTO calls_callevent (idempotency_key, call_id, call_sid, kind, sequence_number, payload, received_at)
    VALUES (%(key)s, (SELECT id FROM target), %(sid)s, %(kind)s, %(seq)s, %(payload)s, %(now)s)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
)
SELECT target.*, EXISTS (SELECT FROM stored) AS event_stored FROM (VALUES (1)) AS one (x) LEFT JOIN target ON TRUE
"""


def _lock_and_store(
    *, call_ref: str, key: str, kind: str, params: dict[str, Any], sid: str, seq: int | None
) -> tuple[Call | None, bool]:
    """Lock the callback's call and store the callback once: (the call or None, False for a duplicate)."""
    if connection.vendor != "postgresql":
        call = _lock_call(call_ref, sid)
        stored = call_event_record(
            idempotency_key=key, kind=kind, payload=params, call=call, call_sid=sid, sequence_number=seq
        )[1]
        return call, stored
    values = {
        "ref": _parse_call_ref(call_ref),
        "sid": sid[:64],
        "key": key[:200],
        "kind": kind,
        "seq": seq,
        "payload": json.dumps(params),
        "now": timezone.now(),
    }
    row = next(iter(Call.objects.raw(_LOCK_AND_STORE, values)))
    stored = row.event_stored  # type: ignore[attr-defined]  # an extra column RawQuerySet sets on the row
    return (row if row.pk is not None else None), bool(stored)


def status_callback_apply(*, params: dict[str, Any], call_ref: str = "") -> str:
    """Store and apply one callback. Returns 'applied', 'duplicate', 'stale' or 'unknown-call'.

    Round trips in the common case (PostgreSQL): lock the call and insert the
    event in one statement, update the call, commit. A final status also
    settles the attempt's lead.
    """
    sid = params["CallSid"]
    status = params.get("CallStatus", "")
    answered_by = params.get("AnsweredBy", "")
    sequence = int(params["SequenceNumber"]) if params.get("SequenceNumber") else None
    if status:
        kind, key = "status", f"status:{sid}:{status}:{'' if sequence is None else sequence}"
    else:
        kind, key = "amd", f"amd:{sid}:{answered_by}"
    bound = log.bind(call_sid=sid)
    with transaction.atomic():
        call, stored = _lock_and_store(call_ref=call_ref, key=key, kind=kind, params=params, sid=sid, seq=sequence)
        if not stored:
            return "duplicate"
        if call is None:
            bound.warning("twilio_status_unknown_call", status=status)
            return "unknown-call"
        bound = bound.bind(call_id=str(call.pk))
        fields: list[str] = []
        if not call.twilio_call_sid:
            call.twilio_call_sid = sid
            fields.append("twilio_call_sid")
        if answered_by and not call.answered_by:
            call.answered_by = answered_by[:32]
            fields.append("answered_by")
        if sequence is not None and sequence > call.status_sequence:
            call.status_sequence = sequence
            fields.append("status_sequence")
        moved: list[str] = []
        if status:
            reason = ""
            if status == Call.Status.FAILED:
                sip = params.get("SipResponseCode", "?")
                reason = params.get("ErrorMessage") or f"carrier failed the call (SIP {sip})"
            moved = call_status_advance(call=call, status=status, reason=reason)
            duration = params.get("CallDuration", "")
            if moved and call.is_final and duration.isdigit():
                call.duration_seconds = int(duration)
                moved.append("duration_seconds")
        if fields or moved:
            call.save(update_fields=list(dict.fromkeys(fields + moved)))
        if moved or answered_by:
            call_pk = call.pk
            transaction.on_commit(lambda: broadcast_call_changed(call_pk))
        if call.is_final and not call.outcome_applied:
            call_outcome_apply_locked(call=call)
    # Debug, not info: every callback is already kept in CallEvent, and at hundreds a
    # second a log line each would cost more than applying them.
    bound.debug("twilio_status_applied", kind=kind, status=status, answered_by=answered_by, moved=bool(moved))
    return "applied" if moved or kind == "amd" else "stale"
