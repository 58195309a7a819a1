"""The console: campaign list and detail with controls and the breaker's reason; CSV upload with per-row errors."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from campaigns.models import Campaign, Lead, LeadImport
from campaigns.services import CampaignTransitionError, campaign_control
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_campaign_pages_show_status_reason_and_control(operator_client):
    campaign = CampaignFactory(
        name="Spring", status="paused", status_reason="Circuit breaker: 9 of the last 10 attempts failed (last: 503)."
    )
    LeadFactory(campaign=campaign)
    listing = operator_client.get("/campaigns/")
    assert listing.status_code == 200 and b"Spring" in listing.content and b"Circuit breaker" in listing.content
    detail = operator_client.get(f"/campaigns/{campaign.pk}/")
    assert b"Circuit breaker: 9 of the last 10" in detail.content
    assert b">Resume</button>" in detail.content and b">Pause</button>" not in detail.content
    partial = operator_client.get(f"/campaigns/{campaign.pk}/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b">Resume</button>" in partial.content
    response = operator_client.post(f"/campaigns/{campaign.pk}/resume/")
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and campaign.status_reason == ""
    refused = operator_client.post(f"/campaigns/{campaign.pk}/start/", follow=True)
    assert b"cannot start a campaign that is running" in refused.content


def test_console_needs_login(client):
    assert client.get("/campaigns/").status_code == 302
    assert client.get("/leads/import/").status_code == 302


def test_csv_upload_lists_bad_rows_and_keeps_good_ones(operator_client):
    campaign = CampaignFactory()
    upload = SimpleUploadedFile(
        "leads.csv", b"phone,first_name,persona\n4155550101,Maria,booker\nnope,Bad,\n+442071838750,Olivia,\n"
    )
    response = operator_client.post(
        "/leads/import/", {"file": upload, "campaign": campaign.pk, "default_region": "us"}, follow=True
    )
    assert response.status_code == 200
    job = LeadImport.objects.get()
    assert job.status == LeadImport.Status.DONE and job.created_count == 2
    assert b"2 created" in response.content and b"<td>3</td>" in response.content
    assert Lead.objects.get(phone="+14155550101").custom_fields == {"persona": "booker"}
    progress = operator_client.get(f"/leads/import/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b"<html" not in progress.content and b"hx-trigger" not in progress.content  # done: polling stops


def test_unusable_upload_is_refused_with_the_reason(operator_client):
    upload = SimpleUploadedFile("leads.csv", b"name,email\nA,a@example.com\n")
    response = operator_client.post("/leads/import/", {"file": upload, "default_region": "US"})
    assert response.status_code == 400
    assert b"no phone column" in response.content
    bad_region = operator_client.post(
        "/leads/import/", {"file": SimpleUploadedFile("x.csv", b"phone\n"), "default_region": "ZZ"}
    )
    assert bad_region.status_code == 400 and b"Unknown region" in bad_region.content


@pytest.mark.parametrize("status", Campaign.Status.values)
def test_detail_shows_exactly_the_controls_the_service_accepts(operator_client, status):
    campaign = CampaignFactory(status=status)
    page = operator_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    shown = set(re.findall(r'action="/campaigns/\d+/(\w+)/"', page))
    accepted = set()
    for action in ("start", "pause", "resume", "stop"):
        try:
            with transaction.atomic():
                campaign_control(campaign_id=campaign.pk, action=action)
                transaction.set_rollback(True)  # try each control from the same starting status
        except CampaignTransitionError:
            continue
        accepted.add(action)
    assert shown == accepted
