"""The agent version configuration schema.

Placeholder until the agents issue lands the full schema: accepts any JSON
object so that versions can be stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


def validate_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise ValidationError("Configuration must be a JSON object.")
