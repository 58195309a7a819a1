"""The shapes of names an agent's configuration and its brains share, defined once.

A disposition ends up in `Call.disposition` (40 characters) and in the
console's filters, so it is a short snake_case word everywhere it can be
written: a flow's end node, the `end_call` tool, a scripted brain's hang-up
tag, the config's success dispositions. Variable names are what `{{name}}`
templates can read back, so a capture's variable and a lead field a tool may
set have the template field's shape. A transfer number must be a real
number in E.164 form, judged by the numbering plans of `phonenumbers` (the
rule `voiceops.validators.validate_e164` applies to stored numbers; it is
repeated here because brains import no Django, and that module raises
Django's ValidationError).
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

# The name inside a {{name}} template field; a stored variable name adds a length limit.
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"

_DISPOSITION = re.compile(r"[a-z][a-z0-9_]{0,39}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# DTMF keys, and w for a half-second pause (Twilio's sendDigits).
_DTMF = re.compile(r"[0-9*#wW]{1,64}")

DISPOSITION_RULE = "must be a snake_case word such as booked"
VARIABLE_NAME_RULE = "must be a name (letters, digits and _)"
DTMF_RULE = "may only be 0-9, *, # and w (a half-second pause)"


def is_disposition(value: Any) -> bool:
    """A call outcome such as booked or not_interested: lower-case snake_case, at most 40 characters."""
    return isinstance(value, str) and _DISPOSITION.fullmatch(value) is not None


def is_variable_name(value: Any) -> bool:
    """A name a {{name}} template can read: letters, digits and _, not starting with a digit."""
    return isinstance(value, str) and _VARIABLE_NAME.fullmatch(value) is not None


def is_dtmf(value: Any) -> bool:
    """Keys to play into a call: 0-9, *, # and w, at most 64 of them."""
    return isinstance(value, str) and _DTMF.fullmatch(value) is not None


def e164_problem(value: str) -> str | None:
    """Why `value` is not a dialable E.164 number (+14155550123), or None when it is one."""
    text = (value or "").strip()
    if not text:
        return "Phone number is empty."
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        return f"{text!r} is not a phone number: {exc}."
    if not phonenumbers.is_valid_number(parsed):
        return f"{text!r} is not a valid phone number."
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != value:
        return f"{value!r} is not in E.164 form (for example +14155550100)."
    return None
