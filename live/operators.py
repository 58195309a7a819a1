"""What operators do to a live call from the console: hang up, transfer, have the agent say a sentence.

Their commands come through live.supervision (over the channel layer, from
whichever process serves the console); this module carries them out on the
call and tells the console what the call is saying now (its live view).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from agents.brains.base import Speech, Transfer
from live.actions import ActionRunner
from live.parts import CallParts
from live.replies import Replies
from live.supervision import LiveView, Supervision


class OperatorDesk:
    def __init__(
        self,
        *,
        parts: CallParts,
        call_id: uuid.UUID,
        replies: Replies,
        actions: ActionRunner,
        end_call: Callable[[], Awaitable[None]],
        ending: Callable[[], bool],  # whether the call is ending: commands that come then are dropped
    ) -> None:
        self.ctx, self.store, self.player, self.log = parts.ctx, parts.store, parts.player, parts.log
        self.replies, self.actions, self.end_call, self.ending = replies, actions, end_call, ending
        self.supervision = Supervision(
            call_id=call_id, clock=parts.clock, view=self._live_view, on_command=self._on_command
        )
        self.supervision.on_listening = self._listening
        self.closing_turns: list[dict[str, Any]] = []  # stored at the end, after the last reply
        self._say_next: list[tuple[str, str]] = []  # (text, operator) waiting for the next pause
        self._commands: set[asyncio.Task[None]] = set()

    async def _on_command(self, message: dict[str, Any]) -> None:
        # Its own task: a hang-up finishes the session, which closes the link
        # whose receive loop delivered this message.
        task = asyncio.create_task(self.command(message), name="operator-command")
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def command(self, message: dict[str, Any]) -> None:
        """An operator's command from the console: hang up, transfer now, or say a sentence at the next pause."""
        if self.ending():
            return
        command, actor = message.get("command"), str(message.get("actor") or "an operator")
        self.log.info("operator_command", command=command, actor=actor)
        if command == "hangup":
            self.ctx.disposition = "operator_hangup"
            # Stored by the session's finish, after the reply it cut off: the transcript reads in order.
            self.closing_turns.append(
                {"speaker": "system", "text": f"Hung up by {actor}", "data": {"operator": actor, "command": "hangup"}}
            )
            await self.end_call()
        elif command == "transfer":
            number = str(message.get("number") or "")
            self.ctx.disposition = "transferred"
            await self.actions.transfer(Transfer(number))
        elif command == "say":
            text = str(message.get("text") or "").strip()
            if text:
                self._say_next.append((text, actor))

    def at_pause(self) -> None:
        """Nobody is talking: the operator's sentences are said now; the transcript says who put them there."""
        if not self._say_next:
            return
        pending, self._say_next = self._say_next, []
        for text, actor in pending:
            self.store.add_turn(
                speaker="system",
                text=f"{actor} had the agent say: {text}",
                data={"operator_injected": True, "operator": actor, "text": text},
            )
        self.replies.say([Speech(text) for text, _ in pending])

    def store_closing_turns(self) -> None:
        for turn in self.closing_turns:
            self.store.add_turn(**turn)

    def _listening(self, listening: bool) -> None:
        """The player hands its frames to listen-in only while someone listens (no call per frame otherwise)."""
        self.player.tap = self.supervision.on_agent_frame if listening else None

    def _live_view(self) -> LiveView:
        playing = self.player.playing
        newest = self.replies.open[-1] if self.replies.open else None
        return LiveView(
            speaking=playing.heard.text if playing is not None else "",
            heard=playing.heard.heard_text() if playing is not None else "",
            stages=dict(newest.timings) if newest is not None else {},
        )
