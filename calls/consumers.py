"""WebSocket consumers: the Twilio media stream and the operators' live console."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from calls.broadcast import CONSOLE_GROUP

# Close codes (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class ConsoleLiveConsumer(AsyncWebsocketConsumer):
    """Pushes re-rendered call rows to logged-in operators (htmx ws extension swaps them)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)

    async def call_changed(self, event: dict[str, Any]) -> None:
        html = await self._render_call_row(event["call_id"])
        if html:
            await self.send(text_data=html)

    @database_sync_to_async
    def _render_call_row(self, call_id: str) -> str:
        from calls.selectors import call_for_console

        call = call_for_console(call_id)
        if call is None:
            return ""
        return render_to_string("console/_call_row.html", {"call": call, "oob": True})


class TwilioMediaConsumer(AsyncWebsocketConsumer):
    """Twilio Media Streams. Implemented by the live call engine issue."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_FORBIDDEN)
