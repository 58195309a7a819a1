"""The operators' live console socket."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from voiceops.realtime import CONSOLE_GROUP
from voiceops.roles import SOCKET_ACT, SOCKET_WATCH, user_may

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class ConsoleLiveConsumer(AsyncWebsocketConsumer):
    """Pushes re-rendered call rows to logged-in operators (htmx ws extension swaps them).

    Every role may watch; only operators and admins may send an action (any
    message from the browser is one). A viewer's action is answered with a
    refusal and the socket stays open, so the page keeps updating.
    """

    may_act = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        may_watch, self.may_act = await database_sync_to_async(
            lambda: (user_may(user, SOCKET_WATCH), user_may(user, SOCKET_ACT))
        )()
        if not may_watch:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except json.JSONDecodeError:
            message = None
        action = message.get("action") if isinstance(message, dict) else None
        if not self.may_act:
            await self.send(text_data=json.dumps({"error": "forbidden", "action": action}))
            return
        await self.act(action, message if isinstance(message, dict) else {})

    async def act(self, action: Any, message: dict[str, Any]) -> None:
        """Actions that operators may send; none is wired to this socket yet (hang-up and listen-in come here)."""
        await self.send(text_data=json.dumps({"error": "unknown action", "action": action}))

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
