"""Reads for campaigns, their leads and lead imports."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from calls.models import Call
from campaigns.models import Campaign, Lead, LeadImport


def campaigns_overview() -> QuerySet[Campaign]:
    return (
        Campaign.objects.select_related("agent_version__agent", "experiment")
        .annotate(
            lead_count=Count("leads", distinct=True),
            live_calls=Count("calls", filter=Q(calls__status__in=Call.LIVE_STATUSES), distinct=True),
        )
        .order_by("-created_at")
    )


def campaign_lead_counts(campaign: Campaign) -> dict[str, int]:
    rows = Lead.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
    return {str(status): n for status, n in rows}


def campaign_outcome_counts(campaign: Campaign) -> dict[str, int]:
    rows = Call.objects.filter(campaign=campaign, outcome_applied=True).values_list("outcome").annotate(n=Count("id"))
    return {str(outcome): n for outcome, n in rows}


def campaign_attempts(campaign: Campaign) -> QuerySet[Call]:
    """Every attempt of the campaign, newest first."""
    return Call.objects.filter(campaign=campaign).order_by("-created_at")


def campaigns_recent(*, limit: int = 10) -> QuerySet[Campaign]:
    return Campaign.objects.order_by("-created_at")[:limit]


def campaign_recent_attempts(campaign: Campaign, *, limit: int = 25) -> QuerySet[Call]:
    return Call.objects.filter(campaign=campaign).select_related("lead").order_by("-created_at")[:limit]


def lead_persona(phone: str) -> str | None:
    """The simulator persona a lead asks for (custom_fields["persona"]), for the sandbox's carrier."""
    lead = Lead.objects.filter(phone=phone).only("custom_fields").first()
    persona = (lead.custom_fields or {}).get("persona") if lead else None
    return str(persona) if persona else None


def lead_imports_recent(*, limit: int = 10) -> QuerySet[LeadImport]:
    return LeadImport.objects.select_related("campaign").defer("content").order_by("-created_at")[:limit]
