"""The audit log: each action writes who did what to which object, and the object's page and the admin show it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from audit.selectors import audit_entries_for
from audit.services import audit_record
from campaigns.models import Campaign
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory
from voiceops.roles import OPERATOR

pytestmark = pytest.mark.django_db


def _entries(target) -> list[tuple[str, str, str]]:
    return [(e.actor_name, e.verb, e.summary) for e in reversed(list(audit_entries_for(target)))]


@pytest.fixture
def op_client(client, role_user):
    user = role_user(OPERATOR, "olivia")
    client.force_login(user)
    return client


def test_campaign_controls_from_the_console_are_recorded_and_shown_on_its_page(op_client):
    campaign = CampaignFactory(name="Spring recall")
    for action in ("start", "pause", "resume", "stop"):
        assert op_client.post(f"/campaigns/{campaign.pk}/{action}/").status_code == 302
    assert _entries(campaign) == [
        ("olivia", verb, "Spring recall") for verb in ("started", "paused", "resumed", "stopped")
    ]
    page = op_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Audit log" in page and "<strong>olivia</strong> paused: Spring recall" in page


def test_a_refused_control_records_nothing(op_client):
    campaign = CampaignFactory(status=Campaign.Status.STOPPED)
    op_client.post(f"/campaigns/{campaign.pk}/start/")
    assert not AuditEntry.objects.exists()


def test_campaign_controls_and_edits_through_the_api_are_recorded_with_the_tokens_user(role_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = role_user(OPERATOR, "api-bot")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    version = AgentVersionFactory()
    created = api.post("/api/campaigns/", {"name": "Via API", "agent_version": version.pk, "days": [1]}, format="json")
    assert created.status_code == 201
    campaign = Campaign.objects.get(pk=created.json()["id"])
    api.patch(f"/api/campaigns/{campaign.pk}/", {"max_concurrent": 3}, format="json")
    api.post(f"/api/campaigns/{campaign.pk}/start/")
    api.post(f"/api/campaigns/{campaign.pk}/pause/")
    api.post(f"/api/campaigns/{campaign.pk}/pause/")  # refused (409): not recorded
    assert [verb for _, verb, _ in _entries(campaign)] == ["created", "edited", "started", "paused"]
    assert AuditEntry.objects.get(verb="edited").data == {"fields": ["max_concurrent"]}


def test_publish_and_rollback_are_recorded_on_the_version_and_shown_on_its_page(op_client):
    first = AgentVersionFactory(number=1)
    draft = AgentVersionFactory(agent=first.agent, number=2, published_at=None)
    op_client.post(f"/agents/versions/{draft.pk}/publish/")
    assert _entries(draft) == [("olivia", "published", f"{first.agent.name} v2")]
    op_client.post(f"/agents/versions/{first.pk}/rollback/")
    rolled = AuditEntry.objects.get(verb="rolled back")
    assert rolled.data == {"from_version": 1} and rolled.target_id != str(first.pk)
    page = op_client.get(f"/agents/versions/{draft.pk}/").content.decode()
    assert "<strong>olivia</strong> published" in page


def test_a_lead_import_is_recorded(op_client):
    upload = SimpleUploadedFile("spring.csv", b"phone\n4155550101\n")
    op_client.post("/leads/import/", {"file": upload, "default_region": "US"})
    entry = AuditEntry.objects.get()
    assert (entry.actor_name, entry.verb, entry.summary) == ("olivia", "imported leads", "spring.csv")


def test_the_call_page_shows_its_entries(op_client, operator):
    call = CallFactory()
    audit_record(actor=operator, verb="hung up", target=call, summary="from the console")
    page = op_client.get(f"/calls/{call.pk}/").content.decode()
    assert "<strong>operator</strong> hung up: from the console" in page


def test_a_system_action_and_a_deleted_user_keep_their_entries(role_user):
    campaign = CampaignFactory()
    audit_record(actor=None, verb="paused", target=campaign, summary="Circuit breaker")
    user = role_user(OPERATOR, "leaver")
    audit_record(actor=user, verb="started", target=campaign)
    user.delete()
    assert _entries(campaign) == [("", "paused", "Circuit breaker"), ("leaver", "started", "")]


def test_an_objects_entries_cost_one_query_however_many(django_assert_num_queries, operator):
    campaign = CampaignFactory()
    for _ in range(30):
        audit_record(actor=operator, verb="paused", target=campaign)
    audit_entries_for(campaign)  # warms the content type cache
    with django_assert_num_queries(1):
        assert len(list(audit_entries_for(campaign, limit=20))) == 20


def test_the_admin_lists_entries_read_only(admin_client, operator):
    campaign = CampaignFactory(name="Listed")
    entry = audit_record(actor=operator, verb="started", target=campaign, summary="Listed")
    listing = admin_client.get("/admin/audit/auditentry/")
    assert listing.status_code == 200 and b"Listed" in listing.content
    assert admin_client.get("/admin/audit/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_times_on_the_page_follow_the_users_timezone(client, role_user):
    from accounts.services import user_timezone_set

    user = role_user(OPERATOR, "tokyo")
    user_timezone_set(user=user, timezone="Asia/Tokyo")
    campaign = CampaignFactory()
    entry = audit_record(actor=user, verb="started", target=campaign)
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC))
    client.force_login(user)  # login puts the preference in the session
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "2025-03-03 21:00:00 JST" in page
