"""The version settings form: common fields into the configuration, refusals beside their fields; a new agent."""

from __future__ import annotations

import pytest

from agents.forms import field_for_path
from agents.models import Agent, AgentVersion
from audit.models import AuditEntry
from tests.factories import AgentVersionFactory

pytestmark = pytest.mark.django_db

FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "say", "text": "Shall we book?", "next": "bye"},
        "bye": {"type": "end", "text": "Goodbye!", "disposition": "booked"},
    },
}


def _settings(**overrides):
    data = {
        "brain": "flow",
        "greeting": "Hello {{first_name}}!",
        "first_speaker": "agent",
        "voice_backend": "",
        "voice_voice": "",
        "voice_speed": "1.1",
        "end_of_turn_silence_ms": "600",
        "barge_in_min_ms": "250",
        "interruptible": "on",
        "backchannel_words": "mhm, yeah",
        "llm_system_prompt": "",
        "calendar": "",
        "transfer_number": "+14155550100",
        "success_dispositions": "booked, qualified",
    }
    data.update(overrides)
    return data


@pytest.fixture
def draft(db):
    return AgentVersionFactory(published_at=None, config={"brain": "flow", "greeting": "Hi", "flow": FLOW})


def test_settings_are_saved_into_the_configuration_and_the_flow_is_kept(operator_client, draft):
    page = operator_client.get(f"/agents/versions/{draft.pk}/").content.decode()
    assert "Save settings" in page and "Configuration (JSON)" in page
    response = operator_client.post(f"/agents/versions/{draft.pk}/settings/", _settings())
    assert response.status_code == 200 and "Settings saved." in response.content.decode()
    draft.refresh_from_db()
    assert draft.config["flow"] == FLOW
    assert draft.config["voice"] == {"speed": 1.1}
    assert draft.config["turn_taking"] == {
        "end_of_turn_silence_ms": 600,
        "barge_in_min_ms": 250,
        "interruptible": True,
        "backchannel_words": ["mhm", "yeah"],
    }
    assert draft.config["success_dispositions"] == ["booked", "qualified"]
    assert draft.config["transfer_number"] == "+14155550100"
    assert AuditEntry.objects.get(verb="edited the draft").target_id == str(draft.pk)


def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_saved(operator_client, draft):
    before = dict(draft.config)
    response = operator_client.post(
        f"/agents/versions/{draft.pk}/settings/", _settings(voice_speed="5", transfer_number="call me")
    )
    assert response.status_code == 400
    page = response.content.decode()
    speed = page.split('id="field-voice_speed"')[1].split('id="field-')[0]
    assert "must be at most 2.0" in speed and 'value="5"' in speed
    transfer = page.split('id="field-transfer_number"')[1].split('id="field-')[0]
    assert "field-error" in transfer
    draft.refresh_from_db()
    assert draft.config == before


def test_a_published_version_has_no_settings_form_and_refuses_a_post(operator_client):
    published = AgentVersionFactory()
    assert "Save settings" not in operator_client.get(f"/agents/versions/{published.pk}/").content.decode()
    response = operator_client.post(f"/agents/versions/{published.pk}/settings/", _settings())
    assert response.status_code == 400 and "published" in response.content.decode()


def test_viewer_sees_no_editing_and_is_refused(viewer_client, draft):
    page = viewer_client.get(f"/agents/versions/{draft.pk}/").content.decode()
    assert "Save settings" not in page and "Save draft" not in page and "Publish" not in page
    assert "New agent" not in viewer_client.get("/agents/").content.decode()
    assert viewer_client.post(f"/agents/versions/{draft.pk}/settings/", _settings()).status_code == 403
    assert viewer_client.post("/agents/new/", {"name": "X", "greeting": "Hi"}).status_code == 403


def test_create_an_agent_with_a_first_draft(operator_client):
    response = operator_client.post("/agents/new/", {"name": "Reminders", "description": "", "greeting": "Hi there"})
    agent = Agent.objects.get(name="Reminders")
    version = AgentVersion.objects.get(agent=agent)
    assert response.status_code == 302 and response["Location"] == f"/agents/versions/{version.pk}/"
    assert not version.is_published and version.config["greeting"] == "Hi there"
    taken = operator_client.post("/agents/new/", {"name": "Reminders", "greeting": "Hi"})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    assert Agent.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("voice.speed", "voice_speed"),
        ("llm.tools[1]", "llm_tools"),
        ("success_dispositions[0]", "success_dispositions"),
        ("flow.nodes.ask", None),
        ("calendar", "calendar"),
    ],
)
def test_configuration_paths_map_to_form_fields(path, field):
    assert field_for_path(path) == field
