"""Writes for appointments: booking and cancelling (keyword-only, atomic)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from calendars.models import Appointment, Calendar
from calendars.slots import slot_is_offered

logger = structlog.get_logger(__name__)


class SlotUnavailable(Exception):
    """The requested appointment time is taken, outside availability, or in the past."""


@transaction.atomic
def appointment_book(
    *,
    calendar: Calendar,
    start: datetime,
    lead_id: int | None = None,
    call_id: uuid.UUID | str | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book one slot. Two calls booking the same slot at once: exactly one wins.

    The calendar row lock serialises bookings of one calendar; the database
    constraints (unique slot start everywhere, no overlap on PostgreSQL) are
    the guarantee if anything ever writes around this function.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    locked = Calendar.objects.select_for_update().get(pk=calendar.pk)
    now = now or timezone.now()
    if start < now + timedelta(minutes=locked.min_notice_minutes):
        raise SlotUnavailable("that time is too soon or in the past")
    if not slot_is_offered(locked.snapshot(), start):
        raise SlotUnavailable("that time is not one of the calendar's open slots")
    end = start + timedelta(minutes=locked.slot_minutes)
    overlapping = Appointment.objects.filter(
        calendar=locked, status=Appointment.Status.BOOKED, start__lt=end, end__gt=start
    ).exists()
    if overlapping:
        raise SlotUnavailable("that slot was just taken")
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                calendar=locked,
                start=start,
                end=end,
                lead_id=lead_id,
                call_id=_as_uuid(call_id),
                notes=notes[:300],
            )
    except IntegrityError:
        raise SlotUnavailable("that slot was just taken") from None
    logger.info("appointment_booked", calendar=locked.name, start=start.isoformat(), lead_id=lead_id)
    return appointment


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    # Browser test calls and text-level runs have ids that are not call UUIDs.
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@transaction.atomic
def appointment_cancel(*, appointment: Appointment) -> Appointment:
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED)
    appointment.refresh_from_db()
    return appointment
