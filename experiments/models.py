"""A/B experiments over agent versions: variants and sticky lead assignments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=120, unique=True)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="experiments")
    hypothesis = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=60)
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="variants")
    weight = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="variant_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.name}/{self.name}"


class Assignment(models.Model):
    """A lead's variant in an experiment: assigned once, never changed."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="assignments")
    lead = models.ForeignKey("campaigns.Lead", on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "lead"], name="assignment_one_per_lead")]

    def __str__(self) -> str:
        return f"{self.lead_id} -> {self.variant}"
