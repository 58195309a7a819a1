"""The experiments REST API: setup through the same service rules as the console, start, stop and promote."""

from __future__ import annotations

import pytest
import yaml

from campaigns.models import Campaign
from experiments.models import Experiment
from tests.factories import AgentFactory, AgentVersionFactory, CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    agent = AgentFactory()
    return agent, AgentVersionFactory(agent=agent), AgentVersionFactory(agent=agent)


def payload(agent, first, second, **extra):
    return {
        "name": "Greeting test",
        "agent": agent.pk,
        "hypothesis": "A warmer greeting books more.",
        "variants": [
            {"name": "A", "agent_version": first.pk, "weight": 1, "is_control": True},
            {"name": "B", "agent_version": second.pk, "weight": 2},
        ],
        **extra,
    }


def test_create_start_and_stop_with_a_winner(api_client, operator, setup):
    agent, first, second = setup
    campaign = CampaignFactory(agent_version=first)
    response = api_client.post(
        "/api/experiments/", payload(agent, first, second, campaigns=[campaign.pk]), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["key"] == "greeting-test"
    assert [(v["name"], v["weight"], v["is_control"]) for v in body["variants"]] == [("A", 1, True), ("B", 2, False)]
    experiment = Experiment.objects.get(pk=body["id"])
    assert experiment.created_by == operator

    started = api_client.post(f"/api/experiments/{experiment.pk}/start/")
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert api_client.post(f"/api/experiments/{experiment.pk}/start/").status_code == 409

    winner = experiment.variants.get(name="B")
    stopped = api_client.post(f"/api/experiments/{experiment.pk}/stop/", {"winner": winner.pk}, format="json")
    assert stopped.status_code == 200
    assert (stopped.json()["status"], stopped.json()["winner"]) == ("stopped", winner.pk)
    campaign.refresh_from_db()
    assert (campaign.agent_version_id, campaign.experiment_id) == (second.pk, None)
    experiment.refresh_from_db()
    assert experiment.stopped_by == operator and experiment.stopped_at is not None


def test_the_api_refuses_a_draft_or_another_agents_version(api_client, setup):
    agent, first, _ = setup
    draft = AgentVersionFactory(agent=agent, published_at=None)
    foreign = AgentVersionFactory()
    response = api_client.post("/api/experiments/", payload(agent, first, draft), format="json")
    assert response.status_code == 400  # not even offered: only published versions are valid choices
    response = api_client.post("/api/experiments/", payload(agent, first, foreign), format="json")
    assert response.status_code == 400
    assert "not a version of the experiment's agent" in str(response.json()["variants"])
    assert not Experiment.objects.exists()


def test_the_api_refuses_a_campaign_that_is_already_dialing(api_client, setup):
    agent, first, second = setup
    running = CampaignFactory(agent_version=first, status=Campaign.Status.RUNNING)
    response = api_client.post(
        "/api/experiments/", payload(agent, first, second, campaigns=[running.pk]), format="json"
    )
    assert response.status_code == 400 and "campaigns" in response.json()


def test_stop_refuses_a_winner_from_elsewhere(api_client, setup):
    agent, first, second = setup
    created = api_client.post("/api/experiments/", payload(agent, first, second), format="json").json()
    api_client.post(f"/api/experiments/{created['id']}/start/")
    response = api_client.post(f"/api/experiments/{created['id']}/stop/", {"winner": 987654}, format="json")
    assert response.status_code == 400 and "winner" in response.json()
    assert Experiment.objects.get(pk=created["id"]).status == "running"
    other = api_client.post("/api/experiments/", payload(agent, first, second, name="Other"), format="json").json()
    draft_stop = api_client.post(f"/api/experiments/{other['id']}/stop/")
    assert draft_stop.status_code == 409


def test_the_list_needs_a_token(client):
    assert client.get("/api/experiments/").status_code in (401, 403)


def test_the_schema_describes_the_results(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert "/api/experiments/{id}/results/" in schema["paths"]
    results = schema["components"]["schemas"]["ExperimentResults"]["properties"]
    assert set(results) == {"srm_p_value", "srm_warning", "variants"}
