"""The one interface every brain speaks: flow agents, the LLM brain, the scripted test brain.

The call engine asks a brain for its greeting and for its reply to each caller
utterance. A brain answers with an async stream of small outputs: text to
speak (a sentence or a clause, as soon as it exists), tool uses for the
transcript, and call actions. The engine speaks, records and acts; when the
caller barges in it cancels the stream and tells the context what was heard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agents.brains.config import AgentConfig


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


@dataclass
class CallContext:
    """What a brain may know about the call. The engine owns and updates it.

    `history` holds OpenAI-style messages of what was actually said: agent
    turns contain only the words the caller heard before any barge-in.
    """

    call_id: str
    config: dict[str, Any]
    lead_id: int | None = None
    lead_variables: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    variables: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    disposition: str = ""


class Brain(Protocol):
    def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        """What the agent says first (empty when the caller speaks first)."""
        ...

    def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        """The agent's answer to one caller utterance."""
        ...


def make_brain(ctx: CallContext, config: AgentConfig | None = None) -> Brain:
    """The brain the agent version's configuration asks for.

    Pass `config`, the parsed `ctx.config`, when the caller already has it
    (the engine loads it once per call): the brain then uses it as it is
    instead of parsing and validating the stored JSON (the flow graph
    included) a second time.
    """
    given: dict[str, Any] | AgentConfig = ctx.config if config is None else config
    kind = config.brain if config is not None else ctx.config.get("brain", "flow")
    if kind == "flow":
        from agents.brains.flow import FlowBrain

        return FlowBrain(given)
    if kind == "llm":
        from agents.brains.llm import LLMBrain

        return LLMBrain(given)
    if kind == "scripted":
        from agents.brains.scripted import ScriptedBrain

        return ScriptedBrain(given)
    raise ValueError(f"unknown brain kind {kind!r}")
