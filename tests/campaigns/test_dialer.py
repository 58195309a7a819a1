"""The dialer tick on PostgreSQL: eligibility, caps, pacing, concurrent ticks, experiments."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from calls.models import Call
from calls.services import call_set_status
from campaigns.dialer import dialer_tick
from campaigns.models import Lead
from experiments.models import Assignment, Experiment
from tests.campaigns.dialer_support import NOON_NY, POSTGRESQL_ONLY, no_carrier, run_at_once, running_campaign
from tests.factories import ExperimentFactory, LeadFactory, VariantFactory

pytestmark = pytest.mark.usefixtures("no_carrier")
__all__ = ["no_carrier"]


def end_calls(call_ids: list):
    for call_id in call_ids:
        call_set_status(call_id=call_id, status=Call.Status.NO_ANSWER)


@pytest.mark.django_db
def test_tick_creates_one_queued_attempt_per_claimed_lead():
    campaign = running_campaign()
    lead = LeadFactory(campaign=campaign, custom_fields={"plan": "gold"})
    with time_machine.travel(NOON_NY, tick=False):
        result = dialer_tick()
    [call] = Call.objects.filter(pk__in=result.call_ids)
    assert call.status == Call.Status.QUEUED
    assert call.direction == Call.Direction.OUTBOUND
    assert (call.lead_id, call.campaign_id, call.attempt_number) == (lead.pk, campaign.pk, 1)
    assert call.agent_version_id == campaign.agent_version_id
    assert call.to_number == lead.phone and call.from_number == campaign.caller_id
    assert call.variables["plan"] == "gold"
    lead.refresh_from_db()
    assert (lead.status, lead.attempts) == (Lead.Status.DIALING, 1)


@pytest.mark.django_db
def test_do_not_call_and_consent_are_respected():
    campaign = running_campaign(require_consent=True)
    LeadFactory(campaign=campaign, do_not_call=True, status=Lead.Status.DO_NOT_CALL)
    LeadFactory(campaign=campaign, consent=False)
    ok = LeadFactory(campaign=campaign)
    relaxed = running_campaign(require_consent=False)
    no_consent = LeadFactory(campaign=relaxed, consent=False)
    LeadFactory(campaign=relaxed, consent=False, do_not_call=True, status=Lead.Status.DO_NOT_CALL)
    with time_machine.travel(NOON_NY, tick=False):
        result = dialer_tick()
    dialed = set(Call.objects.filter(pk__in=result.call_ids).values_list("lead_id", flat=True))
    assert dialed == {ok.pk, no_consent.pk}


@pytest.mark.django_db
def test_future_retries_and_final_leads_are_not_claimed():
    campaign = running_campaign()
    LeadFactory(campaign=campaign, status=Lead.Status.RETRY, next_attempt_at=NOON_NY + timedelta(minutes=5))
    LeadFactory(campaign=campaign, status=Lead.Status.COMPLETED)
    LeadFactory(campaign=campaign, status=Lead.Status.EXHAUSTED)
    due = LeadFactory(campaign=campaign, status=Lead.Status.CALLBACK, next_attempt_at=NOON_NY - timedelta(minutes=1))
    with time_machine.travel(NOON_NY, tick=False):
        result = dialer_tick()
    assert list(Call.objects.filter(pk__in=result.call_ids).values_list("lead_id", flat=True)) == [due.pk]


@pytest.mark.django_db
def test_paused_campaign_is_not_dialed():
    campaign = running_campaign(status="paused")
    LeadFactory(campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        assert dialer_tick().call_ids == []


@pytest.mark.django_db
def test_campaign_cap_holds_across_ticks():
    campaign = running_campaign(max_concurrent=2)
    LeadFactory.create_batch(5, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        first = dialer_tick().call_ids
        assert len(first) == 2
        assert dialer_tick().call_ids == []  # both still in flight
        end_calls(first[:1])
        assert len(dialer_tick().call_ids) == 1


@pytest.mark.django_db
def test_pacing_limits_calls_per_rolling_minute():
    campaign = running_campaign(max_concurrent=10, calls_per_minute=3)
    LeadFactory.create_batch(8, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False) as clock:
        first = dialer_tick().call_ids
        assert len(first) == 3
        end_calls(first)  # room under the concurrency cap, none under pacing
        clock.shift(30)
        assert dialer_tick().call_ids == []
        clock.shift(31)
        assert len(dialer_tick().call_ids) == 3


@pytest.mark.django_db
def test_global_cap_spans_campaigns(settings):
    settings.DIALER_GLOBAL_MAX_CONCURRENT = 3
    for _ in range(2):
        LeadFactory.create_batch(3, campaign=running_campaign(max_concurrent=5))
    with time_machine.travel(NOON_NY, tick=False):
        assert len(dialer_tick().call_ids) == 3
        assert dialer_tick().call_ids == []


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_concurrent_ticks_never_exceed_caps_or_double_claim(settings):
    """Six ticks in six threads, each with its own PostgreSQL connection, at the same instant."""
    settings.DIALER_GLOBAL_MAX_CONCURRENT = 7
    campaigns = [running_campaign(max_concurrent=4, calls_per_minute=100) for _ in range(2)]
    for campaign in campaigns:
        LeadFactory.create_batch(10, campaign=campaign)
    assert run_at_once(lambda: dialer_tick(now=NOON_NY, dispatch=False), times=6) == []
    calls = Call.objects.filter(campaign__in=campaigns)
    assert calls.count() == 7  # the global cap, not 8 (2 x 4) nor 6 x anything
    for campaign in campaigns:
        assert calls.filter(campaign=campaign).count() <= 4
    lead_ids = list(calls.values_list("lead_id", flat=True))
    assert len(lead_ids) == len(set(lead_ids))
    assert Lead.objects.filter(status=Lead.Status.DIALING).count() == 7


@pytest.mark.django_db
def test_experiment_campaign_assigns_sticky_weighted_variants():
    experiment = ExperimentFactory(status=Experiment.Status.RUNNING)
    a = VariantFactory(experiment=experiment, name="A", weight=3)
    b = VariantFactory(experiment=experiment, name="B", weight=1)
    campaign = running_campaign(agent_version=None, experiment=experiment, max_concurrent=100, calls_per_minute=100)
    leads = LeadFactory.create_batch(40, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        call_ids = dialer_tick().call_ids
    assert len(call_ids) == 40
    by_variant = {a.pk: 0, b.pk: 0}
    for call in Call.objects.filter(pk__in=call_ids):
        variant = a if call.variant_id == a.pk else b
        assert call.agent_version_id == variant.agent_version_id
        by_variant[variant.pk] += 1
    assert by_variant[a.pk] > by_variant[b.pk] > 0  # weighted 3:1, both used
    first = dict(Assignment.objects.values_list("lead_id", "variant_id"))
    assert len(first) == 40
    # A second attempt of the same lead keeps its variant.
    end_calls(call_ids)
    Lead.objects.filter(pk=leads[0].pk).update(status=Lead.Status.RETRY, next_attempt_at=None)
    with time_machine.travel(NOON_NY + timedelta(minutes=2), tick=False):
        [again] = dialer_tick().call_ids
    retry = Call.objects.get(pk=again)
    assert retry.attempt_number == 2
    assert retry.variant_id == first[leads[0].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Experiment.Status.DRAFT, Experiment.Status.STOPPED])
def test_a_campaign_of_an_experiment_that_is_not_running_dials_nobody(status):
    experiment = ExperimentFactory(status=status)
    VariantFactory(experiment=experiment, name="A")
    campaign = running_campaign(agent_version=None, experiment=experiment)
    LeadFactory.create_batch(3, campaign=campaign)
    with time_machine.travel(NOON_NY, tick=False):
        assert dialer_tick().call_ids == []
    assert not Assignment.objects.exists()
    experiment.status, experiment.stopped_at = Experiment.Status.RUNNING, None
    experiment.started_at = experiment.started_at or experiment.created_at
    experiment.save(update_fields=["status", "started_at", "stopped_at"])
    with time_machine.travel(NOON_NY, tick=False):
        assert len(dialer_tick().call_ids) == 3
