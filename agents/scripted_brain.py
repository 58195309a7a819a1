"""A brain that says its script: the greeting, then one line per caller utterance.

For tests and demos of the call engine, where the agent's words must be known
in advance. A line such as "[hangup:booked]" ends the call with that
disposition; text before the tag is spoken first ("Bye now. [hangup:done]").
The position in the script is read from the context's history (how many
caller turns came before), so the brain holds no state of its own and the
engine may run it speculatively and throw the result away.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from agents.brain import BrainOutput, CallContext, Hangup, Speech

_HANGUP = re.compile(r"\[hangup(?::([\w-]+))?\]")


class ScriptedBrain:
    speculative_safe = True  # replies depend only on the context: safe to start before the turn is final

    def __init__(self, config: dict[str, Any]) -> None:
        self.greeting_text = str(config.get("greeting", ""))
        self.script = [str(line) for line in config.get("script", [])]

    async def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        for output in _outputs(self.greeting_text, ctx):
            yield output

    async def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        index = sum(1 for m in ctx.history if m.get("role") == "user")
        if index >= len(self.script):
            return
        for output in _outputs(self.script[index], ctx):
            yield output


def _outputs(line: str, ctx: CallContext) -> list[BrainOutput]:
    out: list[BrainOutput] = []
    match = _HANGUP.search(line)
    text = _HANGUP.sub("", line).strip()
    if text:
        out.append(Speech(_fill(text, ctx)))
    if match:
        out.append(Hangup(match.group(1) or "completed"))
    return out


def _fill(text: str, ctx: CallContext) -> str:
    values = {**ctx.lead_variables, **ctx.variables}
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values.get(m.group(1), "")), text)
