"""Reads for calendars: a calendar by name, and its free slots."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from calendars.models import Appointment, Calendar
from calendars.slots import free_slots, offer_window


def calendar_exists(*, name: str) -> bool:
    return Calendar.objects.filter(name=name).exists()


class CalendarNotFound(LookupError):
    """No calendar has that name (an agent's config names one that was deleted or renamed)."""


def calendar_by_name(*, name: str) -> Calendar:
    found = Calendar.objects.filter(name=name).first()
    if found is None:
        raise CalendarNotFound(f"calendar {name!r} does not exist")
    return found


def calendar_free_slots(calendar: Calendar, *, now: datetime | None = None, limit: int = 20) -> list[datetime]:
    """The next free slots, soonest first: the bookings inside the offer window, then the slot arithmetic."""
    now = now or timezone.now()
    after, before = offer_window(calendar.snapshot(), now)
    booked = tuple(
        Appointment.objects.filter(
            calendar=calendar, status=Appointment.Status.BOOKED, end__gt=after, start__lt=before
        ).values_list("start", "end")
    )
    return free_slots(calendar.snapshot(booked), now=now, limit=limit)
