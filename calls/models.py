"""Calls, their turns and the raw event log."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, models
from django.db.models import Q


class CallStatusError(IntegrityError):
    """A call status was about to move backwards (or out of a final state).

    An IntegrityError, as the database trigger's refusal is on the paths that
    skip save() (calls/status_sql.py): one exception to catch on every path.
    """


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
    # The one definition of the order: can_move() and save() read it here, and
    # the database triggers every other write path meets are generated from it
    # (calls/status_sql.py).
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
    lead = models.ForeignKey("campaigns.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
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

    class TestKind(models.TextChoices):
        WEB = "web", "Web test call"
        SIMULATED = "simulated", "Simulated caller"

    # A call an operator started from the console to try a version: a browser
    # test call or a simulated caller. No campaign, no variant: out of the
    # dialer's counts and the experiments' results.
    test_kind = models.CharField(max_length=16, choices=TestKind.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="call_status_idx"),
            # The console's lists and today's figures read calls newest first or since midnight.
            models.Index(fields=["created_at"], name="call_created_idx"),
            models.Index(fields=["campaign", "status"], name="call_campaign_status_idx"),
            # Pacing counts a campaign's calls placed in the last minute.
            models.Index(fields=["campaign", "created_at"], name="call_campaign_created_idx"),
            # Analytics rebuilds a day from the calls created in it (call_created_idx above), and finds
            # the days whose calls were created or ended since its last refresh (analytics/services.py).
            models.Index(fields=["ended_at"], name="call_ended_idx"),
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
        indexes = [
            # The dashboard's voice-to-voice figures read today's agent replies (calls.dashboard).
            models.Index(fields=["created_at"], name="callturn_agent_created_idx", condition=Q(speaker="agent")),
        ]

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
