"""Console WebSocket routes, mounted under /ws/console/ behind origin validation and session auth."""

from django.urls import path

from calls import consumers

console_websocket_urlpatterns = [
    path("live/", consumers.ConsoleLiveConsumer.as_asgi()),
]
