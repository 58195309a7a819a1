"""Reads for calls, leads and campaigns."""

from __future__ import annotations

from django.db.models import QuerySet

from calls.models import Call


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
