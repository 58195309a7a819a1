"""Writes for campaigns (keyword-only, atomic)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from campaigns.models import Campaign, Lead


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


# --- leads ------------------------------------------------------------------------------------


@transaction.atomic
def lead_custom_field_set(*, lead_id: int, field: str, value: Any) -> None:
    """Set one custom field under the lead's row lock (two tools writing at once both land)."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    lead.custom_fields = {**(lead.custom_fields or {}), field: value}
    lead.save(update_fields=["custom_fields", "updated_at"])


def lead_do_not_call_mark(*, lead_id: int) -> bool:
    """Mark a lead do-not-call; False when it no longer exists."""
    # One UPDATE sets both columns: the database refuses one without the other.
    return bool(Lead.objects.filter(pk=lead_id).update(do_not_call=True, status=Lead.Status.DO_NOT_CALL))
