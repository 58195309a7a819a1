"""Tools shared by flow and LLM agents: what an agent can do besides talk.

`tool_specs` gives the OpenAI "tools" entries for an LLM; `run_tool` runs one
for either brain. A tool never raises for bad arguments or an unknown name:
it returns {"error": ...} so an LLM can read the problem and recover, and a
flow can branch on it. Call actions (hang up, transfer, DTMF) come back as
`ToolOutcome.action` for the engine to carry out after the agent has spoken.

Leads and calendars belong to other apps: a tool reaches them only through
the call's port (`ctx.tools`, see agents.brains.ports), and reads the time
from the call's clock (`ctx.clock`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from agents.brains.base import CallContext, Hangup, SendDigits, Transfer
from agents.brains.captures import parse_datetime
from agents.brains.dates import SlotPreference
from agents.brains.ports import SlotRefused, ToolError
from agents.brains.validation import DTMF_RULE, is_disposition, is_dtmf, is_variable_name
from calendars.slots import pick_offers, speak_slot

logger = structlog.get_logger(__name__)
# The free slots a tool looks at before choosing a short, varied offer.
_SLOTS_CONSIDERED = 40
# Looking for what a caller asked for ("next week", "Friday afternoon") reads
# further ahead than the soonest offer does (a week of half-hour slots is ~100).
_SLOTS_SEARCHED = 400

# Lead columns a tool must never overwrite through "custom fields".
_RESERVED_FIELDS = {"first_name", "last_name", "full_name", "phone", "timezone", "persona"}


@dataclass(frozen=True)
class ToolOutcome:
    result: dict[str, Any]
    action: Hangup | Transfer | SendDigits | None = None


@dataclass(frozen=True)
class _Tool:
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any], CallContext], Awaitable[ToolOutcome]]


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _text(arguments: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise ToolError(f"missing argument {name!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ToolError(f"argument {name!r} must be text")
    return str(value).strip()


# --- call actions -----------------------------------------------------------------


async def _end_call(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    disposition = _text(arguments, "disposition", required=False, default="completed").lower().replace(" ", "_")
    if not is_disposition(disposition):
        raise ToolError("disposition must be a short snake_case word such as 'booked' or 'not_interested'")
    ctx.disposition = disposition
    return ToolOutcome({"ok": True, "disposition": disposition}, Hangup(disposition))


async def _transfer_to_human(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    number = str(ctx.config.get("transfer_number") or "")
    if not number:
        raise ToolError("no transfer number is configured for this agent; offer a callback instead")
    ctx.disposition = "transferred"
    return ToolOutcome({"ok": True, "number": number}, Transfer(number=number))


async def _send_dtmf(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    digits = _text(arguments, "digits").replace(" ", "")
    if not is_dtmf(digits):
        raise ToolError(f"digits {DTMF_RULE}")
    return ToolOutcome({"ok": True, "digits": digits}, SendDigits(digits=digits))


# --- lead -------------------------------------------------------------------------


async def _set_lead_field(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    field = _text(arguments, "field")
    if not is_variable_name(field) or field in _RESERVED_FIELDS:
        raise ToolError(f"{field!r} is not a field the agent may set (letters, digits and _; not a built-in field)")
    raw_value = arguments.get("value")
    if isinstance(raw_value, dict | list) or raw_value is None:
        raise ToolError("value must be text, a number or true/false")
    if ctx.lead_id is None:
        raise ToolError("this call has no lead to update")
    await ctx.tools.lead_set_field(lead_id=ctx.lead_id, field=field, value=raw_value)
    ctx.lead_variables[field] = raw_value
    return ToolOutcome({"ok": True, "field": field, "value": raw_value})


async def _mark_do_not_call(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    if ctx.lead_id is not None and not await ctx.tools.lead_mark_do_not_call(lead_id=ctx.lead_id):
        raise ToolError("the lead of this call no longer exists")
    ctx.disposition = "do_not_call"
    logger.info("lead_marked_do_not_call", call_id=ctx.call_id, lead_id=ctx.lead_id)
    return ToolOutcome({"ok": True, "do_not_call": True}, Hangup("do_not_call"))


# --- calendar ---------------------------------------------------------------------


def _calendar_name(ctx: CallContext) -> str:
    name = str(ctx.config.get("calendar") or "")
    if not name:
        raise ToolError("this agent has no calendar configured")
    return name


def _moment(text: str, ctx: CallContext) -> datetime:
    """An ISO 8601 time (naive: the caller's zone) or words like "Tuesday at 2:30 PM"."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        spoken = parse_datetime(text, ctx.timezone, now=ctx.clock())
        if spoken is None:
            raise ToolError(f"could not understand the time {text!r}; use ISO 8601") from None
        return spoken
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(ctx.timezone))
    return parsed


