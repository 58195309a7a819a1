"""The dashboard: today's figures from the database, each version's own success dispositions, alerts, query counts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.dashboard import day_figures, llm_state_reset
from calls.models import Call, CallTurn
from tests.agents.brains.conftest import dead_url
from tests.factories import AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

__all__ = ["dead_url"]  # the refused-connection endpoint fixture

pytestmark = pytest.mark.django_db


def _call(version, *, status="completed", answered=True, disposition="", created=None, **extra):
    call = CallFactory(agent_version=version, status=status, disposition=disposition, **extra)
    fields = {"answered_at": timezone.now() if answered else None}
    if created is not None:
        fields["created_at"] = created
    Call.objects.filter(pk=call.pk).update(**fields)
    return call


def _reply(call, index, ms):
    CallTurn.objects.create(
        call=call, index=index, speaker="agent", text="ok", timings={"stt_done": ms / 3, "first_frame_sent": ms}
    )


def test_figures_match_the_database_with_each_versions_success_dispositions():
    booked = AgentVersionFactory(config={"brain": "flow", "greeting": "Hi", "success_dispositions": ["booked"]})
    qualified = AgentVersionFactory(config={"brain": "flow", "greeting": "Hi", "success_dispositions": ["qualified"]})
    a = _call(booked, disposition="booked")  # success
    _call(booked, disposition="qualified")  # not a success for this version
    _call(qualified, disposition="qualified")  # success
    _call(qualified, status="no-answer", answered=False)
    _call(qualified, status="in-progress", answered=True)  # live, not ended
    _call(booked, disposition="booked", created=timezone.now() - dt.timedelta(days=2))  # not today
    latencies = [500, 700, 900, 1100]
    for index, ms in enumerate(latencies):
        _reply(a, index, ms)
    CallTurn.objects.create(call=a, index=9, speaker="agent", text="greeting", timings={"first_frame_sent": 50})

    figures = day_figures()

    assert figures.live_now == 1
    assert figures.calls_today == 5
    assert figures.ended_today == 4
    assert figures.connected_today == 4  # the live call was answered too
    assert figures.succeeded_today == 2
    assert figures.connect_rate == pytest.approx(1.0)
    assert figures.success_rate == pytest.approx(0.5)
    assert figures.v2v_replies == 4  # the greeting answers no speech
    assert figures.v2v_p50_ms == pytest.approx(np.percentile(latencies, 50))
    assert figures.v2v_p95_ms == pytest.approx(np.percentile(latencies, 95))


def test_today_starts_at_the_operators_midnight():
    version = AgentVersionFactory()
    with timezone.override("Pacific/Kiritimati"):  # UTC+14: its day is never UTC's day
        midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        _call(version, created=midnight)
        _call(version, created=midnight - dt.timedelta(minutes=1))
        assert day_figures().calls_today == 1


def test_dashboard_page_shows_figures_and_running_campaign_progress(operator_client):
    version = AgentVersionFactory()
    campaign = CampaignFactory(name="Recall", agent_version=version, status="running")
    leads = [LeadFactory(campaign=campaign) for _ in range(4)]
    for lead in leads[:2]:
        lead.status = "completed"
        lead.save(update_fields=["status"])
    _call(version, disposition="booked", campaign=campaign, lead=leads[0])
    page = operator_client.get("/").content.decode()
    assert 'id="fig-today">1<' in page and 'id="fig-success">100%<' in page
    assert "Recall" in page and 'value="50"' in page and "2 remaining" in page and "1 succeeded" in page
    fragment = operator_client.get("/dashboard/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'id="fig-today">1<' in fragment


def test_alerts_name_the_paused_campaign_the_failed_call_and_a_dead_llm_endpoint(operator_client, settings, dead_url):
    CampaignFactory(name="Spring", status="paused", status_reason="Circuit breaker: 9 of the last 10 attempts failed")
    _call(AgentVersionFactory(), status="failed", answered=False, failure_reason="carrier refused the number")
    settings.LLM_BASE_URLS = [dead_url]
    llm_state_reset()
    try:
        alerts = operator_client.get("/dashboard/alerts/").content.decode()
    finally:
        llm_state_reset()
    assert "Spring" in alerts and "Circuit breaker" in alerts
    assert "carrier refused the number" in alerts
    assert "LLM endpoint down:</strong> llm-1" in alerts


def test_alerts_are_quiet_when_nothing_is_wrong(operator_client, settings):
    settings.LLM_BASE_URLS = []
    assert "Nothing needs attention" in operator_client.get("/dashboard/alerts/").content.decode()


@pytest.mark.parametrize("path", ["/", "/dashboard/", "/dashboard/alerts/"])
def test_dashboard_queries_do_not_grow_with_rows(operator_client, django_assert_num_queries, path, settings):
    settings.LLM_BASE_URLS = []

    def add_rows(n):
        version = AgentVersionFactory()
        campaign = CampaignFactory(agent_version=version, status="running")
        CampaignFactory(agent_version=version, status="paused", status_reason="breaker")
        for _ in range(n):
            lead = LeadFactory(campaign=campaign)
            call = _call(version, disposition="booked", campaign=campaign, lead=lead)
            _reply(call, 0, 600)
            _call(version, status="failed", answered=False)

    add_rows(1)
    operator_client.get(path)  # session and permission caches warm
    with CaptureQueriesContext(connection) as first:
        operator_client.get(path)
    add_rows(6)
    with django_assert_num_queries(len(first)):
        operator_client.get(path)
