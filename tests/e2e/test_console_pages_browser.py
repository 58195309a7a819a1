"""The console's pages in a real browser (Debian's Chromium driven by Playwright), 768 px wide.

An operator reads the dashboard (its figures checked against the database),
searches a lead and opens its history, filters the call history and searches
the transcripts, creates, starts and pauses a campaign, imports a CSV with a
bad row, and sees the version form refuse a bad value beside its field; a
viewer reads the same pages without action buttons and a forged POST is
refused. A screenshot of every page is the test's output (paths printed).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from calls.dashboard import day_figures
from calls.models import Call, CallTurn
from campaigns.models import Campaign, Lead
from tests.e2e.browser_support import browser, log_in
from tests.e2e.browser_support import screenshot as _shot
from tests.e2e.conftest import run_voice_server
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory, UserFactory
from voiceops.roles import OPERATOR, VIEWER, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "console-pass-123"


@pytest.fixture(scope="module")
def console_server(django_db_setup, django_db_blocker):
    """A server of this module's own, and the test that writes audit entries runs first.

    A server caches content type ids (ContentType.objects.get_for_model, read by every audit
    write and by each page's audit log); the flush that ends each transactional test recreates
    the content types under new ids, so an audit write after an earlier test's page views names
    a content type that no longer exists (a 500). Here the writing test meets a fresh cache, and
    the shared server of later modules never saw these pages."""
    with run_voice_server() as server:
        yield server


def _login(browser: Browser, base_url: str, username: str, path: str = "/") -> Page:
    return log_in(browser, base_url, username, PASSWORD, path, width=768)


def _user(role):
    user = UserFactory(username=f"{role}-console", password=PASSWORD, is_staff=False, is_superuser=False)
    role_assign(user=user, role=role)


def _answered_call(version, **fields):
    call = CallFactory(agent_version=version, status="completed", **fields)
    Call.objects.filter(pk=call.pk).update(answered_at=timezone.now(), duration_seconds=95)
    return call


def test_operator_creates_starts_and_pauses_a_campaign_and_imports_leads(
    console_server, transactional_db, browser, tmp_path
):
    _user(OPERATOR)
    version = AgentVersionFactory()
    base = console_server.base_url
    page = _login(browser, base, f"{OPERATOR}-console", "/campaigns/")
    page.click("text=New campaign")
    page.fill("input[name=name]", "Autumn flu shots")
    page.select_option("select[name=agent_version]", str(version.pk))
    page.fill("input[name=window_start]", "18:00")
    page.fill("input[name=window_end]", "09:00")
    page.click("button:has-text('Create draft campaign')")
    assert "The window must end after it starts." in page.inner_text("#field-window_end")
    _shot(page, tmp_path / "campaign-form-refused.png")
    page.fill("input[name=window_start]", "09:00")
    page.fill("input[name=window_end]", "18:00")
    page.click("button:has-text('Create draft campaign')")
    page.wait_for_selector("h1:has-text('Autumn flu shots')")
    campaign = Campaign.objects.get(name="Autumn flu shots")
    page.click("button:has-text('Start')")
    page.wait_for_selector("h1:has-text('Running')")
    page.click("button:has-text('Pause')")
    page.wait_for_selector("h1:has-text('Paused')")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    audit = page.inner_text(".audit-entries")
    assert f"{OPERATOR}-console paused" in audit and f"{OPERATOR}-console started" in audit
    _shot(page, tmp_path / "campaign-paused.png")

    page.goto(f"{base}/leads/import/")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "leads.csv",
                "mimeType": "text/csv",
                "buffer": b"phone,first_name\n4155550101,Ana\nnot-a-phone,Bad\n4155550102,Ben\n",
            }
        ],
    )
    page.select_option("select[name=campaign]", str(campaign.pk))
    page.click("button[type=submit]:not(:has-text('Log out'))")
    page.wait_for_selector("text=2 created")
    assert "3" in page.inner_text("main")  # the bad row's line number
    assert Lead.objects.filter(campaign=campaign).count() == 2
    _shot(page, tmp_path / "lead-import-bad-row.png")
    page.goto(f"{base}/campaigns/")
    assert "Autumn flu shots" in page.inner_text("main")
    _shot(page, tmp_path / "campaigns.png")


def test_operator_reads_the_dashboard_searches_leads_and_calls(console_server, transactional_db, browser, tmp_path):
    _user(OPERATOR)
    version = AgentVersionFactory(config={"brain": "flow", "greeting": "Hi", "success_dispositions": ["booked"]})
    campaign = CampaignFactory(name="Spring recall", agent_version=version, status="running")
    maria = LeadFactory(first_name="Maria", last_name="Lopez", campaign=campaign, timezone="America/Los_Angeles")
    for _ in range(3):
        LeadFactory(campaign=campaign)
    booked = _answered_call(version, lead=maria, campaign=campaign, disposition="booked", direction="outbound")
    CallTurn.objects.create(call=booked, index=0, speaker="caller", text="Can I get an appointment on Tuesday?")
    CallTurn.objects.create(
        call=booked,
        index=1,
        speaker="agent",
        text="Tuesday at ten works.",
        timings={"stt_done": 320, "first_brain_text": 410, "first_tts_audio": 520, "first_frame_sent": 560},
    )
    _answered_call(version, disposition="not_interested")
    CallFactory(agent_version=version, status="failed", failure_reason="carrier refused the number")
    old = CallFactory(agent_version=version, status="completed")
    Call.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    figures = day_figures()
    base = console_server.base_url

    page = _login(browser, base, f"{OPERATOR}-console")
    page.wait_for_selector("#alerts .alerts")  # the alerts fragment loads on its own
    assert page.inner_text("#fig-today") == str(figures.calls_today) == "3"
    assert page.inner_text("#fig-success") == "50%"  # 1 booked of 2 connected
    assert page.inner_text("#fig-v2v").startswith("560 / 560")
    assert "Spring recall" in page.inner_text("#dashboard") and "carrier refused the number" in page.inner_text(
        "#alerts"
    )
    page.keyboard.press("Tab")  # keyboard: the first stop is a link in the top bar
    assert page.evaluate("document.activeElement.tagName") == "A"
    _shot(page, tmp_path / "dashboard.png")

    page.goto(f"{base}/leads/")
    page.fill("input[name=q]", "maria lop")
    page.click("button:has-text('Search')")
    page.wait_for_function("() => document.querySelector('#lead-results').innerText.includes('1 lead')")
    _shot(page, tmp_path / "leads-search.png")
    page.click("#lead-results a:has-text('Maria Lopez')")
    page.wait_for_selector("h1:has-text('Maria Lopez')")
    history = page.inner_text("main")
    assert "Spring recall" in history and ("PST" in history or "PDT" in history)
    _shot(page, tmp_path / "lead-history.png")

    page.goto(f"{base}/calls/")
    page.select_option("select[name=direction]", "outbound")
    page.fill("input[name=q]", "appointments")  # stemmed: finds "appointment"
    page.click("button:has-text('Filter')")
    page.wait_for_function("() => document.querySelector('#history-results').innerText.includes('1 call')")
    assert "q=appointments" in page.url
    _shot(page, tmp_path / "call-history-search.png")
    page.click("#history-results td a")
    page.wait_for_selector("#waterfall-title")
    assert page.locator(".waterfall rect.stage").count() == 4
    _shot(page, tmp_path / "call-page.png")


def test_version_form_refuses_a_bad_value_and_a_viewer_cannot_act(console_server, transactional_db, browser, tmp_path):
    _user(OPERATOR)
    _user(VIEWER)
    draft = AgentVersionFactory(published_at=None, config={"brain": "flow", "greeting": "Hi"})
    campaign = CampaignFactory(name="Viewer sees this")
    base = console_server.base_url

    page = _login(browser, base, f"{OPERATOR}-console", f"/agents/versions/{draft.pk}/")
    page.fill("input[name=voice_speed]", "5")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("#field-voice_speed .field-error")
    assert "must be at most 2.0" in page.inner_text("#field-voice_speed")
    draft.refresh_from_db()
    assert "voice" not in draft.config
    _shot(page, tmp_path / "version-form-refused.png")
    page.context.close()

    viewer = _login(browser, base, f"{VIEWER}-console", f"/campaigns/{campaign.pk}/")
    assert viewer.locator("button:has-text('Start')").count() == 0
    _shot(viewer, tmp_path / "campaign-as-viewer.png")
    status = viewer.evaluate(
        """url => fetch(url, {method: 'POST', headers: JSON.parse(document.body.getAttribute('hx-headers'))})
                 .then(r => r.status)""",
        f"{base}/campaigns/{campaign.pk}/start/",
    )
    assert status == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    viewer.goto(f"{base}/")
    _shot(viewer, tmp_path / "dashboard-as-viewer.png")
