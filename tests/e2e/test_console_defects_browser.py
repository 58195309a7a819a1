"""Console fixes an operator sees, in Debian's Chromium: the browser's timezone as the default, a lead's phone
edited in its form, and campaign progress arriving over the console socket (polling only while it is down).

A screenshot of each page is the test's output (paths printed).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page

from calls.models import Call
from calls.services import call_set_status
from campaigns.models import Lead
from campaigns.services import leads_assign_campaign
from tests.e2e.browser_support import browser, log_in
from tests.e2e.browser_support import screenshot as _shot
from tests.e2e.conftest import run_voice_server
from tests.factories import CallFactory, CampaignFactory, LeadFactory, UserFactory
from voiceops.roles import OPERATOR, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "console-fixes-123"


@pytest.fixture(scope="module")
def console_server(django_db_setup, django_db_blocker):
    # A server of this module's own (audit writes cache content type ids: see test_console_pages_browser).
    with run_voice_server(warm_up=False) as server:
        yield server


def _operator(name: str) -> None:
    user = cast(User, UserFactory(username=name, password=PASSWORD, is_staff=False, is_superuser=False))
    role_assign(user=user, role=OPERATOR)


def _login(browser: Browser, base_url: str, username: str, path: str, **context: object) -> Page:
    return log_in(browser, base_url, username, PASSWORD, path, width=1000, **context)


def test_an_operator_without_a_preference_sees_the_browsers_timezone(
    console_server, transactional_db, browser, tmp_path
):
    _operator("tokyo-operator")
    call = CallFactory()
    Call.objects.filter(pk=call.pk).update(created_at=dt.datetime(2025, 3, 3, 18, 0, tzinfo=dt.UTC))
    page = _login(browser, console_server.base_url, "tokyo-operator", f"/calls/{call.pk}/", timezone_id="Asia/Tokyo")
    # The first page reports the zone and fetches itself again, now rendered in it.
    page.wait_for_selector("text=2025-03-04 03:00 JST")
    assert page.get_attribute("body", "data-browser-timezone") == "Asia/Tokyo"
    _shot(page, tmp_path / "call-in-browser-timezone.png")

    page.goto(f"{console_server.base_url}/settings/")
    assert "follow your browser's timezone, Asia/Tokyo" in page.inner_text("main")
    assert page.input_value("select[name=timezone]") == "Asia/Tokyo"
    page.select_option("select[name=timezone]", "Europe/Paris")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Times are now shown in Europe/Paris.")
    _shot(page, tmp_path / "settings-picked-timezone.png")
    page.goto(f"{console_server.base_url}/calls/{call.pk}/")
    assert "2025-03-03 19:00 CET" in page.inner_text("main")  # the choice wins over the browser
    assert page.get_attribute("body", "data-browser-timezone-url") is None
    page.context.close()


def test_an_operator_edits_a_leads_phone(console_server, transactional_db, browser, tmp_path):
    _operator("lead-editor")
    spring = CampaignFactory(name="Spring recall")
    LeadFactory(first_name="Omar", last_name="Haddad", phone="+14155550177", campaign=spring)
    lead = LeadFactory(first_name="Maria", last_name="Lopez", phone="+14155550101", campaign=spring)
    page = _login(browser, console_server.base_url, "lead-editor", f"/leads/{lead.pk}/")

    page.fill("input[name=phone]", "415-555-0177")
    page.click("form:has(input[name=phone]) button[type=submit]")
    error = page.locator("label:has(input[name=phone]) .field-error")
    assert error.inner_text() == "+14155550177 already belongs to Omar Haddad in campaign Spring recall."
    _shot(page, tmp_path / "lead-phone-taken.png")

    page.fill("input[name=phone]", "(415) 555-0199")
    page.click("form:has(input[name=phone]) button[type=submit]")
    page.wait_for_selector("text=Lead saved.")
    assert page.input_value("input[name=phone]") == "+14155550199"
    assert "edited the lead" in page.inner_text(".audit-entries")
    lead.refresh_from_db()
    assert lead.phone == "+14155550199"
    _shot(page, tmp_path / "lead-phone-saved.png")
    page.context.close()


def test_campaign_progress_arrives_over_the_socket(console_server, transactional_db, browser, tmp_path):
    _operator("campaign-watcher")
    campaign = CampaignFactory(name="Live progress", status="running")
    leads = [LeadFactory(campaign=campaign) for _ in range(3)]
    page = _login(browser, console_server.base_url, "campaign-watcher", f"/campaigns/{campaign.pk}/")
    page.wait_for_selector("body[data-campaign-socket=open]")
    assert page.inner_text("#progress-dialed") == "0"

    call = CallFactory(campaign=campaign, lead=leads[0], agent_version=campaign.agent_version)
    call_set_status(call_id=call.pk, status=Call.Status.RINGING)
    page.wait_for_function("() => document.querySelector('#progress-dialed').textContent === '1'", timeout=15_000)
    # The push also brought the rest of the panel back (the attempt in the table).
    page.wait_for_selector(f"a[href='/calls/{call.pk}/']")
    _shot(page, tmp_path / "campaign-detail-live.png")

    page.goto(f"{console_server.base_url}/campaigns/")
    page.wait_for_selector("body[data-campaign-socket=open]")
    figures = page.locator(f"#campaign-progress-{campaign.pk} .progress-figures")
    assert "of 3 leads done" in figures.inner_text()
    LeadFactory.create_batch(2)
    leads_assign_campaign(leads=Lead.objects.exclude(campaign=campaign), campaign_id=campaign.pk)
    page.wait_for_function(
        f"() => document.querySelector('#campaign-progress-{campaign.pk} .progress-figures')"
        ".textContent.includes('of 5 leads done')",
        timeout=15_000,
    )
    _shot(page, tmp_path / "campaign-list-live.png")
    page.context.close()


def test_campaign_progress_is_polled_while_the_socket_is_down(console_server, transactional_db, browser, tmp_path):
    _operator("no-socket")
    campaign = CampaignFactory(name="Polled progress", status="running")
    leads = [LeadFactory(campaign=campaign) for _ in range(2)]
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.route_web_socket("**/ws/console/live/**", lambda socket: socket.close())  # the socket never opens
    page = context.new_page()
    page.goto(f"{console_server.base_url}/login/?next=/campaigns/{campaign.pk}/")
    page.fill("input[name=username]", "no-socket")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#progress-dialed")
    assert page.get_attribute("body", "data-campaign-socket") != "open"

    call = CallFactory(campaign=campaign, lead=leads[0], agent_version=campaign.agent_version)
    call_set_status(call_id=call.pk, status=Call.Status.RINGING)
    page.wait_for_function("() => document.querySelector('#progress-dialed').textContent === '1'", timeout=20_000)
    _shot(page, tmp_path / "campaign-detail-polled.png")
    context.close()
