"""What the parts of one live call share, handed to each of them once by the session."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from agents.brains.base import CallContext
from agents.brains.config import AgentConfig
from live.clock import Clock
from live.player import Player
from live.speech.base import SpeechToText
from live.store import TurnStore
from live.workers import Workers


@dataclass(frozen=True)
class CallParts:
    """One call's context, agent version, database edge, player, model workers, speech-to-text and log."""

    ctx: CallContext
    config: AgentConfig
    store: TurnStore
    player: Player
    workers: Workers
    stt: SpeechToText
    log: structlog.typing.FilteringBoundLogger

    @property
    def clock(self) -> Clock:
        return self.player.clock
