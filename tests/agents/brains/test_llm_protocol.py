"""The LLM client and brain against scripted OpenAI SSE servers and network faults.

Everything here speaks real HTTP on loopback: the scripted server streams
exactly the chunks vLLM sends, so failover and tool handling are exercised at
the protocol level without a model.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from structlog.testing import capture_logs

from agents.brains.base import CallContext, Hangup, ModelExchange, SendDigits, Speech, ToolUse
from agents.brains.llm import UNAVAILABLE_DISPOSITION, UNAVAILABLE_MESSAGE, LLMBrain
from agents.brains.llm_client import Finished, LLMClient, LLMError, TextDelta
from agents.runtime import DjangoToolPort
from tests.agents.brains.conftest import sse_finish, sse_text, sse_tool_call
from tests.factories import LeadFactory


def brain_for(*urls: str, tools: list[str] | None = None, timeout_ms: int = 2000, **extra) -> LLMBrain:
    return LLMBrain(
        {
            "brain": "llm",
            "greeting": "Hi {{first_name}}, this is Ava.",
            "llm": {
                "system_prompt": "You help {{first_name}}.",
                "endpoints": list(urls),
                "model": "test-model",
                "tools": tools or [],
                "first_token_timeout_ms": timeout_ms,
                "max_tokens": 64,
            },
            **extra,
        }
    )


def context(**kwargs) -> CallContext:
    return CallContext(call_id="call-test", config={"brain": "llm"}, lead_variables={"first_name": "Dana"}, **kwargs)


async def collect(stream) -> list:
    return [item async for item in stream]


async def test_greeting_is_templated_with_lead_variables(scripted_llm):
    outputs = await collect(brain_for(scripted_llm.base_url).greeting(context()))
    assert outputs == [Speech("Hi Dana, this is Ava.")]
    assert scripted_llm.requests == []  # the greeting needs no model


async def test_reply_sends_system_history_and_user_and_speaks_sentence_by_sentence(scripted_llm):
    scripted_llm.replies.append(
        [
            sse_text("Sure"),
            sse_text(". Tomorrow at "),
            sse_text("ten works. Does"),
            sse_text(" that suit you?"),
            sse_finish("stop"),
            "[DONE]",
        ]
    )
    history = [{"role": "assistant", "content": "Hi Dana."}, {"role": "user", "content": "Hello."}]
    ctx = context(history=list(history))
    outputs = await collect(brain_for(scripted_llm.base_url).reply(ctx, "Can I come tomorrow?"))

    assert outputs == [Speech("Sure."), Speech("Tomorrow at ten works."), Speech("Does that suit you?")]
    request = scripted_llm.requests[0]
    assert request["stream"] is True
    assert request["model"] == "test-model"
    assert request["messages"] == [
        {"role": "system", "content": "You help Dana."},
        *history,
        {"role": "user", "content": "Can I come tomorrow?"},
    ]
    assert "tools" not in request
    assert ctx.history == history  # the engine owns the history


async def test_speech_is_yielded_before_the_stream_ends(scripted_llm):
    """The first sentence must reach the engine while the model is still writing."""
    scripted_llm.replies.append([sse_text("One moment please. "), sse_text("Still"), sse_finish("stop"), "[DONE]"])
    client = LLMClient(endpoints=[scripted_llm.base_url], model="m", first_token_timeout_s=2)
    events = [event async for event in client.stream_chat([{"role": "user", "content": "hi"}])]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["One moment please. ", "Still"]
    assert events[-1] == Finished(finish_reason="stop", tool_calls=[])


async def test_connection_refused_fails_over_to_the_next_endpoint(dead_url, scripted_llm):
    scripted_llm.replies.append([sse_text("Hello from two."), sse_finish("stop"), "[DONE]"])
    brain = brain_for(dead_url, scripted_llm.base_url)
    with capture_logs() as logs:
        outputs = await collect(brain.reply(context(), "hi"))
    assert outputs == [Speech("Hello from two.")]
    failovers = [entry for entry in logs if entry["event"] == "llm_failover"]
    assert len(failovers) == 1
    assert failovers[0]["endpoint"] == dead_url
    assert failovers[0]["next_endpoint"] == scripted_llm.base_url
    assert failovers[0]["call_id"] == "call-test"
    # The endpoint that answered keeps the call: the next turn goes straight to it.
    assert brain.client(context()).current_endpoint == scripted_llm.base_url


async def test_http_error_fails_over(scripted_llm, scripted_llm_2):
    # scripted_llm has no reply queued, so it answers 404.
    scripted_llm_2.replies.append([sse_text("Fine."), sse_finish("stop"), "[DONE]"])
    outputs = await collect(brain_for(scripted_llm.base_url, scripted_llm_2.base_url).reply(context(), "hi"))
    assert outputs == [Speech("Fine.")]
    assert len(scripted_llm.requests) == 1


async def test_first_token_deadline_moves_on_from_a_silent_endpoint(silent_url, scripted_llm):
    scripted_llm.replies.append([sse_text("I am here."), sse_finish("stop"), "[DONE]"])
    brain = brain_for(silent_url, scripted_llm.base_url, timeout_ms=300)
    started = time.monotonic()
    with capture_logs() as logs:
        outputs = await collect(brain.reply(context(), "hi"))
    assert outputs == [Speech("I am here.")]
    failover = next(entry for entry in logs if entry["event"] == "llm_failover")
    assert failover["reason"] == "first-token deadline missed"
    assert failover["endpoint"] == silent_url
    # Not a speed assertion: a deadline that was never applied would hang forever.
    assert time.monotonic() - started < 60


async def test_stream_dying_mid_reply_continues_the_same_reply_elsewhere(scripted_llm, scripted_llm_2):
    # The first server streams part of a reply and its connection drops.
    scripted_llm.replies.append([sse_text("Hello Dana. I can"), sse_text(" see you")])
    scripted_llm_2.replies.append([sse_text(" at ten tomorrow."), sse_finish("stop"), "[DONE]"])
    brain = brain_for(scripted_llm.base_url, scripted_llm_2.base_url)
    with capture_logs() as logs:
        outputs = await collect(brain.reply(context(), "When?"))

    assert outputs == [Speech("Hello Dana."), Speech("I can see you at ten tomorrow.")]
    continuation = scripted_llm_2.requests[0]
    # The text already streamed goes along as the message to continue, not to repeat.
    assert continuation["messages"][-1] == {"role": "assistant", "content": "Hello Dana. I can see you"}
    assert continuation["messages"][-2] == {"role": "user", "content": "When?"}
    assert continuation["continue_final_message"] is True
    assert continuation["add_generation_prompt"] is False
    failover = next(entry for entry in logs if entry["event"] == "llm_failover")
    assert failover["streamed_chars"] == len("Hello Dana. I can see you")


async def test_a_server_that_restarts_the_message_is_not_heard_twice(scripted_llm, scripted_llm_2):
    """Servers that ignore continue_final_message start over; the repeat is dropped."""
    scripted_llm.replies.append([sse_text("Thanks for calling. We open"), sse_text(" at")])
    scripted_llm_2.replies.append(
        [
            sse_text("Thanks for"),
            sse_text(" calling.  We open at"),
            sse_text(" nine on Monday."),
            sse_finish("stop"),
            "[DONE]",
        ]
    )
    outputs = await collect(brain_for(scripted_llm.base_url, scripted_llm_2.base_url).reply(context(), "Hours?"))
    assert outputs == [Speech("Thanks for calling."), Speech("We open at nine on Monday.")]


async def test_failover_wraps_around_to_an_earlier_endpoint(scripted_llm, scripted_llm_2):
    scripted_llm.replies.append([sse_text("First."), sse_finish("stop"), "[DONE]"])
    brain = brain_for(scripted_llm.base_url, scripted_llm_2.base_url)
    ctx = context()
    assert await collect(brain.reply(ctx, "one")) == [Speech("First.")]
    # Now the first endpoint errors (nothing queued: 404) and the second answers.
    scripted_llm_2.replies.append([sse_text("Second."), sse_finish("stop"), "[DONE]"])
    assert await collect(brain.reply(ctx, "two")) == [Speech("Second.")]
    # The second one fails next; the list wraps to the first, which is back.
    scripted_llm.replies.append([sse_text("First again."), sse_finish("stop"), "[DONE]"])
    assert await collect(brain.reply(ctx, "three")) == [Speech("First again.")]
    assert [len(scripted_llm.requests), len(scripted_llm_2.requests)] == [3, 2]


async def test_a_slow_only_endpoint_gets_a_relaxed_deadline_instead_of_a_hang_up(scripted_llm, dead_url):
    # Both attempts at the scripted server start 0.5 s late; the deadline is 0.2 s.
    slow_reply = [0.5, sse_text("Slow but here."), sse_finish("stop"), "[DONE]"]
    scripted_llm.replies.extend([list(slow_reply), list(slow_reply)])
    with capture_logs() as logs:
        outputs = await collect(brain_for(scripted_llm.base_url, dead_url, timeout_ms=200).reply(context(), "hi"))
    assert outputs == [Speech("Slow but here.")]
    failovers = [entry for entry in logs if entry["event"] == "llm_failover"]
    assert [entry["reason"] for entry in failovers] == ["first-token deadline missed", "ConnectError"]
    assert failovers[-1]["next_endpoint"] == scripted_llm.base_url
    assert failovers[-1]["next_first_token_timeout_s"] >= 10


async def test_every_endpoint_down_apologises_and_hangs_up(dead_url, silent_url):
    brain = brain_for(dead_url, silent_url, timeout_ms=200)
    with capture_logs() as logs:
        outputs = await collect(brain.reply(context(), "hello?"))
    assert outputs == [Speech(UNAVAILABLE_MESSAGE), Hangup(UNAVAILABLE_DISPOSITION)]
    assert any(entry["event"] == "llm_unavailable" and entry["log_level"] == "error" for entry in logs)


async def test_every_endpoint_failing_mid_reply_drops_the_fragment_and_apologises(scripted_llm, dead_url):
    scripted_llm.replies.append([sse_text("Hello Dana. I can")])
    outputs = await collect(brain_for(scripted_llm.base_url, dead_url).reply(context(), "When?"))
    assert outputs == [Speech("Hello Dana."), Speech(UNAVAILABLE_MESSAGE), Hangup(UNAVAILABLE_DISPOSITION)]


async def test_client_without_endpoints_is_a_clear_error():
    with pytest.raises(LLMError, match="LLM_BASE_URLS"):
        LLMClient(endpoints=[], model="m")


async def test_malformed_stream_chunk_fails_over(scripted_llm, scripted_llm_2):
    scripted_llm.replies.append(["{not json", "[DONE]"])
    scripted_llm_2.replies.append([sse_text("Recovered."), sse_finish("stop"), "[DONE]"])
    with capture_logs() as logs:
        outputs = await collect(brain_for(scripted_llm.base_url, scripted_llm_2.base_url).reply(context(), "hi"))
    assert outputs == [Speech("Recovered.")]
    assert next(e for e in logs if e["event"] == "llm_failover")["reason"] == "malformed stream chunk"


async def test_cancelling_a_reply_closes_the_stream(scripted_llm):
    """Barge-in: the engine stops iterating; the HTTP stream must be released, not left open."""
    scripted_llm.replies.append([sse_text("First sentence here. "), sse_text("Second one. "), sse_finish("stop")])
    brain = brain_for(scripted_llm.base_url)
    stream = brain.reply(context(), "hi")
    assert await anext(stream) == Speech("First sentence here.")
    await stream.aclose()
    client = brain.client(context())
    assert client._http is not None
    # No connection is left mid-request: the abandoned stream was closed.
    pool = client._http._transport._pool
    assert all(connection.is_idle() or connection.is_closed() for connection in pool.connections)
    await brain.aclose()


# --- tools -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, reset_sequences=True)
async def test_tool_call_runs_the_real_tool_and_continues_with_its_result(scripted_llm):
    lead = await sync_to_async(LeadFactory)()
    scripted_llm.replies.append(
        [
            sse_text("Let me note that."),
            sse_tool_call(0, call_id="call_1", name="set_lead_field"),
            sse_tool_call(0, arguments='{"field": "insurance'),
            sse_tool_call(0, arguments='_provider", "value": "Acme"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    scripted_llm.replies.append([sse_text("Got it, Acme it is."), sse_finish("stop"), "[DONE]"])
    ctx = context(lead_id=lead.pk, tools=DjangoToolPort())
    brain = brain_for(scripted_llm.base_url, tools=["set_lead_field", "end_call"])
    outputs = await collect(brain.reply(ctx, "My insurer is Acme."))

    assert outputs == [
        Speech("Let me note that."),
        ToolUse(
            name="set_lead_field",
            arguments={"field": "insurance_provider", "value": "Acme"},
            result={"ok": True, "field": "insurance_provider", "value": "Acme"},
        ),
        Speech("Got it, Acme it is."),
    ]
    first, follow_up = scripted_llm.requests
    assert [tool["function"]["name"] for tool in first["tools"]] == ["set_lead_field", "end_call"]
    assert follow_up["messages"][-2] == {
        "role": "assistant",
        "content": "Let me note that.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "set_lead_field", "arguments": '{"field": "insurance_provider", "value": "Acme"}'},
            }
        ],
    }
    assert follow_up["messages"][-1]["role"] == "tool"
    assert follow_up["messages"][-1]["tool_call_id"] == "call_1"
    await sync_to_async(lead.refresh_from_db)()
    assert lead.custom_fields["insurance_provider"] == "Acme"
    assert ctx.history == []  # the tool exchange stays inside the reply
    # The tool wrote from asgiref's worker thread; close that thread's connection.
    await sync_to_async(connections.close_all)()


async def test_end_call_tool_yields_hangup_and_stops(scripted_llm):
    scripted_llm.replies.append(
        [
            sse_text("Thanks for your time. Goodbye!"),
            sse_tool_call(0, call_id="call_9", name="end_call", arguments='{"disposition": "not_interested"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    ctx = context()
    outputs = await collect(brain_for(scripted_llm.base_url, tools=["end_call"]).reply(ctx, "Not interested."))
    assert outputs == [
        Speech("Thanks for your time."),
        Speech("Goodbye!"),
        ToolUse("end_call", {"disposition": "not_interested"}, {"ok": True, "disposition": "not_interested"}),
        Hangup("not_interested"),
    ]
    assert ctx.disposition == "not_interested"
    assert len(scripted_llm.requests) == 1  # a terminal action needs no follow-up


async def test_send_dtmf_is_not_terminal(scripted_llm):
    scripted_llm.replies.append(
        [
            sse_tool_call(0, call_id="c1", name="send_dtmf", arguments='{"digits": "2"}'),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    scripted_llm.replies.append([sse_text("I pressed two."), sse_finish("stop"), "[DONE]"])
    outputs = await collect(brain_for(scripted_llm.base_url, tools=["send_dtmf"]).reply(context(), "Press 2 for sales"))
    assert outputs == [
        ToolUse("send_dtmf", {"digits": "2"}, {"ok": True, "digits": "2"}),
        SendDigits("2"),
        Speech("I pressed two."),
    ]


async def test_bad_tool_arguments_and_unknown_tools_become_errors_for_the_model(scripted_llm):
    scripted_llm.replies.append(
        [
            sse_tool_call(0, call_id="a", name="end_call", arguments='{"disposition": '),
            sse_tool_call(1, call_id="b", name="launch_rocket", arguments="{}"),
            sse_finish("tool_calls"),
            "[DONE]",
        ]
    )
    scripted_llm.replies.append([sse_text("Sorry about that."), sse_finish("stop"), "[DONE]"])
    outputs = await collect(brain_for(scripted_llm.base_url, tools=["end_call"]).reply(context(), "bye"))
    assert outputs == [
        ToolUse("end_call", {"_raw": '{"disposition": '}, {"error": "arguments are not valid JSON"}),
        ToolUse("launch_rocket", {}, {"error": "unknown tool 'launch_rocket'"}),
        Speech("Sorry about that."),
    ]
    tool_messages = [m for m in scripted_llm.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["a", "b"]


async def test_concurrent_calls_keep_separate_endpoint_state(dead_url, scripted_llm):
    scripted_llm.replies.extend([[sse_text("A."), sse_finish("stop"), "[DONE]"]] * 2)
    first = brain_for(dead_url, scripted_llm.base_url)
    second = brain_for(scripted_llm.base_url, dead_url)
    results = await asyncio.gather(collect(first.reply(context(), "x")), collect(second.reply(context(), "y")))
    assert results == [[Speech("A.")], [Speech("A.")]]
    assert first.client(context()).current == 1
    assert second.client(context()).current == 0


async def test_the_servers_token_counts_reach_the_model_io_hook(scripted_llm):
    """include_usage is asked for; the usage chunk (no choices) after the finish is read, not spoken."""
    usage = {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    scripted_llm.replies.append(
        [sse_text("Sure thing."), sse_finish("stop"), {"choices": [], "usage": usage}, "[DONE]"]
    )
    ctx = context()
    exchanges: list[ModelExchange] = []
    ctx.on_model_exchange = exchanges.append
    outputs = await collect(brain_for(scripted_llm.base_url).reply(ctx, "Can I come tomorrow?"))

    assert outputs == [Speech("Sure thing.")]
    assert scripted_llm.requests[0]["stream_options"] == {"include_usage": True}
    assert [exchange.usage for exchange in exchanges] == [usage]
