"""Calls and turns over a few days, with known figures, for the analytics tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from calls.models import Call, CallTurn
from tests.factories import AgentFactory, AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

DAY1 = dt.date(2026, 11, 2)
DAY2 = dt.date(2026, 11, 3)
PRICING = {
    "currency": "usd",
    "telephony_per_minute": 0.014,
    "stt_per_minute": 0.006,
    "tts_per_minute": 0.015,
    "llm_per_minute": 0.001,
    "llm_per_1k_prompt_tokens": 0.5,
    "llm_per_1k_completion_tokens": 1.5,
}


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def make_call(*, day, version, campaign=None, lead=None, turns=(), **fields) -> Any:
    """A call created on `day` (noon UTC) with agent turns given as (timings, interrupted, data)."""
    call: Any = CallFactory(agent_version=version, campaign=campaign, lead=lead, twilio_call_sid=None, **fields)
    created = at(day)
    updates = {"created_at": created}
    if call.status in Call.FINAL_STATUSES:
        updates["ended_at"] = created + dt.timedelta(seconds=call.duration_seconds or 5)
    Call.objects.filter(pk=call.pk).update(**updates)
    for index, (timings, interrupted, data) in enumerate(turns):
        CallTurn.objects.create(call=call, index=2 * index, speaker="caller", text="hello", timings={})
        CallTurn.objects.create(
            call=call,
            index=2 * index + 1,
            speaker="agent",
            text="hi",
            timings=timings,
            interrupted=interrupted,
            data=data,
        )
    call.refresh_from_db()
    return call


def stages(ms: float) -> dict[str, float]:
    """A reply's stage timings whose voice-to-voice (first frame sent) is `ms`."""
    return {"stt_done": ms - 150, "first_brain_text": ms - 100, "first_tts_audio": ms - 40, "first_frame_sent": ms}


@dataclass
class World:
    v1: Any  # AgentVersion (factory-built)
    v2: Any
    other: Any
    campaign: Any  # Campaign
    v2v_values: list[float]


@pytest.fixture
def world(db) -> World:
    agent = AgentFactory(name="Ava")
    v1 = AgentVersionFactory(agent=agent, number=1, config={"brain": "flow", "greeting": "Hi", "pricing": PRICING})
    v2 = AgentVersionFactory(
        agent=agent,
        number=2,
        config={"brain": "flow", "greeting": "Hello", "success_dispositions": ["booked", "callback"]},
    )
    other = AgentVersionFactory(agent=AgentFactory(name="Rex"), number=1)
    campaign = CampaignFactory(name="Spring recall", agent_version=v1)
    web = LeadFactory(custom_fields={"source": "web"})
    fair = LeadFactory(custom_fields={"source": "fair"})
    v2v = [400.0, 520.0, 610.0, 700.0, 950.0, 1300.0]
    # Day 1, v1 in the campaign: booked (human, 120 s, two replies, one interrupted, 1,000 + 200 tokens),
    # not interested (human, 60 s), no answer, voicemail.
    outbound = {"day": DAY1, "version": v1, "campaign": campaign, "direction": "outbound"}
    make_call(
        **outbound,
        lead=web,
        status="completed",
        answered_by="human",
        disposition="booked",
        duration_seconds=120,
        outcome="completed",
        turns=[
            (stages(v2v[0]), False, {"usage": {"prompt_tokens": 600, "completion_tokens": 120}}),
            (stages(v2v[1]), True, {"usage": {"prompt_tokens": 400, "completion_tokens": 80}}),
        ],
    )
    make_call(
        **outbound,
        lead=fair,
        status="completed",
        answered_by="human",
        disposition="not_interested",
        duration_seconds=60,
        outcome="completed",
        turns=[(stages(v2v[2]), False, {})],
    )
    make_call(**outbound, lead=web, status="no-answer", outcome="no-answer", attempt_number=2)
    make_call(
        **outbound,
        lead=fair,
        status="completed",
        attempt_number=2,
        answered_by="machine_start",
        disposition="voicemail",
        duration_seconds=30,
        outcome="voicemail",
    )
    # Day 2, v2 inbound: callback (a success for v2), booked, and an unanswered one.
    inbound = {"day": DAY2, "direction": "inbound", "answered_at": at(DAY2)}
    make_call(
        **inbound,
        version=v2,
        status="completed",
        disposition="callback",
        duration_seconds=90,
        turns=[(stages(v2v[3]), True, {}), (stages(v2v[4]), False, {})],
    )
    make_call(
        **inbound,
        version=v2,
        status="completed",
        disposition="booked",
        duration_seconds=30,
        turns=[(stages(v2v[5]), False, {})],
    )
    make_call(day=DAY2, version=v2, direction="inbound", status="canceled")
    # Another agent's call on day 2.
    make_call(**inbound, version=other, status="completed", disposition="booked", duration_seconds=10)
    return World(v1=v1, v2=v2, other=other, campaign=campaign, v2v_values=v2v)
