"""The agents console with the Django test client: full pages, and partials for htmx."""

import json

import pytest
from django.urls import reverse

from agents.models import AgentVersion
from agents.services import agent_version_create_draft, agent_version_publish
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent():
    agent = AgentFactory(name="Front desk")
    agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "Hello."}))
    agent_version_publish(
        version=agent_version_create_draft(agent=agent, config={"greeting": "Hi!", "max_duration_s": 60})
    )
    return agent


def test_pages_need_a_login(client, agent):
    response = client.get(reverse("agents:list"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_agent_list_and_detail(operator_client, agent):
    listing = operator_client.get(reverse("agents:list"))
    assert "Front desk" in listing.text and "v2" in listing.text
    detail = operator_client.get(reverse("agents:detail", args=[agent.pk]))
    assert "<strong>live</strong>" in detail.text
    assert "Roll back to this" in detail.text
    assert "<html" in detail.text
    partial = operator_client.get(reverse("agents:detail", args=[agent.pk]), **HTMX)
    assert "<html" not in partial.text and 'id="version-2"' in partial.text


def test_edit_a_draft_with_field_level_errors_then_save_and_publish(operator_client, agent):
    operator_client.post(reverse("agents:new_draft", args=[agent.pk]))
    draft = agent.versions.get(number=3)
    assert draft.config == {"greeting": "Hi!", "max_duration_s": 60} and not draft.is_published
    url = reverse("agents:edit", args=[draft.pk])

    bad = '{"greeting": "Hey", "turn_taking": {"end_of_turn_silence_ms": 5}, "flow": {"start": "x", "nodes": {}}}'
    response = operator_client.post(url, {"config": bad, "notes": "faster"}, **HTMX)
    assert response.status_code == 400
    assert "<html" not in response.text
    assert "turn_taking.end_of_turn_silence_ms: must be at least 100" in response.text
    assert "flow.nodes: must be an object of node id to node" in response.text
    # The operator's text comes back as typed: nothing is lost.
    assert "&quot;end_of_turn_silence_ms&quot;: 5" in response.text
    draft.refresh_from_db()
    assert draft.config == {"greeting": "Hi!", "max_duration_s": 60}

    not_json = operator_client.post(url, {"config": '{"greeting": '}, **HTMX)
    assert not_json.status_code == 400 and "not valid JSON at line 1" in not_json.text

    good = json.dumps({"greeting": "Hey {{first_name}}", "turn_taking": {"end_of_turn_silence_ms": 700}})
    saved = operator_client.post(url, {"config": good, "notes": "slower turns"}, **HTMX)
    assert saved.status_code == 200 and "Draft saved." in saved.text
    draft.refresh_from_db()
    assert draft.config["turn_taking"] == {"end_of_turn_silence_ms": 700} and draft.notes == "slower turns"

    published = operator_client.post(reverse("agents:publish", args=[draft.pk]), **HTMX)
    assert "v3 is published and now live." in published.text
    assert agent.live_version.pk == draft.pk


def test_a_published_version_shows_read_only_and_refuses_edits(operator_client, agent):
    version = agent.versions.get(number=1)
    page = operator_client.get(reverse("agents:version", args=[version.pk]))
    assert "A published version never changes" in page.text and "<textarea" not in page.text
    response = operator_client.post(reverse("agents:edit", args=[version.pk]), {"config": '{"greeting": "x"}'})
    assert response.status_code == 400 and "is published and cannot be edited" in response.text
    assert AgentVersion.objects.get(pk=version.pk).config == {"greeting": "Hello."}


def test_diff_page_and_partial(operator_client, agent):
    url = reverse("agents:diff", args=[agent.pk])
    page = operator_client.get(url)
    assert "<code>max_duration_s</code>" in page.text and "added" in page.text
    partial = operator_client.get(url, {"old": "2", "new": "1"}, **HTMX)
    assert "<html" not in partial.text
    assert "<code>greeting</code>" in partial.text and "removed" in partial.text
    missing = operator_client.get(url, {"old": "9", "new": "1"}, **HTMX)
    assert missing.status_code == 400 and "Choose two versions" in missing.text


def test_rollback_from_the_console(operator_client, agent):
    v1 = agent.versions.get(number=1)
    response = operator_client.post(reverse("agents:rollback", args=[v1.pk]), **HTMX)
    assert "Rolled back: v3 is live with v1&#x27;s configuration." in response.text
    assert agent.live_version.config == {"greeting": "Hello."}
    plain = operator_client.post(reverse("agents:rollback", args=[v1.pk]))
    assert plain.status_code == 302
