"""Writes for campaigns (keyword-only, atomic)."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Lead
from voiceops.realtime import broadcast_campaigns_changed
from voiceops.validators import normalize_e164
from webhooks.events import lead_event_data
from webhooks.services import webhook_event_emit


class CampaignTransitionError(Exception):
    """A campaign control that does not apply to the campaign's current status."""


# What an operator sets on a campaign, in the order forms show it; status moves only through campaign_control.
CAMPAIGN_SETTINGS = (
    "name",
    "agent_version",
    "experiment",
    "caller_id",
    "window_start",
    "window_end",
    "days",
    "start_date",
    "end_date",
    "max_concurrent",
    "calls_per_minute",
    "retry_rules",
    "require_consent",
)


def _settings_checked(values: dict[str, Any]) -> None:
    unknown = set(values) - set(CAMPAIGN_SETTINGS)
    if unknown:
        raise TypeError(f"not a campaign setting: {', '.join(sorted(unknown))}")


@transaction.atomic
def campaign_create(**values: Any) -> Campaign:
    """Create a draft campaign; raises ValidationError, keyed by field, when it breaks the campaign rule."""
    _settings_checked(values)
    campaign = Campaign(**values)
    campaign.full_clean()  # Campaign.clean(): the rule, and days and retry_rules normalised
    campaign.save()
    return campaign


@transaction.atomic
def campaign_update(*, campaign_id: int, **changes: Any) -> Campaign:
    """Change a campaign's settings under its row lock; the whole campaign must still keep the rule."""
    _settings_checked(changes)
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    # Whatever clean() normalised is saved too.
    campaign.save(update_fields=sorted({*changes, "days", "retry_rules", "updated_at"}))
    return campaign


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
    if target == Campaign.Status.RUNNING:
        # A campaign written before the rule was enforced everywhere (or by a
        # bulk path that skips it) is checked again before it may dial.
        try:
            campaign.full_clean(validate_unique=False)
        except ValidationError as exc:
            problems = "; ".join(
                message if field == NON_FIELD_ERRORS else f"{field}: {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            )
            raise CampaignTransitionError(f"cannot {action} this campaign: {problems}") from None
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
    transaction.on_commit(lambda: webhook_event_emit(event="lead.updated", data=lead_event_data(lead)))


def lead_do_not_call_mark(*, lead_id: int) -> bool:
    """Mark a lead do-not-call; False when it no longer exists. Announced as lead.updated once it commits."""
    # One UPDATE sets both columns: the database refuses one without the other.
    marked = bool(Lead.objects.filter(pk=lead_id).update(do_not_call=True, status=Lead.Status.DO_NOT_CALL))
    lead = Lead.objects.filter(pk=lead_id).first() if marked else None
    if lead is not None:
        data = lead_event_data(lead)
        transaction.on_commit(lambda: webhook_event_emit(event="lead.updated", data=data))
    return marked


# What an operator edits on a lead from the console; the status moves only with the dialer or do-not-call.
# The phone is the lead's identity (imports merge on it): a new one is normalised by the importer's rule and
# must not belong to another lead.
LEAD_EDITABLE = frozenset({"phone", "first_name", "last_name", "timezone", "consent"})


def lead_phone_normalize(raw: str, *, current: str = "") -> str:
    """`raw` as E.164 by the importer's and API's rule (voiceops.validators.normalize_e164).

    A number typed without a country code is read in the region of the lead's
    current number (a UK lead's "020 7183 8750" stays British); ValidationError says why not.
    """
    region = None
    if current:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(current))
        except phonenumbers.NumberParseException:
            region = None
    return normalize_e164(raw, region or "US")


@transaction.atomic
def lead_update(*, lead_id: int, **changes: Any) -> Lead:
    """Change a lead's editable fields under its row lock; raises ValidationError keyed by field."""
    unknown = set(changes) - LEAD_EDITABLE
    if unknown:
        raise TypeError(f"not an editable lead field: {', '.join(sorted(unknown))}")
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if "phone" in changes:
        try:
            changes["phone"] = lead_phone_normalize(str(changes["phone"]), current=lead.phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from None
        if changes["phone"] != lead.phone:
            lead_phone_change_check(lead=lead, phone=changes["phone"])
    fields = {"updated_at"}
    for name, value in changes.items():
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            fields.add(name)
    if "consent" in fields:
        # When the lead agreed is part of the consent; withdrawn consent clears it.
        lead.consent_at = timezone.now() if lead.consent else None
        fields.add("consent_at")
    lead.full_clean(validate_unique=False)
    try:
        with transaction.atomic():  # a savepoint: a number taken since the check is a field error, not a 500
            lead.save(update_fields=sorted(fields))
    except IntegrityError:
        if "phone" not in fields or not Lead.objects.filter(phone=lead.phone).exclude(pk=lead.pk).exists():
            raise
        raise ValidationError({"phone": [_PHONE_TAKEN.format(phone=lead.phone)]}) from None
    transaction.on_commit(lambda: webhook_event_emit(event="lead.updated", data=lead_event_data(lead)))
    return lead


_PHONE_TAKEN = "{phone} already belongs to another lead."


def lead_phone_change_check(*, lead: Lead, phone: str) -> None:
    """Whether `lead` may take the E.164 `phone`: ValidationError keyed by "phone" when not."""
    if lead.status == Lead.Status.DIALING:
        # The call in flight and its outcome are tied to the number being dialed.
        raise ValidationError({"phone": ["The lead is being dialed right now; change its number after the call."]})
    other = Lead.objects.filter(phone=phone).exclude(pk=lead.pk).select_related("campaign").first()
    if other is not None:
        where = f" in campaign {other.campaign.name}" if other.campaign else ""
        who = other.full_name or f"lead {other.pk}"
        raise ValidationError({"phone": [f"{phone} already belongs to {who}{where}."]})


@transaction.atomic
def leads_assign_campaign(*, leads: QuerySet[Lead], campaign_id: int) -> int:
    """Put the given leads into a campaign (one UPDATE); returns how many moved.

    A lead being dialed right now keeps its campaign (its call's outcome is
    applied to that campaign). Leads keep their status, attempts and
    do-not-call flag: the dialer still never calls a do-not-call lead.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status in (Campaign.Status.STOPPED, Campaign.Status.COMPLETED):
        raise CampaignTransitionError(f"cannot add leads to a campaign that is {campaign.status}")
    chosen = leads.exclude(status=Lead.Status.DIALING).exclude(campaign_id=campaign_id).order_by()
    moved = Lead.objects.filter(pk__in=chosen.values("pk")).update(campaign_id=campaign_id, updated_at=timezone.now())
    if moved:
        transaction.on_commit(lambda: broadcast_campaigns_changed([campaign_id]))
    return moved
