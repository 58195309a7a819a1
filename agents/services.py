"""Writes for agents and their versions (keyword-only, atomic)."""

from __future__ import annotations

from typing import Any

import structlog
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agents.models import Agent, AgentVersion

logger = structlog.get_logger(__name__)


class VersionAlreadyPublished(Exception):
    """Publishing twice would rewrite history that calls point at."""


@transaction.atomic
def agent_create(*, name: str, description: str = "", config: dict[str, Any]) -> tuple[Agent, AgentVersion]:
    """A new agent and its first draft; raises ValidationError (a taken name, a bad configuration)."""
    agent = Agent(name=name.strip(), description=description)
    agent.full_clean()
    agent.save()
    return agent, agent_version_create_draft(agent=agent, config=config, notes="First draft")


@transaction.atomic
def agent_version_create_draft(*, agent: Agent, config: dict[str, Any], notes: str = "") -> AgentVersion:
    """A new draft numbered after the agent's highest version."""
    # Lock the agent row so two drafts created at once never share a number.
    Agent.objects.select_for_update().get(pk=agent.pk)
    highest = agent.versions.aggregate(highest=Max("number"))["highest"] or 0
    version = AgentVersion(agent=agent, number=highest + 1, config=config, notes=notes)
    version.full_clean()
    version.save()
    return version


@transaction.atomic
def agent_version_publish(*, version: AgentVersion) -> AgentVersion:
    locked = AgentVersion.objects.select_for_update().get(pk=version.pk)
    if locked.is_published:
        raise VersionAlreadyPublished(f"{locked} was already published at {locked.published_at:%Y-%m-%d %H:%M} UTC")
    locked.full_clean()
    locked.published_at = timezone.now()
    # Saved through the queryset: the instance is still a draft in memory, and
    # this is the one write allowed to turn a draft into a published version.
    AgentVersion.objects.filter(pk=locked.pk, published_at__isnull=True).update(published_at=locked.published_at)
    version.refresh_from_db()
    return version


@transaction.atomic
def agent_version_update_draft(
    *, version: AgentVersion, config: dict[str, Any], notes: str | None = None
) -> AgentVersion:
    """Replace a draft's configuration; a published version refuses (it is immutable)."""
    locked = AgentVersion.objects.select_for_update().get(pk=version.pk)
    if locked.is_published:
        raise VersionAlreadyPublished(f"{locked} is published and cannot be edited; create a new draft instead")
    locked.config = config
    if notes is not None:
        locked.notes = notes
    locked.full_clean()
    locked.save(update_fields=["config", "notes"])
    return locked


@transaction.atomic
def agent_version_rollback(*, version: AgentVersion, notes: str = "") -> AgentVersion:
    """Publish an old version's exact configuration as a new, newest version.

    History is never rewritten: calls keep pointing at the versions they ran,
    and the rollback itself shows up as a version of its own.
    """
    if not version.is_published:
        raise ValueError(f"{version} is a draft; only a published version can be rolled back to")
    draft = agent_version_create_draft(
        agent=version.agent, config=version.config, notes=notes or f"Rollback to v{version.number}"
    )
    return agent_version_publish(version=draft)
