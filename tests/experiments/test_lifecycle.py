"""Experiment setup and lifecycle through the services: variants are published versions of the
experiment's agent, status moves draft -> running -> stopped, promotion switches campaigns."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaigns.models import Campaign
from experiments.models import Experiment, Variant
from experiments.services import (
    ExperimentTransitionError,
    VariantSpec,
    experiment_assignable,
    experiment_create,
    experiment_start,
    experiment_stop,
    variant_weight_set,
)
from tests.factories import (
    AgentFactory,
    AgentVersionFactory,
    CampaignFactory,
    ExperimentFactory,
    PhoneNumberFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def two_versions(agent=None):
    agent = agent or AgentFactory()
    return agent, AgentVersionFactory(agent=agent), AgentVersionFactory(agent=agent)


def create(agent, v1, v2, **kwargs):
    specs = kwargs.pop("variants", [VariantSpec("A", v1), VariantSpec("B", v2, weight=3)])
    return experiment_create(name=kwargs.pop("name", "Greeting test"), agent=agent, variants=specs, **kwargs)


def test_create_makes_a_draft_with_its_variants_and_the_first_as_control():
    agent, v1, v2 = two_versions()
    user = UserFactory()
    experiment = create(agent, v1, v2, hypothesis="Warmer books more.", created_by=user)
    assert experiment.status == Experiment.Status.DRAFT and experiment.created_by == user
    assert experiment.key == "greeting-test"
    rows = list(experiment.variants.order_by("pk").values_list("name", "agent_version_id", "weight", "is_control"))
    assert rows == [("A", v1.pk, 1, True), ("B", v2.pk, 3, False)]
    assert not experiment_assignable(experiment)
    # The key is the hash seed: another experiment of the same name stem gets its own.
    other = create(agent, v1, v2, name="Greeting test!")
    assert other.key == "greeting-test-2"


def test_create_keeps_the_control_the_operator_marked():
    agent, v1, v2 = two_versions()
    experiment = create(agent, v1, v2, variants=[VariantSpec("A", v1), VariantSpec("B", v2, is_control=True)])
    assert experiment.variants.get(is_control=True).name == "B"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("draft", "is a draft; publish it"),
        ("other_agent", "is not a version of the experiment's agent"),
        ("one_variant", "at least two variants"),
        ("same_name", "a name of its own"),
        ("two_controls", "Only one variant can be the control"),
        ("zero_weight", "at least 1"),
    ],
)
def test_create_refuses_variants_that_break_the_rules(case, message):
    agent, v1, v2 = two_versions()
    specs = {
        "draft": [VariantSpec("A", v1), VariantSpec("B", AgentVersionFactory(agent=agent, published_at=None))],
        "other_agent": [VariantSpec("A", v1), VariantSpec("B", AgentVersionFactory())],
        "one_variant": [VariantSpec("A", v1)],
        "same_name": [VariantSpec("A", v1), VariantSpec("A", v2)],
        "two_controls": [VariantSpec("A", v1, is_control=True), VariantSpec("B", v2, is_control=True)],
        "zero_weight": [VariantSpec("A", v1, weight=0), VariantSpec("B", v2)],
    }[case]
    with pytest.raises(ValidationError) as caught:
        create(agent, v1, v2, variants=specs)
    assert any(message in text for text in caught.value.message_dict["variants"])
    assert not Experiment.objects.exists() and not Variant.objects.exists()


def test_the_model_refuses_a_draft_or_foreign_version_too():
    """Variant.clean carries the same rule for the admin and any form."""
    experiment = ExperimentFactory()
    draft = AgentVersionFactory(agent=experiment.agent, published_at=None)
    with pytest.raises(ValidationError, match="is a draft"):
        Variant(experiment=experiment, name="A", agent_version=draft).full_clean()
    with pytest.raises(ValidationError, match="not a version of the experiment's agent"):
        Variant(experiment=experiment, name="A", agent_version=AgentVersionFactory()).full_clean()
    Variant(experiment=experiment, name="A", agent_version=AgentVersionFactory(agent=experiment.agent)).full_clean()


def test_create_attaches_draft_campaigns_and_numbers_of_the_agent_only():
    agent, v1, v2 = two_versions()
    draft = CampaignFactory(agent_version=v1)
    number = PhoneNumberFactory(agent=agent)
    experiment = create(agent, v1, v2, campaigns=[draft], phone_numbers=[number])
    draft.refresh_from_db()
    assert (draft.experiment_id, draft.agent_version_id) == (experiment.pk, None)
    assert list(experiment.phone_numbers.all()) == [number]

    running = CampaignFactory(agent_version=v1, status=Campaign.Status.RUNNING)
    foreign = CampaignFactory()
    with pytest.raises(ValidationError) as caught:
        create(agent, v1, v2, name="Second", campaigns=[running, foreign], phone_numbers=[PhoneNumberFactory()])
    errors = caught.value.message_dict
    assert "only a draft campaign" in errors["campaigns"][0] and "runs another agent" in errors["campaigns"][1]
    assert "answered by another agent" in errors["phone_numbers"][0]
    running.refresh_from_db()
    assert running.experiment_id is None and running.agent_version_id == v1.pk


def test_start_runs_the_experiment_and_records_who_and_when():
    agent, v1, v2 = two_versions()
    experiment = create(agent, v1, v2)
    user = UserFactory()
    experiment_start(experiment=experiment, user=user)
    assert experiment.status == Experiment.Status.RUNNING and experiment.started_by == user
    assert experiment.started_at is not None and experiment.weights_changed_at == experiment.started_at
    assert experiment_assignable(experiment)
    with pytest.raises(ExperimentTransitionError, match="cannot start an experiment that is running"):
        experiment_start(experiment=experiment)


def test_start_marks_the_first_variant_control_when_none_is():
    experiment = ExperimentFactory()
    first = VariantFactory(experiment=experiment, name="A")
    VariantFactory(experiment=experiment, name="B")
    experiment_start(experiment=experiment)
    assert list(experiment.variants.filter(is_control=True)) == [first]


def test_start_checks_the_variants_again_whatever_path_made_them():
    experiment = ExperimentFactory()
    VariantFactory(experiment=experiment)
    # Rows written past the services (a shell, a bulk load): start still refuses them.
    VariantFactory(experiment=experiment, agent_version=AgentVersionFactory(agent=experiment.agent, published_at=None))
    with pytest.raises(ValidationError, match="is a draft"):
        experiment_start(experiment=experiment)
    lonely = ExperimentFactory()
    VariantFactory(experiment=lonely)
    with pytest.raises(ValidationError, match="at least two variants"):
        experiment_start(experiment=lonely)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_a_number_takes_part_in_one_running_experiment_at_a_time():
    agent, v1, v2 = two_versions()
    number = PhoneNumberFactory(agent=agent)
    first = create(agent, v1, v2, name="First", phone_numbers=[number])
    second = create(agent, v1, v2, name="Second", phone_numbers=[number])
    experiment_start(experiment=first)
    with pytest.raises(ValidationError, match="already takes part in another running experiment"):
        experiment_start(experiment=second)


def test_stop_with_a_winner_switches_the_campaigns_that_can_still_dial():
    agent, v1, v2 = two_versions()
    campaigns = [CampaignFactory(agent_version=v1) for _ in range(4)]
    experiment = create(agent, v1, v2, campaigns=campaigns)
    experiment_start(experiment=experiment)
    statuses = [Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.DRAFT, Campaign.Status.COMPLETED]
    for campaign, status in zip(campaigns, statuses, strict=True):
        Campaign.objects.filter(pk=campaign.pk).update(status=status)
    winner = experiment.variants.get(name="B")
    user = UserFactory()
    experiment_stop(experiment=experiment, winner=winner, user=user)
    assert (experiment.status, experiment.winner, experiment.stopped_by) == (Experiment.Status.STOPPED, winner, user)
    assert experiment.stopped_at is not None and not experiment_assignable(experiment)
    after = {
        c.pk: (c.agent_version_id, c.experiment_id) for c in Campaign.objects.filter(pk__in=[c.pk for c in campaigns])
    }
    for campaign in campaigns[:3]:
        assert after[campaign.pk] == (v2.pk, None)
    assert after[campaigns[3].pk] == (None, experiment.pk)  # finished: keeps the record of what it ran
    with pytest.raises(ExperimentTransitionError, match="cannot stop an experiment that is stopped"):
        experiment_stop(experiment=experiment)


def test_stop_without_a_winner_leaves_the_campaigns_on_the_experiment():
    agent, v1, v2 = two_versions()
    campaign = CampaignFactory(agent_version=v1)
    experiment = create(agent, v1, v2, campaigns=[campaign])
    with pytest.raises(ExperimentTransitionError, match="cannot stop an experiment that is draft"):
        experiment_stop(experiment=experiment)
    experiment_start(experiment=experiment)
    experiment_stop(experiment=experiment)
    campaign.refresh_from_db()
    assert campaign.experiment_id == experiment.pk and experiment.winner is None


def test_a_winner_must_be_one_of_the_experiments_variants():
    agent, v1, v2 = two_versions()
    experiment = create(agent, v1, v2)
    experiment_start(experiment=experiment)
    stranger = VariantFactory()
    with pytest.raises(ValidationError, match="is not a variant of"):
        experiment_stop(experiment=experiment, winner=stranger)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING


def test_promoting_on_an_inbound_number_makes_the_winners_configuration_live():
    agent = AgentFactory()
    v1 = AgentVersionFactory(agent=agent, number=1, config={"brain": "flow", "greeting": "Hello."})
    v2 = AgentVersionFactory(agent=agent, number=2, config={"brain": "flow", "greeting": "Hi there!"})
    experiment = create(agent, v1, v2, phone_numbers=[PhoneNumberFactory(agent=agent)])
    experiment_start(experiment=experiment)
    experiment_stop(experiment=experiment, winner=experiment.variants.get(name="A"))
    live = agent.live_version
    assert live.number == 3 and live.config == v1.config and "Winner of experiment" in live.notes


def test_running_variants_only_move_their_weights():
    agent, v1, v2 = two_versions()
    experiment = create(agent, v1, v2)
    experiment_start(experiment=experiment)
    variant = experiment.variants.get(name="B")
    variant_weight_set(variant=variant, weight=5)
    assert Variant.objects.get(pk=variant.pk).weight == 5
    variant.agent_version = v1
    with pytest.raises(ValidationError, match="Only the weight"):
        variant.full_clean()
    with pytest.raises(ValidationError, match="added while the experiment is a draft"):
        Variant(experiment=experiment, name="C", agent_version=v1).full_clean()
    experiment_stop(experiment=experiment)
    with pytest.raises(ValidationError, match="stopped"):
        variant_weight_set(variant=variant, weight=1)


def test_the_database_keeps_the_lifecycle_consistent():
    experiment = ExperimentFactory()
    variant = VariantFactory(experiment=experiment)
    with transaction.atomic(), pytest.raises(IntegrityError):
        Experiment.objects.filter(pk=experiment.pk).update(winner=variant)  # a winner on a draft
    with transaction.atomic(), pytest.raises(IntegrityError):
        Experiment.objects.filter(pk=experiment.pk).update(status="running")  # running, never started
    with transaction.atomic(), pytest.raises(IntegrityError):
        VariantFactory(experiment=experiment, is_control=True)
        VariantFactory(experiment=experiment, is_control=True)
