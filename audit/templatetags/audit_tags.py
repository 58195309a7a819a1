"""`{% audit_log obj %}`: an object's recent audit entries, for its console page."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models

from audit.selectors import audit_entries_for

register = template.Library()


@register.inclusion_tag("audit/_entries.html")
def audit_log(target: models.Model, limit: int = 20) -> dict[str, Any]:
    return {"entries": list(audit_entries_for(target, limit=limit))}
