"""Who did what to which object, and when.

One row per operator action (a version published, a campaign started or
paused, a call hung up, a lead edited or marked do-not-call). The target is a
generic (content type, id) pair so that one table serves every app; the id is
text because calls have UUID keys and everything else integers.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class AuditEntry(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the record outlives the account
        related_name="audit_entries",
    )
    # Kept apart from the foreign key, so a deleted user's entries still say who.
    actor_name = models.CharField(max_length=150, blank=True)
    verb = models.CharField(max_length=40)
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    target_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_recent")]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.verb} {self.target_type.model} {self.target_id}"
