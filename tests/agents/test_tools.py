"""The tools shared by flow and LLM agents, against the real database."""

import datetime as dt

import pytest
import time_machine

from agents.brains.base import Hangup, SendDigits, Transfer
from agents.brains.tools import TOOL_NAMES, run_tool, tool_specs
from calendars.models import Appointment
from campaigns.models import Lead
from tests.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def test_tool_specs_are_openai_function_entries():
    specs = tool_specs(list(TOOL_NAMES))
    assert [s["function"]["name"] for s in specs] == list(TOOL_NAMES)
    for spec in specs:
        assert spec["type"] == "function"
        assert spec["function"]["parameters"]["type"] == "object"
        assert spec["function"]["description"]


def test_tool_specs_refuse_unknown_names():
    with pytest.raises(ValueError, match="unknown tools: fly"):
        tool_specs(["end_call", "fly"])


async def test_unknown_tool_and_bad_arguments_return_errors_not_exceptions(ctx):
    assert "unknown tool" in (await run_tool("fly", {}, ctx)).result["error"]
    assert "JSON object" in (await run_tool("end_call", ["x"], ctx)).result["error"]
    assert "digits may only" in (await run_tool("send_dtmf", {"digits": "12a"}, ctx)).result["error"]
    assert "missing argument 'start'" in (await run_tool("book_appointment", {}, ctx)).result["error"]
    assert "could not understand" in (await run_tool("book_appointment", {"start": "whenever"}, ctx)).result["error"]
    assert "not a field" in (await run_tool("set_lead_field", {"field": "phone", "value": "x"}, ctx)).result["error"]


async def test_call_actions(ctx):
    ended = await run_tool("end_call", {"disposition": "not_interested"}, ctx)
    assert ended.action == Hangup("not_interested")
    assert ctx.disposition == "not_interested"
    transfer = await run_tool("transfer_to_human", {"reason": "asked for a person"}, ctx)
    assert transfer.action == Transfer(number="+14155550199")
    digits = await run_tool("send_dtmf", {"digits": "1w#"}, ctx)
    assert digits.action == SendDigits(digits="1w#")


async def test_transfer_without_a_number_is_an_error(ctx):
    ctx.config = {**ctx.config, "transfer_number": ""}
    outcome = await run_tool("transfer_to_human", {}, ctx)
    assert outcome.action is None
    assert "no transfer number" in outcome.result["error"]


async def test_set_lead_field_keeps_other_fields(ctx, lead):
    outcome = await run_tool("set_lead_field", {"field": "insurance", "value": "Delta Dental"}, ctx)
    assert outcome.result == {"ok": True, "field": "insurance", "value": "Delta Dental"}
    await lead.arefresh_from_db()
    assert lead.custom_fields == {"persona": "booker", "insurance": "Delta Dental"}


async def test_mark_do_not_call_sets_flag_and_status_together(ctx, lead):
    outcome = await run_tool("mark_do_not_call", {}, ctx)
    assert outcome.action == Hangup("do_not_call")
    await lead.arefresh_from_db()
    assert (lead.do_not_call, lead.status) == (True, Lead.Status.DO_NOT_CALL)


@time_machine.travel(MONDAY_MORNING, tick=False)
async def test_find_slots_then_book_in_the_callers_timezone(ctx, lead):
    found = await run_tool("find_slots", {"count": 2}, ctx)
    # Monday 9 AM New York is 6 AM in Los Angeles; the second offer is on Tuesday.
    assert [s["spoken"] for s in found.result["slots"]] == ["today at 6 AM", "tomorrow at 6 AM"]
    assert ctx.variables["slots_spoken"] == "today at 6 AM or tomorrow at 6 AM"

    booked = await run_tool("book_appointment", {"start": found.result["slots"][1]["start"]}, ctx)
    assert booked.result["booked"] is True
    assert booked.result["spoken"] == "tomorrow at 6 AM"
    appointment = await Appointment.objects.aget(pk=booked.result["appointment_id"])
    assert appointment.start == dt.datetime(2025, 3, 4, 14, 0, tzinfo=dt.UTC)
    assert appointment.lead_id == lead.pk

    again = await run_tool("book_appointment", {"start": "tomorrow at 6 AM"}, ctx)
    assert again.result["error"] == "could not book tomorrow at 6 AM: that slot was just taken"
    assert again.result["alternatives"][0]["spoken"] == "today at 6 AM"


@time_machine.travel(MONDAY_MORNING, tick=False)
async def test_book_outside_availability_is_refused(ctx):
    outcome = await run_tool("book_appointment", {"start": "2025-03-08T10:00:00-05:00"}, ctx)  # a Saturday
    assert "not one of the calendar's open slots" in outcome.result["error"]
