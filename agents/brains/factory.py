"""The brain an agent version asks for, built with what it needs from outside.

Kept apart from agents.brains.base so that the protocol module imports no
brain: every brain imports the protocol, and only this module imports every
brain.
"""

from __future__ import annotations

from typing import Any

from agents.brains.base import Brain, CallContext
from agents.brains.config import AgentConfig
from agents.brains.flow import FlowBrain
from agents.brains.llm import LLMBrain, LlmDefaults
from agents.brains.scripted import ScriptedBrain


def make_brain(ctx: CallContext, config: AgentConfig | None = None, *, llm: LlmDefaults | None = None) -> Brain:
    """The brain the agent version's configuration asks for.

    Pass `config`, the parsed `ctx.config`, when the caller already has it
    (the engine loads it once per call): the brain then uses it as it is
    instead of parsing and validating the stored JSON (the flow graph
    included) a second time. `llm` is the server's LLM settings, for an LLM
    brain and a flow's LLM fallback (none configured when left out).
    """
    given: dict[str, Any] | AgentConfig = ctx.config if config is None else config
    kind = config.brain if config is not None else ctx.config.get("brain", "flow")
    if kind == "flow":
        return FlowBrain(given, llm=llm)
    if kind == "llm":
        return LLMBrain(given, llm=llm)
    if kind == "scripted":
        return ScriptedBrain(given)
    raise ValueError(f"unknown brain kind {kind!r}")
