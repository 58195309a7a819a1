"""POST /twilio/status/: Twilio's call status and answering-machine callbacks.

Callbacks arrive late, twice and out of order. Each one is stored once in
CallEvent (keyed by CallSid + CallStatus + SequenceNumber; AMD results by
CallSid + AnsweredBy), then applied under the call's row lock, only ever
forward. A final status hands the attempt to the dialer, which moves the lead.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from calls.broadcast import broadcast_call_changed
from calls.dialer import call_outcome_apply
from calls.models import Call
from calls.services import call_event_record, call_status_advance

log = structlog.get_logger(__name__)

TWILIO_STATUSES = frozenset(str(s) for s in Call.Status)


def signature_valid(request: HttpRequest) -> bool:
    """Twilio signs the exact URL it requested (our public origin + path + query) and the form."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    return bool(RequestValidator(token).validate(url, request.POST, signature))


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest) -> HttpResponse:
    if not signature_valid(request):
        log.warning("twilio_status_forged", path=request.get_full_path())
        return HttpResponse("invalid Twilio signature", status=403, content_type="text/plain")
    params = request.POST.dict()
    if not params.get("CallSid"):
        return HttpResponse("CallSid is required", status=400, content_type="text/plain")
    status = params.get("CallStatus", "")
    if status and status not in TWILIO_STATUSES:
        return HttpResponse(f"unknown CallStatus {status!r}", status=400, content_type="text/plain")
    sequence = params.get("SequenceNumber", "")
    if sequence and not sequence.lstrip("-").isdigit():
        return HttpResponse("SequenceNumber must be an integer", status=400, content_type="text/plain")
    result = status_callback_apply(params=params, call_ref=request.GET.get("call", ""))
    return HttpResponse(result, status=200, content_type="text/plain")


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
