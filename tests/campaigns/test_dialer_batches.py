"""The dialer tick's set-based per-campaign work: grouped counts, cached windows, batched assignment."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Call
from calls.services import call_set_status
from campaigns import dialer
from campaigns.dialer import dialer_tick
from campaigns.models import Lead
from experiments.models import Assignment
from tests.campaigns.dialer_support import NOON_NY, POSTGRESQL_ONLY, no_carrier, run_at_once, running_campaign
from tests.factories import CallFactory, ExperimentFactory, LeadFactory, VariantFactory

pytestmark = pytest.mark.usefixtures("no_carrier")
__all__ = ["no_carrier"]


def experiment_campaign(weights=(1, 1), **kwargs):
    experiment = ExperimentFactory(status="running")
    variants = [VariantFactory(experiment=experiment, weight=weight) for weight in weights]
    return running_campaign(agent_version=None, experiment=experiment, **kwargs), variants


def campaign_call(campaign, status):
    """An outbound call of the campaign placed earlier (no lead: only the counts care)."""
    return CallFactory(
        direction=Call.Direction.OUTBOUND,
        campaign=campaign,
        agent_version=campaign.agent_version,
        status=status,
        twilio_call_sid=None,
    )


def end_calls(call_ids):
    for call_id in call_ids:
        call_set_status(call_id=call_id, status=Call.Status.NO_ANSWER)


def per_campaign(call_ids):
    counts: dict[int, int] = {}
    for campaign_id in Call.objects.filter(pk__in=call_ids).values_list("campaign_id", flat=True):
        counts[campaign_id] = counts.get(campaign_id, 0) + 1
    return counts


@pytest.mark.django_db
def test_caps_and_pacing_hold_per_campaign_with_several_campaigns():
    capped = running_campaign(max_concurrent=3, calls_per_minute=60)
    paced = running_campaign(max_concurrent=20, calls_per_minute=4)
    busy = running_campaign(max_concurrent=5, calls_per_minute=60)
    recent = running_campaign(max_concurrent=20, calls_per_minute=6)
    for campaign in (capped, paced, busy, recent):
        LeadFactory.create_batch(8, campaign=campaign)
    with time_machine.travel(NOON_NY - timedelta(seconds=20), tick=False):
        for _ in range(2):  # still ringing: they count against busy's cap
            campaign_call(busy, Call.Status.RINGING)
        for _ in range(4):  # over already, placed 20 s ago: they count against recent's pacing
            campaign_call(recent, Call.Status.COMPLETED)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        first = per_campaign(dialer_tick().call_ids)
        assert first == {capped.pk: 3, paced.pk: 4, busy.pk: 3, recent.pk: 2}
        end_calls(list(Call.objects.filter(status=Call.Status.QUEUED).values_list("pk", flat=True)))
        clock.shift(30)
        # Every call ended: capped and busy have room again, paced and recent are still paced.
        # (busy's two ringing calls from before are still live.)
        assert per_campaign(dialer_tick().call_ids) == {capped.pk: 3, busy.pk: 3}
        end_calls(list(Call.objects.filter(status=Call.Status.QUEUED).values_list("pk", flat=True)))
        clock.shift(31)
        # A minute after the first tick: paced gets its next four; recent's older calls left the minute too.
        assert per_campaign(dialer_tick().call_ids) == {capped.pk: 2, paced.pk: 4, busy.pk: 2, recent.pk: 6}


@pytest.mark.django_db
def test_counts_are_two_grouped_queries_whatever_the_number_of_campaigns():
    def count_queries(campaigns: int) -> int:
        Call.objects.all().delete()
        for _ in range(campaigns):
            LeadFactory.create_batch(2, campaign=running_campaign())
        with time_machine.travel(NOON_NY, tick=False), CaptureQueriesContext(connection) as queries:
            assert len(dialer_tick(dispatch=False).call_ids) == 2 * campaigns
        return sum("COUNT(" in query["sql"].upper() for query in queries.captured_queries)

    # The global count plus one grouped count of live calls and one of recent calls.
    assert count_queries(1) == count_queries(5) == 3


@pytest.mark.django_db
def test_open_zones_is_computed_once_per_distinct_window(monkeypatch):
    seen = []
    real_open_zones = dialer.open_zones

    def spy(window, at):
        seen.append(window)
        return real_open_zones(window, at)

    monkeypatch.setattr(dialer, "open_zones", spy)
    same_hours = [running_campaign(window_start=time(9), window_end=time(17)) for _ in range(3)]
    other_hours = [running_campaign(window_start=time(10), window_end=time(18)) for _ in range(2)]
    for campaign in (*same_hours, *other_hours):
        LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        assert len(dialer_tick().call_ids) == 5
    assert len(seen) == 2 and len(set(seen)) == 2


@POSTGRESQL_ONLY  # the ORM route on SQLite splits large inserts by its variable limit
@pytest.mark.django_db
def test_experiment_campaign_tick_queries_do_not_grow_with_the_batch():
    def tick_queries(leads: int) -> int:
        campaign, _ = experiment_campaign(max_concurrent=100, calls_per_minute=100)
        LeadFactory.create_batch(leads, campaign=campaign)
        with time_machine.travel(NOON_NY, tick=False), CaptureQueriesContext(connection) as queries:
            call_ids = dialer_tick(dispatch=False).call_ids
        assert len(call_ids) == leads
        campaign.status = "paused"  # out of the next measurement
        campaign.save(update_fields=["status"])
        return len(queries.captured_queries)

    assert tick_queries(3) == tick_queries(40)


@pytest.mark.django_db
def test_experiment_campaign_keeps_each_leads_variant_across_ticks():
    campaign, variants = experiment_campaign(max_concurrent=100, calls_per_minute=100)
    leads = LeadFactory.create_batch(30, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        first_ids = dialer_tick().call_ids
    first = dict(Call.objects.filter(pk__in=first_ids).values_list("lead_id", "variant_id"))
    assert len(first) == 30 and set(first.values()) == {variant.pk for variant in variants}
    assert first == dict(Assignment.objects.values_list("lead_id", "variant_id"))
    # A new variant that would win nearly every fresh pick arrives before the retries.
    heavy = VariantFactory(experiment=campaign.experiment, weight=10_000)
    end_calls(first_ids)
    Lead.objects.filter(campaign=campaign).update(status=Lead.Status.RETRY, next_attempt_at=None)
    newcomer = LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY + timedelta(minutes=2), tick=False):
        second_ids = dialer_tick().call_ids
    second = {
        call.lead_id: call
        for call in Call.objects.filter(pk__in=second_ids)
        .select_related("variant")
        .only("lead_id", "variant_id", "agent_version_id", "attempt_number", "variant__agent_version_id")
    }
    assert len(second) == 31
    for lead in leads:
        call = second[lead.pk]
        assert (call.attempt_number, call.variant_id) == (2, first[lead.pk])
        assert call.agent_version_id == call.variant.agent_version_id
    assert second[newcomer.pk].variant_id == heavy.pk
    assert Assignment.objects.count() == 31


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_concurrent_ticks_hold_caps_and_pacing_with_an_experiment_campaign(settings):
    """Six ticks at once over three campaigns, one of them an experiment: nothing over any cap."""
    settings.DIALER_GLOBAL_MAX_CONCURRENT = 100
    experiment, _ = experiment_campaign(max_concurrent=5, calls_per_minute=100)
    capped = running_campaign(max_concurrent=3, calls_per_minute=100)
    paced = running_campaign(max_concurrent=50, calls_per_minute=4)
    for campaign in (experiment, capped, paced):
        LeadFactory.create_batch(12, campaign=campaign)
    assert run_at_once(lambda: dialer_tick(now=NOON_NY, dispatch=False), times=6) == []
    calls = Call.objects.filter(campaign__in=[experiment, capped, paced])
    assert per_campaign(calls.values_list("pk", flat=True)) == {experiment.pk: 5, capped.pk: 3, paced.pk: 4}
    lead_ids = list(calls.values_list("lead_id", flat=True))
    assert len(lead_ids) == len(set(lead_ids))
    assigned = dict(Assignment.objects.values_list("lead_id", "variant_id"))
    experiment_calls = dict(calls.filter(campaign=experiment).values_list("lead_id", "variant_id"))
    assert len(assigned) == 5 and experiment_calls == assigned
