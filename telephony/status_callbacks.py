"""Applying Twilio's call status and answering-machine callbacks, many at a time.

Callbacks arrive late, twice and out of order. Each one is stored once in
CallEvent (keyed by CallSid + CallStatus + SequenceNumber; AMD results by
CallSid + AnsweredBy), then applied under the call's row lock, only ever
forward. A final status hands the attempt to the dialer, which moves the lead.

A batch is applied in one transaction, in arrival order, with the same result
as applying its callbacks one after another: the status webhook hands over
whatever arrived while the previous batch was being written, so that at
hundreds of callbacks a second the row locks, the idempotency check, the
event inserts and the commit are paid per batch instead of per callback.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import structlog
from django.db import transaction
from django.utils import timezone

from calls.models import Call, CallEvent
from calls.services import StatusMoveEffects, call_status_advance
from campaigns.dialer import calls_outcome_apply_locked
from telephony.bulk_sql import calls_lock_and_stored, events_insert, rows_update, statements_pipelined
from voiceops.realtime import broadcast_calls_changed

log = structlog.get_logger(__name__)

# What applying a callback did: its status moved the call (or its AMD result
# was recorded), it was older than what the call already knew, it had been
# stored before, or no call of ours has its SID.
APPLIED, STALE, DUPLICATE, UNKNOWN_CALL = "applied", "stale", "duplicate", "unknown-call"
# Every field _apply may change on a call. Writing them all for each changed
# call is safe: the rows are locked, and each Call object holds its row as it
# now is.
APPLIED_FIELDS = (
    "twilio_call_sid",
    "answered_by",
    "status_sequence",
    "status",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "failure_reason",
)


@dataclass(frozen=True)
class StatusCallback:
    """One callback as Twilio posted it: its form fields (already validated) and the `call` id from its URL."""

    params: dict[str, str]
    call_ref: str = ""

    @property
    def sid(self) -> str:
        return self.params["CallSid"]

    @property
    def status(self) -> str:
        return self.params.get("CallStatus", "")

    @property
    def answered_by(self) -> str:
        return self.params.get("AnsweredBy", "")

    @cached_property
    def sequence(self) -> int | None:
        value = self.params.get("SequenceNumber", "")
        return int(value) if value else None

    @property
    def kind(self) -> str:
        return "status" if self.status else "amd"

    @cached_property
    def idempotency_key(self) -> str:
        if self.status:
            key = f"status:{self.sid}:{self.status}:{'' if self.sequence is None else self.sequence}"
        else:
            key = f"amd:{self.sid}:{self.answered_by}"
        return key[:200]

    @cached_property
    def call_id(self) -> uuid.UUID | None:
        """Our call's id from the callback URL; None when absent or malformed (then the SID decides)."""
        try:
            return uuid.UUID(self.call_ref) if self.call_ref else None
        except ValueError:
            return None


def status_callbacks_apply(callbacks: Sequence[StatusCallback]) -> list[str]:
    """Store and apply callbacks in arrival order, in one transaction; returns each one's result.

    Queries per batch, whatever its size: lock the calls it names, then look
    up the keys already stored (one round trip on PostgreSQL), insert the new
    events and one UPDATE for every call that changed (another), then the
    dialer's work for each call that ended. The dialer
    reads an ended call once all of the batch's callbacks are applied (an AMD
    result that came in with the final status counts, as it would have had the
    two arrived in the other order).
    """
    now = timezone.now()
    with transaction.atomic():
        locked, seen = calls_lock_and_stored(
            {c.call_id for c in callbacks if c.call_id is not None},
            {c.sid for c in callbacks},
            {c.idempotency_key for c in callbacks},
        )
        by_id = {call.pk: call for call in locked}
        by_sid = {call.twilio_call_sid: call for call in locked if call.twilio_call_sid}
        results: list[str] = []
        events: list[CallEvent] = []
        changed: dict[uuid.UUID, Call] = {}  # calls to save, in the order they first changed
        moved: dict[uuid.UUID, None] = {}  # calls the consoles should re-render
        effects = StatusMoveEffects()  # what the batch's moves announce, once, after the commit
        for callback in callbacks:
            if callback.idempotency_key in seen:
                results.append(DUPLICATE)
                continue
            seen.add(callback.idempotency_key)
            call = _call_for(callback, by_id, by_sid)
            events.append(
                CallEvent(
                    idempotency_key=callback.idempotency_key,
                    call=call,
                    call_sid=callback.sid[:64],
                    kind=callback.kind,
                    sequence_number=callback.sequence,
                    payload=callback.params,
                    received_at=now,
                )
            )
            if call is None:
                log.warning("twilio_status_unknown_call", call_sid=callback.sid, status=callback.status)
                results.append(UNKNOWN_CALL)
                continue
            call_changed, status_moved = _apply(callback, call, effects)
            by_sid.setdefault(callback.sid, call)
            if call_changed:
                changed[call.pk] = call
            if status_moved or callback.answered_by:
                moved[call.pk] = None
            results.append(APPLIED if status_moved or callback.kind == "amd" else STALE)
        with statements_pipelined():  # one round trip for both
            events_insert(events)
            rows_update(Call, list(changed.values()), APPLIED_FIELDS)
        calls_outcome_apply_locked(calls=list(changed.values()))
        if effects:
            transaction.on_commit(effects.flush)
        if moved:
            transaction.on_commit(lambda: broadcast_calls_changed(list(moved)))
    # Debug, not info: every callback is already kept in CallEvent, and at
    # hundreds a second a log line each would cost more than applying them.
    log.debug("twilio_status_batch_applied", callbacks=len(callbacks), results=results)
    return results


def _call_for(callback: StatusCallback, by_id: dict[uuid.UUID, Call], by_sid: dict[str, Call]) -> Call | None:
    """The call a callback is about: the one its URL names, unless that call has another SID; else the SID's owner."""
    if callback.call_id is not None:
        call = by_id.get(callback.call_id)
        if call is not None and call.twilio_call_sid in (None, "", callback.sid):
            return call
    return by_sid.get(callback.sid)


def _apply(callback: StatusCallback, call: Call, effects: StatusMoveEffects) -> tuple[bool, bool]:
    """Apply one new callback to the locked call in memory: (whether it changed the call, whether the status moved).

    (The caller writes every one of APPLIED_FIELDS for a changed call.)
    """
    fields: list[str] = []
    if not call.twilio_call_sid:
        call.twilio_call_sid = callback.sid
        fields.append("twilio_call_sid")
    if callback.answered_by and not call.answered_by:
        call.answered_by = callback.answered_by[:32]
        fields.append("answered_by")
    if callback.sequence is not None and callback.sequence > call.status_sequence:
        call.status_sequence = callback.sequence
        fields.append("status_sequence")
    moved: list[str] = []
    if callback.status:
        reason = ""
        if callback.status == Call.Status.FAILED:
            sip = callback.params.get("SipResponseCode", "?")
            reason = callback.params.get("ErrorMessage") or f"carrier failed the call (SIP {sip})"
        moved = call_status_advance(call=call, status=callback.status, reason=reason, effects=effects)
        duration = callback.params.get("CallDuration", "")
        if moved and call.is_final and duration.isdigit():
            call.duration_seconds = int(duration)
            moved.append("duration_seconds")
    return bool(fields or moved), bool(moved)
