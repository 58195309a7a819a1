"""Reads for agents and their versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from agents.models import Agent, AgentVersion

_MISSING = object()


@dataclass(frozen=True)
class ConfigChange:
    """One difference between two configurations, at a dotted path ("turn_taking.barge_in_min_ms")."""

    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is _MISSING:
            return "added"
        if self.new is _MISSING:
            return "removed"
        return "changed"

    @property
    def old_value(self) -> Any:
        return None if self.old is _MISSING else self.old

    @property
    def new_value(self) -> Any:
        return None if self.new is _MISSING else self.new


def config_diff(old: Any, new: Any, path: str = "") -> list[ConfigChange]:
    """Every leaf that differs between two JSON configurations, objects walked key by key."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[ConfigChange] = []
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            changes.extend(config_diff(old.get(key, _MISSING), new.get(key, _MISSING), child))
        return changes
    if old is _MISSING or new is _MISSING or old != new or type(old) is not type(new):
        return [ConfigChange(path=path or "config", old=old, new=new)]
    return []


def agent_version_diff(*, old: AgentVersion, new: AgentVersion) -> list[ConfigChange]:
    """What changed from one version of an agent to another (any two, either order)."""
    return config_diff(old.config, new.config)


def agents_by_name() -> QuerySet[Agent]:
    return Agent.objects.order_by("name")


def agents_with_versions() -> QuerySet[Agent]:
    return Agent.objects.annotate(version_count=Count("versions")).order_by("name")


def agent_versions(*, agent: Agent) -> QuerySet[AgentVersion]:
    return agent.versions.order_by("-number")


def published_agent_configs() -> list[tuple[str, Any]]:
    """(label, config) of every published version: what warm start loads models for (voiceops.warmup)."""
    rows = (
        AgentVersion.objects.filter(published_at__isnull=False).select_related("agent").order_by("agent_id", "number")
    )
    return [(f"agent {version.agent.name!r} version {version.number}", version.config) for version in rows]


def agent_versions_by_id(version_ids: set[int]) -> dict[int, AgentVersion]:
    """Versions by primary key, in one query (the dashboard reads each one's success dispositions)."""
    if not version_ids:
        return {}
    # Whole rows: AgentVersion.from_db reads published_at, which a deferred load would fetch one by one.
    return {version.pk: version for version in AgentVersion.objects.filter(pk__in=version_ids).order_by()}


def agents_for_choice() -> QuerySet[Agent]:
    """Agents for a filter or form's choices."""
    return Agent.objects.order_by("name").only("id", "name")


def versions_for_choice(*, published_only: bool = False) -> QuerySet[AgentVersion]:
    """Versions with their agent's name, for a filter or form's choices."""
    versions = AgentVersion.objects.select_related("agent").order_by("agent__name", "-number")
    return versions.filter(published_at__isnull=False) if published_only else versions


def agent_version_by_id(*, version_id: int) -> AgentVersion | None:
    """One version with its agent (any state: a test call may try a draft)."""
    return AgentVersion.objects.select_related("agent").filter(pk=version_id).first()
