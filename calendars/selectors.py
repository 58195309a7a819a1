"""Reads for calendars."""

from __future__ import annotations

from calendars.models import Calendar


def calendar_exists(*, name: str) -> bool:
    return Calendar.objects.filter(name=name).exists()
