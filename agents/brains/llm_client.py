"""Streaming chat completions over the OpenAI-compatible API, with failover.

This is what `vllm serve` (and llama.cpp's server) expose at
``POST {base_url}/chat/completions`` with ``"stream": true``: server-sent
events, one ``data: {json}`` chunk per token group, ``data: [DONE]`` at the
end. We speak it with httpx directly rather than through an SDK because the
two things a phone call needs are timing rules an SDK hides: a deadline on the
*first token* and on every gap between chunks, and the freedom to abandon a
stream half-way and carry on somewhere else.

Failover. One `LLMClient` lives as long as one call and holds the endpoint
list (in `LLM_BASE_URLS` order). A request starts on the endpoint that served
the call last and, when that endpoint refuses the connection, answers with an
HTTP error, misses the first-token deadline, stalls, or drops the stream
mid-reply, moves to the next one in list order, wrapping around the end of
the list, trying each endpoint at most once per request. Wrapping means that
a first endpoint that died and came back is used again later in the call
rather than the call running out of endpoints. When every endpoint has failed
and one of them was only slow to start, that one gets one more try with a
relaxed deadline (a slow answer beats hanging up on the caller).

Mid-reply failover continues the SAME reply without repeating what was
already streamed: the text received so far is sent to the next endpoint as a
final assistant message with vLLM's ``continue_final_message`` (and
``add_generation_prompt: false``), so the model writes the rest of that
message. Servers that ignore those fields start a fresh message instead; for
them the new stream is passed through `_PrefixDropper`, which drops a leading
repeat of the already-streamed text, so the caller never hears it twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

# How long to wait for a TCP connection before trying the next endpoint. A
# dead host on the LAN would otherwise hold the caller for the OS default.
CONNECT_TIMEOUT_S = 1.0
# When every endpoint has failed and one of them only missed the first-token
# deadline, it gets one more try with this much patience (or four deadlines).
RELAXED_FIRST_TOKEN_S = 10.0
DEADLINE_MISSED = "first-token deadline missed"


class LLMError(Exception):
    """No endpoint could produce the completion."""


class _EndpointFailed(Exception):
    """One endpoint failed for this request; the next one is tried."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call from the model; `arguments` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    """The end of a completion: why it stopped, and the tool calls it asked for."""

    finish_reason: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)  # the server's token counts, when it sends them


StreamEvent = TextDelta | Finished


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: str = ""


class _PrefixDropper:
    """Drops a leading repeat of `spoken` from a stream of text deltas.

    Used only after a mid-reply failover, for servers that restart the message
    instead of continuing it. Whitespace and case are ignored in the
    comparison. Text is held back only while it still matches the prefix; the
    moment it differs, everything held is released.
    """

    def __init__(self, spoken: str) -> None:
        self._target = _squash(spoken)
        self._held = ""
        self._done = not self._target

    def feed(self, text: str) -> str:
        if self._done:
            return text
        self._held += text
        held = _squash(self._held)
        if self._target.startswith(held):
            return ""  # still possibly a repeat: hold it
        if held.startswith(self._target):
            self._done = True
            return _cut_squashed_prefix(self._held, len(self._target))
        self._done = True
        out, self._held = self._held, ""
        return out

    def flush(self) -> str:
        # The stream ended while still matching: it repeated (part of) what
        # was said and nothing more, so there is nothing new to say.
        self._done = True
        self._held = ""
        return ""


def _squash(text: str) -> str:
    return "".join(text.split()).lower()


def _cut_squashed_prefix(text: str, squashed_len: int) -> str:
    """`text` without its first `squashed_len` non-whitespace characters."""
    seen = 0
    for index, char in enumerate(text):
        if seen == squashed_len:
            return text[index:]
        if not char.isspace():
            seen += 1
    return ""


class LLMClient:
    """Streaming chat completions for one call, failing over across endpoints."""

    def __init__(
        self,
        *,
        endpoints: list[str],
        model: str,
        api_key: str = "",
        first_token_timeout_s: float = 1.5,
        stall_timeout_s: float | None = None,
        call_id: str = "",
        on_failover: Callable[[], None] | None = None,
    ) -> None:
        if not endpoints:
            raise LLMError("no LLM endpoint configured: set LLM_BASE_URLS or the agent's llm.endpoints")
        self.endpoints = [url.rstrip("/") for url in endpoints]
        self.model = model
        self.api_key = api_key
        self.first_token_timeout_s = first_token_timeout_s
        # A stream that stops sending mid-reply is as dead as a closed one,
        # but a busy server may pause between chunks longer than before its
        # first token, so the gap allowed is more generous.
        self.stall_timeout_s = stall_timeout_s if stall_timeout_s is not None else max(3.0, 2 * first_token_timeout_s)
        self.current = 0  # index of the endpoint that served this call last
        self._on_failover = on_failover
        self._log = log.bind(call_id=call_id) if call_id else log
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    @property
    def current_endpoint(self) -> str:
        return self.endpoints[self.current]

    def _client(self) -> httpx.AsyncClient:
        # One pooled client per call keeps the connection to the model server
        # warm between turns; it belongs to the event loop that made it.
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=CONNECT_TIMEOUT_S, read=None, write=5.0, pool=5.0),
                headers={"Authorization": f"Bearer {self.api_key}"} if self.api_key else {},
            )
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        if self._http is not None and not self._http.is_closed:
            await self._http.aclose()
        self._http = None

    async def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        temperature: float = 0.3,
        max_tokens: int = 200,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Text deltas as they arrive, then one `Finished`; fails over as the module explains.

        `response_format` is passed through as the API defines it (post-call
        analysis asks for JSON constrained by a schema). Raises LLMError when
        every endpoint has failed for this request.
        """
        streamed = ""  # text already handed to the caller of this generator
        failures: list[str] = []
        order = [(self.current + attempt) % len(self.endpoints) for attempt in range(len(self.endpoints))]
        slow: int | None = None  # the first endpoint that was only too slow to start
        attempts = [(index, self.first_token_timeout_s) for index in order]
        while attempts:
            index, first_token_timeout_s = attempts.pop(0)
            url = self.endpoints[index]
            body = self._body(messages, streamed, temperature=temperature, max_tokens=max_tokens, tools=tools)
            if response_format is not None:
                body["response_format"] = response_format
            dropper = _PrefixDropper(streamed)
            try:
                async with aclosing(self._stream_once(url, body, first_token_timeout_s)) as events:
                    async for event in events:
                        if isinstance(event, TextDelta):
                            text = dropper.feed(event.text)
                            if text:
                                streamed += text
                                yield TextDelta(text)
                        else:
                            dropper.flush()
                            if index != self.current:
                                self.current = index  # stay on the endpoint that worked
                            yield event
                            return
            except _EndpointFailed as failure:
                failures.append(f"{url}: {failure}")
                if failure.reason == DEADLINE_MISSED and slow is None:
                    slow = index
                if not attempts and slow is not None and first_token_timeout_s == self.first_token_timeout_s:
                    # Every endpoint failed, and one was merely slow to start:
                    # waiting longer for it beats hanging up on the caller.
                    attempts.append((slow, max(RELAXED_FIRST_TOKEN_S, 4 * self.first_token_timeout_s)))
                self._log.warning(
                    "llm_failover",
                    endpoint=url,
                    reason=failure.reason,
                    detail=failure.detail,
                    next_endpoint=self.endpoints[attempts[0][0]] if attempts else None,
                    next_first_token_timeout_s=attempts[0][1] if attempts else None,
                    streamed_chars=len(streamed),
                )
                if attempts and self._on_failover is not None:  # left for another endpoint (or a longer wait)
                    try:
                        self._on_failover()
                    except Exception:  # a monitoring hook must never cost the caller their reply
                        self._log.exception("llm_failover_hook_failed")
        raise LLMError("every LLM endpoint failed: " + "; ".join(failures))

    def _body(
        self,
        messages: list[dict[str, Any]],
        streamed: str,
        *,
        temperature: float,
        max_tokens: int,
        tools: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            # The last chunk carries the token counts (analytics prices LLM tokens per call).
            "stream_options": {"include_usage": True},
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        if streamed:
            # Continue the half-streamed message rather than start a new one.
            body["messages"].append({"role": "assistant", "content": streamed})
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
            body["max_tokens"] = max(16, max_tokens - len(streamed) // 4)  # about 4 characters a token
        return body

    async def _stream_once(
        self, base_url: str, body: dict[str, Any], first_token_timeout_s: float
    ) -> AsyncGenerator[StreamEvent, None]:
        """One attempt at one endpoint; raises _EndpointFailed for anything that should fail over."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Until the first token the deadline is absolute (connect, headers and
        # empty role-only chunks all count); after it, each gap between chunks
        # gets `stall_timeout_s`. Timeouts wrap only our own awaits, never a
        # `yield`: the time our consumer spends speaking is not the server's.
        deadline = started + first_token_timeout_s
        got_first = False
        saw_done = False
        tool_parts: dict[int, _ToolCallParts] = {}
        finish_reason = ""
        usage: dict[str, int] = {}
        client = self._client()
        request = client.build_request("POST", f"{base_url}/chat/completions", json=body)
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout_at(deadline):
                response = await client.send(request, stream=True)
                if response.status_code >= 400:
                    detail = (await response.aread()).decode("utf-8", "replace")[:300]
                    raise _EndpointFailed(f"http {response.status_code}", detail)
            lines = response.aiter_lines()
            while not saw_done:
                async with asyncio.timeout_at(deadline):
                    try:
                        line = await anext(lines)
                    except StopAsyncIteration:
                        break
                if got_first:
                    deadline = loop.time() + self.stall_timeout_s
                if not line.startswith("data:"):
                    continue  # comments, event names, blank separators
                data = line[5:].strip()
                if data == "[DONE]":
                    saw_done = True
                    break
                chunk = _parse_chunk(data)
                if "error" in chunk:
                    raise _EndpointFailed("stream error", json.dumps(chunk["error"])[:300])
                usage = _usage(chunk) or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    text = delta.get("content")
                    for part in delta.get("tool_calls") or []:
                        _merge_tool_call(tool_parts, part)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                    if (text or delta.get("tool_calls") or finish_reason) and not got_first:
                        got_first = True
                        deadline = loop.time() + self.stall_timeout_s
                        self._log.debug("llm_first_token", endpoint=base_url, ms=round((loop.time() - started) * 1000))
                    if text:
                        yield TextDelta(text)
        except TimeoutError as exc:
            reason = "stalled mid-stream" if got_first else DEADLINE_MISSED
            raise _EndpointFailed(reason, f"after {loop.time() - started:.2f}s") from exc
        except httpx.HTTPError as exc:
            raise _EndpointFailed(type(exc).__name__, str(exc)[:300] or type(exc).__name__) from exc
        except OSError as exc:
            raise _EndpointFailed("connection error", str(exc)[:300]) from exc
        finally:
            if response is not None:
                await response.aclose()
        if not finish_reason and not saw_done:
            # The stream closed without finishing: a server that crashed
            # mid-reply, not a completed answer.
            raise _EndpointFailed("stream ended without finish_reason")
        calls = [
            ToolCall(id=parts.id or f"call_{index}", name=parts.name, arguments=parts.arguments)
            for index, parts in sorted(tool_parts.items())
            if parts.name
        ]
        yield Finished(finish_reason=finish_reason or "stop", tool_calls=calls, usage=usage)


def _usage(chunk: dict[str, Any]) -> dict[str, int]:
    """OpenAI's usage object from a chunk (the last one, with include_usage): the token counts only."""
    usage = chunk.get("usage")
    if not isinstance(usage, dict):
        return {}
    return {
        name: int(value)
        for name, value in usage.items()
        if name in ("prompt_tokens", "completion_tokens", "total_tokens") and isinstance(value, int | float)
    }


def _parse_chunk(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError as exc:
        raise _EndpointFailed("malformed stream chunk", data[:200]) from exc
    if not isinstance(chunk, dict):
        raise _EndpointFailed("malformed stream chunk", data[:200])
    return chunk


def _merge_tool_call(parts: dict[int, _ToolCallParts], delta: dict[str, Any]) -> None:
    """Tool calls stream in pieces keyed by index: id and name first, arguments as text fragments."""
    index = delta.get("index", 0)
    current = parts.setdefault(index if isinstance(index, int) else 0, _ToolCallParts())
    if delta.get("id"):
        current.id = delta["id"]
    function = delta.get("function") or {}
    name = function.get("name")
    if name and name != current.name:
        # Sent once by OpenAI and vLLM; some servers repeat it in every delta.
        current.name += name
    if function.get("arguments"):
        current.arguments += function["arguments"]
