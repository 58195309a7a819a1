"""The LLM brain: a streamed chat completion, spoken sentence by sentence.

Each reply sends [system prompt + ctx.history + the caller's new words] to the
model and yields `Speech` as soon as a sentence (or, for the first one, a
clause long enough to be worth synthesising) exists, so the engine starts
speaking while the model is still writing.

Tools. When the model asks for tools, each is run through `agents.brains.tools`
(`run_tool`), reported as `ToolUse` for the transcript, and its call action
(Hangup, Transfer, SendDigits) yielded when it has one. A terminal action ends
the reply; otherwise the tool results go back to the model for a follow-up
completion in the same reply. The tool round-trip (the assistant's tool_calls
message and the tool results) lives only in this reply's own message list: we
never write to `ctx.history`, which the engine owns and fills with what the
caller actually heard (a tool exchange spliced in there would sit before the
user message the engine appends afterwards, an order the API rejects).

When no endpoint can answer, the caller hears a short apology and the call
ends with disposition ``llm_unavailable`` rather than sitting in silence.

The brain holds one HTTP client for the whole call (connections to the
model server stay warm between turns); `aclose` releases it when the call
ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import structlog

from agents.brains.base import BrainOutput, CallContext, Hangup, ModelExchange, SendDigits, Speech, ToolUse, Transfer
from agents.brains.config import AgentConfig, load_config
from agents.brains.llm_client import Finished, LLMClient, LLMError, TextDelta, ToolCall
from agents.brains.sentences import SentenceChunker
from agents.brains.templating import render_template
from agents.brains.tools import run_tool, tool_specs

log = structlog.get_logger(__name__)

# A model that keeps calling tools without ever answering would hold the
# caller forever; a few rounds cover "look something up, then act".
MAX_TOOL_ROUNDS = 4
UNAVAILABLE_MESSAGE = "I'm sorry, I'm having technical trouble right now. Someone will get back to you. Goodbye."
UNAVAILABLE_DISPOSITION = "llm_unavailable"


@dataclass(frozen=True)
class LlmDefaults:
    """The server's LLM settings, which an agent's own `llm` settings override field by field.

    Handed in when the brain is built (the Django side reads LLM_BASE_URLS,
    LLM_MODEL, LLM_API_KEY and LLM_FIRST_TOKEN_TIMEOUT_MS: agents.runtime);
    the defaults here are a server with no LLM configured.
    """

    endpoints: tuple[str, ...] = ()
    model: str = ""
    api_key: str = ""
    first_token_timeout_ms: int = 1500
    # Called once each time the client leaves an endpoint for the next one:
    # the Django side counts failovers (voiceops.metrics) without the brain
    # importing anything of it. Not part of the settings' equality.
    on_failover: Callable[[], None] | None = field(default=None, compare=False)


class LLMBrain:
    """agents.brains.base.Brain over the OpenAI-compatible chat completions API.

    Not speculative-safe: a reply may run tools (a booking, a do-not-call
    mark), which must not happen for words the caller may still add to.
    """

    speculative_safe = False

    def __init__(
        self,
        config: dict[str, Any] | AgentConfig,
        *,
        llm: LlmDefaults | None = None,
        apologize_when_unavailable: bool = True,
    ) -> None:
        self.config = config if isinstance(config, AgentConfig) else load_config(config)
        # False when another brain stands behind this one (a flow's LLM
        # fallback): LLMError is raised so that brain can carry on instead.
        self.apologize_when_unavailable = apologize_when_unavailable
        server = llm or LlmDefaults()
        own = self.config.llm
        timeout_ms = own.first_token_timeout_ms or server.first_token_timeout_ms
        self._client_args: dict[str, Any] = {
            "endpoints": list(own.endpoints or server.endpoints),
            "model": own.model or server.model,
            "api_key": server.api_key,
            "first_token_timeout_s": timeout_ms / 1000,
            "on_failover": server.on_failover,
        }
        self._client: LLMClient | None = None

    def client(self, ctx: CallContext) -> LLMClient:
        # One client per call (this brain serves one call): the endpoint that
        # took over after a failure keeps serving the later turns.
        if self._client is None:
            self._client = LLMClient(**self._client_args, call_id=ctx.call_id)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        text = render_template(self.config.greeting, ctx.lead_variables)
        if text:
            yield Speech(text)

    def system_prompt(self, ctx: CallContext) -> str:
        return render_template(self.config.llm.system_prompt, ctx.lead_variables)

    async def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        logger = log.bind(call_id=ctx.call_id)
        llm = self.config.llm
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self.system_prompt(ctx)},
            *ctx.history,
            {"role": "user", "content": caller_text},
        ]
        tools = _tool_specs(llm.tools)
        spoken_any = False
        for _round in range(MAX_TOOL_ROUNDS + 1):
            chunker = SentenceChunker()
            text = ""
            finished: Finished | None = None
            try:
                async with aclosing(
                    self.client(ctx).stream_chat(
                        messages, temperature=llm.temperature, max_tokens=llm.max_tokens, tools=tools or None
                    )
                ) as stream:
                    async for event in stream:
                        if isinstance(event, TextDelta):
                            text += event.text
                            for piece in chunker.feed(event.text):
                                spoken_any = True
                                yield Speech(piece)
                        else:
                            finished = event
            except LLMError as exc:
                _report(ctx, self.client(ctx), messages, tools, text, [], error=str(exc))
                # An unfinished sentence is dropped rather than spoken cut off.
                logger.error("llm_unavailable", error=str(exc), spoken_before=spoken_any)
                if not self.apologize_when_unavailable:
                    raise
                yield Speech(UNAVAILABLE_MESSAGE)
                yield Hangup(UNAVAILABLE_DISPOSITION)
                return
            _report(
                ctx,
                self.client(ctx),
                messages,
                tools,
                text,
                finished.tool_calls if finished else [],
                usage=finished.usage if finished else {},
            )
            for piece in chunker.flush():
                spoken_any = True
                yield Speech(piece)
            if finished is None or not finished.tool_calls:
                return
            if _round == MAX_TOOL_ROUNDS:
                logger.warning("llm_tool_rounds_exhausted", rounds=MAX_TOOL_ROUNDS)
                return
            messages.append(_assistant_tool_message(text, finished.tool_calls))
            ended = False
            for call in finished.tool_calls:
                arguments, result, action = await _run_tool(call.name, call.arguments, ctx, allowed=llm.tools)
                logger.info("llm_tool_call", tool=call.name, arguments=arguments, result=result)
                yield ToolUse(name=call.name, arguments=arguments, result=result)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
                if action is not None:
                    yield action
                    # Digits into a phone menu keep the conversation going;
                    # a hang-up or a transfer ends this agent's part.
                    ended = ended or isinstance(action, Hangup | Transfer)
            if ended:
                # The call is over or leaving this agent: no follow-up to speak.
                return


def _report(
    ctx: CallContext,
    client: LLMClient,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    reply: str,
    calls: list[ToolCall],
    *,
    error: str = "",
    usage: dict[str, int] | None = None,
) -> None:
    """Hand the request and its answer to the context's model I/O hook (copies: `messages` grows afterwards)."""
    ctx.on_model_exchange(
        ModelExchange(
            messages=[dict(message) for message in messages],
            tools=list(tools),
            reply=reply,
            tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
            endpoint=client.current_endpoint,
            model=client.model,
            error=error,
            usage=dict(usage or {}),
        )
    )


def _assistant_tool_message(text: str, calls: list[ToolCall]) -> dict[str, Any]:
    """The assistant turn that asked for tools, as the API wants it echoed before the results."""
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in calls
        ],
    }


def _tool_specs(names: list[str]) -> list[dict[str, Any]]:
    return tool_specs(names) if names else []


async def _run_tool(
    name: str, raw_arguments: str, ctx: CallContext, *, allowed: list[str]
) -> tuple[dict[str, Any], dict[str, Any], Hangup | Transfer | SendDigits | None]:
    """Run one tool call from the model; bad calls become an error result the model can read."""
    try:
        arguments = json.loads(raw_arguments) if raw_arguments.strip() else {}
    except json.JSONDecodeError:
        return {"_raw": raw_arguments}, {"error": "arguments are not valid JSON"}, None
    if not isinstance(arguments, dict):
        return {"_raw": raw_arguments}, {"error": "arguments must be a JSON object"}, None
    if name not in allowed:
        # Models sometimes invent tools; never run one the agent was not given.
        return arguments, {"error": f"unknown tool {name!r}"}, None
    outcome = await run_tool(name, arguments, ctx)
    return arguments, dict(outcome.result), outcome.action
