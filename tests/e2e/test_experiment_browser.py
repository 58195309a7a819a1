"""A two-variant experiment end to end, in a real browser (Debian's Chromium driven by Playwright).

An operator sets the experiment up on the console (agent, both versions, a
draft campaign), starts it, and the campaign dials its leads through the
simulated carrier, where the live engine runs each lead's variant with the
packaged models. The experiment's page then shows the results and their
chart, under a Content-Security-Policy without 'unsafe-inline' and with times
in the browser's own timezone. A screenshot of the page is the test's output
(the path is printed).
"""

from __future__ import annotations

import io
import re
import time as monotonic_clock
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from playwright.sync_api import Route

from agents.models import AgentVersion
from analytics.services import rollups_refresh
from calls.models import Call
from campaigns.dialer import dialer_tick
from campaigns.models import Campaign, Lead
from campaigns.services import campaign_control
from experiments.models import Experiment
from experiments.selectors import experiment_results
from experiments.services import variant_pick
from sandbox.demo import DEMO_AGENT_NAME
from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.e2e.conftest import E2E_ACCOUNT_SID, VoiceServer, run_voice_server
from tests.factories import UserFactory

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

# No 'unsafe-inline' anywhere: inline script, inline style and style attributes are all refused.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'"
)
OPERATOR_ZONE = "America/Los_Angeles"
# Two leads per variant: one who books, one who declines.
PERSONAS = ("booker", "not_interested")


@pytest.fixture(scope="module")
def carrier_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[VoiceServer]:
    """daphne with the simulated carrier switched on and pointed at itself."""
    env = {"SIMULATED_CARRIER": "true", "TWILIO_API_BASE_URL": "", "DIALER_DISPOSITION_GRACE_SECONDS": "3"}
    with run_voice_server(env=env) as server:
        yield server


def daytime_zone() -> str:
    for zone in ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Asia/Kolkata"):
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 20:
            return zone
    raise AssertionError("some zone in the list is always in daytime")


def with_strict_csp(route: Route) -> None:
    """Serve the experiment pages with a strict policy, as a hardened deployment would.

    Only those: the rest of the console (the login page included) still lets
    htmx add its indicator <style>, which such a policy refuses.
    """
    # Redirects go back to the browser as they are: followed here, a POST's
    # redirect would leave the browser on the POST, and a reload would repeat it.
    response = route.fetch(max_redirects=0)
    headers = {**response.headers, "content-security-policy": STRICT_CSP}
    route.fulfill(response=response, headers=headers)


def leads_two_per_variant(experiment: Experiment, campaign: Campaign, zone: str) -> dict[str, list[Lead]]:
    """Two leads for each variant, found by the experiment's own hash (lead ids differ from run to run)."""
    variants = list(experiment.variants.all())
    chosen: dict[str, list[Lead]] = {variant.name: [] for variant in variants}
    for index in range(200):
        lead = Lead.objects.create(phone=f"+1212555{1000 + index:04d}", first_name="Sam", timezone=zone, consent=True)
        arm = variant_pick(variants=variants, key=experiment.key, lead_id=lead.pk).name
        if len(chosen[arm]) < len(PERSONAS):
            lead.custom_fields = {"persona": PERSONAS[len(chosen[arm])]}
            lead.campaign = campaign
            lead.save(update_fields=["custom_fields", "campaign"])
            chosen[arm].append(lead)
        else:
            lead.delete()
        if all(len(leads) == len(PERSONAS) for leads in chosen.values()):
            return chosen
    raise AssertionError(f"200 leads did not fill both variants: {chosen}")


