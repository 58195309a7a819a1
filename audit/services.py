"""Writes to the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.models import AuditEntry


def audit_record(
    *,
    actor: User | AnonymousUser | None,
    verb: str,
    target: models.Model,
    summary: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that `actor` did `verb` to `target`.

    Called by the view or API action right after its service succeeded, in
    the request's own transaction when there is one: an action that rolls
    back leaves no entry. An anonymous or missing actor is stored as the
    system (the dialer's breaker, a Celery task).
    """
    user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        verb=verb,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        summary=summary[:200],
        data=data or {},
    )
