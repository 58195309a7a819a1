"""Validators shared by models, forms, serializers and imports."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from django.core.exceptions import ValidationError


def normalize_e164(raw: str, default_region: str | None = None) -> str:
    """Return `raw` as E.164, or raise ValidationError saying why not."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Phone number is empty.", code="phone_empty")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{text!r} is not a phone number: {exc}.", code="phone_unparsable") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"{text!r} is not a valid phone number.", code="phone_invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model validator: the stored value must already be canonical E.164."""
    if normalize_e164(value) != value:
        raise ValidationError(f"{value!r} is not in E.164 form (for example +14155550100).", code="phone_not_e164")


def validate_timezone(value: str) -> None:
    if not value or value != value.strip():
        raise ValidationError(f"{value!r} is not an IANA timezone.", code="timezone_invalid")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not an IANA timezone (for example America/New_York).", code="timezone_invalid"
        ) from None
