"""A brain that says its script: the greeting, then one line per caller utterance.

For tests and demos of the call engine, where the agent's words must be known
in advance. A line may end with one action tag, run after the text before it
has been spoken:

- "[hangup:booked]" ends the call with that disposition ("[hangup]": completed);
- "[transfer:+14155550123]" hands the caller to that number (Twilio <Dial>);
- "[dtmf:1234]" plays those keys into the call (0-9, *, #, w for a pause).

Transfer and DTMF also come out as a ToolUse first (transfer_to_human,
send_dtmf), as the flow and LLM brains report them, so the transcript shows
them the same way. The position in the script is read from the context's
history (how many caller turns came before), so the brain holds no state of
its own and the engine may run it speculatively and throw the result away.

Past the end of a script whose last line hangs up, a caller turn gets that
hang-up again, as the flow brain repeats its final action: the engine
cancels a reply the caller speaks over, so "Goodbye! [hangup:booked]" cut
off by the caller's "thank you" would otherwise leave the call open and its
disposition unsaid.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from agents.brains.base import BrainOutput, CallContext, Hangup, SendDigits, Speech, ToolUse, Transfer
from agents.brains.config import AgentConfig
from agents.brains.templating import render_template
from agents.brains.validation import DISPOSITION_RULE, DTMF_RULE, e164_problem, is_disposition, is_dtmf

# One tag per line; the argument is checked here so that a typo in a script
# fails loudly when the brain is built, not halfway through a call. The checks
# are the ones the flow, the tools and the config use, so a scripted call can
# do nothing the others would refuse.
_TAG = re.compile(r"\[(hangup|transfer|dtmf)(?::([^\]]*))?\]")


class ScriptError(ValueError):
    """A script line whose action tag cannot be run."""


class ScriptedBrain:
    speculative_safe = True  # replies depend only on the context: safe to start before the turn is final

    def __init__(self, config: dict[str, Any] | AgentConfig) -> None:
        if isinstance(config, AgentConfig):
            self.greeting_text, self.script = config.greeting, list(config.script)
        else:
            self.greeting_text = str(config.get("greeting", ""))
            self.script = [str(line) for line in config.get("script", [])]
        for index, line in enumerate([self.greeting_text, *self.script]):
            where = "greeting" if index == 0 else f"script[{index - 1}]"
            _parse(line, where)

    async def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        for output in _outputs(self.greeting_text, ctx):
            yield output

    async def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        index = sum(1 for m in ctx.history if m.get("role") == "user")
        if index < len(self.script):
            for output in _outputs(self.script[index], ctx):
                yield output
        elif self.script:
            for output in _outputs(self.script[-1], ctx):
                if isinstance(output, Hangup):
                    yield output  # the goodbye was said (or cut off): the call still ends

    async def aclose(self) -> None:
        """Nothing to release: the brain holds only its script."""


def _parse(line: str, where: str) -> tuple[str, str, str]:
    """(text, tag, argument); tag is "" when the line has none."""
    tags = list(_TAG.finditer(line))
    if len(tags) > 1:
        raise ScriptError(f"{where}: one action tag per line, found {len(tags)}")
    text = _TAG.sub("", line).strip()
    if not tags:
        return text, "", ""
    tag, argument = tags[0].group(1), (tags[0].group(2) or "").strip()
    if tag == "hangup" and argument and not is_disposition(argument):
        raise ScriptError(f"{where}: disposition {argument!r} {DISPOSITION_RULE}")
    if tag == "transfer" and (problem := e164_problem(argument)) is not None:
        raise ScriptError(f"{where}: transfer needs an E.164 number such as +14155550123, got {argument!r} ({problem})")
    if tag == "dtmf" and not is_dtmf(argument):
        raise ScriptError(f"{where}: dtmf digits {DTMF_RULE}, got {argument!r}")
    return text, tag, argument


def _outputs(line: str, ctx: CallContext) -> list[BrainOutput]:
    text, tag, argument = _parse(line, "script line")
    out: list[BrainOutput] = []
    if text:
        spoken = render_template(text, {**ctx.lead_variables, **ctx.variables})
        if spoken:
            out.append(Speech(spoken))
    if tag == "hangup":
        out.append(Hangup(argument or "completed"))
    elif tag == "transfer":
        out.append(ToolUse("transfer_to_human", {}, {"ok": True, "number": argument}))
        out.append(Transfer(number=argument))
    elif tag == "dtmf":
        out.append(ToolUse("send_dtmf", {"digits": argument}, {"ok": True, "digits": argument}))
        out.append(SendDigits(digits=argument))
    return out
