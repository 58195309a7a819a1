"""Structured JSON logs with a request or call id bound in context.

Callers' personal data never reaches a log line: every string in it, whatever
field it sits in, goes through the same redaction as stored transcripts
(privacy.redaction: e-mails, spoken ones too, card numbers, SSNs, dates of
birth become [email], [card], ...), whatever the agent version's setting (a
log is not where a clear copy is kept). Phone numbers are masked to their
last two digits instead of a placeholder, which support needs to tell calls
apart. Identifiers and times are left as they are.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

from privacy.redaction import redact

# E.164-ish runs of digits (with optional +, spaces, dashes, dots, brackets)
# long enough to be a phone number; keeps the last two digits for support.
_PHONE = r"\+?\(?\d[\d\s().-]{7,}\d"
# Identifiers and times are digit runs too, but never phone numbers, and a log
# is useless for following a call when they are masked: UUIDs, 32-hex ids
# (Twilio SIDs, request ids), ISO dates and times. They are matched first and
# kept as they are.
_KEEP = (
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[A-Z]{2}[0-9a-fA-F]{32}|[0-9a-fA-F]{32}"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_PHONE_RE = re.compile(rf"(?P<keep>{_KEEP})|{_PHONE}")


def mask_phone_numbers(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        if match.group("keep"):
            return match.group(0)
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 8:
            return match.group(0)
        prefix = "+" if match.group(0).startswith("+") else ""
        return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"

    return _PHONE_RE.sub(_mask, text)


def _mask_one(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 3:
        return "[phone]"
    prefix = "+" if raw.lstrip().startswith("+") else ""
    return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"


def redact_log_text(text: str) -> str:
    """PII redacted (phone numbers masked), identifiers and ISO times kept as they are (privacy.redaction)."""
    return mask_phone_numbers(redact(text, phone=_mask_one))


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_log_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def _mask_processor(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {key: _mask_value(value) for key, value in event_dict.items()}


def configure_logging(level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _mask_processor,
    ]
    structlog.configure(
        # The level is checked first: a debug line below LOG_LEVEL costs a
        # method call, not the redaction and time stamp of a line nobody reads
        # (the status webhook logs each batch at debug, hundreds a second).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Daphne and Twisted log every connection at INFO; keep them at WARNING.
    for noisy in ("daphne", "twisted", "django.channels.server"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestContextMiddleware:
    """Binds a request id (from X-Request-ID or a new one) for every log line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id[:64])
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response["X-Request-ID"] = request_id[:64]
        return response
