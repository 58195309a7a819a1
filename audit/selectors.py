"""Reads of the audit log."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEntry


def audit_entries_for(target: models.Model, *, limit: int = 20) -> QuerySet[AuditEntry]:
    """The newest entries about one object: one indexed query (audit_target_recent), whatever the count."""
    return (
        AuditEntry.objects.filter(target_type=ContentType.objects.get_for_model(target), target_id=str(target.pk))
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
