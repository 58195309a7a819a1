"""The operators' live console socket."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from voiceops.realtime import CONSOLE_GROUP

CLOSE_UNAUTHENTICATED = 4401


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

    async def calls_changed(self, event: dict[str, Any]) -> None:
        for html in await self._render_call_rows(event["call_ids"]):
            await self.send(text_data=html)

    @database_sync_to_async
    def _render_call_rows(self, call_ids: list[str]) -> list[str]:
        from calls.selectors import calls_for_console

        return [
            render_to_string("console/_call_row.html", {"call": call, "oob": True})
            for call in calls_for_console(call_ids)
        ]
