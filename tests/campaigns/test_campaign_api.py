"""REST API: create and control campaigns, bulk-create leads, read attempts and outcomes."""

from __future__ import annotations

import pytest

from calls.models import Call
from campaigns.models import Campaign, Lead
from tests.factories import AgentVersionFactory, CampaignFactory, ExperimentFactory, LeadFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_create_and_control_a_campaign(api_client):
    version = AgentVersionFactory()
    response = api_client.post(
        "/api/campaigns/",
        {
            "name": "Recall",
            "agent_version": version.pk,
            "window_start": "09:00",
            "window_end": "18:00",
            "days": [5, 1, 1],
            "max_concurrent": 3,
            "calls_per_minute": 6,
            "retry_rules": {"busy": {"delay_minutes": 10, "max_attempts": 4}},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["days"] == [1, 5]
    assert body["retry_rules"] == {"busy": {"delay_minutes": 10, "max_attempts": 4}}
    cid = body["id"]
    assert api_client.post(f"/api/campaigns/{cid}/start/").json()["status"] == "running"
    assert api_client.post(f"/api/campaigns/{cid}/pause/").json()["status"] == "paused"
    conflict = api_client.post(f"/api/campaigns/{cid}/pause/")
    assert conflict.status_code == 409 and "paused" in conflict.json()["detail"]
    assert api_client.post(f"/api/campaigns/{cid}/resume/").json()["status"] == "running"
    assert api_client.post(f"/api/campaigns/{cid}/stop/").json()["status"] == "stopped"
    assert api_client.post(f"/api/campaigns/{cid}/start/").status_code == 409
    assert api_client.post("/api/campaigns/99999/start/").status_code == 404


def test_campaign_with_an_experiment(api_client):
    variant = VariantFactory()
    response = api_client.post(
        "/api/campaigns/", {"name": "AB", "experiment": variant.experiment_id, "days": []}, format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"retry_rules": {"sometimes": {}}}, "retry_rules"),
        ({"retry_rules": {"busy": {"max_attempts": 0}}}, "retry_rules"),
        ({"days": [0, 8]}, "days"),
        ({"window_start": "18:00", "window_end": "09:00"}, "window_end"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"agent_version": None}, "non_field_errors"),
    ],
)
def test_bad_campaign_input_is_refused_clearly(api_client, patch, field):
    version = AgentVersionFactory()
    payload = {"name": "Bad", "agent_version": version.pk, "days": [1], **patch}
    response = api_client.post("/api/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_both_a_version_and_an_experiment_is_refused(api_client):
    version = AgentVersionFactory()
    response = api_client.post(
        "/api/campaigns/",
        {"name": "Both", "agent_version": version.pk, "experiment": ExperimentFactory().pk, "days": []},
        format="json",
    )
    assert response.status_code == 400


def test_bulk_create_leads_keeps_good_items_and_reports_bad_ones(api_client):
    campaign = CampaignFactory()
    LeadFactory(phone="+12125550102", first_name="Jim")
    response = api_client.post(
        "/api/leads/bulk/",
        {
            "campaign": campaign.pk,
            "leads": [
                {
                    "phone": "415 555 0101",
                    "first_name": "Maria",
                    "consent": True,
                    "custom_fields": {"persona": "booker"},
                },
                {"phone": "+12125550102", "first_name": "James"},
                {"phone": "12"},
                {"phone": "+13125550103", "timezone": "Nowhere/Land"},
                "not an object",
            ],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["merged"]) == (1, 1)
    assert [e["index"] for e in body["errors"]] == [2, 3, 4]
    maria = Lead.objects.get(phone="+14155550101")
    assert maria.timezone == "America/Los_Angeles" and maria.campaign_id == campaign.pk and maria.consent
    assert Lead.objects.get(phone="+12125550102").first_name == "James"


def test_attempts_and_outcomes(api_client):
    campaign = CampaignFactory(status="running")
    lead = LeadFactory(campaign=campaign, status=Lead.Status.RETRY)
    Call.objects.create(
        direction="outbound",
        agent_version=campaign.agent_version,
        campaign=campaign,
        lead=lead,
        status="busy",
        outcome="busy",
        outcome_applied=True,
    )
    attempts = api_client.get(f"/api/campaigns/{campaign.pk}/attempts/").json()
    assert attempts["count"] == 1 and attempts["results"][0]["outcome"] == "busy"
    outcomes = api_client.get(f"/api/campaigns/{campaign.pk}/outcomes/").json()
    assert outcomes == {"leads": {"retry": 1}, "attempts": {"busy": 1}}
    assert api_client.get("/api/campaigns/").json()["results"][0]["lead_count"] == 1
