"""The console under its Content-Security-Policy, in Chromium: no page trips it; the log-in limit shows its message.

A server of its own (the log-in limit is per address, and every browser here
is 127.0.0.1): LOGIN_FAILURES_MAX=3. The demo data (seed_demo) gives every
page something to render. Violations are collected two ways: the browser's
console ("Refused to ... Content Security Policy") and the DOM's
`securitypolicyviolation` events. Screenshots are the test's output.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from agents.models import Agent
from campaigns.models import Campaign
from experiments.models import Experiment
from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.e2e.conftest import run_voice_server

__all__ = ["browser"]

pytestmark = [pytest.mark.e2e]

WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""


@pytest.fixture(scope="module")
def strict_server(django_db_setup, django_db_blocker):
    with run_voice_server(env={"LOGIN_FAILURES_MAX": "3", "LOGIN_FAILURE_WINDOW_S": "600"}) as server:
        yield server


def _page(browser: Browser) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    return page, console


def test_every_console_page_loads_without_a_csp_violation(strict_server, transactional_db, browser, tmp_path):
    call_command("seed_demo")
    base = strict_server.base_url
    page, console = _page(browser)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "voiceops-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    wait_for_browser_timezone(page)  # its reload must not land mid-test
    agent, campaign, experiment = Agent.objects.first(), Campaign.objects.first(), Experiment.objects.first()
    paths = [
        "/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        "/agents/",
        f"/agents/{agent.pk}/",
        f"/agents/versions/{agent.live_version.pk}/",
        "/experiments/",
        "/experiments/new/",
        f"/experiments/{experiment.pk}/",
        "/webhooks/",
        "/leads/import/",
        "/settings/",
        "/admin/",
        f"/admin/experiments/experiment/{experiment.pk}/change/",
    ]
    seen: dict[str, list[str]] = {}
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        seen[path] = page.evaluate("window.__csp")
        name = path.strip("/").replace("/", "-") or "live"
        page.screenshot(path=str(tmp_path / f"csp-{name}.png"), full_page=True)
    print(f"\nscreenshots: {tmp_path}")
    assert {path: found for path, found in seen.items() if found} == {}
    assert console == []
    # htmx ran under the policy: the live page's socket extension and requests work.
    page.goto(base + "/")
    assert page.evaluate("typeof window.htmx") == "object"


def test_too_many_failed_logins_show_the_limit_message(strict_server, transactional_db, browser, tmp_path):
    page, _ = _page(browser)
    base = strict_server.base_url
    for _ in range(3):
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", "nobody-here")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        assert "didn't match" in page.content()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "nobody-here")
    page.fill("input[name=password]", "wrong-password")
    with page.expect_response(lambda r: r.url.endswith("/login/") and r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 429
    assert page.get_by_role("alert").inner_text() == "Too many failed log-ins. Try again in 10 minutes."
    page.screenshot(path=str(tmp_path / "login-limited.png"), full_page=True)
    print(f"\nscreenshot: {tmp_path / 'login-limited.png'}")
