"""Leads, campaigns, calls, their turns and the raw event log."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q

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
        "calls.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
    # ISO weekdays the campaign may call on (1 = Monday … 7 = Sunday), lead-local.
    days = models.JSONField(default=list)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    max_concurrent = models.PositiveIntegerField(default=2)
    calls_per_minute = models.PositiveIntegerField(default=10)
    retry_rules = models.JSONField(default=dict, blank=True)
    require_consent = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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


class CallStatusError(Exception):
    """A call status was about to move backwards (or out of a final state)."""


class Call(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        INITIATED = "initiated", "Initiated"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in-progress", "In progress"
        COMPLETED = "completed", "Completed"
        BUSY = "busy", "Busy"
        NO_ANSWER = "no-answer", "No answer"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    # Statuses only move up this ladder; everything on the top rung is final.
    STATUS_RANK = {
        Status.QUEUED: 0,
        Status.INITIATED: 1,
        Status.RINGING: 2,
        Status.IN_PROGRESS: 3,
        Status.COMPLETED: 4,
        Status.BUSY: 4,
        Status.NO_ANSWER: 4,
        Status.FAILED: 4,
        Status.CANCELED: 4,
    }
    FINAL_STATUSES = frozenset(s for s, rank in STATUS_RANK.items() if rank == 4)
    LIVE_STATUSES = frozenset(s for s, rank in STATUS_RANK.items() if rank < 4)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    twilio_call_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    stream_sid = models.CharField(max_length=64, blank=True)
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="calls")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    variant = models.ForeignKey(
        "experiments.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    attempt_number = models.PositiveIntegerField(default=1)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    disposition = models.CharField(max_length=40, blank=True)
    answered_by = models.CharField(max_length=32, blank=True, help_text="Twilio answering machine detection result.")
    status_sequence = models.IntegerField(default=-1, help_text="Highest Twilio SequenceNumber applied.")
    variables = models.JSONField(default=dict, blank=True)
    recording = models.CharField(max_length=300, blank=True, help_text="Path of the stereo WAV under MEDIA_ROOT.")
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Set (and committed) right before the dialer asks the carrier for the
    # call: a retried task that finds it set never dials a second time.
    dial_started_at = models.DateTimeField(null=True, blank=True)
    # Whether this attempt's outcome has been applied to its lead (retry, final
    # state, callback). Settled once, by the status callback or the tick.
    outcome_applied = models.BooleanField(default=False)
    outcome = models.CharField(max_length=32, blank=True, help_text="The dialer's reading of the attempt.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="call_status_idx"),
            models.Index(fields=["campaign", "status"], name="call_campaign_status_idx"),
            # Pacing counts a campaign's calls placed in the last minute.
            models.Index(fields=["campaign", "created_at"], name="call_campaign_created_idx"),
            models.Index(
                fields=["ended_at"],
                name="call_outcome_pending_idx",
                condition=Q(outcome_applied=False, campaign__isnull=False),
            ),
        ]
        constraints = [
            # The dialer's idempotency: one call per attempt of a lead in a campaign.
            models.UniqueConstraint(
                fields=["campaign", "lead", "attempt_number"],
                condition=Q(campaign__isnull=False, lead__isnull=False),
                name="call_one_per_attempt",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("created_at")),
                name="call_ends_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.id} ({self.status})"

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Call:
        instance = super().from_db(db, field_names, values)
        instance._status_in_db = instance.status
        return instance

    @classmethod
    def can_move(cls, old: str, new: str) -> bool:
        return old == new or cls.STATUS_RANK[cls.Status(new)] > cls.STATUS_RANK[cls.Status(old)]

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.status not in self.STATUS_RANK:
            raise CallStatusError(f"unknown call status {self.status!r}")
        old = getattr(self, "_status_in_db", None)
        if old is not None and not self.can_move(old, self.status):
            raise CallStatusError(f"call {self.id} cannot move from {old} back to {self.status}")
        super().save(*args, **kwargs)
        self._status_in_db = self.status


class CallTurn(models.Model):
    """One utterance in a call: what was said, what the caller heard, and how fast.

    `timings` holds milliseconds from the end of the caller's speech to each
    stage: stt_done, first_brain_text, first_tts_audio, first_frame_sent,
    first_mark_acknowledged.
    """

    class Speaker(models.TextChoices):
        CALLER = "caller", "Caller"
        AGENT = "agent", "Agent"
        TOOL = "tool", "Tool"
        SYSTEM = "system", "System"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=8, choices=Speaker.choices)
    text = models.TextField(blank=True)
    heard_text = models.TextField(blank=True, help_text="For agent turns: the words the caller actually heard.")
    interrupted = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="Tool name, arguments and result for tool turns.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "index"]
        constraints = [models.UniqueConstraint(fields=["call", "index"], name="callturn_unique_index")]

    def __str__(self) -> str:
        return f"{self.speaker}: {self.text[:60]}"


class CallEvent(models.Model):
    """The raw log of everything Twilio (or the media socket) told us, stored once."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    kind = models.CharField(max_length=40)
    sequence_number = models.IntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.call_sid}"


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
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, int(100 * self.processed_rows / self.total_rows))
