"""Reads for privacy: each agent version's retention, the purge log."""

from __future__ import annotations

from django.db.models import QuerySet

from agents.brains.config import ConfigError, RetentionSettings, load_config
from agents.models import AgentVersion
from privacy.models import PurgeRecord


def retention_by_version() -> dict[int, RetentionSettings]:
    """Every agent version's retention days (versions that keep everything for ever are left out)."""
    found = {}
    for version_id, raw in AgentVersion.objects.values_list("pk", "config"):
        try:
            retention = load_config(raw).retention
        except ConfigError:
            continue  # a draft saved before a rule existed: nothing to purge by
        if retention != RetentionSettings():
            found[version_id] = retention
    return found


def purge_records_recent(*, limit: int = 20) -> QuerySet[PurgeRecord]:
    return PurgeRecord.objects.order_by("-ran_at")[:limit]
