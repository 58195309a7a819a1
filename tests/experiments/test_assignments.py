"""Sticky, weighted assignment of leads to experiment variants: the hash, its spread, and the batched
service on PostgreSQL (concurrent assigners included)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection, transaction

from experiments.models import Assignment, Experiment
from experiments.services import (
    BUCKETS,
    ExperimentHasNoVariants,
    assignments_get_or_create,
    bucket_of,
    experiment_start,
    fnv1a_32,
    variant_pick,
    variant_weight_set,
)
from tests.factories import CampaignFactory, ExperimentFactory, LeadFactory, VariantFactory


@dataclass
class _Arm:
    """A stand-in variant for the pure hash tests (no database)."""

    pk: int
    weight: int


def test_fnv1a_32_matches_the_published_test_vectors():
    # From the FNV reference test suite (Fowler, Noll, Vo).
    assert fnv1a_32(b"") == 0x811C9DC5
    assert fnv1a_32(b"a") == 0xE40C292C
    assert fnv1a_32(b"foobar") == 0xBF9CF968


def test_a_leads_bucket_depends_only_on_the_key_and_the_lead():
    buckets = [bucket_of(key="greeting-test", lead_id=lead_id) for lead_id in range(1, 2001)]
    assert buckets == [bucket_of(key="greeting-test", lead_id=lead_id) for lead_id in range(1, 2001)]
    assert all(0 <= bucket < BUCKETS for bucket in buckets)
    other = [bucket_of(key="greeting-test-2", lead_id=lead_id) for lead_id in range(1, 2001)]
    # Another experiment deals the same leads independently: about 1 in BUCKETS coincide.
    assert sum(a == b for a, b in zip(buckets, other, strict=True)) < 10
    # The separator keeps "exp-1" + 23 and "exp-12" + 3 apart.
    assert bucket_of(key="exp-1", lead_id=23) != bucket_of(key="exp-12", lead_id=3)


@pytest.mark.parametrize("weights", [(1, 1), (3, 1), (1, 2, 7)])
def test_100000_leads_split_by_the_weights(weights):
    arms = [_Arm(pk=10 + index, weight=weight) for index, weight in enumerate(weights)]
    counts = dict.fromkeys((arm.pk for arm in arms), 0)
    for lead_id in range(1, 100_001):
        counts[variant_pick(variants=arms, key="split-check", lead_id=lead_id).pk] += 1
    total = sum(weights)
    for arm in arms:
        # A share's standard error at 100,000 leads is at most 0.0016: 0.006 is almost 4 of them.
        assert counts[arm.pk] / 100_000 == pytest.approx(arm.weight / total, abs=0.006)
    # Consecutive lead ids do not cluster: every block of 1,000 leads uses every arm.
    for start in range(1, 100_001, 1000):
        assert {
            variant_pick(variants=arms, key="split-check", lead_id=i).pk for i in range(start, start + 1000)
        } == set(counts)


def test_the_pick_does_not_depend_on_the_order_the_variants_come_in():
    arms = [_Arm(pk=3, weight=2), _Arm(pk=1, weight=1), _Arm(pk=2, weight=1)]
    for lead_id in range(1, 500):
        assert (
            variant_pick(variants=arms, key="order", lead_id=lead_id).pk
            == variant_pick(variants=list(reversed(arms)), key="order", lead_id=lead_id).pk
        )


def test_bucket_edges_follow_the_weights_exactly():
    """With weights 1:1 the first half of the buckets goes to the first variant, the rest to the second."""
    arms = [_Arm(pk=1, weight=1), _Arm(pk=2, weight=1)]
    for lead_id in range(1, 3000):
        bucket = bucket_of(key="edges", lead_id=lead_id)
        assert variant_pick(variants=arms, key="edges", lead_id=lead_id).pk == (1 if bucket < BUCKETS // 2 else 2)


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
        expected = variant_pick(variants=variants, key=experiment.key, lead_id=lead_id)
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
        expected = variant_pick(variants=[*variants, heavy], key=experiment.key, lead_id=lead_id)
        assert again[lead_id].variant_id == expected.pk
    assert Assignment.objects.filter(experiment=experiment).count() == 35


@pytest.mark.django_db
def test_a_weight_change_on_a_running_experiment_moves_only_new_leads():
    experiment, variants, lead_ids = experiment_with_leads(40, weights=(1, 1))
    experiment_start(experiment=experiment)
    first = {
        lead_id: a.variant_id
        for lead_id, a in assignments_get_or_create(experiment=experiment, lead_ids=lead_ids).items()
    }
    variant_weight_set(variant=variants[1], weight=50)
    variants[1].refresh_from_db()
    newcomers = [lead.pk for lead in LeadFactory.create_batch(40, campaign=experiment.campaigns.get())]
    again = assignments_get_or_create(experiment=experiment, lead_ids=[*lead_ids, *newcomers])
    assert {lead_id: again[lead_id].variant_id for lead_id in lead_ids} == first
    for lead_id in newcomers:
        assert again[lead_id].variant_id == variant_pick(variants=variants, key=experiment.key, lead_id=lead_id).pk
    # 50:1 now: nearly every newcomer goes to the heavy variant (the old 1:1 would give it about half).
    assert sum(again[lead_id].variant_id == variants[1].pk for lead_id in newcomers) >= 35
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING and experiment.weights_changed_at > experiment.started_at


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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and pg_stat_activity are PostgreSQL's")
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_a_concurrent_assigners_committed_choice_stands():
    """The first transaction to insert a lead's row wins, even with a variant the second would not pick."""
    experiment, variants, lead_ids = experiment_with_leads(10)
    contested = lead_ids[4]
    picked = variant_pick(variants=variants, key=experiment.key, lead_id=contested)
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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time: nothing concurrent")
@pytest.mark.django_db(transaction=True, reset_sequences=True)
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
