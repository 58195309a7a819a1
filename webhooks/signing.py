"""HMAC-SHA256 signatures for outbound webhooks.

The header is `X-Voiceops-Signature: t=<unix seconds>,v1=<hex>`, the hex being
HMAC-SHA256 over "{t}.{raw body}" with the endpoint's secret. Signing the
timestamp with the body lets a receiver refuse a replayed old request (the
README's snippet allows five minutes). During a rotation's grace period the
header carries a second `v1` made with the previous secret, so a receiver
still configured with the old secret keeps verifying until it is updated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Voiceops-Signature"
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix that marks a string as a webhook secret)


def secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(*, secrets_: list[str], timestamp: int, body: bytes) -> str:
    """The header value: one `v1` per secret still valid, newest first."""
    parts = [f"t={timestamp}"] + [f"v1={signature(secret=s, timestamp=timestamp, body=body)}" for s in secrets_ if s]
    return ",".join(parts)


def signature_verify(*, secret: str, header: str, body: bytes, now: float, tolerance_s: int = TOLERANCE_S) -> bool:
    """The receiving side, for tests and tools: the README's snippet does the same."""
    try:
        parts = [item.split("=", 1) for item in header.split(",")]
        timestamp = int(next(value for key, value in parts if key == "t"))
    except (ValueError, StopIteration):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    # compare_digest: comparing in constant time leaks nothing about how much of a forged signature matched.
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