async def _offers(ctx: CallContext, calendar: str, count: int, now: datetime) -> list[dict[str, str]]:
    """A short, varied offer of free slots, each with its ISO start and how it is spoken."""
    free = await ctx.tools.free_slots(calendar=calendar, now=now, limit=_SLOTS_CONSIDERED)
    return [
        {"start": slot.isoformat(), "spoken": speak_slot(slot, ctx.timezone, now=now)}
        for slot in pick_offers(free, count=count, zone=ctx.timezone)
    ]


async def offer_fitting(ctx: CallContext, preference: SlotPreference, *, count: int = 2) -> list[dict[str, str]]:
    """Offer the free slots that fit what the caller asked for ("next week", "any morning"); [] when none do.

    The offer replaces the one before it (the flow speaks it as {{slots_spoken}}).
    """
    now = ctx.clock()
    zone = ZoneInfo(ctx.timezone)
    today = now.astimezone(zone).date()
    free = await ctx.tools.free_slots(calendar=_calendar_name(ctx), now=now, limit=_SLOTS_SEARCHED)
    fitting = [slot for slot in free if preference.fits(slot.astimezone(zone), today)]
    slots = [
        {"start": slot.isoformat(), "spoken": speak_slot(slot, ctx.timezone, now=now)}
        for slot in pick_offers(fitting, count=count, zone=ctx.timezone)
    ]
    if slots:
        _remember_offers(ctx, slots)
    return slots


def remember_offers(ctx: CallContext, slots: list[dict[str, str]]) -> None:
    """These slots are the offer now (a narrower one the flow re-asks about)."""
    _remember_offers(ctx, slots)


def _remember_offers(ctx: CallContext, slots: list[dict[str, str]]) -> None:
    # Flows speak the offer ({{slots_spoken}}) and match the caller's choice against it.
    ctx.variables["offered_slots"] = slots
    for index, slot in enumerate(slots, start=1):
        ctx.variables[f"slot_{index}"] = slot["spoken"]
    spoken = [slot["spoken"] for slot in slots]
    ctx.variables["slots_spoken"] = (
        " or ".join(spoken) if len(spoken) <= 2 else ", ".join(spoken[:-1]) + f", or {spoken[-1]}"
    )


