"""Reads for calls, leads and campaigns."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from calls.models import Call, CallTurn


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


def call_for_stream(*, call_id: uuid.UUID) -> Call | None:
    """The call a media stream names, with what the live engine's setup reads of it (agent version, lead)."""
    return Call.objects.select_related("agent_version", "lead").filter(pk=call_id).first()


def call_conversation(*, call_id: uuid.UUID) -> list[CallTurn]:
    """The caller and agent turns so far, in order (a stream reconnected after DTMF resumes from them)."""
    return list(CallTurn.objects.filter(call_id=call_id, speaker__in=["caller", "agent"]).order_by("index"))


def call_answered_by(*, call_id: uuid.UUID) -> str:
    """Twilio's answering-machine result for the call so far ("" until it comes): the live engine watches it."""
    return Call.objects.filter(pk=call_id).values_list("answered_by", flat=True).first() or ""
