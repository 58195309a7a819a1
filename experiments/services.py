"""Writes for experiments: sticky, weighted variant assignment of leads."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from experiments.models import Assignment, Experiment, Variant


class ExperimentHasNoVariants(Exception):
    """A campaign runs an experiment that has no variant to assign."""


def variant_pick(*, variants: list[Variant], experiment_id: int, lead_id: int) -> Variant:
    """Deterministic weighted choice: the same lead always lands on the same variant.

    A stable hash (not Python's salted hash()) so that a lost assignment row, or
    another process, computes the same answer.
    """
    ordered = sorted(variants, key=lambda v: v.pk)
    total = sum(v.weight for v in ordered)
    digest = hashlib.sha256(f"{experiment_id}:{lead_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in ordered:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("unreachable: point < total weight")


def assignment_get_or_create(*, experiment: Experiment, lead_id: int) -> Assignment:
    """The lead's variant in `experiment`, assigned on first use and never changed."""
    existing = Assignment.objects.select_related("variant__agent_version").filter(
        experiment=experiment, lead_id=lead_id
    )
    found = existing.first()
    if found is not None:
        return found
    variants = list(Variant.objects.filter(experiment=experiment).select_related("agent_version"))
    if not variants:
        raise ExperimentHasNoVariants(f"experiment {experiment.name!r} has no variants")
    variant = variant_pick(variants=variants, experiment_id=experiment.pk, lead_id=lead_id)
    try:
        with transaction.atomic():
            return Assignment.objects.create(experiment=experiment, variant=variant, lead_id=lead_id)
    except IntegrityError:
        # Another process assigned this lead first: theirs stands.
        return existing.get()
