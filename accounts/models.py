"""Per-user settings: the console's timezone."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from voiceops.validators import validate_timezone


class UserPreference(models.Model):
    """One row per user who changed a setting; a user without one sees the site's TIME_ZONE (UTC)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="IANA name, e.g. Europe/Paris."
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.timezone})"