async def _find_slots(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    count = arguments.get("count", 2)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 5:
        raise ToolError("count must be a whole number from 1 to 5")
    slots = await _offers(ctx, _calendar_name(ctx), count, ctx.clock())
    if not slots:
        return ToolOutcome({"slots": [], "error": "no free slots in the calendar's horizon"})
    _remember_offers(ctx, slots)
    return ToolOutcome({"slots": slots})


async def _book_appointment(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    start = _moment(_text(arguments, "start"), ctx)
    notes = _text(arguments, "notes", required=False)
    calendar, now = _calendar_name(ctx), ctx.clock()
    try:
        booking = await ctx.tools.book(
            calendar=calendar, start=start, lead_id=ctx.lead_id, call_id=ctx.call_id, notes=notes, now=now
        )
    except SlotRefused as exc:
        alternatives = await _offers(ctx, calendar, 2, now)
        if alternatives:
            _remember_offers(ctx, alternatives)
        return ToolOutcome(
            {
                "error": f"could not book {speak_slot(start, ctx.timezone, now=now)}: {exc}",
                "alternatives": alternatives,
            }
        )
    local = booking.start.astimezone(ZoneInfo(ctx.timezone))
    ctx.variables["appointment_start"] = local.isoformat()
    ctx.variables["appointment_spoken"] = speak_slot(local, ctx.timezone, now=now)
    return ToolOutcome(
        {
            "booked": True,
            "appointment_id": booking.appointment_id,
            "start": ctx.variables["appointment_start"],
            "spoken": ctx.variables["appointment_spoken"],
        }
    )


async def _schedule_callback(arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    at = _moment(_text(arguments, "at"), ctx)
    now = ctx.clock()
    if at <= now:
        raise ToolError("the callback time is in the past")
    local = at.astimezone(ZoneInfo(ctx.timezone))
    # The dialer reads call.variables["callback_at"] when it settles the attempt.
    ctx.variables["callback_at"] = local.isoformat()
    ctx.variables["callback_spoken"] = speak_slot(local, ctx.timezone, now=now)
    if ctx.lead_id is not None:
        await ctx.tools.lead_set_field(lead_id=ctx.lead_id, field="callback_at", value=local.isoformat())
    return ToolOutcome({"ok": True, "callback_at": local.isoformat(), "spoken": ctx.variables["callback_spoken"]})


TOOLS: dict[str, _Tool] = {
    "end_call": _Tool(
        "End the call after your last words, with a disposition (the outcome) such as booked, "
        "not_interested, callback, voicemail or wrong_person.",
        _schema({"disposition": {"type": "string", "description": "snake_case outcome"}}, ["disposition"]),
        _end_call,
    ),
    "transfer_to_human": _Tool(
        "Transfer the caller to a human colleague.",
        _schema({"reason": {"type": "string"}}, []),
        _transfer_to_human,
    ),
    "send_dtmf": _Tool(
        "Press phone keys (DTMF), for example to navigate a phone menu.",
        _schema({"digits": {"type": "string", "description": "0-9, *, #, w for a pause"}}, ["digits"]),
        _send_dtmf,
    ),
    "set_lead_field": _Tool(
        "Save a fact about the lead in one of their custom fields (for example insurance_provider).",
        _schema(
            {"field": {"type": "string"}, "value": {"type": ["string", "number", "boolean"]}},
            ["field", "value"],
        ),
        _set_lead_field,
    ),
    "mark_do_not_call": _Tool(
        "The person asked never to be called again: put them on the do-not-call list and end the call.",
        _schema({}, []),
        _mark_do_not_call,
    ),
    "find_slots": _Tool(
        "List the next free appointment slots, spoken in the caller's timezone.",
        _schema({"count": {"type": "integer", "minimum": 1, "maximum": 5}}, []),
        _find_slots,
    ),
    "book_appointment": _Tool(
        "Book an appointment slot on the clinic calendar. Use a start from find_slots.",
        _schema(
            {
                "start": {"type": "string", "description": "ISO 8601 start time (from find_slots)"},
                "notes": {"type": "string"},
            },
            ["start"],
        ),
        _book_appointment,
    ),
    "schedule_callback": _Tool(
        "Record when the person wants to be called back.",
        _schema({"at": {"type": "string", "description": "ISO 8601 time, or words like 'tomorrow at 3 PM'"}}, ["at"]),
        _schedule_callback,
    ),
}
TOOL_NAMES = tuple(TOOLS)


def tool_specs(names: list[str]) -> list[dict[str, Any]]:
    """OpenAI "tools" entries for these tools (config validation has already refused unknown names)."""
    unknown = [name for name in names if name not in TOOLS]
    if unknown:
        raise ValueError(f"unknown tools: {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)}")
    return [
        {
            "type": "function",
            "function": {"name": name, "description": TOOLS[name].description, "parameters": TOOLS[name].parameters},
        }
        for name in names
    ]


async def run_tool(name: str, arguments: dict[str, Any], ctx: CallContext) -> ToolOutcome:
    """Run one tool; every failure comes back as {"error": ...}, never as an exception."""
    log = logger.bind(call_id=ctx.call_id, tool=name)
    tool = TOOLS.get(name)
    if tool is None:
        return ToolOutcome({"error": f"unknown tool {name!r}; available: {', '.join(TOOL_NAMES)}"})
    if not isinstance(arguments, dict):
        return ToolOutcome({"error": "arguments must be a JSON object"})
    try:
        outcome = await tool.run(arguments, ctx)
    except ToolError as exc:
        log.info("tool_refused", error=str(exc))
        return ToolOutcome({"error": str(exc)})
    except Exception as exc:  # a tool bug must not end the call; the agent can still talk
        log.exception("tool_failed")
        return ToolOutcome({"error": f"{name} failed: {type(exc).__name__}"})
    log.info("tool_ran", result=outcome.result)
    return outcome
