"""Twilio's REST API, through the official client, at TWILIO_API_BASE_URL.

The base URL is configurable so that a test carrier speaking Twilio's REST
protocol on this machine can stand in for api.twilio.com.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from twilio.rest import Client


def twilio_client() -> Client:
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN or "unset")
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


def twilio_hangup(call_sid: str) -> None:
    """End a live call (Twilio answers with the call's final state)."""
    twilio_client().api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).calls(call_sid).update(status="completed")


def twilio_create_call(**params: Any) -> str:
    """Start an outbound call; returns its CallSid. `params` are the client's keyword arguments."""
    call = twilio_client().api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).calls.create(**params)
    return str(call.sid)


def twilio_update_twiml(call_sid: str, twiml: str) -> None:
    """Replace what a live call is doing with new TwiML (transfer with <Dial>, DTMF with <Play digits>)."""
    twilio_client().api.v2010.accounts(settings.TWILIO_ACCOUNT_SID).calls(call_sid).update(twiml=twiml)
