"""Call lifecycle over the real protocol: silence reminders, then the agent hangs up."""

from __future__ import annotations

import asyncio

import pytest

from calls.models import Call
from sandbox.personas import Persona
from sandbox.simulator import simulate_call
from tests.factories import AgentVersionFactory, PhoneNumberFactory

pytestmark = [pytest.mark.e2e]

CONFIG = {
    "brain": "scripted",
    "greeting": "Hello?",
    "script": [],
    "silence": {
        "reminder_after_s": 1,
        "reminders": ["Are you still there?"],
        "hangup_after_reminders": 1,
        "hangup_message": "Goodbye for now.",
    },
}


def test_silent_caller_gets_a_reminder_then_the_agent_hangs_up(voice_server, speech_engines, transactional_db):
    version = AgentVersionFactory(config=CONFIG)
    number = PhoneNumberFactory(agent=version.agent)

    result = asyncio.run(
        simulate_call(
            base_url=voice_server.base_url,
            persona=Persona(name="silent", lines=[]),
            to_number=number.e164,
            from_number="+12125550144",
            auth_token=voice_server.auth_token,
            max_seconds=40,
            hangup_after_s=10,
        )
    )

    assert result.ended_by == "agent", result.transcript
    call = Call.objects.get(twilio_call_sid=result.call_sid)
    assert call.status == Call.Status.COMPLETED
    assert call.disposition == "no_response"
    agent = [t.text for t in call.turns.order_by("index") if t.speaker == "agent"]
    assert agent == ["Hello?", "Are you still there?", "Goodbye for now."]
    assert voice_server.twilio_api.hangups(result.call_sid)
