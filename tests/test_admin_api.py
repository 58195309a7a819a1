"""Admin pages, the REST API's auth and schema, the login page and seed_demo."""

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from agents.models import Agent, PhoneNumber
from calls.models import Call
from campaigns.models import Campaign, Lead
from experiments.models import Experiment
from tests.factories import AgentVersionFactory, CallFactory, LeadFactory

pytestmark = pytest.mark.django_db

ADMIN_MODELS = [
    "agents_agent",
    "agents_agentversion",
    "agents_phonenumber",
    "campaigns_lead",
    "campaigns_campaign",
    "campaigns_leadimport",
    "calendars_calendar",
    "calendars_appointment",
    "calls_call",
    "calls_callevent",
    "experiments_experiment",
    "experiments_assignment",
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_changelist_and_add_pages_render(operator_client, model):
    assert operator_client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_admin_lead_search_and_filters(operator_client):
    LeadFactory(first_name="Zelda", phone="+12125550177", timezone="America/Chicago")
    LeadFactory(first_name="Yusuf", phone="+12125550178")
    url = reverse("admin:campaigns_lead_changelist")
    page = operator_client.get(url, {"q": "Zelda"}).content.decode()
    assert "Zelda" in page and "Yusuf" not in page
    page = operator_client.get(url, {"q": "+12125550178"}).content.decode()
    assert "Yusuf" in page and "Zelda" not in page
    page = operator_client.get(url, {"timezone": "America/Chicago"}).content.decode()
    assert "Zelda" in page and "Yusuf" not in page
    assert operator_client.get(url, {"status__exact": "new"}).status_code == 200


def test_admin_shows_a_published_version_read_only(operator_client):
    version = AgentVersionFactory()
    page = operator_client.get(reverse("admin:agents_agentversion_change", args=[version.pk])).content.decode()
    assert 'name="config"' not in page


def test_admin_requires_login(client):
    response = client.get(reverse("admin:campaigns_lead_changelist"))
    assert response.status_code == 302


def test_api_refuses_anonymous_and_bad_tokens():
    client = APIClient()
    assert client.get("/api/calls/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/calls/").status_code == 401


def test_api_lists_agents_leads_and_calls_with_a_token(api_client):
    call = CallFactory(twilio_call_sid="CAabc")
    LeadFactory()
    assert api_client.get("/api/agents/").json()["count"] == 1
    assert api_client.get("/api/leads/").json()["count"] == 1
    body = api_client.get("/api/calls/", {"twilio_call_sid": "CAabc"}).json()
    assert body["count"] == 1 and body["results"][0]["id"] == str(call.id)
    assert api_client.get("/api/calls/", {"twilio_call_sid": "CAnone"}).json()["count"] == 0
    detail = api_client.get(f"/api/calls/{call.id}/").json()
    assert detail["agent_version"] == call.agent_version_id and detail["turns"] == []


def test_openapi_schema_describes_the_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path in ["/api/agents/", "/api/leads/", "/api/calls/", "/api/calls/{id}/"]:
        assert path in schema["paths"], path


def test_login_page_and_console_behind_it(client, operator):
    assert client.get("/").status_code == 302
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "operator", "password": "operator-pass-123"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Calls" in page


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = [Agent.objects.count(), PhoneNumber.objects.count(), Lead.objects.count(), Campaign.objects.count()]
    call_command("seed_demo")
    assert [
        Agent.objects.count(),
        PhoneNumber.objects.count(),
        Lead.objects.count(),
        Campaign.objects.count(),
    ] == counts
    assert PhoneNumber.objects.get(e164="+15005550006").agent.live_version is not None
    assert Experiment.objects.get(name="Greeting A/B").variants.count() == 2
    assert Call.objects.count() == 0
