"""The `data` of each event, built from the row that changed (read on commit, never queried again).

Duck-typed on purpose: the emitters hand over their own model instances, and
this app imports none of their models.
"""

from __future__ import annotations

from typing import Any

from webhooks.models import Event


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def call_event_for(fields: list[str]) -> str | None:
    """The event a status move announces, from the fields it set (call_status_advance's answer)."""
    if "ended_at" in fields:
        return Event.CALL_ENDED
    if "started_at" in fields:
        return Event.CALL_STARTED
    return None


def call_event_data(call: Any) -> dict[str, Any]:
    return {
        "id": str(call.pk),
        "direction": call.direction,
        "status": call.status,
        "from": call.from_number,
        "to": call.to_number,
        "lead_id": call.lead_id,
        "campaign_id": call.campaign_id,
        "agent_version_id": call.agent_version_id,
        "disposition": call.disposition,
        "started_at": _iso(call.started_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "duration_seconds": call.duration_seconds,
    }


def lead_event_data(lead: Any) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "phone": lead.phone,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "status": lead.status,
        "campaign_id": lead.campaign_id,
        "custom_fields": lead.custom_fields,
        "do_not_call": lead.do_not_call,
    }


def campaign_event_data(campaign: Any, *, reason: str) -> dict[str, Any]:
    return {"id": campaign.pk, "name": campaign.name, "status": "completed", "reason": reason}
