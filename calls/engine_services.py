"""Writes the live call engine makes on a call row (keyword-only, atomic).

Turns and statuses go through calls.services; these cover the media socket's
own fields.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import transaction

from calls.broadcast import broadcast_call_changed
from calls.models import Call
from calls.services import call_status_advance


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
) -> None:
    """What the engine learned by the end of the call: the brain's disposition, the recording's path,
    and the call variables (captures, offered slots, callback time, DTMF), merged into the call's.

    With `status`, the call also moves forward to it (a backwards move is
    ignored, as in call_set_status): the end of a session is one row lock,
    one UPDATE and one broadcast, never an outcome committed without its status.
    """
    call = Call.objects.select_for_update().get(pk=call_id)
    fields = []
    if variables:
        # Variables are what brains put there (text, numbers, lists of slots);
        # anything else is stored as its text rather than failing the write.
        merged = {**(call.variables or {}), **json.loads(json.dumps(variables, default=str))}
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
