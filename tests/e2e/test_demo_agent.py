"""Ava, the demo agent, end to end: real audio, real models, the simulator speaking Twilio's protocol.

Each persona is one outbound call to a lead (as the dialer would place it):
Piper speaks the persona's lines, the server hears them through Whisper, runs
Ava's flow, books on the real calendar, speaks back through Piper, and ends
the call with the persona's disposition.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from agents.models import Agent
from calendars.models import Appointment
from calls.models import Call, CallTurn
from campaigns.models import Lead
from sandbox.demo import DEMO_AGENT_NAME
from sandbox.personas import PERSONAS
from sandbox.simulator import simulate_call
from tests.factories import LeadFactory

pytestmark = [pytest.mark.e2e]

AVA_PERSONAS = ["booker", "not_interested", "call_later", "voicemail", "wrong_person", "do_not_call"]


@pytest.mark.parametrize("name", AVA_PERSONAS)
def test_demo_agent_call_ends_with_the_personas_disposition(voice_server, speech_engines, transactional_db, name):
    persona = PERSONAS[name]
    call_command("seed_demo", stdout=io.StringIO())
    version = Agent.objects.get(name=DEMO_AGENT_NAME).live_version
    lead = LeadFactory(first_name="Maria", timezone="America/New_York", custom_fields={"persona": name})
    call = Call.objects.create(
        direction=Call.Direction.OUTBOUND,
        agent_version=version,
        lead=lead,
        from_number="+15005550006",
        to_number=lead.phone,
    )

    result = asyncio.run(
        simulate_call(
            base_url=voice_server.base_url,
            persona=persona,
            to_number=lead.phone,
            from_number="+15005550006",
            direction="outbound",
            answer_url=f"{voice_server.base_url}/twilio/voice/?call={call.pk}",
            auth_token=voice_server.auth_token,
            max_seconds=120,
        )
    )

    call.refresh_from_db()
    turns = list(CallTurn.objects.filter(call=call).order_by("index"))
    transcript = [(t.speaker, t.text) for t in turns]
    assert call.disposition == persona.expected_disposition, (result, transcript)
    assert result.ended_by == "agent", (result, transcript)
    assert call.status == Call.Status.COMPLETED
    # Ava greeted the lead by name; tool calls are part of the transcript.
    assert turns[0].speaker == "agent" and "Maria" in turns[0].text
    tools = [t.data.get("name") or t.text for t in turns if t.speaker == "tool"]
    lead.refresh_from_db()
    if name == "booker":
        appointment = Appointment.objects.get(call_id=call.pk)
        assert appointment.lead_id == lead.pk
        assert any("book_appointment" in str(tool) for tool in tools), transcript
    elif name == "call_later":
        # "Tomorrow at 3 PM." in the lead's own timezone, stored on the call and the lead.
        new_york = ZoneInfo("America/New_York")
        callback = datetime.fromisoformat(call.variables["callback_at"]).astimezone(new_york)
        assert lead.custom_fields["callback_at"] == call.variables["callback_at"]
        assert (callback.hour, callback.minute) == (15, 0)
        assert callback.date() == (datetime.now(new_york) + timedelta(days=1)).date()
    elif name == "do_not_call":
        assert (lead.do_not_call, lead.status) == (True, Lead.Status.DO_NOT_CALL)
    if name != "booker":
        assert not Appointment.objects.filter(call_id=call.pk).exists()
