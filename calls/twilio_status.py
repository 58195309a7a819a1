"""POST /twilio/status/: Twilio's call status and answering-machine callbacks.

Callbacks arrive late, twice and out of order. Each one is stored once in
CallEvent (keyed by CallSid + CallStatus + SequenceNumber; AMD results by
CallSid + AnsweredBy), then applied under the call's row lock, only ever
forward. A final status hands the attempt to the dialer, which moves the lead.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from calls.dialer import call_outcome_apply
from calls.models import Call
from calls.services import call_event_record, call_set_status

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


def _find_call(call_ref: str, sid: str) -> Call | None:
    if call_ref:
        try:
            call_id = uuid.UUID(call_ref)
        except ValueError:
            call_id = None
        if call_id is not None:
            call = Call.objects.filter(pk=call_id).first()
            # The URL names our row; the SID must not belong to another one.
            if call is not None and call.twilio_call_sid in (None, "", sid):
                return call
    return Call.objects.filter(twilio_call_sid=sid).first()


def status_callback_apply(*, params: dict[str, Any], call_ref: str = "") -> str:
    """Store and apply one callback. Returns 'applied', 'duplicate', 'stale' or 'unknown-call'."""
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
        call = _find_call(call_ref, sid)
        _event, created = call_event_record(
            idempotency_key=key, kind=kind, payload=params, call=call, call_sid=sid, sequence_number=sequence
        )
        if not created:
            return "duplicate"
        if call is None:
            bound.warning("twilio_status_unknown_call", status=status)
            return "unknown-call"
        bound = bound.bind(call_id=str(call.pk))
        locked = Call.objects.select_for_update().get(pk=call.pk)
        fields: list[str] = []
        if not locked.twilio_call_sid:
            locked.twilio_call_sid = sid
            fields.append("twilio_call_sid")
        if answered_by and not locked.answered_by:
            locked.answered_by = answered_by[:32]
            fields.append("answered_by")
        if sequence is not None and sequence > locked.status_sequence:
            locked.status_sequence = sequence
            fields.append("status_sequence")
        if fields:
            locked.save(update_fields=fields)
        changed = False
        if status:
            reason = ""
            if status == Call.Status.FAILED:
                reason = (
                    params.get("ErrorMessage") or f"carrier failed the call (SIP {params.get('SipResponseCode', '?')})"
                )
            locked, changed = call_set_status(call_id=locked.pk, status=status, reason=reason)
            duration = params.get("CallDuration", "")
            if changed and locked.is_final and duration.isdigit():
                Call.objects.filter(pk=locked.pk).update(duration_seconds=int(duration))
        if locked.is_final and not locked.outcome_applied:
            call_outcome_apply(call_id=locked.pk)
    bound.info("twilio_status_applied", kind=kind, status=status, answered_by=answered_by, changed=changed)
    return "applied" if changed or kind == "amd" else "stale"
