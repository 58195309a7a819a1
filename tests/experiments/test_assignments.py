"""Batched sticky assignment of leads to experiment variants, on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from experiments.models import Assignment
from experiments.services import (
    ExperimentHasNoVariants,
    assignments_get_or_create,
    variant_pick,
)
from tests.factories import CampaignFactory, ExperimentFactory, LeadFactory, VariantFactory


def experiment_with_leads(count: int, weights=(3, 1)):
    experiment = ExperimentFactory()
    variants = [VariantFactory(experiment=experiment, weight=weight) for weight in weights]
    campaign = CampaignFactory(agent_version=None, experiment=experiment)
    leads = LeadFactory.create_batch(count, campaign=campaign)
    return experiment, variants, [lead.pk for lead in leads]


@pytest.mark.django_db
def test_new_leads_get_the_weighted_pick_and_one_row_each():
    experiment, variants, lead_ids = experiment_with_leads(40)
    assigned = assignments_get_or_create(experiment=experiment, lead_ids=lead_ids)
    assert sorted(assigned) == sorted(lead_ids)
    for lead_id, assignment in assigned.items():
        assert assignment.pk is not None and assignment.lead_id == lead_id
        expected = variant_pick(variants=variants, experiment_id=experiment.pk, lead_id=lead_id)
        assert assignment.variant_id == expected.pk
    used = {assignment.variant_id for assignment in assigned.values()}
    assert used == {variant.pk for variant in variants}  # 40 leads at 3:1 land on both
    stored = dict(Assignment.objects.filter(experiment=experiment).values_list("lead_id", "variant_id"))
    assert stored == {lead_id: assignment.variant_id for lead_id, assignment in assigned.items()}


@pytest.mark.django_db
def test_assignments_are_sticky_when_the_weights_change():
    experiment, variants, lead_ids = experiment_with_leads(30)
    first = {
        lead_id: a.variant_id
        for lead_id, a in assignments_get_or_create(experiment=experiment, lead_ids=lead_ids).items()
    }
    # A new variant that would take nearly every fresh pick: earlier leads must keep theirs.
    heavy = VariantFactory(experiment=experiment, weight=10_000)
    newcomers = [lead.pk for lead in LeadFactory.create_batch(5, campaign=experiment.campaigns.get())]
    again = assignments_get_or_create(experiment=experiment, lead_ids=[*lead_ids, *newcomers])
    assert {lead_id: again[lead_id].variant_id for lead_id in lead_ids} == first
    for lead_id in newcomers:
        expected = variant_pick(variants=[*variants, heavy], experiment_id=experiment.pk, lead_id=lead_id)
        assert again[lead_id].variant_id == expected.pk
    assert Assignment.objects.filter(experiment=experiment).count() == 35


@pytest.mark.django_db
def test_query_count_is_bounded_whatever_the_number_of_leads(django_assert_max_num_queries):
    experiment, _, lead_ids = experiment_with_leads(60)
    assignments_get_or_create(experiment=experiment, lead_ids=lead_ids[:20])  # some already assigned
    with django_assert_max_num_queries(4):
        assigned = assignments_get_or_create(experiment=experiment, lead_ids=lead_ids)
        # The variant and its agent version come with the rows, not one query per lead.
        versions = {assignment.variant.agent_version_id for assignment in assigned.values()}
    assert len(assigned) == 60 and len(versions) == 2
    with django_assert_max_num_queries(1):  # everyone assigned: one read
        assert len(assignments_get_or_create(experiment=experiment, lead_ids=lead_ids)) == 60


@pytest.mark.django_db
def test_experiment_without_variants_refuses():
    experiment = ExperimentFactory()
    lead = LeadFactory(campaign=CampaignFactory())
    with pytest.raises(ExperimentHasNoVariants):
        assignments_get_or_create(experiment=experiment, lead_ids=[lead.pk])
    assert assignments_get_or_create(experiment=experiment, lead_ids=[]) == {}


def _wait_for_lock_waiter(table: str) -> None:
    """Block until another backend waits on a row lock while inserting into `table`."""
    for _ in range(2000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                [f'INSERT INTO "{table}"%'],
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError("the second assigner never waited on the first one's insert")


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_assigners_committed_choice_stands():
    """The first transaction to insert a lead's row wins, even with a variant the second would not pick."""
    experiment, variants, lead_ids = experiment_with_leads(10)
    contested = lead_ids[4]
    picked = variant_pick(variants=variants, experiment_id=experiment.pk, lead_id=contested)
    other = next(variant for variant in variants if variant.pk != picked.pk)
    inserted, release = threading.Event(), threading.Event()
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                Assignment.objects.create(experiment=experiment, variant=other, lead_id=contested)
                inserted.set()
                release.wait(30)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            inserted.wait(30)
            with transaction.atomic():
                assigned = assignments_get_or_create(experiment=experiment, lead_ids=lead_ids)
            results.update({lead_id: a.variant_id for lead_id, a in assigned.items()})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        inserted.wait(30)
        _wait_for_lock_waiter(Assignment._meta.db_table)
    finally:
        release.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert results[contested] == other.pk
    stored = dict(Assignment.objects.filter(experiment=experiment).values_list("lead_id", "variant_id"))
    assert stored == results and len(stored) == 10


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_assigners_agree():
    experiment, _, lead_ids = experiment_with_leads(60)
    halves = [lead_ids[:40], lead_ids[20:]]  # 20 leads in both batches
    barrier = threading.Barrier(2)
    results: list[dict[int, int]] = [{}, {}]
    errors: list[BaseException] = []

    def assign(index: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                assigned = assignments_get_or_create(experiment=experiment, lead_ids=halves[index])
            results[index].update({lead_id: a.variant_id for lead_id, a in assigned.items()})
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=assign, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results[0]) == halves[0] and sorted(results[1]) == halves[1]
    for lead_id in lead_ids[20:40]:
        assert results[0][lead_id] == results[1][lead_id]
    stored = dict(Assignment.objects.filter(experiment=experiment).values_list("lead_id", "variant_id"))
    assert stored == {**results[0], **results[1]} and len(stored) == 60
