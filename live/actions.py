"""What the agent does to the call itself: hang up, transfer to a human, play DTMF digits.

The live engine imports neither the twilio SDK nor the telephony app: the
carrier's side is the CallActions port, built by telephony (for the Media
Streams consumer, telephony.live_actions) and handed to the session. Each
port function is a blocking REST call, so it runs on a worker thread; a
failed transfer or digits update is noted in the transcript instead of
ending the call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from agents.brains.base import BrainOutput, Hangup, SendDigits, Transfer
from live.parts import CallParts

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CallActions:
    """The carrier's side of a live call (replaceable, e.g. for the console's browser calls)."""

    hangup: Callable[[str], None]  # (call_sid)
    transfer: Callable[[str, str], None]  # (call_sid, E.164 number): bridge the caller there
    send_digits: Callable[[str, str], None]  # (call_sid, digits): play them, then connect a new media stream
    # Closing the media socket ends a <Connect><Stream> call by itself; a REST
    # hang-up is for a real account (or the built-in simulated carrier).
    use_rest_for_hangup: bool = False


def _no_carrier(call_sid: str, *_: str) -> None:
    raise RuntimeError("no carrier is connected to this call")


NO_CARRIER = CallActions(hangup=_no_carrier, transfer=_no_carrier, send_digits=_no_carrier)


class ActionRunner:
    def __init__(
        self,
        *,
        parts: CallParts,
        actions: CallActions,
        call_sid: str,
        end_call: Callable[[], Awaitable[None]],
    ) -> None:
        self.actions = actions
        self.call_sid = call_sid
        self.ctx, self.store, self.workers = parts.ctx, parts.store, parts.workers
        self.end_call = end_call  # the session's: hang up, store the end, close the stream
        self.log = log.bind(call_sid=call_sid, call_id=parts.ctx.call_id)
        # Set once the carrier was told to run TwiML that reconnects a stream
        # (DTMF): the stop on this stream then ends the stream, not the call.
        self.stream_replaced = False

    async def run(self, action: BrainOutput) -> None:
        """A brain's call action, once the words before it have been heard."""
        if isinstance(action, Hangup):
            self.ctx.disposition = action.disposition or self.ctx.disposition
            await self.end_call()
        elif isinstance(action, Transfer):
            self.ctx.disposition = self.ctx.disposition or "transferred"
            await self.transfer(action)
        elif isinstance(action, SendDigits):
            await self.send_digits(action)

    async def hang_up(self) -> None:
        """The REST hang-up, where the port wants one (closing the stream follows, in the session)."""
        if not (self.actions.use_rest_for_hangup and self.call_sid):
            return
        try:
            await self.workers.call(self.actions.hangup, self.call_sid)
        except Exception:
            self.log.warning("twilio_hangup_failed", exc_info=True)

    async def transfer(self, action: Transfer) -> None:
        note, data = f"Transferred to {action.number}", {"transfer": action.number}
        await self._update(self.actions.transfer, action.number, note, data)

    async def send_digits(self, action: SendDigits) -> None:
        # Media Streams cannot carry DTMF: the carrier plays the digits, then
        # connects a new stream to the same call (whose session resumes it).
        note, data = f"Sent digits {action.digits}", {"digits": action.digits}
        if await self._update(self.actions.send_digits, action.digits, note, data):
            self.stream_replaced = True

    async def _update(self, port: Callable[[str, str], None], argument: str, note: str, data: dict[str, Any]) -> bool:
        ok = True
        try:
            await self.workers.call(port, self.call_sid, argument)
        except Exception as exc:
            self.log.warning("twilio_update_failed", note=note, exc_info=True)
            note = f"{note} failed: {exc}"
            ok = False
        self.store.add_turn(speaker="system", text=note, data=data)
        return ok
