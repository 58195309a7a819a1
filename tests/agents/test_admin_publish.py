"""The admin's publish action goes through agents.services.agent_version_publish: drafts that validate are
published, a broken draft is refused with its reason, an already published version is left alone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.models import AgentVersion
from tests.factories import AgentFactory, AgentVersionFactory

pytestmark = pytest.mark.django_db


def test_the_publish_action_publishes_drafts_through_the_service(operator_client):
    agent = AgentFactory(name="Reminders")
    good = AgentVersionFactory(agent=agent, published_at=None, config={"brain": "flow", "greeting": "Hello."})
    broken = AgentVersionFactory(agent=agent, published_at=None, config={"brain": "telepathy"})
    published = AgentVersionFactory(agent=agent)
    before = published.published_at

    response = operator_client.post(
        reverse("admin:agents_agentversion_changelist"),
        {"action": "publish_selected", "_selected_action": [good.pk, broken.pk, published.pk]},
        follow=True,
    )

    assert response.status_code == 200
    good.refresh_from_db(), broken.refresh_from_db(), published.refresh_from_db()
    assert good.published_at is not None
    assert broken.published_at is None  # the service's validation refused it
    assert published.published_at == before
    shown = [str(message) for message in response.context["messages"]]
    assert shown[0] == f"{good} is published."
    assert shown[1].startswith(f"{broken} was not published: brain: must be one of")
    assert shown[2].startswith(f"{published} was already published at")
    assert AgentVersion.objects.filter(agent=agent, published_at__isnull=True).count() == 1
