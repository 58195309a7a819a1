"""Console WebSocket routes, mounted under /ws/console/ behind origin validation and session auth."""

from django.urls import path

from calls import consumers
from telephony.browser import BrowserCallConsumer

console_websocket_urlpatterns = [
    path("live/", consumers.ConsoleLiveConsumer.as_asgi()),
    # A browser test call: the browser plays the carrier (telephony.browser).
    path("test-call/<int:version_id>/", BrowserCallConsumer.as_asgi()),
]
