"""Twilio's request signature, checked for every webhook whenever TWILIO_AUTH_TOKEN is set.

`signature_compute` is the other side, for whoever plays Twilio (the sandbox's
carrier and synthetic caller, tests, the webhook benchmark): one home for the
scheme, built on the SDK's RequestValidator like the check.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from twilio.request_validator import RequestValidator


class FormFields(dict[str, list[str]]):
    """A posted form as each field's list of values.

    `getall` is the multi-dict method RequestValidator asks for first; a
    Django QueryDict answers only its second guess, after an AttributeError
    per field, which cost more than the HMAC on the status webhook's hot path.
    """

    def getall(self, name: str) -> list[str]:
        return self[name]

    @classmethod
    def of(cls, form: Any) -> FormFields:
        """From a Django QueryDict (request.POST)."""
        return cls((name, form.getlist(name)) for name in form)

    def last_values(self) -> dict[str, str]:
        """Each field's last value, as QueryDict.dict() gives it."""
        return {name: values[-1] for name, values in self.items() if values}


def signature_compute(url: str, params: Mapping[str, Any], *, auth_token: str | None = None) -> str:
    """The X-Twilio-Signature Twilio sends for a POST of form `params` to `url` (the full URL it requests).

    Signed with `auth_token`, by default this server's TWILIO_AUTH_TOKEN (or
    "unset" without one, which is what the simulated carrier's REST client
    authenticates with, and what no check asks for).
    """
    token = auth_token if auth_token is not None else (settings.TWILIO_AUTH_TOKEN or "unset")
    return str(RequestValidator(token).compute_signature(url, params))


@lru_cache(maxsize=4)  # one token in use (two while it is rotated); built per request it cost more than its HMAC
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signature_valid(*, full_path: str, form: FormFields, signature: str) -> bool:
    """Twilio signs the exact URL it requested (our public origin + path + query) and the form."""
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return True
    if not signature:
        return False
    validator = _validator(token)
    url = settings.PUBLIC_BASE_URL + full_path
    # The URL as we published it is what Twilio signs. validate() tries it
    # with and without an explicit port, two HMACs every time; that is the
    # fallback for a signature the published URL does not match.
    if hmac.compare_digest(validator.compute_signature(url, form).encode(), signature.encode()):
        return True
    return bool(validator.validate(url, form, signature))
