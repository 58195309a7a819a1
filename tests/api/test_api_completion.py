"""REST API completion (issue 15): filters and pagination on calls and leads, publishing a version, wrong-type ids,
and the OpenAPI schema generated without a warning.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.models import AgentVersion
from audit.models import AuditEntry
from calls.models import Call
from campaigns.models import Lead
from tests.factories import AgentFactory, AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def ids(response) -> set:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# ---- calls --------------------------------------------------------------------------------


def test_calls_filter_by_status_direction_agent_campaign_dates_and_duration(api_client):
    version = AgentVersionFactory()
    campaign = CampaignFactory(agent_version=version)
    booked = CallFactory(
        agent_version=version,
        campaign=campaign,
        direction=Call.Direction.OUTBOUND,
        status=Call.Status.COMPLETED,
        disposition="booked",
        duration_seconds=95,
    )
    failed = CallFactory(agent_version=version, status=Call.Status.FAILED, duration_seconds=3)
    other = CallFactory(status=Call.Status.COMPLETED)
    Call.objects.filter(pk=other.pk).update(created_at=timezone.now() - dt.timedelta(days=10))

    assert ids(api_client.get("/api/calls/", {"status": "completed"})) == {str(booked.pk), str(other.pk)}
    assert ids(api_client.get("/api/calls/?status=completed&status=failed")) == {
        str(booked.pk),
        str(failed.pk),
        str(other.pk),
    }
    assert ids(api_client.get("/api/calls/", {"direction": "outbound"})) == {str(booked.pk)}
    assert ids(api_client.get("/api/calls/", {"agent": version.agent_id})) == {str(booked.pk), str(failed.pk)}
    assert ids(api_client.get("/api/calls/", {"agent_version": version.pk, "status": "failed"})) == {str(failed.pk)}
    assert ids(api_client.get("/api/calls/", {"campaign": campaign.pk})) == {str(booked.pk)}
    assert ids(api_client.get("/api/calls/", {"disposition": "booked"})) == {str(booked.pk)}
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert str(other.pk) not in ids(api_client.get("/api/calls/", {"created_after": since}))
    assert ids(api_client.get("/api/calls/", {"created_before": since})) == {str(other.pk)}
    assert ids(api_client.get("/api/calls/", {"min_duration_s": 60})) == {str(booked.pk)}
    assert ids(api_client.get("/api/calls/", {"max_duration_s": 10})) == {str(failed.pk)}
    assert api_client.get(f"/api/calls/{failed.pk}/").json()["recording_url"] is None  # nothing recorded


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "finished"}, "status"),
        ({"direction": "sideways"}, "direction"),
        ({"agent": "ava"}, "agent"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"min_duration_s": "-5"}, "min_duration_s"),
        ({"stauts": "completed"}, "stauts"),
    ],
)
def test_a_bad_or_unknown_call_filter_is_a_400_naming_it(api_client, params, named):
    response = api_client.get("/api/calls/", params)
    assert response.status_code == 400
    assert named in response.json()


def test_calls_are_paginated_newest_first_with_a_capped_limit(api_client):
    calls = [CallFactory() for _ in range(5)]
    for age, call in enumerate(calls):
        Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - dt.timedelta(minutes=age))
    page = api_client.get("/api/calls/", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 5
    assert [row["id"] for row in page["results"]] == [str(calls[2].pk), str(calls[3].pk)]
    assert page["next"].endswith("limit=2&offset=4") and page["previous"].endswith("limit=2")
    assert len(api_client.get("/api/calls/", {"limit": 100000}).json()["results"]) == 5  # cut to 500, not refused


# ---- leads --------------------------------------------------------------------------------


def test_leads_filter_by_search_status_campaign_timezone_and_flags(api_client):
    campaign = CampaignFactory()
    maria = LeadFactory(first_name="Maria", last_name="Lopez", phone="+12125550101", campaign=campaign, consent=True)
    john = LeadFactory(
        first_name="John",
        last_name="Reed",  # fixed: a Faker surname may hold "lop" (Galloped...) and match the search below
        phone="+13105550102",
        timezone="America/Los_Angeles",
        status=Lead.Status.COMPLETED,
        consent=False,
    )
    blocked = LeadFactory(
        first_name="Ann",
        last_name="Kim",
        phone="+12125550103",
        do_not_call=True,
        status=Lead.Status.DO_NOT_CALL,
        consent=False,
    )

    assert ids(api_client.get("/api/leads/", {"search": "lop"})) == {maria.pk}
    assert ids(api_client.get("/api/leads/", {"search": "5550102"})) == {john.pk}
    assert ids(api_client.get("/api/leads/", {"phone": "+12125550103"})) == {blocked.pk}
    assert ids(api_client.get("/api/leads/?status=completed&status=dnc")) == {john.pk, blocked.pk}
    assert ids(api_client.get("/api/leads/", {"campaign": campaign.pk})) == {maria.pk}
    assert ids(api_client.get("/api/leads/", {"timezone": "America/Los_Angeles"})) == {john.pk}
    assert ids(api_client.get("/api/leads/", {"do_not_call": "true"})) == {blocked.pk}
    assert ids(api_client.get("/api/leads/", {"do_not_call": "false"})) == {maria.pk, john.pk}
    assert ids(api_client.get("/api/leads/", {"consent": "true"})) == {maria.pk}
    page = api_client.get("/api/leads/", {"limit": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]


@pytest.mark.parametrize("params", [{"status": "gone"}, {"campaign": "x"}, {"do_not_call": "maybe"}, {"q": "maria"}])
def test_a_bad_lead_filter_is_a_400(api_client, params):
    assert api_client.get("/api/leads/", params).status_code == 400


# ---- publishing a version -------------------------------------------------------------------


CONFIG = {"brain": "flow", "greeting": "Hello from the API."}


def test_an_operator_creates_a_draft_and_publishes_it(operator_role):
    agent = AgentFactory(name="Ava")
    AgentVersionFactory(agent=agent, number=1)
    api = api_for(operator_role)

    created = api.post(f"/api/agents/{agent.pk}/versions/", {"config": CONFIG, "notes": "api"}, format="json")
    assert created.status_code == 201, created.content
    draft = created.json()
    assert draft["number"] == 2 and draft["is_published"] is False

    published = api.post(f"/api/agents/{agent.pk}/versions/2/publish/")
    assert published.status_code == 200, published.content
    assert published.json()["is_published"] is True and published.json()["published_at"]
    agent.refresh_from_db()
    assert agent.live_version.number == 2
    entry = AuditEntry.objects.get(verb="published")
    assert entry.actor == operator_role and entry.summary == "Ava v2"

    again = api.post(f"/api/agents/{agent.pk}/versions/2/publish/")
    assert again.status_code == 409 and "already published" in again.json()["detail"]


def test_a_bad_draft_is_refused_beside_its_field_and_nothing_is_stored(operator_role):
    agent = AgentFactory()
    api = api_for(operator_role)
    response = api.post(f"/api/agents/{agent.pk}/versions/", {"config": {"brain": "telepathy"}}, format="json")
    assert response.status_code == 400 and "config" in response.json()
    assert not AgentVersion.objects.filter(agent=agent).exists()
    assert api.post(f"/api/agents/{agent.pk}/versions/", {"notes": "no config"}, format="json").status_code == 400


def test_a_viewer_may_not_create_or_publish(viewer):
    draft = AgentVersionFactory(published_at=None)
    api = api_for(viewer)
    assert api.post(f"/api/agents/{draft.agent_id}/versions/", {"config": CONFIG}, format="json").status_code == 403
    assert api.post(f"/api/agents/{draft.agent_id}/versions/{draft.number}/publish/").status_code == 403
    draft.refresh_from_db()
    assert not draft.is_published
    assert APIClient().post(f"/api/agents/{draft.agent_id}/versions/{draft.number}/publish/").status_code == 401


def test_publishing_a_version_that_does_not_exist_is_404(operator_role):
    agent = AgentFactory()
    assert api_for(operator_role).post(f"/api/agents/{agent.pk}/versions/7/publish/").status_code == 404


# ---- wrong-type ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/calls/42/"),
        ("get", "/api/calls/not-a-uuid/"),
        ("get", "/api/leads/abc/"),
        ("get", "/api/agents/abc/"),
        ("post", "/api/agents/abc/versions/"),
        ("post", "/api/agents/abc/versions/1/publish/"),
        ("post", "/api/agents/1/versions/one/publish/"),
        ("get", "/api/campaigns/abc/"),
        ("post", "/api/campaigns/abc/start/"),
        ("get", "/api/campaigns/abc/attempts/"),
        ("get", "/api/experiments/abc/"),
        ("post", "/api/experiments/abc/start/"),
        ("get", "/api/experiments/abc/results/"),
        ("get", "/api/webhooks/abc/"),
        ("post", "/api/webhooks/abc/rotate/"),
        ("post", "/api/webhooks/1/deliveries/abc/replay/"),
        ("get", "/api/campaigns/99999999999999999999/"),
    ],
)
def test_a_wrong_type_id_in_a_url_is_404(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 404, (path, response.status_code)


# ---- the schema -----------------------------------------------------------------------------


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns any drf-spectacular warning or error into a failure; --validate checks OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for path in [
        "/api/agents/{id}/versions/",
        "/api/agents/{id}/versions/{number}/publish/",
        "/api/experiments/",
        "/api/webhooks/",
        "/api/webhooks/{id}/deliveries/{delivery_id}/replay/",
    ]:
        assert path in paths, path
    call_params = {p["name"] for p in paths["/api/calls/"]["get"]["parameters"]}
    assert {"status", "direction", "agent", "campaign", "created_after", "limit", "offset"} <= call_params
    lead_params = {p["name"] for p in paths["/api/leads/"]["get"]["parameters"]}
    assert {"search", "status", "campaign", "timezone", "do_not_call", "limit", "offset"} <= lead_params
