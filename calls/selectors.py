"""Reads for calls, leads and campaigns."""

from __future__ import annotations

from django.db.models import QuerySet

from calls.models import Call


def calls_recent(*, limit: int = 50) -> QuerySet[Call]:
    return Call.objects.select_related("agent_version__agent", "lead", "campaign").order_by("-created_at")[:limit]


def calls_live() -> QuerySet[Call]:
    live = [Call.Status.QUEUED, Call.Status.INITIATED, Call.Status.RINGING, Call.Status.IN_PROGRESS]
    return Call.objects.filter(status__in=live).select_related("agent_version__agent", "lead").order_by("-created_at")


def call_for_console(call_id: str) -> Call | None:
    return Call.objects.select_related("agent_version__agent", "lead", "campaign").filter(pk=call_id).first()
