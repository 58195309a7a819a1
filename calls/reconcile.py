"""Reconcile calls a dead process left "in progress" with what the carrier says happened to them.

A daphne process that is SIGKILLed, crashes or loses its machine takes its
calls' media sockets with it, and nobody stores their end: the carrier hangs
up (a <Connect><Stream> call ends when its socket closes) and sends its
status callback, but a callback can be lost too (the process that would have
taken it is the one that died, or it was refused while the database
restarted). The beat task `calls.reconcile` (every RECONCILE_INTERVAL_S) asks
the carrier's REST API (Twilio's, or the simulated carrier's) about every
live call with a CallSid whose last known move (answered, started or
created) is older than RECONCILE_AFTER_S, and feeds each answer
through the status webhook's own path (telephony.status_callbacks) as a
callback: the status only moves forward, the event is kept once, and an
ended attempt goes to the dialer's outcome rules. Calls the carrier still
has live are left alone (a long call is not a lost one).

A call the carrier has no record of (a SID it never issued, or a simulated
carrier that died with the process) is failed with that reason, so the
console stops showing it live and the dialer's retry rules take the lead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls.models import Call
from telephony.rest import CarrierCallState, twilio_call_state
from telephony.status_callbacks import StatusCallback, status_callbacks_apply

log = structlog.get_logger(__name__)

NO_RECORD_REASON = "reconciled: the carrier has no record of this call"

CarrierLookup = Callable[[str], CarrierCallState | None]


@dataclass
class ReconcileResult:
    checked: int = 0
    moved: list[uuid.UUID] = field(default_factory=list)  # calls whose status the carrier's answer moved
    still_live: int = 0
    unknown_to_carrier: int = 0
    lookup_failed: int = 0


def calls_to_reconcile(*, older_than_s: int, limit: int) -> list[tuple[uuid.UUID, str]]:
    """(id, CallSid) of live calls with a SID whose last known move is more than `older_than_s` old, oldest first.

    The last known move is when it was answered, else when it started, else
    when it was created: a campaign attempt waits in the queue before it is
    dialed, and its age then says nothing about whether its callbacks are late.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    live = (
        Call.objects.filter(status__in=Call.LIVE_STATUSES)
        .exclude(twilio_call_sid=None)
        .exclude(twilio_call_sid="")
        .annotate(last_move=Coalesce("answered_at", "started_at", "created_at"))
        .filter(last_move__lte=cutoff)
    )
    rows = live.order_by("last_move").values_list("pk", "twilio_call_sid")[:limit]
    return [(pk, str(sid)) for pk, sid in rows]


def calls_reconcile(
    *, lookup: CarrierLookup = twilio_call_state, older_than_s: int | None = None, limit: int | None = None
) -> ReconcileResult:
    """Look each stale live call up at the carrier and apply what it says (see the module docstring)."""
    older_than_s = settings.RECONCILE_AFTER_S if older_than_s is None else older_than_s
    limit = settings.RECONCILE_BATCH if limit is None else limit
    result = ReconcileResult()
    for call_id, sid in calls_to_reconcile(older_than_s=older_than_s, limit=limit):
        result.checked += 1
        answer, moved = call_reconcile(call_id=call_id, sid=sid, lookup=lookup)
        if moved:
            result.moved.append(call_id)
        if answer == STILL_LIVE:
            result.still_live += 1
        elif answer == LOOKUP_FAILED:
            result.lookup_failed += 1
        elif answer == UNKNOWN_TO_CARRIER:
            result.unknown_to_carrier += 1
    if result.checked:
        log.info(
            "calls_reconciled",
            checked=result.checked,
            moved=len(result.moved),
            still_live=result.still_live,
            unknown_to_carrier=result.unknown_to_carrier,
            lookup_failed=result.lookup_failed,
        )
    return result


# What the carrier answered about one call.
ENDED, STILL_LIVE, UNKNOWN_TO_CARRIER, LOOKUP_FAILED = "ended", "still live", "unknown to the carrier", "lookup failed"


def call_reconcile(*, call_id: uuid.UUID, sid: str, lookup: CarrierLookup = twilio_call_state) -> tuple[str, bool]:
    """One call: ask the carrier and apply its answer as its status callback would be applied.

    Returns the answer (ENDED, STILL_LIVE, UNKNOWN_TO_CARRIER or
    LOOKUP_FAILED) and whether it moved the call's status. Also the path of an
    operator's hang-up of a call that no live session holds (calls.commands):
    the carrier was told to end it, and this stores the end it reports.
    """
    try:
        state = lookup(sid)
    except Exception as exc:  # one unreachable lookup must not stop the others
        log.warning("call_reconcile_lookup_failed", call_id=str(call_id), call_sid=sid, error=str(exc)[:300])
        return LOOKUP_FAILED, False
    if state is None:
        answer = UNKNOWN_TO_CARRIER
        params = {"CallSid": sid, "CallStatus": Call.Status.FAILED, "ErrorMessage": NO_RECORD_REASON}
    elif state.status not in Call.FINAL_STATUSES:
        return STILL_LIVE, False
    else:
        answer = ENDED
        params = {"CallSid": sid, "CallStatus": state.status}
        if state.duration.isdigit():
            params["CallDuration"] = state.duration
    params["Reconciled"] = "rest"  # kept with the event: this status came from a lookup, not a callback
    [applied] = status_callbacks_apply([StatusCallback(params=params, call_ref=str(call_id))])
    return answer, applied == "applied"
