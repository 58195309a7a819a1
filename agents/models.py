"""Agents, their immutable published versions, and the numbers routed to them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from agents.brains.config import ConfigError, validate_config
from calendars.selectors import calendar_exists
from voiceops.validators import validate_e164


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
        """The one check of a version's configuration: the admin, the services and the console all run it.

        The schema is pure (agents.brains.config); the server's speech model
        is handed in, because an English-only one refuses other languages.
        """
        try:
            validate_config(self.config, stt_model=settings.STT_MODEL)
        except ConfigError as exc:
            raise ValidationError({"config": exc.messages}) from None
        # The schema is pure; references to other rows are checked here, with the database.
        calendar = self.config.get("calendar") if isinstance(self.config, dict) else None
        if calendar and not calendar_exists(name=calendar):
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
