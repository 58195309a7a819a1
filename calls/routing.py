"""WebSocket routes. The media socket is mounted at /ws/twilio/media/."""

from django.urls import path

from calls import consumers

twilio_websocket_urlpatterns = [
    path("ws/twilio/media/", consumers.TwilioMediaConsumer.as_asgi()),
]

# Mounted under /ws/console/ behind origin validation and session auth.
console_websocket_urlpatterns = [
    path("live/", consumers.ConsoleLiveConsumer.as_asgi()),
]
