"""Analytics from the console, the REST API, the CSV export and the admin: the same figures, filters
checked by one form (a clear 400 for bad ones), every role may read."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from analytics.services import rollup_day_rebuild
from tests.analytics.conftest import DAY1, DAY2

pytestmark = pytest.mark.django_db

RANGE = {"start": DAY1.isoformat(), "end": DAY2.isoformat()}


@pytest.fixture
def rolled(world):
    rollup_day_rebuild(day=DAY1)
    rollup_day_rebuild(day=DAY2)
    return world


def test_the_overview_page_shows_the_chart_and_rates_by_the_chosen_field(viewer_client, rolled):
    response = viewer_client.get(reverse("analytics:overview"), {**RANGE, "dimension": "source"})
    assert response.status_code == 200
    html = response.text
    assert 'data-chart="calls-per-day"' in html and "<rect" in html
    assert '<span class="figure-value" data-figure="calls">8</span>' in html
    assert "Connect and success rates by lead source" in html
    assert "<td>web</td>" in html and "<td>fair</td>" in html
    assert "Analytics" in html  # the nav link
    # Filtered by campaign: only its four calls.
    response = viewer_client.get(reverse("analytics:overview"), {**RANGE, "campaign": rolled.campaign.pk})
    assert '<span class="figure-value" data-figure="calls">4</span>' in response.text


def test_htmx_gets_only_the_report(viewer_client, rolled):
    response = viewer_client.get(reverse("analytics:latency"), RANGE, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="report">')
    assert 'data-chart="voice-to-voice"' in response.text and "<polyline" in response.text
    assert "<html" not in response.text


def test_the_cost_page_shows_prices_or_says_there_are_none(viewer_client, rolled):
    html = viewer_client.get(reverse("analytics:cost"), RANGE).text
    assert "Ava v1" in html and " USD</td>" in html
    assert "No prices on this version" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-11-05", "end": "2026-11-01"}, "after the end date"),
        ({"start": "2025-01-01", "end": "2026-11-01"}, "at most 366 days"),
        ({"start": "yesterday"}, "Enter a valid date"),
        ({"agent": "999999"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_a_400_that_says_why_everywhere(viewer_client, api_client, rolled, params, message):
    page = viewer_client.get(reverse("analytics:overview"), params)
    assert page.status_code == 400 and message in page.text
    api = api_client.get("/api/analytics/calls/", params)
    assert api.status_code == 400 and message in str(api.json())
    export = viewer_client.get(reverse("analytics:export", args=["calls"]), params)
    assert export.status_code == 400 and message in export.text


def test_a_version_of_another_agent_is_refused(api_client, rolled):
    response = api_client.get("/api/analytics/rates/", {"agent": rolled.v1.agent_id, "version": rolled.other.pk})
    assert response.status_code == 400
    assert response.json() == {"version": ["That version belongs to another agent."]}


def test_the_api_returns_every_report(api_client, rolled):
    calls = api_client.get("/api/analytics/calls/", RANGE).json()
    assert calls["summary"]["calls"] == 8 and calls["filters"] == RANGE
    assert {"day": DAY1.isoformat(), "outcome": "voicemail", "calls": 1} in calls["calls_per_day"]
    rates = api_client.get("/api/analytics/rates/", {**RANGE, "dimension": "campaign"}).json()
    assert {row["label"]: row["calls"] for row in rates["rates"]} == {"Spring recall": 4, "No campaign (inbound)": 4}
    latency = api_client.get("/api/analytics/latency/", RANGE).json()
    v2v = next(stage for stage in latency["stages"] if stage["stage"] == "first_frame_sent")
    assert v2v["turns"] == 6 and set(v2v) >= {"p50_ms", "p95_ms", "p99_ms"}
    interruptions = api_client.get("/api/analytics/interruptions/", RANGE).json()
    assert interruptions["interruptions_per_call"] == pytest.approx(0.4)
    cost = api_client.get("/api/analytics/cost/", {**RANGE, "version": rolled.v1.pk}).json()
    assert [row["label"] for row in cost["versions"]] == ["Ava v1"]
    assert cost["versions"][0]["cost"]["telephony"] == pytest.approx(210 / 60 * 0.014, abs=1e-6)
    assert api_client.get("/api/analytics/nothing/").status_code == 404


def test_csv_exports_match_the_api(api_client, viewer_client, rolled):
    for client, url in (
        (api_client, "/api/analytics/rates/csv/"),
        (viewer_client, reverse("analytics:export", args=["rates"])),
    ):
        response = client.get(url, RANGE)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert {row["label"]: int(row["calls"]) for row in rows} == {"Ava v1": 4, "Ava v2": 3, "Rex v1": 1}
    rows = list(
        csv.DictReader(
            io.StringIO(viewer_client.get(reverse("analytics:export", args=["cost"]), RANGE).content.decode())
        )
    )
    assert "cost_telephony" in rows[0]


def test_pages_and_api_need_a_login(client, rolled):
    assert client.get(reverse("analytics:overview")).status_code == 302
    assert client.get("/api/analytics/calls/").status_code in (401, 403)


def test_the_admin_index_lists_the_summary_page(operator_client, rolled):
    index = operator_client.get(reverse("admin:index")).text
    url = reverse("admin:analytics_analyticssummary_changelist")
    assert url in index and "Analytics summary" in index
    page = operator_client.get(url)
    assert page.status_code == 200
    assert "Analytics summary: the last 30 days" in page.text
    assert reverse("analytics:overview") in page.text


def test_the_refresh_time_is_shown_in_the_operators_timezone(viewer_client, rolled):
    from accounts.middleware import SESSION_KEY

    session = viewer_client.session
    session[SESSION_KEY] = "America/Los_Angeles"
    session.save()
    html = viewer_client.get(reverse("analytics:overview"), RANGE).text
    assert "Figures as of" in html and (" PST</time>" in html or " PDT</time>" in html)
