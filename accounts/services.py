"""Writes for per-user settings."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from accounts.models import UserPreference
from voiceops.validators import validate_timezone


@transaction.atomic
def user_timezone_set(*, user: User, timezone: str) -> UserPreference:
    validate_timezone(timezone)
    preference, _ = UserPreference.objects.update_or_create(user=user, defaults={"timezone": timezone})
    return preference
