"""Roles in a real browser (Debian's Chromium driven by Playwright): each role logs in; a viewer is refused.

A viewer sees the campaign page with its audit log but no Start button, and
a POST sent anyway gets the 403 page and the campaign stays a draft; an operator's Start works and
is recorded under their name. Screenshots of each page are the test's output
(their paths are printed).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from audit.models import AuditEntry
from campaigns.models import Campaign
from tests.e2e.browser_support import browser, log_in
from tests.e2e.browser_support import screenshot as _shot
from tests.factories import CampaignFactory, UserFactory
from voiceops.roles import ADMIN, OPERATOR, VIEWER, role_assign

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "role-pass-123"


def _login(browser: Browser, base_url: str, username: str) -> Page:
    return log_in(browser, base_url, username, PASSWORD, "/campaigns/", width=1024)


def test_each_role_logs_in_and_a_viewer_is_refused(voice_server, transactional_db, browser, tmp_path):
    for role in (ADMIN, OPERATOR, VIEWER):
        user = UserFactory(username=f"{role}-in-browser", password=PASSWORD, is_staff=False, is_superuser=False)
        role_assign(user=user, role=role)
    campaign = CampaignFactory(name="Browser recall")
    detail = f"{voice_server.base_url}/campaigns/{campaign.pk}/"

    for role in (ADMIN, OPERATOR, VIEWER):
        page = _login(browser, voice_server.base_url, f"{role}-in-browser")
        assert "Browser recall" in page.content()
        _shot(page, tmp_path / f"campaigns-as-{role}.png")
        page.context.close()

    viewer = _login(browser, voice_server.base_url, f"{VIEWER}-in-browser")
    viewer.goto(detail)
    # A viewer is shown no Start button; a POST sent anyway (with a valid CSRF token) is refused.
    assert viewer.locator("button", has_text="Start").count() == 0
    refused = viewer.evaluate(
        """url => fetch(url, {method: 'POST', headers: JSON.parse(document.body.getAttribute('hx-headers'))})
                 .then(async r => ({status: r.status, body: await r.text()}))""",
        detail + "start/",
    )
    assert refused["status"] == 403 and "Not allowed" in refused["body"]
    _shot(viewer, tmp_path / "viewer-no-controls.png")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and not AuditEntry.objects.exists()
    viewer.context.close()

    operator = _login(browser, voice_server.base_url, f"{OPERATOR}-in-browser")
    operator.goto(detail)
    operator.locator("button", has_text="Start").click()
    operator.wait_for_selector(".audit-entries li")
    assert "operator-in-browser" in operator.inner_text(".audit-entries") and "started" in operator.inner_text(
        ".audit-entries"
    )
    _shot(operator, tmp_path / "operator-started.png")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    operator.context.close()
