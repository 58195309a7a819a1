"""Writes for experiments: sticky, weighted variant assignment of leads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import transaction

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


# No savepoint: the dialer calls this inside its tick transaction, and one INSERT needs none.
@transaction.atomic(savepoint=False)
def assignments_get_or_create(*, experiment: Experiment, lead_ids: Iterable[int]) -> dict[int, Assignment]:
    """Each lead's variant in `experiment`, assigned on first use and never changed: at most four queries.

    The leads already assigned are read in one query, the variants in one, and
    the new assignments go in with one INSERT that skips conflicts. Another
    process may assign some of the same leads at the same time; whichever row
    committed first stands, so the new rows are read back rather than trusted
    from memory. Inserting in lead order keeps two such batches from
    deadlocking on each other's unique-index entries.
    """
    wanted = sorted(set(lead_ids))
    if not wanted:
        return {}
    assigned = Assignment.objects.select_related("variant__agent_version").filter(experiment=experiment)
    found = {assignment.lead_id: assignment for assignment in assigned.filter(lead_id__in=wanted)}
    missing = [lead_id for lead_id in wanted if lead_id not in found]
    if not missing:
        return found
    variants = list(Variant.objects.filter(experiment=experiment))
    if not variants:
        raise ExperimentHasNoVariants(f"experiment {experiment.name!r} has no variants")
    Assignment.objects.bulk_create(
        [
            Assignment(
                experiment=experiment,
                variant=variant_pick(variants=variants, experiment_id=experiment.pk, lead_id=lead_id),
                lead_id=lead_id,
            )
            for lead_id in missing
        ],
        ignore_conflicts=True,
    )
    found.update((assignment.lead_id, assignment) for assignment in assigned.filter(lead_id__in=missing))
    return found
