"""Inputs schemathesis found answering 500 (scripts/faults/api_fuzz.py) now get a clear 4xx or a bounded answer."""

from __future__ import annotations

import pytest

from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("bad_id", ["AAA", "null,null", "true", "0.5"])
@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
def test_campaign_actions_with_a_non_integer_id_are_404(api_client, bad_id, action):
    assert api_client.post(f"/api/campaigns/{bad_id}/{action}/").status_code == 404


def test_a_campaign_action_with_an_id_too_large_for_the_database_is_404(api_client):
    assert api_client.post("/api/campaigns/99999999999999999999999/pause/").status_code == 404


def test_huge_limits_and_offsets_are_bounded(api_client):
    LeadFactory.create_batch(3, campaign=CampaignFactory())
    many = api_client.get("/api/leads/?limit=99999999999999999999999")
    assert many.status_code == 200 and len(many.json()["results"]) == 3
    past_the_end = api_client.get("/api/leads/?offset=99999999999999999999999&limit=2")
    assert past_the_end.status_code == 200 and past_the_end.json()["results"] == []


def test_too_many_form_fields_is_a_400(api_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{n}=x" for n in range(50))
    response = api_client.post("/api/leads/bulk/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
