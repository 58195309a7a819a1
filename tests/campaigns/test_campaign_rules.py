"""One campaign rule (Campaign.clean) on every path that writes a campaign: admin, API, services, console.

Before it lived in the API serializer only, so the admin saved a campaign that
dialed an unpublished draft, rang on day 9 or carried retry rules the dialer
could not read.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign
from campaigns.services import CampaignTransitionError, campaign_control, campaign_create, campaign_update
from tests.factories import AgentVersionFactory, CampaignFactory

pytestmark = pytest.mark.django_db

BROKEN = [
    pytest.param({"agent_version": "draft"}, "agent_version", id="unpublished-draft"),
    pytest.param({"days": [0, 8]}, "days", id="days-outside-1-7"),
    pytest.param({"days": "weekdays"}, "days", id="days-not-a-list"),
    pytest.param({"retry_rules": {"busy": {"max_attempts": 0}}}, "retry_rules", id="retry-max-attempts-0"),
    pytest.param({"retry_rules": {"sometimes": {}}}, "retry_rules", id="retry-unknown-outcome"),
    pytest.param({"retry_rules": ["busy"]}, "retry_rules", id="retry-not-an-object"),
    pytest.param({"window_start": "18:00", "window_end": "09:00"}, "window_end", id="window-backwards"),
    pytest.param({"start_date": "2026-06-10", "end_date": "2026-06-01"}, "end_date", id="dates-backwards"),
    pytest.param({"calls_per_minute": 0}, "calls_per_minute", id="no-pacing"),
]


def resolved(values: dict) -> dict:
    """`agent_version: "draft"` stands for an unpublished version (made per test)."""
    out = dict(values)
    if out.get("agent_version") == "draft":
        out["agent_version"] = AgentVersionFactory(published_at=None)
    return out


def valid(**overrides):
    return {"name": "Recall", "agent_version": AgentVersionFactory(), "days": [1, 2], **overrides}


# --- the model and the services ---------------------------------------------------------------


@pytest.mark.parametrize(("broken", "field"), BROKEN)
def test_campaign_create_refuses_a_campaign_that_breaks_the_rule(broken, field):
    with pytest.raises(ValidationError) as refused:
        campaign_create(**valid(**resolved(broken)))
    assert field in refused.value.message_dict
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(("broken", "field"), BROKEN)
def test_campaign_update_refuses_a_change_that_breaks_the_rule(broken, field):
    campaign = campaign_create(**valid())
    with pytest.raises(ValidationError) as refused:
        campaign_update(campaign_id=campaign.pk, **resolved(broken))
    assert field in refused.value.message_dict
    campaign.refresh_from_db()
    assert campaign.days == [1, 2] and campaign.retry_rules == {}


def test_the_services_normalise_days_and_retry_rules():
    campaign = campaign_create(**valid(days=[5, 1, 1], retry_rules={"busy": {"delay_minutes": 10}}))
    campaign.refresh_from_db()
    assert campaign.days == [1, 5]
    assert campaign.retry_rules == {"busy": {"delay_minutes": 10, "max_attempts": 3}}
    updated = campaign_update(campaign_id=campaign.pk, days=[7, 6])
    assert Campaign.objects.get(pk=updated.pk).days == [6, 7]


def test_a_campaign_runs_exactly_one_version_or_experiment():
    with pytest.raises(ValidationError) as refused:
        campaign_create(name="Neither", days=[])
    # The rule's words, not the database constraint's name repeated.
    assert refused.value.message_dict == {"__all__": ["Give exactly one of agent_version or experiment."]}


def test_status_is_not_a_setting():
    with pytest.raises(TypeError, match="status"):
        campaign_create(**valid(status="running"))


# --- the admin --------------------------------------------------------------------------------


def admin_form(version, **overrides):
    return {
        "name": "From the admin",
        "agent_version": version.pk,
        "experiment": "",
        "caller_id": "+15005550006",
        "window_start": "09:00",
        "window_end": "18:00",
        "days": "[1, 2, 3]",
        "start_date": "",
        "end_date": "",
        "max_concurrent": "2",
        "calls_per_minute": "10",
        "retry_rules": "{}",
        "require_consent": "on",
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({}, "agent_version", id="unpublished-draft"),
        pytest.param({"days": "[0, 8]"}, "days", id="days-outside-1-7"),
        pytest.param({"retry_rules": '{"busy": {"delay_minutes": -5}}'}, "retry_rules", id="retry-negative-delay"),
    ],
)
def test_the_admin_refuses_a_campaign_that_breaks_the_rule(operator_client, overrides, field):
    published = AgentVersionFactory()
    draft = AgentVersionFactory(agent=published.agent, published_at=None)
    version = draft if field == "agent_version" else published
    response = operator_client.post("/admin/campaigns/campaign/add/", admin_form(version, **overrides))
    assert response.status_code == 200  # the form again, with its errors
    assert field in response.context["adminform"].form.errors
    assert not Campaign.objects.filter(name="From the admin").exists()


def test_the_admin_saves_a_good_campaign_normalised(operator_client):
    response = operator_client.post(
        "/admin/campaigns/campaign/add/", admin_form(AgentVersionFactory(), days="[3, 1, 3]", retry_rules="")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get(name="From the admin")
    assert (campaign.days, campaign.retry_rules) == ([1, 3], {})


# --- the API ----------------------------------------------------------------------------------


def test_the_api_refuses_an_unpublished_draft(api_client):
    draft = AgentVersionFactory(published_at=None)
    response = api_client.post(
        "/api/campaigns/", {"name": "Draft", "agent_version": draft.pk, "days": [1]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"agent_version": ["Only a published version can be dialed."]}


def test_an_api_update_is_checked_against_the_whole_campaign(api_client):
    campaign = CampaignFactory(window_start="09:00", window_end="12:00")
    response = api_client.patch(f"/api/campaigns/{campaign.pk}/", {"window_start": "13:00"}, format="json")
    assert response.status_code == 400 and "window_end" in response.json()
    response = api_client.patch(f"/api/campaigns/{campaign.pk}/", {"days": [3, 2, 2]}, format="json")
    assert response.status_code == 200 and response.json()["days"] == [2, 3]


# --- the console (and any control): a campaign that breaks the rule never starts ---------------


def test_a_campaign_that_breaks_the_rule_is_not_started(operator_client, api_client):
    # Written by a path that skips the rule (an old row, a bulk write).
    campaign = CampaignFactory(agent_version=AgentVersionFactory(published_at=None), days=[9])
    response = operator_client.post(f"/campaigns/{campaign.pk}/start/", follow=True)
    page = response.content.decode()
    assert "Only a published version can be dialed." in page and "ISO weekdays" in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert api_client.post(f"/api/campaigns/{campaign.pk}/start/").status_code == 409
    with pytest.raises(CampaignTransitionError, match="agent_version"):
        campaign_control(campaign_id=campaign.pk, action="start")
