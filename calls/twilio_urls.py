"""Twilio webhooks, mounted under /twilio/."""

from django.urls import path

from calls import twilio_status, twilio_voice

urlpatterns = [
    path("voice/", twilio_voice.voice_webhook, name="twilio-voice"),
    path("status/", twilio_status.status_webhook, name="twilio-status"),
]
