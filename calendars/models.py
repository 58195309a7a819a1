"""Business calendars and the appointments booked on them.

These models lived in the agents app; their tables keep the agents_ names so
an existing database moves over without copying a row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from calendars.slots import CalendarSnapshot, availability_errors
from voiceops.validators import validate_timezone


def _default_availability() -> dict[str, list[list[str]]]:
    # ISO weekdays (1 = Monday) to opening intervals, business-local.
    return {str(day): [["09:00", "12:00"], ["13:00", "17:00"]] for day in range(1, 6)}


class Calendar(models.Model):
    """A business calendar: weekly availability in its own timezone, fixed-length slots."""

    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    slot_minutes = models.PositiveIntegerField(default=30)
    availability = models.JSONField(
        default=_default_availability,
        help_text='ISO weekday ("1" = Monday) to a list of ["HH:MM", "HH:MM"] opening intervals, business-local.',
    )
    min_notice_minutes = models.PositiveIntegerField(default=60, help_text="No slot starts sooner than this.")
    horizon_days = models.PositiveIntegerField(default=14, help_text="No slot is offered further out than this.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "agents_calendar"  # moved from the agents app; the table kept its name
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gte=5), name="calendar_slot_minutes_min"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1), name="calendar_horizon_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def snapshot(self, booked: tuple[tuple[datetime, datetime], ...] = ()) -> CalendarSnapshot:
        """This calendar's rules as plain values for the slot arithmetic, with these bookings."""
        return CalendarSnapshot(
            timezone=self.timezone,
            slot_minutes=self.slot_minutes,
            availability=self.availability,
            min_notice_minutes=self.min_notice_minutes,
            horizon_days=self.horizon_days,
            booked=booked,
        )

    def clean(self) -> None:
        validate_timezone(self.timezone)
        errors = availability_errors(self.availability)
        if errors:
            raise ValidationError({"availability": errors})

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Checked on every save, not only in forms: a bad week would offer nonsense slots.
        self.clean()
        super().save(*args, **kwargs)


class Appointment(models.Model):
    """One booking. Booked appointments on a calendar never overlap (database-enforced)."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    lead = models.ForeignKey(
        "campaigns.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    # The call that booked it; a plain id, not a key, so calendars never depends on the calls tables.
    call_id = models.UUIDField(null=True, blank=True, db_index=True)
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "agents_appointment"
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appointment_end_after_start"),
            # Every database (SQLite included): one booking per slot start. On
            # PostgreSQL an exclusion constraint also refuses any overlap.
            models.UniqueConstraint(
                fields=["calendar", "start"], condition=Q(status="booked"), name="appointment_one_per_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.calendar} {self.start:%Y-%m-%d %H:%M} UTC ({self.status})"
