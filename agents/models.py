"""Agents, their immutable published versions, and the numbers routed to them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from voiceops.validators import validate_e164, validate_timezone


class PublishedVersionImmutable(Exception):
    """A published agent version was about to be changed."""


class Agent(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def live_version(self) -> AgentVersion | None:
        """The newest published version: what new calls run."""
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()


class AgentVersion(models.Model):
    """One configuration of an agent. Drafts are editable; published ones never change.

    A call records the exact version it ran, so a published version is frozen
    (here and by a database trigger on PostgreSQL) and only ever superseded.
    """

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField(default=dict)
    notes = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agent", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "number"], name="agentversion_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="agentversion_number_positive"),
        ]

    def __str__(self) -> str:
        state = "published" if self.is_published else "draft"
        return f"{self.agent.name} v{self.number} ({state})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> AgentVersion:
        instance = super().from_db(db, field_names, values)
        instance._published_in_db = instance.published_at is not None
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        # A draft just published elsewhere is frozen in this instance too.
        self._published_in_db = self.published_at is not None

    def clean(self) -> None:
        from agents.config import validate_config

        try:
            validate_config(self.config)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "config": [
                        f"{path}: {message}" for path, messages in exc.message_dict.items() for message in messages
                    ]
                }
            ) from None
        # The schema is pure; references to other rows are checked here, with the database.
        calendar = self.config.get("calendar") if isinstance(self.config, dict) else None
        if calendar and not Calendar.objects.filter(name=calendar).exists():
            raise ValidationError({"config": [f"calendar: no calendar named {calendar!r}"]})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_published_in_db", False):
            raise PublishedVersionImmutable(f"{self} is published and cannot be changed; publish a new version instead")
        super().save(*args, **kwargs)
        self._published_in_db = self.published_at is not None

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_published:
            raise PublishedVersionImmutable(f"{self} is published and cannot be deleted")
        return super().delete(*args, **kwargs)


class PhoneNumber(models.Model):
    """An inbound number (E.164) and the agent that answers it."""

    e164 = models.CharField("number", max_length=16, unique=True, validators=[validate_e164])
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="phone_numbers")
    label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["e164"]

    def __str__(self) -> str:
        return self.e164

    def save(self, *args: Any, **kwargs: Any) -> None:
        validate_e164(self.e164)
        super().save(*args, **kwargs)


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
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gte=5), name="calendar_slot_minutes_min"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1), name="calendar_horizon_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from agents.calendar import availability_errors

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
        "calls.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    # The call that booked it; a plain id, not a key, so agents never depends on the calls tables.
    call_id = models.UUIDField(null=True, blank=True, db_index=True)
    notes = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
