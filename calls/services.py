"""Writes for calls, turns and events (keyword-only, atomic)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analysis.dispatch import analyses_schedule, analysis_schedule
from calls.models import Call, CallTurn
from calls.recordings import recording_delete
from privacy.redaction import redact, redact_value
from privacy.services import clear_turn_keep
from voiceops import metrics
from voiceops.realtime import broadcast_call_changed
from webhooks.events import call_event_data, call_event_for
from webhooks.services import webhook_event_emit


@transaction.atomic
def call_set_status(
    *, call_id: uuid.UUID, status: str, at: datetime | None = None, reason: str = ""
) -> tuple[Call, bool]:
    """Move a call forward to `status`; a backwards move is ignored.

    Returns the call and whether anything changed. Callbacks arrive late, twice
    and out of order, so an older status is not an error, only a no-op.
    """
    call = Call.objects.select_for_update().get(pk=call_id)
    fields = call_status_advance(call=call, status=status, at=at, reason=reason)
    if not fields:
        return call, False
    call.save(update_fields=fields)
    transaction.on_commit(lambda: broadcast_call_changed(call.pk))
    return call, True


class StatusMoveEffects:
    """What forward status moves announce once they commit, gathered so that a batch of moves announces together.

    Every path that moves a call's status goes through call_status_advance,
    which decides what a move announces: calls-ended metrics, post-call
    analysis, and the call.started / call.ended webhook events. On its own a
    move registers its own commit hook; the status webhook, which commits
    dozens of moves at a time, hands every move of a batch one instance and
    registers `flush` once, so the batch's ended calls go to analysis in one
    Celery message instead of one each (a message cost the webhook's database
    thread about 0.5 ms of CPU, as much as applying two callbacks).
    """

    def __init__(self) -> None:
        self.ended: dict[str, int] = {}  # final status: how many calls reached it
        self.analyses: list[uuid.UUID] = []
        self.events: list[tuple[str, Call]] = []

    def __bool__(self) -> bool:
        return bool(self.ended or self.analyses or self.events)

    def flush(self) -> None:
        """Announce everything gathered (from transaction.on_commit)."""
        for status, count in self.ended.items():
            metrics.CALLS_ENDED.labels(status=status).inc(count)
        if self.analyses:
            analyses_schedule(call_ids=self.analyses)
        for event, call in self.events:
            webhook_event_emit(event=event, data=call_event_data(call))


def call_status_advance(
    *,
    call: Call,
    status: str,
    at: datetime | None = None,
    reason: str = "",
    effects: StatusMoveEffects | None = None,
) -> list[str]:
    """Apply a forward move to a call the caller holds locked; returns the fields to save (none: no move).

    The caller saves and broadcasts; this lets the status webhook write a
    callback's status and its other fields in one UPDATE. What the move
    announces once it commits goes into `effects` when the caller gathers
    them (and registers their flush), else into a commit hook of its own.
    """
    if call.status == status or not Call.can_move(call.status, status):
        return []
    gathered = effects if effects is not None else StatusMoveEffects()
    now = at or timezone.now()
    call.status = status
    fields = ["status"]
    if status == Call.Status.IN_PROGRESS and call.answered_at is None:
        call.answered_at = now
        fields.append("answered_at")
    if call.started_at is None and status in (Call.Status.INITIATED, Call.Status.RINGING, Call.Status.IN_PROGRESS):
        call.started_at = now
        fields.append("started_at")
    if status in Call.FINAL_STATUSES:
        call.ended_at = max(now, call.created_at)
        fields.append("ended_at")
        if call.answered_at is not None:
            call.duration_seconds = max(0, int((call.ended_at - call.answered_at).total_seconds()))
            fields.append("duration_seconds")
        gathered.ended[status] = gathered.ended.get(status, 0) + 1
        if call.answered_at is not None:  # post-call analysis after every answered call, on every write path
            gathered.analyses.append(call.pk)
    if reason:
        call.failure_reason = reason[:300]
        fields.append("failure_reason")
    if event := call_event_for(fields):  # call.started / call.ended, once the move commits (every write path)
        gathered.events.append((event, call))
    if effects is None and gathered:
        transaction.on_commit(gathered.flush)
    return fields


@transaction.atomic
def call_add_turn(
    *,
    call_id: uuid.UUID,
    speaker: str,
    text: str,
    heard_text: str = "",
    interrupted: bool = False,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    timings: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    redacting: bool = False,
    keep_clear_text: bool = False,
) -> CallTurn:
    """Store one turn; with `redacting` (the version's privacy.redact_pii) its PII is stored as placeholders,
    and the clear text is kept apart (privacy.ClearTurn, admins only) only when `keep_clear_text` says so."""
    # The call row lock serialises turn numbering within a call.
    Call.objects.select_for_update().only("pk").get(pk=call_id)
    highest = CallTurn.objects.filter(call_id=call_id).aggregate(highest=Max("index"))["highest"]
    text, heard_text = str(text), str(heard_text)  # plain text (an STT Transcript carries its confidence)
    clear = (text, heard_text, data or {})
    if redacting:
        text, heard_text, data = redact(text), redact(heard_text), redact_value(data or {})
    turn = CallTurn.objects.create(
        call_id=call_id,
        index=0 if highest is None else highest + 1,
        speaker=speaker,
        text=text,
        heard_text=heard_text,
        interrupted=interrupted,
        started_at=started_at,
        ended_at=ended_at,
        timings=timings or {},
        data=data or {},
    )
    if redacting and keep_clear_text and clear != (turn.text, turn.heard_text, turn.data):
        clear_turn_keep(turn=turn, text=clear[0], heard_text=clear[1], data=clear[2])
    transaction.on_commit(lambda: broadcast_call_changed(call_id))
    transaction.on_commit(
        lambda: metrics.turn_recorded(speaker=speaker, interrupted=interrupted, timings=timings or {})
    )
    return turn


# --- the live engine's writes on the call row ---------------------------------------------


@transaction.atomic
def call_stream_start(*, call_id: uuid.UUID, stream_sid: str, call_sid: str = "") -> Call:
    """The media socket started: remember its stream and mark the call in progress."""
    call = Call.objects.select_for_update().get(pk=call_id)
    fields = []
    if call.stream_sid != stream_sid:
        call.stream_sid = stream_sid[:64]
        fields.append("stream_sid")
    if call_sid and not call.twilio_call_sid:
        call.twilio_call_sid = call_sid
        fields.append("twilio_call_sid")
    # The row is already locked: advance the status here and save once.
    moved = call_status_advance(call=call, status=Call.Status.IN_PROGRESS)
    if fields or moved:
        call.save(update_fields=fields + moved)
    if moved:
        transaction.on_commit(lambda: broadcast_call_changed(call.pk))
    return call


@transaction.atomic
def call_store_outcome(
    *,
    call_id: uuid.UUID,
    disposition: str = "",
    recording: str = "",
    variables: dict[str, Any] | None = None,
    status: str = "",
    reason: str = "",
    redacting: bool = False,
) -> None:
    """What the engine learned by the end of the call: the brain's disposition, the recording's path,
    and the call variables (captures, offered slots, callback time, DTMF), merged into the call's.

    Flow captures are the caller's words: with `redacting` (the version's
    privacy.redact_pii, as for call_add_turn) they are stored as placeholders too.

    With `status`, the call also moves forward to it (a backwards move is
    ignored, as in call_set_status): the end of a session is one row lock,
    one UPDATE and one broadcast, never an outcome committed without its status.
    """
    call = Call.objects.select_for_update().get(pk=call_id)
    ended_before = call.status in Call.FINAL_STATUSES
    fields = []
    if variables:
        # Variables are what brains put there (text, numbers, lists of slots);
        # anything else is stored as its text rather than failing the write.
        stored = json.loads(json.dumps(variables, default=str))
        if redacting:
            stored = redact_value(stored)
        merged = {**(call.variables or {}), **stored}
        if merged != call.variables:
            call.variables = merged
            fields.append("variables")
    if disposition and call.disposition != disposition:
        call.disposition = disposition[:40]
        fields.append("disposition")
    if recording and call.recording != recording:
        call.recording = recording[:300]
        fields.append("recording")
    if status:
        fields += call_status_advance(call=call, status=status, reason=reason)
    if fields:
        call.save(update_fields=fields)
        transaction.on_commit(lambda: broadcast_call_changed(call_id))
    if ended_before and call.answered_at is not None:
        # The carrier's final callback came first: the analysis it started may have read the
        # call before the session stored its last turns and disposition (the store writes them,
        # in order, before this outcome). Analyse again now that they are in; it replaces the first.
        transaction.on_commit(lambda: analysis_schedule(call_id=call_id))


# --- retention (privacy.retention decides what is due; these delete it) -------------------------


@transaction.atomic
def call_transcripts_delete(*, call_ids: list[uuid.UUID]) -> int:
    """Delete the calls' transcript turns (their clear copies go with them); returns how many turns."""
    deleted = CallTurn.objects.filter(call_id__in=call_ids).count()
    CallTurn.objects.filter(call_id__in=call_ids).delete()
    return deleted


def call_recording_delete(*, call_id: uuid.UUID) -> bool:
    """Delete a call's recording through the storage API (local disk or S3 alike) and forget its name.

    The file goes first: a crash in between leaves a name pointing at nothing
    (the next purge clears it), never a file nobody knows about.
    """
    call = Call.objects.only("pk", "recording").get(pk=call_id)
    if not call.recording:
        return False
    recording_delete(name=call.recording)
    Call.objects.filter(pk=call_id, recording=call.recording).update(recording="")
    return True


# --- calls an operator starts from the console --------------------------------------------


@transaction.atomic
def call_create_test(*, agent_version_id: int, kind: str, from_number: str = "") -> Call:
    """A test call on any version (draft or published): a browser call or a simulated caller.

    Inbound-shaped (the agent answers), with no campaign or variant, so the
    dialer and the experiments never count it.
    """
    if kind not in Call.TestKind.values:
        raise ValueError(f"unknown test call kind {kind!r}")
    call = Call.objects.create(
        direction=Call.Direction.INBOUND,
        agent_version_id=agent_version_id,
        test_kind=kind,
        from_number=from_number[:32],
    )
    transaction.on_commit(lambda: broadcast_call_changed(call.pk))
    return call
