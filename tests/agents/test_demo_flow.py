"""Ava's flow at the text level: every simulator persona, and the same words garbled by ASR."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from agents.brains.base import CallContext, Hangup, Speech, ToolUse
from agents.brains.config import load_config
from agents.brains.flow import FlowBrain
from agents.models import Agent
from agents.runtime import DjangoToolPort
from calendars.models import Appointment
from campaigns.models import Lead
from sandbox.demo import DEMO_AGENT_NAME, DEMO_DISPOSITIONS, demo_agent_config
from sandbox.personas import PERSONAS
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

# Wednesday 5 March 2025, 10:00 in New York.
WEDNESDAY = dt.datetime(2025, 3, 5, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Agent.objects.get(name=DEMO_AGENT_NAME)


async def run_call(lead, lines):
    """Play a caller's lines against a fresh FlowBrain, as the call engine would."""
    config = demo_agent_config()
    ctx = CallContext(
        call_id="demo-call",
        config=config,
        lead_id=lead.pk,
        lead_variables=lead.template_variables(),
        timezone=lead.timezone,
        tools=DjangoToolPort(),
    )
    brain = FlowBrain(config)
    transcript = [item async for item in brain.greeting(ctx)]
    for line in lines:
        if brain.finished:
            break
        transcript.append(("caller", line))
        transcript.extend([item async for item in brain.reply(ctx, line)])
    return ctx, transcript


def test_demo_config_is_valid_and_seeded(seeded):
    load_config(demo_agent_config())
    load_config(demo_agent_config(greeting_style="warm"))
    live = seeded.live_version
    assert live.config["flow"]["start"] == "confirm"
    assert live.config["calendar"] == "Bright Smile Dental"


def test_every_ava_disposition_has_a_persona():
    expected = {p.expected_disposition for p in PERSONAS.values() if p.expected_disposition}
    assert expected == set(DEMO_DISPOSITIONS) - {"unclear"}


@time_machine.travel(WEDNESDAY, tick=False)
@pytest.mark.parametrize("name", [n for n, p in PERSONAS.items() if p.expected_disposition])
async def test_each_persona_reaches_its_disposition(seeded, name):
    persona = PERSONAS[name]
    lead = await _lead()
    ctx, transcript = await run_call(lead, persona.lines)
    assert transcript[-1] == Hangup(persona.expected_disposition), transcript
    assert ctx.disposition == persona.expected_disposition


async def _lead(**fields):
    from asgiref.sync import sync_to_async

    return await sync_to_async(LeadFactory)(**{"first_name": "Maria", "timezone": "America/Chicago", **fields})


@time_machine.travel(WEDNESDAY, tick=False)
async def test_booking_offers_slots_in_the_leads_timezone_and_books_one(seeded):
    lead = await _lead(timezone="America/Los_Angeles")
    _ctx, transcript = await run_call(lead, ["Yes, speaking.", "The second one please."])
    spoken = " ".join(item.text for item in transcript if isinstance(item, Speech))
    # 11 AM in New York, an hour's notice, is 8 AM in Los Angeles; Thursday's first slot is 6 AM there.
    assert "I have today at 8 AM or tomorrow at 6 AM. Which one works for you?" in spoken
    assert "You're all set for tomorrow at 6 AM." in spoken
    tools = [item for item in transcript if isinstance(item, ToolUse)]
    assert [t.name for t in tools] == ["find_slots", "book_appointment"]
    assert tools[1].result["booked"] is True
    appointment = await Appointment.objects.aget()
    assert appointment.start == dt.datetime(2025, 3, 6, 14, 0, tzinfo=dt.UTC)
    assert appointment.lead_id == lead.pk
    assert transcript[-1] == Hangup("booked")


@time_machine.travel(WEDNESDAY, tick=False)
@pytest.mark.parametrize(
    ("lines", "disposition"),
    [
        # What faster-whisper tiny.en tends to make of a phone line.
        (["Yes, speking.", "The first one, thanks."], "booked"),
        (["yeah its me", "tomorow works"], "booked"),
        (["Yes.", "No thank you. I'm not intrested."], "not_interested"),
        (["Yes.", "Can you colme back later?", "Tomorrow at three."], "callback"),
        (["Hi you've reached Tom. Please leave a massage after the beep."], "voicemail"),
        (["Sorry, wrong numbr."], "wrong_person"),
        (["Yes.", "Please stop calling me."], "do_not_call"),
        (["Mmm?", "Purple."], "unclear"),
    ],
)
async def test_asr_style_errors_still_reach_the_right_path(seeded, lines, disposition):
    lead = await _lead()
    _ctx, transcript = await run_call(lead, lines)
    assert transcript[-1] == Hangup(disposition), transcript


@time_machine.travel(WEDNESDAY, tick=False)
async def test_call_later_records_the_callback_time(seeded):
    lead = await _lead(timezone="Europe/London")
    ctx, transcript = await run_call(lead, ["Yes, speaking.", "I'm busy. Call me back later.", "Tomorrow at 3 PM."])
    assert ctx.variables["callback_at"] == "2025-03-06T15:00:00+00:00"
    assert "I'll call you back tomorrow at 3 PM." in " ".join(i.text for i in transcript if isinstance(i, Speech))
    await lead.arefresh_from_db()
    assert lead.custom_fields["callback_at"] == "2025-03-06T15:00:00+00:00"


@time_machine.travel(WEDNESDAY, tick=False)
async def test_do_not_call_marks_the_lead(seeded):
    lead = await _lead()
    await run_call(lead, ["Yes.", "Please stop calling me."])
    await lead.arefresh_from_db()
    assert (lead.do_not_call, lead.status) == (True, Lead.Status.DO_NOT_CALL)


@time_machine.travel(WEDNESDAY, tick=False)
async def test_a_slot_taken_meanwhile_offers_others(seeded):
    first, second = await _lead(), await _lead()
    ctx_a, ctx_b = (
        CallContext(
            call_id=call_id,
            config=demo_agent_config(),
            lead_id=lead.pk,
            timezone="America/New_York",
            tools=DjangoToolPort(),
        )
        for call_id, lead in (("a", first), ("b", second))
    )
    brain_a, brain_b = FlowBrain(ctx_a.config), FlowBrain(ctx_b.config)
    for brain, ctx in ((brain_a, ctx_a), (brain_b, ctx_b)):
        [o async for o in brain.greeting(ctx)]
        [o async for o in brain.reply(ctx, "Yes, speaking.")]
    # Both were offered the same first slot; A takes it, then B asks for it.
    assert (await _last(brain_a.reply(ctx_a, "The first one."))) == Hangup("booked")
    outputs = [o async for o in brain_b.reply(ctx_b, "The first one.")]
    assert "Sorry, that time isn't available." in " ".join(o.text for o in outputs if isinstance(o, Speech))
    assert (await _last(brain_b.reply(ctx_b, "The first one."))) == Hangup("booked")
    assert await Appointment.objects.acount() == 2


async def _last(stream):
    items = [item async for item in stream]
    return items[-1]
