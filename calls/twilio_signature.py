"""Twilio's request signature, checked for every webhook whenever TWILIO_AUTH_TOKEN is set."""

from __future__ import annotations

from django.conf import settings
from django.http import QueryDict
from twilio.request_validator import RequestValidator


def signature_valid(*, full_path: str, form: QueryDict, signature: str) -> bool:
    """Twilio signs the exact URL it requested (our public origin + path + query) and the form."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return True
    if not signature:
        return False
    return bool(RequestValidator(token).validate(settings.PUBLIC_BASE_URL + full_path, form, signature))
