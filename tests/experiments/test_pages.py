"""Console pages and admin for experiments: set up, start, stop and promote, results with their chart,
no inline script or style (the pages hold under a strict Content-Security-Policy)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from experiments.models import Assignment, Experiment
from experiments.services import VariantSpec, experiment_create, experiment_start
from tests.factories import AgentFactory, AgentVersionFactory, CallFactory, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_versions():
    agent = AgentFactory(name="Ava")
    return agent, AgentVersionFactory(agent=agent, number=1), AgentVersionFactory(agent=agent, number=2)


@pytest.fixture
def running(agent_versions):
    agent, v1, v2 = agent_versions
    experiment = experiment_create(
        name="Greeting test", agent=agent, variants=[VariantSpec("A", v1), VariantSpec("B", v2)]
    )
    experiment_start(experiment=experiment)
    for variant, outcomes in (
        (experiment.variants.get(name="A"), 30 * [""] + 10 * ["booked"]),
        (experiment.variants.get(name="B"), 20 * [""] + 20 * ["booked"]),
    ):
        for disposition in outcomes:
            lead = LeadFactory()
            Assignment.objects.create(experiment=experiment, variant=variant, lead=lead)
            CallFactory(
                variant=variant,
                lead=lead,
                agent_version=variant.agent_version,
                answered_by="human",
                disposition=disposition,
                duration_seconds=60,
            )
    return experiment


def assert_no_inline_script_or_style(html: str) -> None:
    """What a CSP without 'unsafe-inline' would block: inline <script>, <style>, style= and on*= attributes."""
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_list_links_every_experiment_and_the_nav_links_the_list(operator_client, running):
    page = operator_client.get(reverse("experiments:list")).content.decode()
    assert reverse("experiments:detail", args=[running.pk]) in page and "Running" in page
    assert f'href="{reverse("experiments:list")}"' in operator_client.get(reverse("console:home")).content.decode()


def test_setup_offers_the_agents_published_versions_and_its_draft_campaigns(operator_client, agent_versions):
    agent, v1, v2 = agent_versions
    AgentVersionFactory(agent=agent, number=3, published_at=None)
    campaign = CampaignFactory(agent_version=v1, name="Spring recall")
    page = operator_client.get(reverse("experiments:new"), {"agent": agent.pk}).content.decode()
    assert f'name="include_{v1.pk}"' in page and f'name="include_{v2.pk}"' in page
    assert "v3" not in page  # a draft is not offered
    assert "Spring recall" in page and f'value="{campaign.pk}"' in page
    # Choosing the agent over htmx swaps in its rows only.
    partial = operator_client.get(reverse("experiments:new"), {"agent": agent.pk}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and f'name="weight_{v2.pk}"' in partial.content.decode()
    assert_no_inline_script_or_style(page)


def test_setup_creates_a_draft_and_goes_to_its_page(operator_client, operator, agent_versions):
    agent, v1, v2 = agent_versions
    campaign = CampaignFactory(agent_version=v1)
    response = operator_client.post(
        reverse("experiments:new"),
        {
            "agent": agent.pk,
            "name": "Warm greeting",
            "hypothesis": "Warmer books more.",
            f"include_{v1.pk}": "on",
            f"name_{v1.pk}": "Standard",
            f"weight_{v1.pk}": "1",
            f"include_{v2.pk}": "on",
            f"name_{v2.pk}": "Warm",
            f"weight_{v2.pk}": "3",
            "control": str(v1.pk),
            "campaigns": [campaign.pk],
        },
    )
    experiment = Experiment.objects.get(name="Warm greeting")
    assert response.status_code == 302 and response.url == reverse("experiments:detail", args=[experiment.pk])
    assert experiment.created_by == operator and experiment.status == "draft"
    assert list(experiment.variants.order_by("pk").values_list("name", "weight", "is_control")) == [
        ("Standard", 1, True),
        ("Warm", 3, False),
    ]
    assert experiment.campaigns.get() == campaign


def test_setup_errors_come_back_with_what_was_typed(operator_client, agent_versions):
    agent, v1, _v2 = agent_versions
    response = operator_client.post(
        reverse("experiments:new"),
        {
            "agent": agent.pk,
            "name": "Lonely",
            f"include_{v1.pk}": "on",
            f"name_{v1.pk}": "Only",
            f"weight_{v1.pk}": "2",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400 and "at least two variants" in page
    assert 'value="Lonely"' in page and 'value="Only"' in page
    assert not Experiment.objects.exists()


def test_start_stop_and_promote_from_the_console(operator_client, operator, agent_versions):
    agent, v1, v2 = agent_versions
    experiment = experiment_create(
        name="Greeting test", agent=agent, variants=[VariantSpec("A", v1), VariantSpec("B", v2)]
    )
    page = operator_client.get(reverse("experiments:detail", args=[experiment.pk])).content.decode()
    assert 'id="start-experiment"' in page and 'id="stop-experiment"' not in page
    operator_client.post(reverse("experiments:start", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.started_by == operator
    winner = experiment.variants.get(name="B")
    response = operator_client.post(
        reverse("experiments:stop", args=[experiment.pk]), {"winner": winner.pk}, follow=True
    )
    experiment.refresh_from_db()
    assert (experiment.status, experiment.winner, experiment.stopped_by) == ("stopped", winner, operator)
    page = response.content.decode()
    assert "B is promoted" in page and "B, promoted" in page
    # A second stop is refused with a message, not an error page.
    again = operator_client.post(reverse("experiments:stop", args=[experiment.pk]), follow=True)
    assert "cannot stop an experiment that is stopped" in again.content.decode()


def test_the_results_page_shows_the_figures_and_a_chart_of_the_intervals(operator_client, running):
    response = operator_client.get(reverse("experiments:detail", args=[running.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="results-table"' in page and "25.0%" in page and "50.0%" in page  # 10/40 and 20/40
    assert page.count('<svg class="chart"') == 2  # rates, and differences from control
    assert "Difference from control" in page and "stroke-dasharray" in page  # the zero line
    assert "Always-valid interval" in page
    assert re.search(r'<time class="local-time" datetime="\d{4}-\d\d-\d\dT[^"]+">', page)
    assert "experiments/experiments.js" in page
    assert_no_inline_script_or_style(page)
    # The results panel refreshes itself over htmx: the partial alone.
    partial = operator_client.get(reverse("experiments:detail", args=[running.pk]), HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and 'id="results-table"' in partial.content.decode()


def test_the_results_page_says_so_plainly_when_a_guardrail_breaks(operator_client, running):
    b = running.variants.get(name="B")
    for _ in range(40):
        lead = LeadFactory()
        Assignment.objects.create(experiment=running, variant=b, lead=lead)
        CallFactory(
            variant=b, lead=lead, agent_version=b.agent_version, answered_by="human", disposition="", duration_seconds=3
        )
    page = operator_client.get(reverse("experiments:detail", args=[running.pk])).content.decode()
    assert 'id="guardrail-breaches"' in page and "hang up within 10 s" in page


def test_pages_need_a_login(client, running):
    for url in (
        reverse("experiments:list"),
        reverse("experiments:new"),
        reverse("experiments:detail", args=[running.pk]),
    ):
        assert client.get(url).status_code == 302


# --- admin --------------------------------------------------------------------------------------


def test_the_admin_page_shows_results_and_the_lifecycle_controls(operator_client, running):
    page = operator_client.get(reverse("admin:experiments_experiment_change", args=[running.pk])).content.decode()
    assert 'id="experiment-results"' in page and 'id="results-table"' in page and '<svg class="chart"' in page
    assert reverse("admin:experiments_experiment_stop", args=[running.pk]) in page


def test_the_admin_starts_stops_and_promotes_through_the_services(operator_client, operator, agent_versions):
    agent, v1, v2 = agent_versions
    experiment = experiment_create(
        name="Greeting test", agent=agent, variants=[VariantSpec("A", v1), VariantSpec("B", v2)]
    )
    operator_client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.started_by == operator
    winner = experiment.variants.get(name="A")
    operator_client.post(reverse("admin:experiments_experiment_stop", args=[experiment.pk]), {"winner": winner.pk})
    experiment.refresh_from_db()
    assert (experiment.status, experiment.winner, experiment.stopped_by) == ("stopped", winner, operator)


def test_the_admin_actions_start_and_stop_the_selected(operator_client, agent_versions):
    agent, v1, v2 = agent_versions
    ready = experiment_create(name="Ready", agent=agent, variants=[VariantSpec("A", v1), VariantSpec("B", v2)])
    lonely = Experiment.objects.create(name="Lonely", agent=agent)
    changelist = reverse("admin:experiments_experiment_changelist")
    response = operator_client.post(
        changelist, {"action": "start_selected", "_selected_action": [ready.pk, lonely.pk]}, follow=True
    )
    ready.refresh_from_db()
    lonely.refresh_from_db()
    assert (ready.status, lonely.status) == ("running", "draft")
    assert "Lonely was not started: An experiment needs at least two variants." in response.content.decode()
    operator_client.post(changelist, {"action": "stop_selected", "_selected_action": [ready.pk]})
    ready.refresh_from_db()
    assert ready.status == "stopped" and ready.winner is None


def test_the_admin_inline_refuses_a_draft_version(operator_client, agent_versions):
    agent, v1, _ = agent_versions
    draft = AgentVersionFactory(agent=agent, number=3, published_at=None)
    response = operator_client.post(
        reverse("admin:experiments_experiment_add"),
        {
            "name": "Admin made",
            "key": "admin-made",
            "agent": agent.pk,
            "hypothesis": "",
            "variants-TOTAL_FORMS": "2",
            "variants-INITIAL_FORMS": "0",
            "variants-MIN_NUM_FORMS": "0",
            "variants-MAX_NUM_FORMS": "1000",
            "variants-0-name": "A",
            "variants-0-agent_version": v1.pk,
            "variants-0-weight": "1",
            "variants-0-is_control": "on",
            "variants-1-name": "B",
            "variants-1-agent_version": draft.pk,
            "variants-1-weight": "1",
        },
    )
    assert response.status_code == 200 and "is a draft; publish it" in response.content.decode()
    assert not Experiment.objects.filter(name="Admin made").exists()


def test_assignments_are_read_only_in_the_admin(operator_client, running):
    assignment = Assignment.objects.filter(experiment=running).first()
    page = operator_client.get(reverse("admin:experiments_assignment_change", args=[assignment.pk])).content.decode()
    assert 'name="variant"' not in page
    assert operator_client.get(reverse("admin:experiments_assignment_add")).status_code == 403


def test_the_list_counts_each_experiments_variants_and_leads(operator_client, running):
    page = operator_client.get(reverse("experiments:list")).content.decode()
    # 2 variants, 80 leads (a join of both would report 160 and 160).
    assert re.search(r'<td class="num">2</td>\s*<td class="num">80</td>', page), page
