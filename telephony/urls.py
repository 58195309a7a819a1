"""Twilio webhooks, mounted under /twilio/."""

from django.urls import path

from telephony import status as twilio_status
from telephony import voice as twilio_voice

urlpatterns = [
    path("voice/", twilio_voice.voice_webhook, name="twilio-voice"),
    path("status/", twilio_status.status_webhook, name="twilio-status"),
]
