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
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from calls.broadcast import broadcast_call_changed
from calls.dialer import call_outcome_apply
from calls.models import Call
from calls.services import call_event_record, call_status_advance

log = structlog.get_logger(__name__)

STATUS_PATH = "/twilio/status/"
TWILIO_STATUSES = frozenset(str(s) for s in Call.Status)


def signature_valid(*, full_path: str, form: QueryDict, signature: str) -> bool:
    """Twilio signs the exact URL it requested (our public origin + path + query) and the form."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return True
    if not signature:
        return False
    return bool(RequestValidator(token).validate(settings.PUBLIC_BASE_URL + full_path, form, signature))


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

# Long-lived worker threads (Django would start a thread per request), sized
# to the database pool so a burst queues here rather than on the pool.
_executor = ThreadPoolExecutor(
    max_workers=max(1, int(settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 4))),
    thread_name_prefix="twilio-status",
)
# database_sync_to_async returns each thread's connection (to the pool) after every callback.
_handle_in_thread = database_sync_to_async(status_callback_handle, thread_sensitive=False, executor=_executor)


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


def _lock_call(call_ref: str, sid: str) -> Call | None:
    """The call this callback is about, locked FOR UPDATE (by our id in the URL, else by SID)."""
    locked = Call.objects.select_for_update(of=("self",))
    if call_ref:
        try:
            call_id = uuid.UUID(call_ref)
        except ValueError:
            call_id = None
        if call_id is not None:
            call = locked.filter(pk=call_id).first()
            # The URL names our row; the SID must not belong to another one.
            if call is not None and call.twilio_call_sid in (None, "", sid):
                return call
    return locked.filter(twilio_call_sid=sid).first()


_INSERT_EVENT = """
INSERT INTO calls_callevent (idempotency_key, call_id, call_sid, kind, sequence_number, payload, received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""


def _event_insert(*, key: str, kind: str, params: dict[str, Any], call: Call | None, sid: str, seq: int | None) -> bool:
    """Store the callback once; False when it was stored before (a duplicate).

    One INSERT ... ON CONFLICT DO NOTHING instead of a savepoint and a caught
    IntegrityError: the webhook is the dialer's hottest path.
    """
    if connection.vendor != "postgresql":
        return call_event_record(
            idempotency_key=key, kind=kind, payload=params, call=call, call_sid=sid, sequence_number=seq
        )[1]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_EVENT,
            [key[:200], call.pk if call else None, sid[:64], kind, seq, json.dumps(params), timezone.now()],
        )
        return cursor.fetchone() is not None


def status_callback_apply(*, params: dict[str, Any], call_ref: str = "") -> str:
    """Store and apply one callback. Returns 'applied', 'duplicate', 'stale' or 'unknown-call'.

    Round trips in the common case: lock the call, insert the event, update the
    call, commit. A final status also settles the attempt's lead.
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
        call = _lock_call(call_ref, sid)
        if not _event_insert(key=key, kind=kind, params=params, call=call, sid=sid, seq=sequence):
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
            call_outcome_apply(call_id=call.pk)
    bound.info("twilio_status_applied", kind=kind, status=status, answered_by=answered_by, moved=bool(moved))
    return "applied" if moved or kind == "amd" else "stale"
