"""Short-lived signed tokens that let one Media Streams socket speak for one call.

Twilio puts no credentials on the media socket, so the answer TwiML carries a
token as a <Parameter>; the socket's `start` message hands it back.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

_SALT = "calls.media-stream-token"


class BadStreamToken(Exception):
    """Forged, expired or malformed."""


def stream_token_make(call_id: uuid.UUID | str) -> str:
    return signing.dumps({"call": str(call_id)}, salt=_SALT, compress=False)


def stream_token_read(token: str, *, max_age_s: int | None = None) -> uuid.UUID:
    """The call id inside a valid token; raises BadStreamToken otherwise."""
    max_age = max_age_s if max_age_s is not None else settings.MEDIA_STREAM_TOKEN_MAX_AGE_S
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
        return uuid.UUID(str(data["call"]))
    except signing.SignatureExpired:
        raise BadStreamToken("stream token expired") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadStreamToken("stream token invalid") from None
