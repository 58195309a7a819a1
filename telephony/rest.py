"""Twilio's REST API, through the official client, at TWILIO_API_BASE_URL.

The base URL is configurable so that a carrier speaking Twilio's REST protocol
on this machine (the sandbox's simulated carrier) can stand in for
api.twilio.com.

One client per process (per set of credentials), on one pooled HTTP session:
a dial or a hang-up reuses a kept-alive TLS connection instead of paying a
handshake each time. Every request has a connect and a read timeout
(TWILIO_CONNECT_TIMEOUT_MS, TWILIO_READ_TIMEOUT_MS): without them a carrier
that accepts the connection and never answers held the dialer's worker, its
database connection and the lead's row lock for as long as the socket lived.
A timed-out request raises CarrierTimeout; the request may still have reached
the carrier, so a caller must treat the outcome as unknown, never as "not
done" (the dialer fails the attempt rather than dial it twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class CarrierTimeout(Exception):
    """The carrier did not connect or answer in time; what it did with the request is unknown."""


@lru_cache(maxsize=4)  # one entry per configuration; tests switch settings, a deployment never does
def _client(account_sid: str, token: str, base_url: str, connect_s: float, read_s: float) -> Client:
    http = TwilioHttpClient(pool_connections=True)
    # requests takes (connect, read); TwilioHttpClient's constructor only
    # accepts one number, but it hands self.timeout to requests as it is.
    http.timeout = (connect_s, read_s)
    client = Client(account_sid, token, http_client=http)
    client.api.base_url = base_url
    return client


def twilio_client() -> Client:
    """The process's client for the configured account, carrier URL and timeouts."""
    return _client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN or "unset",
        settings.TWILIO_API_BASE_URL,
        settings.TWILIO_CONNECT_TIMEOUT_MS / 1000,
        settings.TWILIO_READ_TIMEOUT_MS / 1000,
    )


def carrier_configured() -> bool:
    """Whether a carrier's REST API is there to call: a real account, or the built-in simulated carrier."""
    return bool(settings.TWILIO_AUTH_TOKEN) or bool(getattr(settings, "SIMULATED_CARRIER", False))


def _calls() -> Any:
    return twilio_client().api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).calls


def twilio_hangup(call_sid: str) -> None:
    """End a live call (Twilio answers with the call's final state)."""
    try:
        _calls()(call_sid).update(status="completed")
    except requests.Timeout as exc:
        raise CarrierTimeout(f"hang-up of {call_sid}: {exc}") from exc


def twilio_create_call(**params: Any) -> str:
    """Start an outbound call; returns its CallSid. `params` are the client's keyword arguments."""
    try:
        call = _calls().create(**params)
    except requests.Timeout as exc:
        raise CarrierTimeout(f"call create: {exc}") from exc
    return str(call.sid)


def twilio_update_twiml(call_sid: str, twiml: str) -> None:
    """Replace what a live call is doing with new TwiML (transfer with <Dial>, DTMF with <Play digits>)."""
    try:
        _calls()(call_sid).update(twiml=twiml)
    except requests.Timeout as exc:
        raise CarrierTimeout(f"TwiML update of {call_sid}: {exc}") from exc


@dataclass(frozen=True)
class CarrierCallState:
    """What the carrier says of one call now: its status and, once it ended, its duration in seconds."""

    status: str
    duration: str = ""


def twilio_call_state(call_sid: str) -> CarrierCallState | None:
    """The call as the carrier knows it (GET .../Calls/{sid}.json); None when it has no such call."""
    try:
        call = _calls()(call_sid).fetch()
    except requests.Timeout as exc:
        raise CarrierTimeout(f"fetch of {call_sid}: {exc}") from exc
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise
    status = getattr(call.status, "value", call.status)
    return CarrierCallState(status=str(status or ""), duration=str(call.duration or ""))
