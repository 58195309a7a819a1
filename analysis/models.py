"""A call's post-call analysis, and the per-turn log of what the models were given and answered."""

from __future__ import annotations

from django.db import models


class CallAnalysis(models.Model):
    """Summary, sentiment, success and typed extraction for one answered call (one row, re-run in place)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Method(models.TextChoices):
        LLM = "llm", "Language model"
        RULES = "rules", "Rules (no language model)"

    class Sentiment(models.TextChoices):
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"

    call = models.OneToOneField("calls.Call", on_delete=models.CASCADE, related_name="analysis")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True)
    summary = models.TextField(blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    success = models.BooleanField(null=True)
    extraction = models.JSONField(default=dict, blank=True)
    missing_required = models.JSONField(default=list, blank=True, help_text="Required fields the call did not give.")
    written_to_lead = models.JSONField(default=dict, blank=True, help_text="Custom fields set on the lead.")
    note = models.CharField(max_length=300, blank=True, help_text="How it was made, or why it failed.")
    model = models.CharField(max_length=200, blank=True)
    redacted = models.BooleanField(default=False)
    runs = models.PositiveIntegerField(default=0)
    analyzed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "call analyses"

    def __str__(self) -> str:
        return f"analysis of {self.call_id} ({self.status})"


class ModelExchange(models.Model):
    """One model input and output of a call: an LLM request and reply, or a speech-to-text result.

    Stored under the agent version's redaction setting and purged with its
    transcripts (privacy.services.retention_purge). Admins only.
    """

    class Kind(models.TextChoices):
        LLM = "llm", "Language model"
        STT = "stt", "Speech to text"

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="model_exchanges")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    request = models.JSONField(default=dict, blank=True, help_text="LLM: messages and tool definitions sent.")
    response = models.JSONField(default=dict, blank=True, help_text="LLM: raw reply and tool calls; STT: text.")
    endpoint = models.CharField(max_length=300, blank=True)
    model = models.CharField(max_length=200, blank=True)
    confidence = models.FloatField(null=True, blank=True, help_text="STT: the recogniser's confidence, 0-1.")
    error = models.CharField(max_length=300, blank=True)
    redacted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "id"]
        indexes = [models.Index(fields=["call", "id"], name="modelexchange_call_idx")]

    def __str__(self) -> str:
        return f"{self.kind} exchange of {self.call_id}"
