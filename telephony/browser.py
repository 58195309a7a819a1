"""Browser test calls: the operator's browser plays the carrier, over the console's WebSocket.

Why here: telephony is where the engine's carrier-shaped edges live (the
Media Streams consumer, the CallActions port), and the live engine may not
import a transport. This consumer is a second carrier for the same session
(live.setup.build_session, the same pipeline as a phone call), so everything
a phone call gets (end of turn, speculative STT, barge-in, heard text, the
supervision tap) a browser call gets too.

The wire, kept as close to Twilio Media Streams as a browser can manage:

- browser -> server, binary: 16-bit little-endian PCM, mono, 8 kHz (the
  page's AudioWorklet resamples the microphone). Any length; the server cuts
  it into the 20 ms frames the pipeline expects.
- browser -> server, text: `{"event": "mark", "mark": {"name": ...}}` once the
  audio before a mark has played (Twilio's echo), `{"event": "stop"}` to hang up.
- server -> browser, text: first `{"event": "call", "call_id": ...}`, then
  Twilio's own `media` (8 kHz mu-law, base64), `mark` and `clear` messages,
  exactly as the session sends them to Twilio.

The socket sits under /ws/console/ (same origin, logged-in session) and only
operators and admins may open one. The call is stored as a web test call
(Call.test_kind), so the dialer and the experiments never count it.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import numpy as np
import structlog
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from live.actions import CallActions
from live.pipeline.inbound import BadMediaPayload
from live.pipeline.mulaw import mulaw_encode
from live.session import CallSession, Transport
from live.setup import CallNotLive, build_session
from voiceops.roles import SOCKET_ACT, user_may

log = structlog.get_logger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_MESSAGE = 4400
CLOSE_NOT_FOUND = 4404
CLOSE_INTERNAL = 4500
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
MAX_MESSAGE_BYTES = 16000  # one second of audio; a browser sends 20 ms at a time


def _not_on_a_browser_call(call_sid: str, *_: str) -> None:
    raise RuntimeError("a browser test call has no phone line to transfer or send digits on")


def _nothing_to_hang_up(call_sid: str) -> None:
    """Closing the browser's socket ends a browser call; there is no carrier to tell."""


BROWSER_ACTIONS = CallActions(
    hangup=_nothing_to_hang_up,
    transfer=_not_on_a_browser_call,
    send_digits=_not_on_a_browser_call,
    use_rest_for_hangup=False,
)


class BrowserCallConsumer(AsyncWebsocketConsumer):
    """One browser test call on `version_id` (any version, draft or published)."""

    # Like the Media Streams socket: audio never goes through the channel layer.
    channel_layer_alias = "media-sockets-use-no-channel-layer"
    session: CallSession | None = None

    async def connect(self) -> None:
        self.session = None
        self._pending = bytearray()
        user = self.scope.get("user")
        # Refusals are accepted, then closed with a code: a browser is told why
        # (a refusal before the handshake reaches a page as a bare 1006).
        if user is None or not user.is_authenticated:
            await self._refuse_connect(CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(user_may)(user, SOCKET_ACT):
            await self._refuse_connect(CLOSE_FORBIDDEN)
            return
        version_id = int(self.scope["url_route"]["kwargs"]["version_id"])
        call_id = await database_sync_to_async(_create_call)(user, version_id)
        if call_id is None:
            await self._refuse_connect(CLOSE_NOT_FOUND)
            return
        await self.accept()
        try:
            self.session = await build_session(
                call_id=call_id,
                call_sid="",
                stream_sid="WB" + uuid.uuid4().hex,
                transport=_BrowserTransport(self),
                actions=BROWSER_ACTIONS,
            )
        except CallNotLive:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except Exception as exc:
            log.exception("browser_call_setup_failed", call_id=str(call_id))
            await database_sync_to_async(_fail_call)(call_id, f"engine setup failed: {exc}")
            await self.close(code=CLOSE_INTERNAL)
            return
        await self.send(text_data=json.dumps({"event": "call", "call_id": str(call_id)}))
        await self.session.start()

    async def _refuse_connect(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.session is not None:
            await self.session.finish(status="completed")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        session = self.session
        if session is None:
            return
        if bytes_data is not None:
            if len(bytes_data) % 2 or len(bytes_data) > MAX_MESSAGE_BYTES:
                await self._refuse("audio must be 16-bit PCM, at most one second per message")
                return
            self._pending.extend(bytes_data)
            frame_bytes = FRAME_SAMPLES * 2
            while len(self._pending) >= frame_bytes:
                pcm = np.frombuffer(bytes(self._pending[:frame_bytes]), dtype="<i2")
                del self._pending[:frame_bytes]
                payload = base64.b64encode(mulaw_encode(pcm.astype(np.float32) / 32768.0)).decode()
                try:
                    session.on_media(payload)
                except BadMediaPayload as exc:
                    await self._refuse(str(exc))
                    return
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        event = message.get("event") if isinstance(message, dict) else None
        if event == "mark":
            mark = message.get("mark") if isinstance(message, dict) else None
            if isinstance(mark, dict) and isinstance(mark.get("name"), str):
                session.on_mark(mark["name"])
        elif event == "stop":
            await session.finish(status="completed")
            await self.close(code=1000)
        else:
            await self._refuse("unknown message")

    async def _refuse(self, reason: str) -> None:
        log.warning("browser_call_refused", reason=reason)
        if self.session is not None:
            await self.session.finish(status="failed", reason=f"browser call: {reason}")
        await self.close(code=CLOSE_BAD_MESSAGE)


class _BrowserTransport(Transport):
    def __init__(self, consumer: BrowserCallConsumer) -> None:
        self._consumer = consumer

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_text(json.dumps(message, separators=(",", ":")))

    async def send_text(self, text: str) -> None:
        await self._consumer.send(text_data=text)

    async def close(self, code: int) -> None:
        await self._consumer.close(code=code)


def _create_call(user: Any, version_id: int) -> uuid.UUID | None:
    from agents.selectors import agent_version_by_id
    from audit import verbs
    from audit.services import audit_record
    from calls.services import call_create_test

    version = agent_version_by_id(version_id=version_id)
    if version is None:
        return None
    call = call_create_test(agent_version_id=version.pk, kind="web", from_number="browser")
    summary = f"{version.agent.name} v{version.number}"
    audit_record(actor=user, verb=verbs.TEST_CALLED, target=call, summary=summary, data={"version": version.pk})
    return call.pk


def _fail_call(call_id: uuid.UUID, reason: str) -> None:
    from calls.services import call_set_status

    try:
        call_set_status(call_id=call_id, status="failed", reason=reason)
    except Exception:
        log.exception("call_fail_failed", call_id=str(call_id))
