"""Reads for calls, leads and campaigns."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from calls.models import Call, Campaign, Lead, LeadImport


def calls_recent(*, limit: int = 50) -> QuerySet[Call]:
    return Call.objects.select_related("agent_version__agent", "lead", "campaign").order_by("-created_at")[:limit]


def calls_live() -> QuerySet[Call]:
    live = Call.objects.filter(status__in=Call.LIVE_STATUSES)
    return live.select_related("agent_version__agent", "lead").order_by("-created_at")


def calls_for_console(call_ids: list[str]) -> list[Call]:
    """The calls a console re-renders, in the order asked (ids that no longer exist are left out)."""
    found = Call.objects.select_related("agent_version__agent", "lead", "campaign").filter(pk__in=call_ids)
    by_id = {str(call.pk): call for call in found}
    return [by_id[call_id] for call_id in call_ids if call_id in by_id]


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


def campaign_recent_attempts(campaign: Campaign, *, limit: int = 25) -> QuerySet[Call]:
    return Call.objects.filter(campaign=campaign).select_related("lead").order_by("-created_at")[:limit]


def lead_imports_recent(*, limit: int = 10) -> QuerySet[LeadImport]:
    return LeadImport.objects.select_related("campaign").defer("content").order_by("-created_at")[:limit]
