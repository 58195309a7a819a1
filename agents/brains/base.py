"""The one interface every brain speaks: flow agents, the LLM brain, the scripted test brain.

The call engine asks a brain for its greeting and for its reply to each caller
utterance. A brain answers with an async stream of small outputs: text to
speak (a sentence or a clause, as soon as it exists), tool uses for the
transcript, and call actions. The engine speaks, records and acts; when the
caller barges in it cancels the stream and tells the context what was heard.
When the call ends the engine closes the brain (`aclose`).

Everything under `agents.brains` is plain Python with no Django import: what
a brain needs from the outside (the database, the server's settings, the
time) is handed in, through the `CallContext` (its tool port and clock) or
when the brain is built (`agents.brains.factory.make_brain`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from agents.brains.ports import NoToolPort, ToolPort


def utc_now() -> datetime:
    """The wall clock, timezone-aware: a CallContext's default clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Speech:
    """Text to speak now (a sentence or first clause; the engine synthesises it at once)."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """A tool the brain ran, with its arguments and result, for the transcript."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class Hangup:
    """End the call, once what was already said has been played, with this disposition."""

    disposition: str


@dataclass(frozen=True)
class Transfer:
    """Hand the caller to a human at this E.164 number (Twilio <Dial>)."""

    number: str


@dataclass(frozen=True)
class SendDigits:
    """Play DTMF tones into the call (for phone menus)."""

    digits: str


BrainOutput = Speech | ToolUse | Hangup | Transfer | SendDigits


@dataclass(frozen=True)
class ModelExchange:
    """One request to a language model and its answer, for the compliance log.

    `messages` and `tools` are exactly what was sent; `reply` the raw text
    streamed back and `tool_calls` what the model asked for (name, raw
    arguments); `error` says why there was no answer.
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    reply: str
    tool_calls: list[dict[str, Any]]
    endpoint: str = ""
    model: str = ""
    error: str = ""
    usage: dict[str, int] = field(default_factory=dict)  # the server's token counts for this request


def ignore_exchange(_exchange: ModelExchange) -> None:
    """A CallContext's default model I/O hook: nothing is kept."""


@dataclass
class CallContext:
    """What a brain may know about the call. The engine owns and updates it.

    `history` holds OpenAI-style messages of what was actually said: agent
    turns contain only the words the caller heard before any barge-in.
    `tools` is how tools reach leads and calendars (nothing, unless the
    engine hands a port in); `clock` is "now" for tools and captures
    ("tomorrow at 3"), replaceable in tests.
    """

    call_id: str
    config: dict[str, Any]
    lead_id: int | None = None
    lead_variables: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    variables: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    disposition: str = ""
    tools: ToolPort = field(default_factory=NoToolPort)
    clock: Callable[[], datetime] = field(default=utc_now)
    # Told about every model request and answer (the engine stores them, redacted, per turn).
    on_model_exchange: Callable[[ModelExchange], None] = field(default=ignore_exchange)


class Brain(Protocol):
    # True when a reply depends only on the context (no state of its own, no
    # side effect): the engine may then start it before the caller's turn is
    # final and throw it away if they go on speaking.
    speculative_safe: bool

    def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        """What the agent says first (empty when the caller speaks first)."""
        ...

    def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        """The agent's answer to one caller utterance."""
        ...

    async def aclose(self) -> None:
        """Release what the brain holds (an LLM brain's HTTP connections); called once, when the call ends."""
        ...