def test_an_experiment_set_up_started_and_read_in_the_browser(
    carrier_server, transactional_db, browser, settings, tmp_path
):
    settings.PUBLIC_BASE_URL = carrier_server.base_url
    settings.TWILIO_API_BASE_URL = carrier_server.base_url + "/carrier"
    settings.TWILIO_ACCOUNT_SID = E2E_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = carrier_server.auth_token
    settings.DIALER_DISPOSITION_GRACE_SECONDS = 3
    call_command("seed_demo", stdout=io.StringIO())  # Ava: "Demo flow" and "Warmer greeting", both published
    versions = list(
        AgentVersion.objects.filter(agent__name=DEMO_AGENT_NAME, published_at__isnull=False).order_by("number")
    )
    standard, warm = versions[0], versions[1]
    campaign = Campaign.objects.create(
        name="E2E greeting test",
        agent_version=standard,
        window_start=time(8),
        window_end=time(21),
        days=[],
        max_concurrent=2,  # two live calls at a time: the packaged models share a small CPU
        calls_per_minute=20,
    )
    UserFactory(username="experimenter", password="experimenter-pass-1")

    context = browser.new_context(timezone_id=OPERATOR_ZONE, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text[:80]}") if "Content Security Policy" in message.text else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(lambda url: urlsplit(url).path.startswith("/experiments/"), with_strict_csp)
    base = carrier_server.base_url

    page.goto(f"{base}/login/?next=/experiments/new/")
    page.fill("input[name=username]", "experimenter")
    page.fill("input[name=password]", "experimenter-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/experiments/new/")
    # Choosing the agent brings its published versions in over htmx. Before that: the first
    # page reloads itself in the browser's zone once its POST returns, which under CI load came
    # after the choice and wiped it; and htmx (a deferred script) must be listening.
    wait_for_browser_timezone(page)
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.select_option("select[name=agent]", label=DEMO_AGENT_NAME)
    page.wait_for_selector(f"input[name=include_{warm.pk}]", timeout=60_000)
    page.fill("input[name=name]", "Greeting A/B in the browser")
    page.fill("input[name=hypothesis]", "A warmer greeting books more appointments.")
    for version, name in ((standard, "Standard"), (warm, "Warm")):
        page.check(f"input[name=include_{version.pk}]")
        page.fill(f"input[name=name_{version.pk}]", name)
        page.fill(f"input[name=weight_{version.pk}]", "1")
    page.check(f"input[name=control][value='{standard.pk}']")
    page.check(f"input[name=campaigns][value='{campaign.pk}']")
    page.click("#setup-form button[type=submit]")
    page.wait_for_selector("#start-experiment")
    experiment = Experiment.objects.get(name="Greeting A/B in the browser")
    assert page.inner_text("#experiment-status") == "Draft"

    page.click("#start-experiment")
    page.wait_for_selector("#stop-experiment")
    assert page.inner_text("#experiment-status") == "Running"
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING

    # The campaign dials each lead on its variant's version through the simulated carrier.
    leads = leads_two_per_variant(experiment, campaign, daytime_zone())
    campaign_control(campaign_id=campaign.pk, action="start")
    deadline = monotonic_clock.monotonic() + 420
    while monotonic_clock.monotonic() < deadline:
        dialer_tick()
        if not Lead.objects.filter(campaign=campaign, status__in=["new", "dialing"]).exists():
            break
        monotonic_clock.sleep(1)
    calls = list(Call.objects.filter(campaign=campaign).select_related("variant", "lead"))
    summary = [(c.lead.custom_fields, c.variant.name, c.status, c.answered_by, c.disposition) for c in calls]
    assert len(calls) == 4, summary
    for call in calls:
        assert call.variant.name in leads and call.lead in leads[call.variant.name], summary
        assert call.agent_version_id == call.variant.agent_version_id

    rollups_refresh()  # what beat does every minute: the results read the rollups
    results = experiment_results(experiment=experiment)
    assert [(v.name, v.assigned) for v in results.variants] == [("Standard", 2), ("Warm", 2)]
    assert sum(v.exposed for v in results.variants) >= 3, summary  # allow one call the engine fumbled

    page.reload()
    page.wait_for_selector("#results-table")
    for variant in results.variants:
        row = page.locator(f"#results-table tr[data-variant='{variant.name}'] td")
        cells = row.all_inner_texts()
        assert cells[1:4] == [str(variant.assigned), str(variant.exposed), str(variant.successes)], cells
    assert page.locator("svg.chart").count() >= 1
    # The chart's intervals are drawn: one line and one point per variant with exposed leads.
    assert page.locator("svg.chart").first.locator("circle").count() == sum(1 for v in results.variants if v.exposed)
    # The start time is shown in the operator's zone (Pacific), not the server's UTC.
    started = page.locator("time.local-time.localized").nth(1)
    assert re.search(r"P[SD]T|GMT-[78]", started.inner_text()), started.inner_text()
    assert refused == [], refused
    assert errors == [], errors  # no script failed (the local-time formatter once threw)

    shot = tmp_path / "experiment-results.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    context.close()
