"""The shapes of names an agent's configuration and its brains share, defined once.

A disposition ends up in `Call.disposition` (40 characters) and in the
console's filters, so it is a short snake_case word everywhere it can be
written: a flow's end node, the `end_call` tool, a scripted brain's hang-up
tag, the config's success dispositions. Variable names are what `{{name}}`
templates can read back, so a capture's variable and a lead field a tool may
set have the template field's shape. Phone numbers are not here: they are
checked by `voiceops.validators.validate_e164`, which knows real numbering
plans.
"""

from __future__ import annotations

import re
from typing import Any

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
