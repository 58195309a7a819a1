"""The Twilio media socket route: /ws/twilio/media/ (authenticated by its per-call token, not a session)."""

from django.urls import path

from telephony import consumers

twilio_websocket_urlpatterns = [
    path("ws/twilio/media/", consumers.TwilioMediaConsumer.as_asgi()),
]
