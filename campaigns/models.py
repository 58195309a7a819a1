"""Leads, campaigns and CSV lead imports (the dialer's rows).

These models lived in the calls app; their tables keep the calls_ names so an
existing database moves over without copying a row (see the 0001 migration).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q

from campaigns.retry import retry_rules_validate
from voiceops.validators import validate_e164, validate_timezone


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        DIALING = "dialing", "Dialing"
        RETRY = "retry", "Retry scheduled"
        CALLBACK = "callback", "Callback requested"
        COMPLETED = "completed", "Completed"
        EXHAUSTED = "exhausted", "Attempts exhausted"
        DO_NOT_CALL = "dnc", "Do not call"

    phone = models.CharField(max_length=16, unique=True, validators=[validate_e164])
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    custom_fields = models.JSONField(default=dict, blank=True)
    consent = models.BooleanField(default=False, help_text="The lead agreed to be called.")
    consent_at = models.DateTimeField(null=True, blank=True)
    do_not_call = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "calls_lead"  # moved from the calls app; the table kept its name
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "status", "next_attempt_at"], name="lead_dialer_idx"),
            models.Index(fields=["timezone"], name="lead_timezone_idx"),
            # The dialer tick's claim query walks this partial index in due
            # order and stops after one batch; leads that can never be dialed
            # again (completed, exhausted, do-not-call) are not in it at all.
            models.Index(
                models.F("campaign"),
                models.F("next_attempt_at").asc(nulls_first=True),
                models.F("id"),
                name="lead_dialable_idx",
                condition=Q(status__in=["new", "retry", "callback"], do_not_call=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(phone__startswith="+"), name="lead_phone_e164"),
            models.CheckConstraint(condition=~Q(timezone=""), name="lead_timezone_present"),
            # A do-not-call lead is always in the do-not-call status, and back.
            models.CheckConstraint(
                condition=Q(do_not_call=True, status="dnc") | (Q(do_not_call=False) & ~Q(status="dnc")),
                name="lead_dnc_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name or 'Lead'} ({self.phone})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Constraints the database cannot check (a real number, a real zone)
        # are checked on every save that writes them, not only in forms.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"phone", "timezone"} & set(update_fields):
            validate_e164(self.phone)
            validate_timezone(self.timezone)
        super().save(*args, **kwargs)

    def template_variables(self) -> dict[str, Any]:
        """Fields available to prompts and flow templates ({{first_name}} …)."""
        return {
            **{str(k): v for k, v in (self.custom_fields or {}).items()},
            "first_name": self.first_name,
            "last_name": self.last_name,
            "full_name": self.full_name,
            "phone": self.phone,
            "timezone": self.timezone,
        }


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    name = models.CharField(max_length=120, unique=True)
    agent_version = models.ForeignKey(
        "agents.AgentVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    experiment = models.ForeignKey(
        "experiments.Experiment", null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(max_length=300, blank=True, help_text="Why it was paused or stopped.")
    caller_id = models.CharField(max_length=16, validators=[validate_e164], default="+15005550006")
    window_start = models.TimeField(default="09:00")
    window_end = models.TimeField(default="19:00")
    # ISO weekdays the campaign may call on (1 = Monday … 7 = Sunday), lead-local; empty: every day.
    days = models.JSONField(default=list, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    max_concurrent = models.PositiveIntegerField(default=2)
    calls_per_minute = models.PositiveIntegerField(default=10)
    retry_rules = models.JSONField(default=dict, blank=True)
    require_consent = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "calls_campaign"
        ordering = ["-created_at"]
        constraints = [
            # A campaign runs exactly one thing: a fixed version or an experiment.
            models.CheckConstraint(
                condition=Q(agent_version__isnull=False, experiment__isnull=True)
                | Q(agent_version__isnull=True, experiment__isnull=False),
                name="campaign_runs_version_or_experiment",
            ),
            models.CheckConstraint(condition=Q(max_concurrent__gte=1), name="campaign_max_concurrent_positive"),
            models.CheckConstraint(condition=Q(calls_per_minute__gte=1), name="campaign_pacing_positive"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="campaign_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")), name="campaign_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The campaign rule, the one every path that writes a campaign runs.

        The admin runs it through its form (ModelAdmin calls full_clean), the
        API's serializer and the console through campaigns.services
        (campaign_create, campaign_update, and campaign_control before a
        campaign runs). Errors are keyed by field where one field is at fault.
        `days` and `retry_rules` are normalised in place (sorted unique
        weekdays; every rule spelled out).

        The Meta constraints hold the same orderings in the database, for
        writes that skip this (bulk SQL, a shell); the dialer never reads a
        campaign that breaks them.
        """
        errors: dict[str, list[str]] = {}
        if (self.agent_version_id is None) == (self.experiment_id is None):
            errors[NON_FIELD_ERRORS] = ["Give exactly one of agent_version or experiment."]
        elif self.agent_version_id is not None and not self.agent_version.is_published:  # type: ignore[union-attr]
            errors["agent_version"] = ["Only a published version can be dialed."]
        try:
            self.days = weekdays_validate(self.days)
        except ValidationError as exc:
            errors["days"] = exc.messages
        try:
            self.retry_rules = retry_rules_validate(self.retry_rules)
        except ValidationError as exc:
            errors["retry_rules"] = exc.messages
        start, end = (self._time_or_none(name) for name in ("window_start", "window_end"))
        if start is not None and end is not None and end <= start:
            errors["window_end"] = ["The window must end after it starts."]
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = ["end_date is before start_date."]
        for name in ("max_concurrent", "calls_per_minute"):
            value = getattr(self, name)
            if isinstance(value, int) and value < 1:
                errors[name] = ["Must be at least 1."]
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        # clean() words the version-or-experiment rule itself; the constraint's
        # own message would only repeat it by the constraint's name. (The other
        # constraints are skipped already when clean() keyed an error to their field.)
        if (self.agent_version_id is None) == (self.experiment_id is None):
            exclude = {*(exclude or ()), "agent_version", "experiment"}
        super().validate_constraints(exclude=exclude)

    def _time_or_none(self, name: str) -> Any:
        """A window bound as a time (a form or the field default may hold it as text); None when unreadable."""
        field = self._meta.get_field(name)
        assert isinstance(field, models.TimeField)
        try:
            return field.to_python(getattr(self, name))
        except ValidationError:
            return None  # clean_fields() reports it under the field's name


def weekdays_validate(raw: Any) -> list[int]:
    """A campaign's `days`: ISO weekdays, returned sorted and unique; empty (or unset) means every day."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7 for d in raw):
        raise ValidationError("days must be a list of ISO weekdays, 1 (Monday) to 7 (Sunday).")
    return sorted(set(raw))


class LeadImport(models.Model):
    """One CSV import: its progress and every row it refused, with the line and the reason."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, kept until the import has run.")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="lead_imports"
    )
    default_region = models.CharField(max_length=2, default="US")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"line": 7, "reason": "..."}, ...]; capped so a garbage file cannot bloat the row.
    errors = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "calls_leadimport"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, int(100 * self.processed_rows / self.total_rows))
