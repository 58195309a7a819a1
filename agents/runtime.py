"""What a call's brain gets from the Django side: the tool port and the server's LLM settings.

The brains (agents.brains) are pure Python; the call engine builds their
context with `DjangoToolPort`, whose methods call the owning apps' services
and selectors (campaigns for leads, calendars for slots and bookings), and
builds the brain with `llm_defaults()`, read from settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from channels.db import database_sync_to_async
from django.conf import settings

from agents.brains.llm import LlmDefaults
from agents.brains.ports import Booking, SlotRefused, ToolError
from calendars.selectors import CalendarNotFound, calendar_by_name, calendar_free_slots
from calendars.services import SlotUnavailable, appointment_book
from campaigns.services import lead_custom_field_set, lead_do_not_call_mark
from voiceops import metrics

T = TypeVar("T")


class SyncRunner(Protocol):
    """Runs a blocking database function off the event loop and awaits its result."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


def _on_database_thread(work: Callable[[], T]) -> Awaitable[T]:
    # Channels' runner: Django's thread for ORM work, with stale connections closed around it.
    return cast("Awaitable[T]", database_sync_to_async(work)())


def llm_defaults() -> LlmDefaults:
    """The server's LLM settings (LLM_BASE_URLS, LLM_MODEL, LLM_API_KEY, LLM_FIRST_TOKEN_TIMEOUT_MS).

    Failovers are counted in voiceops_llm_failovers through the brain's hook
    (the brains import nothing of Django or of our monitoring).
    """
    return LlmDefaults(
        endpoints=tuple(settings.LLM_BASE_URLS),
        model=settings.LLM_MODEL,
        api_key=settings.LLM_API_KEY,
        first_token_timeout_ms=settings.LLM_FIRST_TOKEN_TIMEOUT_MS,
        on_failover=metrics.LLM_FAILOVERS.inc,
    )


class DjangoToolPort:
    """agents.brains.ports.ToolPort over the apps' services.

    `run` decides where the blocking work runs; the engine may hand in its
    own database executor (so one call's tools never queue behind another
    call's writes). The default is Channels' database thread.
    """

    def __init__(self, *, run: SyncRunner | None = None) -> None:
        self._run: SyncRunner = run or _on_database_thread

    async def lead_set_field(self, *, lead_id: int, field: str, value: Any) -> None:
        await self._run(lambda: lead_custom_field_set(lead_id=lead_id, field=field, value=value))

    async def lead_mark_do_not_call(self, *, lead_id: int) -> bool:
        return await self._run(lambda: lead_do_not_call_mark(lead_id=lead_id))

    async def free_slots(self, *, calendar: str, now: datetime, limit: int) -> list[datetime]:
        def read() -> list[datetime]:
            try:
                return calendar_free_slots(calendar_by_name(name=calendar), now=now, limit=limit)
            except CalendarNotFound as exc:
                raise ToolError(str(exc)) from None

        return await self._run(read)

    async def book(
        self, *, calendar: str, start: datetime, lead_id: int | None, call_id: str, notes: str, now: datetime
    ) -> Booking:
        def book() -> Booking:
            try:
                appointment = appointment_book(
                    calendar=calendar_by_name(name=calendar),
                    start=start,
                    lead_id=lead_id,
                    call_id=call_id,
                    notes=notes,
                    now=now,
                )
            except CalendarNotFound as exc:
                raise ToolError(str(exc)) from None
            except SlotUnavailable as exc:
                raise SlotRefused(str(exc)) from None
            return Booking(appointment_id=appointment.pk, start=appointment.start)

        return await self._run(book)
