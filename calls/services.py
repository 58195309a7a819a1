"""Writes for calls, turns and events (keyword-only, atomic)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from calls.broadcast import broadcast_call_changed
from calls.models import Call, CallTurn, Campaign


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


def call_status_advance(*, call: Call, status: str, at: datetime | None = None, reason: str = "") -> list[str]:
    """Apply a forward move to a call the caller holds locked; returns the fields to save (none: no move).

    The caller saves and broadcasts; this lets the status webhook write a
    callback's status and its other fields in one UPDATE.
    """
    if call.status == status or not Call.can_move(call.status, status):
        return []
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
    if reason:
        call.failure_reason = reason[:300]
        fields.append("failure_reason")
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
) -> CallTurn:
    # The call row lock serialises turn numbering within a call.
    Call.objects.select_for_update().only("pk").get(pk=call_id)
    highest = CallTurn.objects.filter(call_id=call_id).aggregate(highest=Max("index"))["highest"]
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
    transaction.on_commit(lambda: broadcast_call_changed(call_id))
    return turn


# --- campaigns (outbound dialer) ------------------------------------------------------------


class CampaignTransitionError(Exception):
    """A campaign control that does not apply to the campaign's current status."""


_CAMPAIGN_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # action: (allowed from, to)
    "start": ((Campaign.Status.DRAFT,), Campaign.Status.RUNNING),
    "pause": ((Campaign.Status.RUNNING,), Campaign.Status.PAUSED),
    "resume": ((Campaign.Status.PAUSED,), Campaign.Status.RUNNING),
    "stop": ((Campaign.Status.DRAFT, Campaign.Status.RUNNING, Campaign.Status.PAUSED), Campaign.Status.STOPPED),
}


def campaign_actions_allowed(campaign: Campaign) -> tuple[str, ...]:
    """The controls that apply to the campaign as it stands, in the map's order (the console shows these)."""
    return tuple(action for action, (allowed, _) in _CAMPAIGN_TRANSITIONS.items() if campaign.status in allowed)


@transaction.atomic
def campaign_control(*, campaign_id: int, action: str, reason: str = "") -> Campaign:
    """Start, pause, resume or stop a campaign. Calls in flight finish; no new ones start."""
    if action not in _CAMPAIGN_TRANSITIONS:
        raise CampaignTransitionError(f"unknown action {action!r}; use {', '.join(_CAMPAIGN_TRANSITIONS)}")
    allowed, target = _CAMPAIGN_TRANSITIONS[action]
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status not in allowed:
        raise CampaignTransitionError(f"cannot {action} a campaign that is {campaign.status}")
    campaign.status = target
    # A resume clears the circuit breaker's note; the breaker only counts
    # attempts made after this change (Campaign.updated_at).
    campaign.status_reason = reason[:300]
    campaign.save(update_fields=["status", "status_reason", "updated_at"])
    return campaign
