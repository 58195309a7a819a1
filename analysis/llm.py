"""Analysis by a language model: JSON constrained by the version's schema, validated before use.

It reuses the call engine's OpenAI-compatible client (agents.brains.llm_client),
with its endpoint failover, on the server's LLM settings or the version's own.
The schema goes out as `response_format`, which vLLM turns into guided
decoding: first in the OpenAI form (``{"type": "json_schema", ...}``); a
server that refuses that form with an HTTP error (llama-cpp-python's server
knows only ``{"type": "json_object", "schema": ...}``) is asked again in its
own form. Either way the answer is validated (analysis.schema) before a
single value is written anywhere.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from agents.brains.config import AgentConfig
from agents.brains.llm import LlmDefaults
from agents.brains.llm_client import LLMClient, LLMError, TextDelta
from analysis.rules import Turn
from analysis.schema import Checked, analysis_schema, check_analysis

# Post-call work is not a live call: a model busy with calls may take a while to start.
FIRST_TOKEN_TIMEOUT_S = 60.0
MAX_TOKENS = 600
SYSTEM_PROMPT = (
    "You analyse phone call transcripts for a call centre. Answer with one JSON object only, matching the "
    "schema: a two-sentence summary, the caller's sentiment, whether the call reached its goal, and the "
    "requested fields when the transcript states them (leave a field out when it does not)."
)


@dataclass(frozen=True)
class LlmAnswer:
    checked: Checked
    raw: str
    model: str
    endpoint: str


def llm_configured(config: AgentConfig, defaults: LlmDefaults) -> bool:
    return bool(config.llm.endpoints or defaults.endpoints)


def _prompt(config: AgentConfig, turns: list[Turn], disposition: str) -> list[dict[str, Any]]:
    lines = [f"{turn.speaker}: {turn.text}" for turn in turns if turn.speaker in ("caller", "agent") and turn.text]
    wanted = [
        f"- {spec.name} ({spec.type}{', one of ' + '/'.join(spec.choices) if spec.choices else ''})"
        f"{': ' + spec.description if spec.description else ''}"
        for spec in config.analysis.fields
    ]
    goal = ", ".join(config.success_dispositions) or "none"
    user = (
        f"Transcript:\n{chr(10).join(lines) or '(nothing was said)'}\n\n"
        f"The call ended with disposition {disposition or 'none'}; success means one of: {goal}.\n"
        f"Fields:\n{chr(10).join(wanted) or '(none)'}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _formats(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "json_schema", "json_schema": {"name": "call_analysis", "schema": schema, "strict": True}},
        {"type": "json_object", "schema": schema},
    ]


async def _complete(client: LLMClient, messages: list[dict[str, Any]], response_format: dict[str, Any]) -> str:
    text = ""
    async with aclosing(
        client.stream_chat(messages, temperature=0.0, max_tokens=MAX_TOKENS, response_format=response_format)
    ) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                text += event.text
    return text


async def _analyse(config: AgentConfig, defaults: LlmDefaults, turns: list[Turn], disposition: str) -> LlmAnswer:
    client = LLMClient(
        endpoints=list(config.llm.endpoints or defaults.endpoints),
        model=config.llm.model or defaults.model,
        api_key=defaults.api_key,
        first_token_timeout_s=FIRST_TOKEN_TIMEOUT_S,
    )
    messages = _prompt(config, turns, disposition)
    schema = analysis_schema(config.analysis.fields)
    errors: list[str] = []
    try:
        for response_format in _formats(schema):
            try:
                raw = await _complete(client, messages, response_format)
            except LLMError as exc:
                errors.append(str(exc))
                continue
            return LlmAnswer(check_analysis(raw, config.analysis.fields), raw, client.model, client.current_endpoint)
    finally:
        await client.aclose()
    raise LLMError("; ".join(errors))


def llm_analysis(*, config: AgentConfig, defaults: LlmDefaults, turns: list[Turn], disposition: str) -> LlmAnswer:
    """Blocking (a Celery task's thread): the model's validated analysis; raises LLMError when no endpoint answers."""
    return asyncio.run(_analyse(config, defaults, turns, disposition))
