"""A/B experiments over agent versions: lifecycle, variants and sticky lead assignments."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_experiment_key() -> str:
    """A random hashing key; an experiment's own key keeps its assignments apart from every other's."""
    return f"exp-{secrets.token_hex(6)}"


class Experiment(models.Model):
    """A test of agent versions against each other, lead by lead.

    Draft (set up, nothing assigned by it), running (the dialer and inbound
    routing assign and call), stopped (no new assignment; `winner`, when set,
    was promoted). Status only moves forward, through experiments.services.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=120, unique=True)
    # The seed of the assignment hash. Never changed once leads are assigned:
    # a new key would re-deal every lead that has no stored row yet.
    key = models.SlugField(max_length=64, unique=True, default=new_experiment_key)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="experiments")
    hypothesis = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    phone_numbers = models.ManyToManyField(
        "agents.PhoneNumber",
        blank=True,
        related_name="experiments",
        help_text="Inbound numbers whose callers take part (matched to a lead by their number).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner = models.ForeignKey(
        "Variant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The variant promoted when the experiment stopped (who and when: stopped_by, stopped_at).",
    )
    # When the split last changed (start, a weight, a new variant). The sample
    # ratio check looks only at leads assigned since: earlier leads were dealt
    # with other proportions.
    weights_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "running", "stopped"]), name="experiment_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(started_at__isnull=False), name="experiment_started_when_not_draft"
            ),
            models.CheckConstraint(
                condition=Q(status="stopped", stopped_at__isnull=False) | (~Q(status="stopped") & Q(stopped_at=None)),
                name="experiment_stopped_at_iff_stopped",
            ),
            models.CheckConstraint(
                condition=Q(winner__isnull=True) | Q(status="stopped"), name="experiment_winner_only_when_stopped"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Changing the agent would orphan variants that run the old agent's versions.
        if self.pk and self.agent_id:
            foreign = Variant.objects.filter(experiment_id=self.pk).exclude(agent_version__agent_id=self.agent_id)
            if foreign.exists():
                raise ValidationError({"agent": "Its variants run another agent's versions; remove them first."})

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


def variant_version_problem(*, experiment: Experiment, agent_version: Any) -> str:
    """Why `agent_version` cannot be a variant of `experiment`, or "" when it can.

    The one definition of the rule, shared by Variant.clean (admin and forms)
    and the services (console and API): a variant runs a published version of
    the experiment's own agent. A draft can still change under the running
    test, and another agent's version compares nothing the experiment is about.
    """
    if agent_version is None:
        return "Choose an agent version."
    if agent_version.agent_id != experiment.agent_id:
        return f"{agent_version} is not a version of the experiment's agent."
    if agent_version.published_at is None:
        return f"{agent_version} is a draft; publish it before testing it."
    return ""


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=60)
    agent_version = models.ForeignKey("agents.AgentVersion", on_delete=models.PROTECT, related_name="variants")
    weight = models.PositiveIntegerField(default=1)
    is_control = models.BooleanField(default=False, help_text="The baseline every other variant is compared with.")

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="variant_weight_positive"),
            models.UniqueConstraint(
                fields=["experiment"], condition=Q(is_control=True), name="variant_one_control_per_experiment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment.name}/{self.name}"

    def clean(self) -> None:
        # The experiment may not be saved yet (the admin's add page cleans its
        # inline variants first), so the related objects are read, not the ids.
        try:
            experiment, version = self.experiment, self.agent_version
        except ObjectDoesNotExist:
            return  # the missing field's own error says so
        problem = variant_version_problem(experiment=experiment, agent_version=version)
        if problem:
            raise ValidationError({"agent_version": problem})
        if experiment.is_draft:
            return
        # Once leads are assigned, a variant is part of the record: a running
        # experiment may only move its weights (new leads follow them, assigned
        # leads keep their variant); a stopped one changes no more.
        if self.pk is None:
            raise ValidationError("Variants are added while the experiment is a draft.")
        stored = Variant.objects.filter(pk=self.pk).values("agent_version_id", "name", "is_control", "weight").first()
        if stored is None:
            return
        if (stored["agent_version_id"], stored["name"], stored["is_control"]) != (
            self.agent_version_id,
            self.name,
            self.is_control,
        ):
            raise ValidationError("Only the weight of a running experiment's variant can change.")
        if experiment.status == Experiment.Status.STOPPED and stored["weight"] != self.weight:
            raise ValidationError("The experiment is stopped; its variants no longer change.")

    def save(self, *args: Any, **kwargs: Any) -> None:
        changed_split = self.pk is None or Variant.objects.filter(pk=self.pk).exclude(weight=self.weight).exists()
        super().save(*args, **kwargs)
        if changed_split:
            # Every path (service, admin inline, shell) goes through here, so the
            # sample ratio check always knows when the proportions last moved.
            Experiment.objects.filter(pk=self.experiment_id, status=Experiment.Status.RUNNING).update(
                weights_changed_at=timezone.now()
            )


class Assignment(models.Model):
    """A lead's variant in an experiment: assigned once, never changed."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    # RESTRICT: a variant with assigned leads cannot be deleted on its own
    # (that would erase the record of who saw what); deleting the whole
    # experiment still takes its assignments with it.
    variant = models.ForeignKey(Variant, on_delete=models.RESTRICT, related_name="assignments")
    lead = models.ForeignKey("campaigns.Lead", on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now_add=True)
    # Kept by experiments.services.assignment_outcomes_update from the lead's calls in this variant, so the
    # results count exposed and successful leads from this table alone (no distinct count over calls).
    exposed = models.BooleanField(default=False, help_text="A person answered one of the lead's calls.")
    succeeded = models.BooleanField(
        default=False, help_text="A call a person answered ended with one of its version's success dispositions."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "lead"], name="assignment_one_per_lead")]
        indexes = [
            # The results' per-variant counts and the SRM check's "since the
            # weights changed" count read only this index.
            models.Index(fields=["experiment", "variant", "assigned_at"], name="assignment_results_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} -> {self.variant}"
