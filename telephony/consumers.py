"""The Twilio Media Streams socket: one live call's audio in and out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import structlog
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from live.pipeline.inbound import BadMediaPayload
from live.session import CallSession, Transport
from live.setup import CallNotLive, build_session
from telephony.live_actions import live_call_actions
from telephony.tokens import BadStreamToken, stream_token_read
from voiceops import shutdown

log = structlog.get_logger(__name__)

# Close codes (4000-4999 are free for applications).
CLOSE_FORBIDDEN = 4403  # no valid call token (forged, expired, missing) or the call is over
CLOSE_BAD_MESSAGE = 4400  # malformed JSON, unknown event, bad base64, media before start
CLOSE_UNKNOWN_STREAM = 4404  # media for a streamSid this socket did not start
CLOSE_START_TIMEOUT = 4408
CLOSE_INTERNAL = 4500
START_TIMEOUT_S = 10.0


class TwilioMediaConsumer(AsyncWebsocketConsumer):
    """Twilio Media Streams: `connected`, `start`, `media`, `dtmf`, `mark`, `stop` in; `media`, `mark`, `clear` out.

    The socket carries no credentials, so the `start` message must hand back
    the signed per-call token from the answer TwiML. Anything malformed is
    logged, the socket is closed with a code saying why, and (once the call
    is known) the call is marked failed; other calls never notice.
    """

    # No channel layer: audio never travels through Redis, and a media socket
    # has nothing to receive from other processes.
    channel_layer_alias = "media-sockets-use-no-channel-layer"
    session: CallSession | None = None
    _start_timer: asyncio.Task[None] | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a
        # thread hop 50 times a second per call. This consumer touches the
        # database only through database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.session = None
        self.log = log.bind(client=str(self.scope.get("client")))
        await self.accept()
        self._start_timer = asyncio.create_task(self._require_start())

    async def _require_start(self) -> None:
        await asyncio.sleep(START_TIMEOUT_S)
        if self.session is None:
            await self._refuse(CLOSE_START_TIMEOUT, "no valid start message")

    async def disconnect(self, code: int) -> None:
        if self._start_timer is not None:
            self._start_timer.cancel()
        shutdown.call_finished(self)
        if self.session is not None:
            await self.session.finish(status="completed")

    async def _end_for_shutdown(self) -> None:
        """Graceful restart (voiceops.shutdown): end this call as the agent would, saying why in the disposition."""
        session = self.session
        if session is None:
            return
        session.ctx.disposition = session.ctx.disposition or "server_shutdown"
        await session.actions.hang_up()
        await session.finish(status="completed")
        await self.close(code=1000)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self._refuse(CLOSE_BAD_MESSAGE, "binary frames are not part of the protocol")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self._refuse(CLOSE_BAD_MESSAGE, "message is not JSON")
            return
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            await self._refuse(CLOSE_BAD_MESSAGE, "message has no event")
            return
        event = message["event"]
        session = self.session
        if event == "media":
            if session is None:
                await self._refuse(CLOSE_BAD_MESSAGE, "media before start")
                return
            if message.get("streamSid") != session.stream_sid:
                await self._refuse(CLOSE_UNKNOWN_STREAM, "media for an unknown stream")
                return
            media = message.get("media")
            payload = media.get("payload") if isinstance(media, dict) else None
            if not isinstance(payload, str):
                await self._refuse(CLOSE_BAD_MESSAGE, "media without a payload")
                return
            try:
                session.on_media(payload)
            except BadMediaPayload as exc:
                await self._refuse(CLOSE_BAD_MESSAGE, str(exc))
            return
        if event == "mark":
            mark = message.get("mark")
            if session is not None and isinstance(mark, dict) and isinstance(mark.get("name"), str):
                session.on_mark(mark["name"])
            return
        if event == "connected":
            return
        if event == "start":
            await self._start(message)
            return
        if event == "dtmf":
            dtmf = message.get("dtmf")
            digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
            if session is not None and isinstance(digit, str) and len(digit) == 1:
                session.on_dtmf(digit)
            return
        if event == "stop":
            if session is not None:
                await session.finish(status="completed")
            await self.close(code=1000)
            return
        await self._refuse(CLOSE_BAD_MESSAGE, f"unknown event {event[:40]!r}")

    async def _start(self, message: dict[str, Any]) -> None:
        if self.session is not None:
            await self._refuse(CLOSE_BAD_MESSAGE, "a second start on one stream")
            return
        start = message.get("start")
        if not isinstance(start, dict):
            await self._refuse(CLOSE_BAD_MESSAGE, "start without details")
            return
        params = start.get("customParameters")
        token = params.get("token") if isinstance(params, dict) else None
        stream_sid = start.get("streamSid") or message.get("streamSid")
        if not isinstance(token, str) or not isinstance(stream_sid, str) or not stream_sid:
            await self._refuse(CLOSE_FORBIDDEN, "start without a call token or streamSid")
            return
        try:
            call_id = stream_token_read(token)
        except BadStreamToken as exc:
            await self._refuse(CLOSE_FORBIDDEN, str(exc))
            return
        media_format = start.get("mediaFormat") or {}
        if isinstance(media_format, dict) and media_format.get("encoding", "audio/x-mulaw") != "audio/x-mulaw":
            await self._refuse(CLOSE_BAD_MESSAGE, f"unsupported media format {media_format!r}")
            return
        call_sid = str(start.get("callSid") or "")
        try:
            self.session = await build_session(
                call_id=call_id,
                call_sid=call_sid,
                stream_sid=stream_sid,
                transport=_SocketTransport(self),
                actions=live_call_actions(call_id),
            )
        except CallNotLive as exc:
            await self._refuse(CLOSE_FORBIDDEN, str(exc))
            return
        except Exception as exc:
            self.log.exception("media_session_setup_failed", call_id=str(call_id))
            await database_sync_to_async(_fail_call)(call_id, f"engine setup failed: {exc}")
            await self.close(code=CLOSE_INTERNAL)
            return
        if self._start_timer is not None:
            self._start_timer.cancel()
        shutdown.call_started(self, self._end_for_shutdown)
        await self.session.start()

    async def _refuse(self, code: int, reason: str) -> None:
        session = self.session
        self.log.warning(
            "media_socket_refused", code=code, reason=reason, call_id=str(session.call_id) if session else ""
        )
        if session is not None:
            await session.finish(status="failed", reason=f"media stream: {reason}")
        await self.close(code=code)


class _SocketTransport(Transport):
    def __init__(self, consumer: TwilioMediaConsumer) -> None:
        self._consumer = consumer

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message, separators=(",", ":")))

    async def send_text(self, text: str) -> None:
        # The caller hung up (stop, then the socket closed) while a frame was on its
        # way. Raised here it aborted the session's finish, leaving the call in
        # progress with its last turn unstored (scripts/faults/concurrent_calls.py).
        with contextlib.suppress(Disconnected):
            await self._consumer.send(text_data=text)

    async def close(self, code: int) -> None:
        await self._consumer.close(code=code)


def _fail_call(call_id: uuid.UUID, reason: str) -> None:
    from calls.services import call_set_status

    try:
        call_set_status(call_id=call_id, status="failed", reason=reason)
    except Exception:
        log.exception("call_fail_failed", call_id=str(call_id))
