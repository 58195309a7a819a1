"""TwiML builders: every document voiceops hands Twilio is built here."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from twilio.twiml.voice_response import Connect, VoiceResponse

from telephony.tokens import stream_token_make


def media_stream_url() -> str:
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws/twilio/media/"


def answer_twiml_for(call_id: uuid.UUID, *, play_digits: str = "") -> str:
    """<Connect><Stream> with a fresh token; `play_digits` first plays DTMF tones into the call."""
    response = VoiceResponse()
    if play_digits:
        response.play(digits=play_digits)
    connect = Connect()
    stream = connect.stream(url=media_stream_url())
    stream.parameter(name="token", value=stream_token_make(call_id))
    response.append(connect)
    return str(response)


def dial_twiml(number: str) -> str:
    """Transfer: bridge the call to `number`."""
    response = VoiceResponse()
    response.dial(number)
    return str(response)


def say_and_hang_up_twiml(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)
