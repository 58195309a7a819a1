"""The operators' live console socket: call rows, a call's live view, and listen-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
import zoneinfo
from contextlib import nullcontext
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.middleware import session_timezone_name
from calls.commands import NO_SESSION, call_should_have_session
from campaigns.selectors import LIVE_PROGRESS_INTERVAL_S
from live.supervision import ACK_TIMEOUT_S, LEASE_S, control_send
from voiceops.realtime import CONSOLE_GROUP
from voiceops.roles import SOCKET_ACT, SOCKET_WATCH, user_may

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
RENEW_S = LEASE_S / 3  # leases are renewed well before they run out
CAMPAIGNS_VIEW = "campaigns.view_campaign"


class ConsoleLiveConsumer(AsyncWebsocketConsumer):
    """Pushes re-rendered call rows to logged-in operators (htmx ws extension swaps them).

    Every role may watch: the call list, and one call's live view (`{"action":
    "watch", "call_id": ...}`: its transcript as turns are stored, the reply
    being spoken, what the caller heard of it, and its latency stages). Only
    operators and admins may act: listen-in (`listen` / `unlisten`) is one; a
    viewer's action is answered with a refusal and the socket stays open, so
    the page keeps updating. Commands that change a call (hang up, transfer,
    say next) are POSTs to the call page (calls.views.call_command), where the
    role is checked and the actor is recorded.

    A campaign page opens the socket with `?campaigns=all` (the list) or
    `?campaigns=<id>` (one campaign's page): when a campaign's counts change
    (its calls change, or campaigns.services says its leads did), the socket
    sends its progress again, at most once per LIVE_PROGRESS_INTERVAL_S per
    socket; changes in between go out together at the end of the interval.

    Watching and listening are leases on the call's session (live.supervision),
    renewed while this socket is open and given back when it closes: a call
    nobody watches sends nothing anywhere. The session acknowledges each
    listen lease; when it does not and the call has been connected long
    enough that a session must hold it (calls.commands), the socket answers
    `{"error": "no live session"}` with a sentence for the operator, and the
    page stops listening. A call still connecting is asked again at each renewal.
    """

    may_act = False
    timezone_name = ""
    watching: uuid.UUID | None = None
    listening: uuid.UUID | None = None
    _renewer: asyncio.Task[None] | None = None
    # Campaign pages: which campaigns' progress to push (None: none; "all": every one), and the throttle.
    following_campaigns: int | str | None = None
    _campaigns_pending: set[int]
    _campaigns_flusher: asyncio.Task[None] | None = None
    _campaigns_last_push = float("-inf")
    _ack_check: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._listen_acked = asyncio.Event()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = self.scope.get("session")
        may_watch, self.may_act, self.timezone_name = await database_sync_to_async(
            lambda: (
                user_may(user, SOCKET_WATCH),
                user_may(user, SOCKET_ACT),
                session_timezone_name(session),
            )
        )()
        if not may_watch:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self._campaigns_pending = set()
        self.following_campaigns = await self._campaigns_followed(user)
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        await self.accept()
        if self.following_campaigns is not None:
            # The page catches up on (re)connecting through this socket, never by a fetch of its own:
            # a fetch's answer could land after a newer push and undo it; the socket keeps its order.
            self._campaigns_touched(await self._campaigns_existing())

    async def disconnect(self, code: int) -> None:
        for task in (self._renewer, self._ack_check, self._campaigns_flusher):
            if task is not None:
                task.cancel()
        await self._leave()
        await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except json.JSONDecodeError:
            message = None
        message = message if isinstance(message, dict) else {}
        action = message.get("action")
        if action == "watch":  # watching is not acting: every role may
            await self.watch(message.get("call_id"))
            return
        if not self.may_act:
            await self.send(text_data=json.dumps({"error": "forbidden", "action": action}))
            return
        await self.act(action, message)

    async def act(self, action: Any, message: dict[str, Any]) -> None:
        if action == "listen":
            call_id = _call_id(message.get("call_id"))
            if call_id is None:
                await self.send(text_data=json.dumps({"error": "bad call_id", "action": action}))
                return
            if self.listening is not None and self.listening != call_id:
                await control_send(self.listening, {"type": "listen.leave", "reply_to": self.channel_name})
            self.listening = call_id
            await self._renew()
            self._ensure_renewer()
            await self.send(text_data=json.dumps({"listening": str(call_id)}))
        elif action == "unlisten":
            if self.listening is not None:
                await control_send(self.listening, {"type": "listen.leave", "reply_to": self.channel_name})
            self.listening = None
            await self.send(text_data=json.dumps({"listening": None}))
        else:
            await self.send(text_data=json.dumps({"error": "unknown action", "action": action}))

    async def watch(self, raw_call_id: Any) -> None:
        call_id = _call_id(raw_call_id)
        if call_id is None:
            await self.send(text_data=json.dumps({"error": "bad call_id", "action": "watch"}))
            return
        if self.watching is not None and self.watching != call_id:
            await control_send(self.watching, {"type": "watch.leave", "reply_to": self.channel_name})
        self.watching = call_id
        await self._renew()
        self._ensure_renewer()

    # ---- leases --------------------------------------------------------------------

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while self.watching is not None or self.listening is not None:
            await asyncio.sleep(RENEW_S)
            await self._renew()

    async def _renew(self) -> None:
        if self.watching is not None:
            await control_send(self.watching, {"type": "watch.join", "reply_to": self.channel_name})
        if self.listening is not None:
            self._listen_acked.clear()
            await control_send(self.listening, {"type": "listen.join", "reply_to": self.channel_name})
            if self._ack_check is None or self._ack_check.done():
                self._ack_check = asyncio.create_task(self._expect_listen_ack(self.listening))

    async def _expect_listen_ack(self, call_id: uuid.UUID) -> None:
        """A listen lease no session acknowledged: the operator is told, instead of a silent page."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listen_acked.wait(), ACK_TIMEOUT_S)
            return
        if self.listening != call_id or not await database_sync_to_async(call_should_have_session)(call_id=call_id):
            return  # a call still connecting has no session to answer yet: the next renewal asks again
        self.listening = None
        message = f"Nothing to listen to: {NO_SESSION}."
        await self.send(text_data=json.dumps({"error": "no live session", "action": "listen", "message": message}))

    async def supervision_ack(self, event: dict[str, Any]) -> None:
        """The call's session holds this socket's listen lease (live.supervision)."""
        if (
            event.get("of") == "listen.join"
            and self.listening is not None
            and event.get("call_id") == str(self.listening)
        ):
            self._listen_acked.set()

    async def _leave(self) -> None:
        with contextlib.suppress(Exception):  # the socket is going away anyway; leases run out on their own
            if self.watching is not None:
                await control_send(self.watching, {"type": "watch.leave", "reply_to": self.channel_name})
            if self.listening is not None:
                await control_send(self.listening, {"type": "listen.leave", "reply_to": self.channel_name})

    # ---- from the channel layer ----------------------------------------------------------

    async def calls_changed(self, event: dict[str, Any]) -> None:
        for html in await self._render_call_rows(event["call_ids"]):
            await self.send(text_data=html)
        if self.watching is not None and str(self.watching) in event["call_ids"]:
            await self.send(text_data=await self._render_watched(self.watching))
        if self.following_campaigns is not None:
            self._campaigns_touched(await self._campaigns_of_calls(event["call_ids"]))

    async def campaigns_changed(self, event: dict[str, Any]) -> None:
        """Leads moved without a call changing (an import, leads added): campaigns.services says which."""
        if self.following_campaigns is not None:
            self._campaigns_touched([int(pk) for pk in event.get("campaign_ids", [])])

    # ---- campaign progress, throttled -------------------------------------------------------

    def _campaigns_touched(self, campaign_ids: list[int]) -> None:
        followed = self.following_campaigns
        wanted = [pk for pk in campaign_ids if followed == "all" or pk == followed]
        if not wanted:
            return
        self._campaigns_pending.update(wanted)
        if self._campaigns_flusher is None or self._campaigns_flusher.done():
            self._campaigns_flusher = asyncio.create_task(self._push_campaigns())

    async def _push_campaigns(self) -> None:
        loop = asyncio.get_running_loop()
        # Changes that arrive while a push is being rendered are taken by the next round.
        while self._campaigns_pending:
            wait = self._campaigns_last_push + LIVE_PROGRESS_INTERVAL_S - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            campaign_ids, self._campaigns_pending = sorted(self._campaigns_pending), set()
            self._campaigns_last_push = loop.time()
            for html in await self._render_campaign_progress(campaign_ids):
                await self.send(text_data=html)

    @database_sync_to_async
    def _campaigns_followed(self, user: Any) -> int | str | None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("campaigns", [""])[0]
        if not query or not user_may(user, CAMPAIGNS_VIEW):
            return None
        if query == "all":
            return "all"
        return int(query) if query.isdigit() else None

    @database_sync_to_async
    def _campaigns_existing(self) -> list[int]:
        from campaigns.selectors import campaign_names

        followed = self.following_campaigns
        return list(campaign_names(None if followed == "all" else [int(followed or 0)]))

    @database_sync_to_async
    def _campaigns_of_calls(self, call_ids: list[str]) -> list[int]:
        from calls.selectors import campaign_ids_of_calls

        return campaign_ids_of_calls(call_ids)

    @database_sync_to_async
    def _render_campaign_progress(self, campaign_ids: list[int]) -> list[str]:
        from campaigns.selectors import campaign_names, campaigns_progress

        names = campaign_names(campaign_ids)
        # Sockets pushing within half an interval of each other share one count (campaigns_progress's cache).
        progress = campaigns_progress(list(names), max_age_s=LIVE_PROGRESS_INTERVAL_S / 2)
        detail = self.following_campaigns != "all"
        return [
            render_to_string(
                "campaigns/_progress.html",
                {"campaign_id": pk, "name": name, "progress": progress[pk], "detail": detail, "oob": True},
            )
            for pk, name in names.items()
        ]

    async def call_live(self, event: dict[str, Any]) -> None:
        """The reply in progress on the watched call (from its session, live.supervision)."""
        if self.watching is None or event.get("call_id") != str(self.watching):
            return
        html = render_to_string("console/_call_live.html", {"live": event, "call_id": event["call_id"], "oob": True})
        await self.send(text_data=html)

    async def call_speaker(self, event: dict[str, Any]) -> None:
        """Who is speaking now on a live call (its session, live.speaker): the live list's cell for it."""
        context = {"call_id": event.get("call_id"), "speaking": event.get("speaker"), "oob": True}
        await self.send(text_data=render_to_string("console/_live_speaker.html", context))

    async def listen_audio(self, event: dict[str, Any]) -> None:
        """A batch of both sides' audio (mu-law, base64); the page's AudioWorklet plays it."""
        if self.listening is None or event.get("call_id") != str(self.listening):
            return
        fields = ("call_id", "caller", "agent", "t0")
        await self.send(text_data=json.dumps({"listen": {key: event.get(key) for key in fields}}))

    @database_sync_to_async
    def _render_call_rows(self, call_ids: list[str]) -> list[str]:
        from calls.selectors import calls_for_console, calls_live_with_last_words

        with self._operator_timezone():
            # One message per call: its row in the call list, and its row in the live
            # list (speaker, last words) or that row's removal once the call ended.
            live = {call.pk: call for call in calls_live_with_last_words(call_ids)}
            rows: list[str] = []
            for call in calls_for_console(call_ids):
                html = render_to_string("console/_call_row.html", {"call": call, "oob": True})
                if call.pk in live:
                    html += render_to_string("console/_live_call_row.html", {"call": live[call.pk], "oob": True})
                else:
                    html += render_to_string("console/_live_call_gone.html", {"call_id": call.pk})
                rows.append(html)
        return rows

    @database_sync_to_async
    def _render_watched(self, call_id: uuid.UUID) -> str:
        from calls.selectors import call_with_turns

        call = call_with_turns(call_id=call_id)
        if call is None:
            return ""
        with self._operator_timezone():
            return render_to_string("console/_call_panel.html", {"call": call, "oob": True})

    def _operator_timezone(self) -> Any:
        """Times in the operator's timezone, as the page's middleware does for HTTP (accounts.middleware)."""
        try:
            return timezone.override(zoneinfo.ZoneInfo(self.timezone_name)) if self.timezone_name else nullcontext()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return nullcontext()


def _call_id(raw: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None
