"""Campaigns created and edited in the console: the API's rule (Campaign.clean), errors beside fields, progress."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEntry
from calls.models import Call
from campaigns.models import Campaign
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _form(version, **overrides):
    data = {
        "name": "Spring recall",
        "agent_version": version.pk,
        "caller_id": "+15005550006",
        "window_start": "09:00",
        "window_end": "18:00",
        "days": ["1", "2", "3"],
        "max_concurrent": "3",
        "calls_per_minute": "10",
        "retry_rules": '{"no-answer": {"delay_minutes": 30, "max_attempts": 4}}',
        "require_consent": "on",
    }
    data.update(overrides)
    return data


def test_create_a_campaign_in_the_console(client, operator_role):
    client.force_login(operator_role)
    version = AgentVersionFactory()
    assert "Create draft campaign" in client.get("/campaigns/new/").content.decode()
    response = client.post("/campaigns/new/", _form(version))
    campaign = Campaign.objects.get(name="Spring recall")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.status == "draft" and campaign.days == [1, 2, 3] and campaign.max_concurrent == 3
    assert campaign.retry_rules["no-answer"] == {"delay_minutes": 30, "max_attempts": 4}
    assert AuditEntry.objects.get(verb="created").actor_name == operator_role.username


def test_the_campaign_rule_refuses_with_errors_beside_fields(operator_client):
    version = AgentVersionFactory()
    draft_version = AgentVersionFactory(published_at=None)
    bad_window = operator_client.post("/campaigns/new/", _form(version, window_start="18:00", window_end="09:00"))
    assert bad_window.status_code == 400
    page = bad_window.content.decode()
    assert 'id="field-window_end"' in page and "The window must end after it starts." in page
    # The form offers published versions only; a draft posted anyway is refused beside the field.
    draft = operator_client.post("/campaigns/new/", _form(version, agent_version=draft_version.pk))
    assert draft.status_code == 400
    assert (
        "Select a valid choice"
        in draft.content.decode().split('id="field-agent_version"')[1].split("field-experiment")[0]
    )
    neither = operator_client.post("/campaigns/new/", _form(version, agent_version=""))
    assert neither.status_code == 400 and "Give exactly one of agent_version or experiment." in neither.content.decode()
    bad_rules = operator_client.post(
        "/campaigns/new/", _form(version, retry_rules='{"busy": {"max_attempts": "many"}}')
    )
    assert bad_rules.status_code == 400 and "max_attempts must be an integer" in bad_rules.content.decode()
    not_json = operator_client.post("/campaigns/new/", _form(version, retry_rules="{oops"))
    assert not_json.status_code == 400 and "Enter a valid JSON." in not_json.content.decode()
    assert not Campaign.objects.exists()
    # What was typed comes back.
    assert 'value="Spring recall"' in page


def test_edit_a_campaign(operator_client):
    campaign = CampaignFactory(name="Old name")
    form = _form(campaign.agent_version, name="New name", calls_per_minute="20")
    assert operator_client.post(f"/campaigns/{campaign.pk}/edit/", form).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.calls_per_minute) == ("New name", 20)
    entry = AuditEntry.objects.get(verb="edited")
    assert "calls_per_minute" in entry.summary and "name" in entry.summary
    refused = operator_client.post(f"/campaigns/{campaign.pk}/edit/", form | {"max_concurrent": "0"})
    assert refused.status_code == 400
    assert operator_client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 200


def test_viewer_sees_no_controls_and_is_refused(viewer_client):
    campaign = CampaignFactory()
    detail = viewer_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert ">Start</button>" not in detail and "Edit settings" not in detail
    assert "New campaign" not in viewer_client.get("/campaigns/").content.decode()
    assert viewer_client.post("/campaigns/new/", _form(campaign.agent_version)).status_code == 403
    assert viewer_client.post(f"/campaigns/{campaign.pk}/edit/", {}).status_code == 403


def test_progress_counts_attempts_and_leads(operator_client):
    version = AgentVersionFactory(config={"brain": "flow", "greeting": "Hi", "success_dispositions": ["booked"]})
    campaign = CampaignFactory(agent_version=version, status="running")
    leads = [LeadFactory(campaign=campaign) for _ in range(5)]
    statuses = ["completed", "completed", "retry", "new", "new"]
    for lead, status in zip(leads, statuses, strict=True):
        lead.status = status
        lead.save(update_fields=["status"])
    for lead, disposition in [(leads[0], "booked"), (leads[1], "not-interested"), (leads[2], "")]:
        call = CallFactory(campaign=campaign, lead=lead, agent_version=version, status="completed")
        Call.objects.filter(pk=call.pk).update(
            disposition=disposition, answered_at=timezone.now() if disposition else None
        )
    page = operator_client.get(f"/campaigns/{campaign.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="progress-dialed">3<' in page and 'id="progress-connected">2<' in page
    assert 'id="progress-succeeded">1<' in page and 'id="progress-remaining">3<' in page
    assert 'id="progress-retry">1<' in page and 'value="40"' in page
    listing = operator_client.get("/campaigns/").content.decode()
    assert "3 dialed · 2 connected · 1 succeeded · 3 remaining · 1 waiting to retry" in listing


@pytest.mark.parametrize("page", ["list", "detail"])
def test_campaign_pages_queries_do_not_grow_with_rows(operator_client, django_assert_num_queries, page):
    first_campaign = CampaignFactory(status="running")
    url = "/campaigns/" if page == "list" else f"/campaigns/{first_campaign.pk}/"

    def add(n):
        for _ in range(n):
            campaign = CampaignFactory(status="running")
            for target in (campaign, first_campaign):
                lead = LeadFactory(campaign=target)
                CallFactory(campaign=target, lead=lead, agent_version=target.agent_version, disposition="booked")

    add(1)
    operator_client.get(url)
    with CaptureQueriesContext(connection) as first:
        operator_client.get(url)
    add(6)
    with django_assert_num_queries(len(first)):
        operator_client.get(url)


def test_progress_is_counted_once_per_cache_period(monkeypatch, django_assert_num_queries):
    from django.core.cache import cache

    from campaigns.selectors import campaigns_progress

    monkeypatch.setattr("campaigns.selectors.PROGRESS_CACHE_S", 5.0)
    cache.clear()
    campaign = CampaignFactory(status="running")
    lead = LeadFactory(campaign=campaign)
    call = CallFactory(campaign=campaign, lead=lead, agent_version=campaign.agent_version, disposition="booked")
    Call.objects.filter(pk=call.pk).update(answered_at=timezone.now())
    with django_assert_num_queries(3):  # leads, calls, the versions' success dispositions
        first = campaigns_progress([campaign.pk])
    with django_assert_num_queries(0):
        assert campaigns_progress([campaign.pk]) == first
    cache.clear()  # what the timeout does after 5 s
    LeadFactory(campaign=campaign)
    assert campaigns_progress([campaign.pk])[campaign.pk].leads == 2
    cache.clear()
