"""Tools reach leads and calendars only through the call's port, and read the time from its clock.

A fake port here (no database): what each tool asks the port for, and what
it makes of the answer. tests/agents/test_tools.py runs the same tools
through the real port (agents.runtime.DjangoToolPort) against PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from agents.brains.base import CallContext, Hangup
from agents.brains.flow import FlowBrain
from agents.brains.ports import Booking, SlotRefused, ToolError
from agents.brains.tools import run_tool

NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)  # Monday, 7 AM in New York
SLOTS = [
    dt.datetime(2025, 3, 3, 9, 0, tzinfo=NY),
    dt.datetime(2025, 3, 3, 9, 30, tzinfo=NY),
    dt.datetime(2025, 3, 4, 9, 0, tzinfo=NY),
]


class FakePort:
    """Records every request; books from a list of free slots, refusing the ones in `taken`."""

    def __init__(self) -> None:
        self.requests: list[tuple] = []
        self.free = list(SLOTS)
        self.taken: set[dt.datetime] = set()
        self.leads = {7}

    async def lead_set_field(self, *, lead_id, field, value):
        self.requests.append(("lead_set_field", lead_id, field, value))

    async def lead_mark_do_not_call(self, *, lead_id):
        self.requests.append(("lead_mark_do_not_call", lead_id))
        return lead_id in self.leads

    async def free_slots(self, *, calendar, now, limit):
        self.requests.append(("free_slots", calendar, now, limit))
        if calendar != "Clinic":
            raise ToolError(f"calendar {calendar!r} does not exist")
        return [slot for slot in self.free if slot > now][:limit]

    async def book(self, *, calendar, start, lead_id, call_id, notes, now):
        self.requests.append(("book", calendar, start, lead_id, call_id, notes, now))
        if start in self.taken:
            raise SlotRefused("that slot was just taken")
        self.free.remove(start)
        return Booking(appointment_id=42, start=start)


def context(port=None, **extra) -> CallContext:
    return CallContext(
        call_id="port-call",
        config={"calendar": "Clinic", **extra.pop("config", {})},
        lead_id=extra.pop("lead_id", 7),
        timezone="America/Los_Angeles",
        clock=lambda: NOW,
        **({"tools": port} if port is not None else {}),
        **extra,
    )


async def test_lead_tools_go_through_the_port():
    port = FakePort()
    ctx = context(port)
    outcome = await run_tool("set_lead_field", {"field": "insurance", "value": "Delta"}, ctx)
    assert outcome.result == {"ok": True, "field": "insurance", "value": "Delta"}
    assert ctx.lead_variables["insurance"] == "Delta"
    dnc = await run_tool("mark_do_not_call", {}, ctx)
    assert dnc.action == Hangup("do_not_call")
    assert port.requests == [("lead_set_field", 7, "insurance", "Delta"), ("lead_mark_do_not_call", 7)]


async def test_a_lead_gone_from_the_port_is_an_error_the_agent_reads():
    outcome = await run_tool("mark_do_not_call", {}, context(FakePort(), lead_id=8))
    assert outcome == outcome.__class__({"error": "the lead of this call no longer exists"})


async def test_offers_are_spoken_in_the_callers_zone_as_of_the_calls_clock():
    port = FakePort()
    ctx = context(port)
    found = await run_tool("find_slots", {"count": 2}, ctx)
    # 9 AM New York is 6 AM in Los Angeles; the call's clock says Monday morning.
    assert [slot["spoken"] for slot in found.result["slots"]] == ["today at 6 AM", "tomorrow at 6 AM"]
    assert ctx.variables["slots_spoken"] == "today at 6 AM or tomorrow at 6 AM"
    assert port.requests == [("free_slots", "Clinic", NOW, 40)]


async def test_a_refused_booking_comes_back_with_alternatives_from_the_port():
    port = FakePort()
    port.taken.add(SLOTS[0])
    ctx = context(port)
    outcome = await run_tool("book_appointment", {"start": SLOTS[0].isoformat(), "notes": "cleaning"}, ctx)
    assert outcome.result["error"] == "could not book today at 6 AM: that slot was just taken"
    assert [slot["spoken"] for slot in outcome.result["alternatives"]] == ["today at 6 AM", "tomorrow at 6 AM"]
    assert port.requests[0] == ("book", "Clinic", SLOTS[0], 7, "port-call", "cleaning", NOW)

    booked = await run_tool("book_appointment", {"start": "tomorrow at 6 AM"}, ctx)
    assert booked.result == {
        "booked": True,
        "appointment_id": 42,
        "start": "2025-03-04T06:00:00-08:00",
        "spoken": "tomorrow at 6 AM",
    }


async def test_a_calendar_the_port_does_not_know_is_an_error():
    outcome = await run_tool("find_slots", {}, context(FakePort(), config={"calendar": "Nope"}))
    assert outcome.result == {"error": "calendar 'Nope' does not exist"}


async def test_a_callback_is_judged_against_the_calls_clock_and_stored_through_the_port():
    port = FakePort()
    ctx = context(port)
    past = await run_tool("schedule_callback", {"at": "2025-03-03T03:00:00"}, ctx)  # 3 AM LA: before the clock
    assert past.result == {"error": "the callback time is in the past"}
    outcome = await run_tool("schedule_callback", {"at": "tomorrow at 3 PM"}, ctx)
    assert outcome.result["callback_at"] == "2025-03-04T15:00:00-08:00"
    assert port.requests == [("lead_set_field", 7, "callback_at", "2025-03-04T15:00:00-08:00")]


async def test_without_a_port_lead_and_calendar_tools_refuse_but_call_actions_work():
    ctx = context()  # no port handed in
    assert (await run_tool("set_lead_field", {"field": "x", "value": 1}, ctx)).result == {
        "error": "this call has no lead records to update"
    }
    assert (await run_tool("find_slots", {}, ctx)).result == {"error": "this call has no calendar to read"}
    assert (await run_tool("end_call", {"disposition": "done"}, ctx)).action == Hangup("done")


async def test_a_flow_captures_a_spoken_time_against_the_calls_clock():
    flow = {
        "start": "when",
        "nodes": {
            "when": {
                "type": "capture",
                "kind": "datetime",
                "variable": "when",
                "prompt": "When suits you?",
                "next": "end",
                "no_match": "end",
            },
            "end": {"type": "end", "text": "See you {{when_spoken}}.", "disposition": "done"},
        },
    }
    ctx = context(config={"flow": flow})
    brain = FlowBrain({"flow": flow})
    [output async for output in brain.greeting(ctx)]
    outputs = [output async for output in brain.reply(ctx, "tomorrow at 3 pm")]
    assert ctx.variables["when"] == "2025-03-04T15:00:00-08:00"
    assert outputs[0].text == "See you tomorrow at 3 PM."
