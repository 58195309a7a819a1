"""The tool port: the only way a brain's tools reach the world outside the call.

Brains are pure Python; setting a lead's field or booking a slot is another
app's write. The call's owner hands a `ToolPort` in with the `CallContext`
(the Django one, `agents.runtime.DjangoToolPort`, calls campaigns' and
calendars' services); tests hand in a fake. Every method is async because
the real one waits on the database, off the event loop.

A refusal the agent can act on (no such calendar, a slot already taken) is
a `ToolError` whose text the agent reads; anything else raised is a bug,
which `run_tool` reports without ending the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class ToolError(Exception):
    """A problem the agent can act on (bad arguments, missing configuration, a refused booking)."""


class SlotRefused(ToolError):
    """The slot cannot be booked: taken, closed or too soon (the message says which)."""


@dataclass(frozen=True)
class Booking:
    appointment_id: int
    start: datetime


class ToolPort(Protocol):
    async def lead_set_field(self, *, lead_id: int, field: str, value: Any) -> None:
        """Set one of the lead's custom fields, keeping the others."""
        ...

    async def lead_mark_do_not_call(self, *, lead_id: int) -> bool:
        """Put the lead on the do-not-call list; False when the lead no longer exists."""
        ...

    async def free_slots(self, *, calendar: str, now: datetime, limit: int) -> list[datetime]:
        """The named calendar's next free slot starts after `now`, soonest first (ToolError: no such calendar)."""
        ...

    async def book(
        self, *, calendar: str, start: datetime, lead_id: int | None, call_id: str, notes: str, now: datetime
    ) -> Booking:
        """Book the slot at `start` (SlotRefused when it cannot be had; ToolError: no such calendar)."""
        ...


class NoToolPort:
    """The port of a call with nothing behind it (a text-level run, a benchmark): every request is refused.

    Call actions (hang up, transfer, DTMF) need no port and still work.
    """

    async def lead_set_field(self, *, lead_id: int, field: str, value: Any) -> None:
        raise ToolError("this call has no lead records to update")

    async def lead_mark_do_not_call(self, *, lead_id: int) -> bool:
        raise ToolError("this call has no lead records to update")

    async def free_slots(self, *, calendar: str, now: datetime, limit: int) -> list[datetime]:
        raise ToolError("this call has no calendar to read")

    async def book(
        self, *, calendar: str, start: datetime, lead_id: int | None, call_id: str, notes: str, now: datetime
    ) -> Booking:
        raise ToolError("this call has no calendar to book")
