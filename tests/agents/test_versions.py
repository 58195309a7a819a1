"""Versions: edit a draft, publish (immutable), diff any two, roll back by publishing an old one."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from agents.models import AgentVersion, PublishedVersionImmutable
from agents.selectors import agent_version_diff
from agents.services import (
    VersionAlreadyPublished,
    agent_version_create_draft,
    agent_version_publish,
    agent_version_rollback,
    agent_version_update_draft,
)
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return AgentFactory(name="Receptionist")


def test_edit_then_publish_a_draft(agent):
    draft = agent_version_create_draft(agent=agent, config={"greeting": "Hello."})
    draft = agent_version_update_draft(version=draft, config={"greeting": "Hi there.", "max_duration_s": 120})
    assert not draft.is_published
    published = agent_version_publish(version=draft)
    assert published.is_published
    assert agent.live_version == published
    assert AgentVersion.objects.get(pk=draft.pk).config == {"greeting": "Hi there.", "max_duration_s": 120}


def test_draft_edits_are_validated_with_field_errors_and_lose_nothing(agent):
    draft = agent_version_create_draft(agent=agent, config={"greeting": "Hello."})
    with pytest.raises(ValidationError) as caught:
        agent_version_update_draft(
            version=draft, config={"turn_taking": {"barge_in_min_ms": -5}, "llm": {"tools": ["teleport"]}}
        )
    messages = caught.value.message_dict["config"]
    assert "turn_taking.barge_in_min_ms: must be at least 0" in messages
    assert any(m.startswith("llm.tools[0]: unknown tool 'teleport'") for m in messages)
    draft.refresh_from_db()
    assert draft.config == {"greeting": "Hello."}


def test_a_config_naming_a_missing_calendar_is_refused(agent):
    with pytest.raises(ValidationError, match="no calendar named 'Nope'"):
        agent_version_create_draft(agent=agent, config={"calendar": "Nope"})


def test_a_published_version_cannot_be_edited_published_again_or_deleted(agent):
    version = agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "Hi."}))
    with pytest.raises(VersionAlreadyPublished):
        agent_version_update_draft(version=version, config={"greeting": "Changed."})
    with pytest.raises(VersionAlreadyPublished):
        agent_version_publish(version=version)
    version.config = {"greeting": "Sneaky."}
    with pytest.raises(PublishedVersionImmutable):
        version.save()
    with pytest.raises(PublishedVersionImmutable):
        version.delete()
    assert AgentVersion.objects.get(pk=version.pk).config == {"greeting": "Hi."}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_changes_to_a_published_version(agent):
    version = agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "Hi."}))
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        AgentVersion.objects.filter(pk=version.pk).update(config={"greeting": "raw SQL"})
    assert "published and cannot be changed" in str(caught.value)


def test_diff_between_any_two_versions(agent):
    v1 = agent_version_publish(
        version=agent_version_create_draft(
            agent=agent, config={"greeting": "Hi.", "turn_taking": {"barge_in_min_ms": 300}, "calendar": ""}
        )
    )
    v2 = agent_version_publish(
        version=agent_version_create_draft(
            agent=agent, config={"greeting": "Hello!", "turn_taking": {"barge_in_min_ms": 200}, "max_duration_s": 90}
        )
    )
    changes = {(c.path, c.kind, c.old_value, c.new_value) for c in agent_version_diff(old=v1, new=v2)}
    assert changes == {
        ("greeting", "changed", "Hi.", "Hello!"),
        ("turn_taking.barge_in_min_ms", "changed", 300, 200),
        ("max_duration_s", "added", None, 90),
        ("calendar", "removed", "", None),
    }
    backwards = {(c.path, c.kind) for c in agent_version_diff(old=v2, new=v1)}
    assert ("max_duration_s", "removed") in backwards
    assert agent_version_diff(old=v1, new=v1) == []


def test_rollback_publishes_the_old_config_as_a_new_version(agent):
    v1 = agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "One."}))
    agent_version_publish(version=agent_version_create_draft(agent=agent, config={"greeting": "Two."}))
    v3 = agent_version_rollback(version=v1)
    assert (v3.number, v3.config, v3.notes, v3.is_published) == (3, {"greeting": "One."}, "Rollback to v1", True)
    assert agent.live_version == v3
    assert agent.versions.count() == 3


def test_rollback_to_a_draft_is_refused(agent):
    draft = agent_version_create_draft(agent=agent, config={"greeting": "Draft."})
    with pytest.raises(ValueError, match="only a published version"):
        agent_version_rollback(version=draft)
