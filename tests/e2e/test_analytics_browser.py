"""Analytics in a real browser (Debian's Chromium driven by Playwright): the overview's chart and rates,
the filter bar swapping the report over htmx (and keeping the filters in the address), the latency and cost
pages. Screenshots of each page are the test's output (their paths are printed)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.analytics.conftest import PRICING, make_call, stages
from tests.e2e.browser_support import browser, wait_for_browser_timezone
from tests.e2e.browser_support import screenshot as _shot
from tests.factories import AgentFactory, AgentVersionFactory, CampaignFactory, LeadFactory, UserFactory

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [pytest.mark.e2e]

PASSWORD = "analytics-pass-1"


def test_an_operator_reads_and_filters_analytics(voice_server, transactional_db, browser, tmp_path):
    today = timezone.now().astimezone(dt.UTC).date()
    agent = AgentFactory(name="Ava")
    v1 = AgentVersionFactory(agent=agent, number=1, config={"brain": "flow", "greeting": "Hi", "pricing": PRICING})
    v2 = AgentVersionFactory(agent=agent, number=2, config={"brain": "flow", "greeting": "Hello"})
    recall = CampaignFactory(name="Spring recall", agent_version=v1)
    web, fair = LeadFactory(custom_fields={"source": "web"}), LeadFactory(custom_fields={"source": "fair"})
    for offset, (lead, answered, disposition, v2v) in enumerate(
        [(web, "human", "booked", 620), (fair, "human", "not_interested", 710), (web, "", "", None)]
    ):
        make_call(
            day=today - dt.timedelta(days=offset),
            version=v1,
            campaign=recall,
            lead=lead,
            direction="outbound",
            status="completed" if answered else "no-answer",
            outcome="completed" if answered else "no-answer",
            answered_by=answered,
            disposition=disposition,
            duration_seconds=90 if answered else None,
            attempt_number=offset + 1,
            turns=[(stages(v2v), offset == 1, {"usage": {"prompt_tokens": 500, "completion_tokens": 60}})]
            if v2v
            else [],
        )
    for offset in range(2):
        make_call(
            day=today - dt.timedelta(days=offset),
            version=v2,
            direction="inbound",
            status="completed",
            answered_at=timezone.now(),
            disposition="booked",
            duration_seconds=45,
            turns=[(stages(540 + 100 * offset), False, {})],
        )
    UserFactory(username="analyst", password=PASSWORD)

    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = voice_server.base_url
    page.goto(f"{base}/login/?next=/analytics/")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/")
    wait_for_browser_timezone(page)  # its reload must not land mid-test

    assert page.inner_text("[data-figure=calls]") == "5"
    bars = page.locator("svg[data-chart=calls-per-day] rect[fill]")
    assert bars.count() >= 3  # stacked outcome bars (plus the legend swatches)
    rates = page.locator("table[data-table=rates] tbody tr")
    assert rates.count() == 2 and "Ava v1" in rates.first.inner_text()
    _shot(page, tmp_path / "analytics-overview.png")

    # Choosing a campaign swaps the report in place and puts the filter in the address.
    page.select_option("select[name=campaign]", label="Spring recall")
    page.wait_for_function("() => document.querySelector('[data-figure=calls]').textContent === '3'")
    assert f"campaign={recall.pk}" in page.url
    page.select_option("select[name=dimension]", value="source")
    page.wait_for_selector("text=Connect and success rates by lead source")
    labels = page.locator("table[data-table=rates] tbody tr td:first-child").all_inner_texts()
    assert sorted(labels) == ["fair", "web"]
    _shot(page, tmp_path / "analytics-filtered.png")

    # The latency page keeps the filters (its tab link carries them).
    page.click("nav.tabs >> text=Latency")
    page.wait_for_url("**/analytics/latency/**")
    assert f"campaign={recall.pk}" in page.url
    assert page.locator("svg[data-chart=voice-to-voice] polyline").count() >= 1
    v2v_row = page.locator("table[data-table=stages] tr", has_text="First frame").inner_text()
    assert "2" in v2v_row  # two replies in the campaign
    _shot(page, tmp_path / "analytics-latency.png")

    page.goto(f"{base}/analytics/cost/")
    cost = page.locator("table[data-table=cost]").inner_text()
    assert "Ava v1" in cost and "USD" in cost and "No prices on this version" in cost
    _shot(page, tmp_path / "analytics-cost.png")

    # An impossible range is refused with its reason, not a blank page.
    response = page.goto(f"{base}/analytics/?start=2026-02-10&end=2026-02-01")
    assert response is not None and response.status == 400
    assert "after the end date" in page.inner_text("#report")
    assert errors == [], errors
    page.context.close()
