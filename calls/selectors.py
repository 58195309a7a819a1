"""Reads for calls, leads and campaigns."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from calls.models import Call, CallTurn
from voiceops.realtime import speakers_now


def calls_recent(*, limit: int = 50) -> QuerySet[Call]:
    return Call.objects.select_related("agent_version__agent", "lead", "campaign").order_by("-created_at")[:limit]


def calls_live() -> QuerySet[Call]:
    live = Call.objects.filter(status__in=Call.LIVE_STATUSES)
    return live.select_related("agent_version__agent", "lead").order_by("-created_at")


def calls_live_with_last_words(call_ids: list[str] | None = None) -> list[Call]:
    """Live calls for the live list (or those of `call_ids` still live), each with `last_turn`:
    the latest caller or agent turn (None before any), and `speaking_now`: who is speaking now,
    as its live session last published it (live.speaker; "" for nobody or not known yet)."""
    live = calls_live()
    calls = list(live if call_ids is None else live.filter(pk__in=call_ids))
    last: dict[uuid.UUID, CallTurn] = {}
    turns = CallTurn.objects.filter(call__in=calls, speaker__in=["caller", "agent"]).order_by("call_id", "-index")
    for turn in turns:  # a few dozen turns per live call: no need for DISTINCT ON (PostgreSQL only)
        last.setdefault(turn.call_id, turn)
    speaking = speakers_now(call.pk for call in calls)
    for call in calls:
        call.last_turn = last.get(call.pk)  # type: ignore[attr-defined]
        call.speaking_now = speaking.get(str(call.pk), "")  # type: ignore[attr-defined]
    return calls


def call_with_turns(*, call_id: uuid.UUID) -> Call | None:
    """A call for its console page, with its agent version, lead, campaign and turns."""
    related = Call.objects.select_related("agent_version__agent", "lead", "campaign").prefetch_related("turns")
    return related.filter(pk=call_id).first()


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


def call_for_analysis(*, call_id: uuid.UUID) -> Call:
    """A finished call with its version's configuration and lead, for post-call analysis."""
    return Call.objects.select_related("agent_version", "lead").get(pk=call_id)


def call_turns_for_analysis(*, call_id: uuid.UUID) -> list[CallTurn]:
    """Every turn of a call in order (caller, agent, tool and system)."""
    return list(CallTurn.objects.filter(call_id=call_id).order_by("index"))


def calls_ended_before(*, version_ids: list[int], before: datetime) -> QuerySet[Call]:
    """Calls of these agent versions that ended before `before` (retention reads which are due)."""
    return Call.objects.filter(agent_version_id__in=version_ids, ended_at__lt=before)


def call_ids_with_turns(calls: QuerySet[Call]) -> list[uuid.UUID]:
    return list(calls.filter(turns__isnull=False).values_list("pk", flat=True).distinct())


def call_ids_with_recording(calls: QuerySet[Call]) -> list[uuid.UUID]:
    return list(calls.exclude(recording="").values_list("pk", flat=True))


def call_answered_by(*, call_id: uuid.UUID) -> str:
    """Twilio's answering-machine result for the call so far ("" until it comes): the live engine watches it."""
    return Call.objects.filter(pk=call_id).values_list("answered_by", flat=True).first() or ""


def campaign_ids_of_calls(call_ids: Iterable[str | uuid.UUID]) -> list[int]:
    """The campaigns the given calls were placed for (the console socket's campaign pages follow them)."""
    ids = list(call_ids)
    if not ids:
        return []
    rows = Call.objects.filter(pk__in=ids, campaign_id__isnull=False).values_list("campaign_id", flat=True)
    return sorted(set(rows))
