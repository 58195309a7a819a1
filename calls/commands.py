"""Operators' commands for a call that no live session holds.

A command from the call page goes to the call's session over the channel
layer (live.supervision.command_deliver), wherever it runs. When no session
acknowledges it, the process that held the call is gone (killed, crashed,
drained without its calls) or never took it: the command must not vanish.
Say-next and transfer need the session, so the operator is told they were
not carried out; a hang-up is still possible, through the carrier's REST
API (Twilio's, or the simulated carrier's), and the end the carrier reports
is stored the way reconciliation stores it (calls.reconcile).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import Call
from calls.reconcile import ENDED, STILL_LIVE, UNKNOWN_TO_CARRIER, CarrierLookup, call_reconcile
from calls.services import call_add_turn, call_store_outcome
from telephony.rest import carrier_configured, twilio_call_state, twilio_hangup

log = structlog.get_logger(__name__)

NO_SESSION = "No server is running the live session of this call (its process may have stopped)"
CONNECTING = "The call is still connecting: try again in a moment."
# From the call being answered to its session joining the call's control
# group: the media stream connects, the session loads its agent and starts.
# Within this, a silence from the session means "not there yet", not "gone".
SESSION_START_S = 5.0
NO_SESSION_REASON = "operator hang-up: no live session held the call"


def call_should_have_session(*, call_id: uuid.UUID) -> bool:
    """Whether the call has been connected long enough that a live session must hold it by now."""
    cutoff = timezone.now() - timedelta(seconds=SESSION_START_S)
    connected = Call.objects.filter(pk=call_id, status=Call.Status.IN_PROGRESS)
    return connected.filter(Q(answered_at__isnull=True) | Q(answered_at__lte=cutoff)).exists()


@dataclass(frozen=True)
class HangupResult:
    ended: bool
    note: str  # for the operator, on the call page


def call_hang_up_without_session(
    *,
    call_id: uuid.UUID,
    actor: str,
    hangup: Callable[[str], None] = twilio_hangup,
    lookup: CarrierLookup = twilio_call_state,
) -> HangupResult:
    """End a live call whose session is gone: at the carrier when it has one there, then stored as ended.

    The disposition is `operator_hangup` and the transcript says who, as when
    the session hangs up; the status is what the carrier reports (through the
    reconcile path), or completed for a call the carrier never carried (a
    browser test call).
    """
    call = Call.objects.get(pk=call_id)
    sid = (call.twilio_call_sid or "") if carrier_configured() else ""
    refused = ""
    if sid:
        try:
            hangup(sid)
        except Exception as exc:  # the carrier may not know the call any more: its own answer decides below
            refused = str(exc)[:300]
            log.warning("operator_hangup_without_session_refused", call_id=str(call_id), error=refused)
    with transaction.atomic():  # the end, its transcript line and its disposition reach the consoles as one change
        result = _store_end(call, sid=sid, actor=actor, lookup=lookup, refused=refused)
        if not result.ended:
            transaction.set_rollback(True)
    if result.ended:
        log.info("operator_hangup_without_session", call_id=str(call_id), call_sid=sid, actor=actor)
    return result


def _store_end(call: Call, *, sid: str, actor: str, lookup: CarrierLookup, refused: str) -> HangupResult:
    note = f"{NO_SESSION}: the call was ended through the carrier."
    how = "no live session held the call; the carrier ended it"
    if sid:
        answer, _moved = call_reconcile(call_id=call.pk, sid=sid, lookup=lookup)
        if answer not in (ENDED, UNKNOWN_TO_CARRIER):
            if refused:
                why = f"it answered: {refused}"
            else:
                why = "it still has the call live" if answer == STILL_LIVE else "it could not be asked about the call"
            return HangupResult(False, f"{NO_SESSION}, and the carrier did not end the call ({why}).")
        if answer == UNKNOWN_TO_CARRIER:
            note = f"{NO_SESSION}, and the carrier has no such call: it was marked failed."
            how = "no live session held the call, and the carrier had no such call"
    else:
        note = f"{NO_SESSION}: the call was marked ended (no carrier carries it)."
        how = "no live session held the call, and no carrier carries it"
    # The page's note goes with the controls once the call is over: the transcript keeps why.
    call_add_turn(
        call_id=call.pk,
        speaker="system",
        text=f"Hung up by {actor} ({how})",
        data={"operator": actor, "command": "hangup", "without_session": True},
    )
    call_store_outcome(
        call_id=call.pk, disposition="operator_hangup", status=Call.Status.COMPLETED, reason=NO_SESSION_REASON
    )
    return HangupResult(True, note)
