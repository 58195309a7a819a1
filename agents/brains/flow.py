"""Flow agents: a deterministic, auditable graph of nodes, no language model needed.

A flow is JSON in the agent version's config::

    {"start": "confirm",
     "global_intents": {"dnc": {"phrases": ["stop calling me"], "goto": "dnc"}},
     "nodes": {
        "confirm": {"type": "ask", "prompt": "Am I speaking with {{first_name}}?",
                    "intents": {"yes": ["yes", "speaking"], "no": ["wrong number"]},
                    "branches": {"yes": "offer", "no": "bye"},
                    "reprompts": ["Sorry, is this {{first_name}}?"], "no_match": "bye"},
        "offer": {"type": "action", "tool": "find_slots", "arguments": {"count": 2}, "next": "pick"},
        "pick": {"type": "capture", "kind": "slot", "variable": "start",
                 "prompt": "I have {{slots_spoken}}. Which works?", "next": "book", "no_match": "bye"},
        "book": {"type": "action", "tool": "book_appointment", "arguments": {"start": "{{start}}"},
                 "next": "booked", "on_error": "offer"},
        "booked": {"type": "end", "text": "See you {{appointment_spoken}}!", "disposition": "booked"},
        "bye": {"type": "end", "text": "Goodbye!", "disposition": "no_answer"}}}

Node types: say (text, next), ask (prompt, intents, branches, reprompts,
no_match), capture (prompt, kind datetime | yes_no | number | text | slot,
variable, next, reprompts, no_match, optional intents/branches as escapes),
action (tool, arguments, next, on_error), goto (target), end (text,
disposition). Ask and capture nodes may set "llm_fallback": true to let the
LLM brain answer a turn the flow cannot match, then ask again.

The schema (which nodes and edges are valid) is agents.brains.flow_schema;
this module runs a flow that passed it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from agents.brains.base import BrainOutput, CallContext, Hangup, Speech, ToolUse
from agents.brains.captures import parse_datetime, parse_number, words_to_digits
from agents.brains.config import AgentConfig
from agents.brains.dates import SlotPreference, parse_preference
from agents.brains.flow_schema import WAITING_TYPES
from agents.brains.intents import DEFAULT_THRESHOLD, match_intent, match_yes_no, normalize
from agents.brains.llm import LLMBrain, LlmDefaults
from agents.brains.ports import ToolError
from agents.brains.templating import render_template
from agents.brains.tools import offer_fitting, run_tool
from calendars.slots import speak_slot

logger = structlog.get_logger(__name__)

_MAX_STEPS_PER_TURN = 50


# --- the brain --------------------------------------------------------------------


class FlowBrain:
    """Runs one call through a flow graph; one instance per call keeps the position.

    Each text the flow speaks (the greeting, a say node, a prompt, a goodbye)
    is one Speech: the engine cuts a Speech into sentences itself, with
    `agents.brains.sentences.split_sentences`, which knows that "Dr. Patel" is not two.

    Not speculative-safe: a reply moves the brain along the graph and may run
    a tool (a booking), so it must not be started for words the caller may
    still add to.
    """

    speculative_safe = False

    def __init__(self, config: dict[str, Any] | AgentConfig, *, llm: LlmDefaults | None = None) -> None:
        # The engine passes the parsed config (make_brain); tests and older
        # callers may pass the stored JSON, read here without validating it again.
        self.config = config
        # The server's LLM settings, for a node's llm_fallback (built on first use).
        self.llm_defaults = llm or LlmDefaults()
        if isinstance(config, AgentConfig):
            self.greeting_text, self.first_speaker, flow = config.greeting, config.first_speaker, config.flow
        else:
            self.greeting_text = str(config.get("greeting") or "")
            self.first_speaker = str(config.get("first_speaker") or "agent")
            flow = config.get("flow") or {}
        self.flow: dict[str, Any] = flow
        self.nodes: dict[str, dict[str, Any]] = self.flow.get("nodes") or {}
        self.waiting_at: str | None = None
        self.misses = 0
        self.finished = False
        self.started = False
        # The call's last action, repeated if the caller speaks over the goodbye
        # (the engine cancels a stream on barge-in, so a Hangup may be cut off).
        # Every path that ends the call sets it, through _end.
        self.final_action: BrainOutput | None = None
        self._llm: LLMBrain | None = None
        # Where the walk goes on after a call action the engine carried out
        # before a new stream resumed the call (see _resume).
        self._walk_from: str | None = None

    # Brain interface

    async def aclose(self) -> None:
        if self._llm is not None:
            await self._llm.aclose()

    async def greeting(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        if self.first_speaker == "caller":
            return
        async for output in self._greet(ctx):
            yield output

    async def reply(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        if self.finished:
            if self.final_action is not None:
                yield self.final_action
            return
        if not self.started and ctx.history:
            self._resume(ctx)
        if not self.started:
            # The caller spoke first: answer with the greeting and the flow's opening.
            async for output in self._greet(ctx):
                yield output
            return
        origin: str | None = None
        if self.waiting_at is None:
            # The caller cut the greeting off before the flow's first question
            # (an answering machine does): hear them against that question.
            origin = self._walk_from or self.flow.get("start")
            self._walk_from = None
            self.waiting_at = self._first_question(origin)
            if self.waiting_at is None or origin is None:
                return
        node_id = self.waiting_at
        node = self.nodes[node_id]
        log = logger.bind(call_id=ctx.call_id, node=node_id)
        # Matched once: the same words against the same node give the same answer.
        next_node = self._global_or_branch(node, caller_text)
        if next_node is None and origin is not None:
            # Not an answer to the question they spoke over: say the opening again.
            async for output in self._run(ctx, origin):
                yield output
            return
        if next_node is None and node["type"] == "capture" and node["kind"] == "slot":
            preference = parse_preference(caller_text)
            if preference is not None:
                picked = _fitting_offer(preference, caller_text, ctx)
                if picked is not None:
                    _store_moment(node, picked, ctx)
                    next_node = node["next"]
                elif await self._narrow_offer(preference, ctx):
                    # "Next week" / "any morning": the offer changes to what fits; ask again.
                    log.info("flow_offer_narrowed", heard=caller_text)
                    self.misses = 0
                    for speech in self._say(node["prompt"], ctx):
                        yield speech
                    return
        if next_node is None and node["type"] == "capture" and self._capture(node, caller_text, ctx):
            next_node = node["next"]
        if next_node is not None:
            log.info("flow_matched", heard=caller_text, goto=next_node)
            self.misses = 0
            async for output in self._run(ctx, next_node):
                yield output
            return
        log.info("flow_no_match", heard=caller_text, misses=self.misses + 1)
        if node.get("llm_fallback"):
            handed = False
            async for output in self._llm_turn(ctx, caller_text):
                handed = True
                yield output
            if handed:
                return
        self.misses += 1
        reprompts = node.get("reprompts", [])
        if self.misses <= len(reprompts):
            for speech in self._say(reprompts[self.misses - 1], ctx):
                yield speech
            return
        self.misses = 0
        async for output in self._run(ctx, node["no_match"]):
            yield output

    async def _greet(self, ctx: CallContext) -> AsyncIterator[BrainOutput]:
        """The greeting, then the walk from the start node (whoever spoke first)."""
        self.started = True
        for speech in self._say(self.greeting_text, ctx):
            yield speech
        if self.flow.get("start") in self.nodes:
            async for output in self._run(ctx, self.flow["start"]):
                yield output

    def _say(self, template: str, ctx: CallContext) -> list[Speech]:
        """The template filled in, as one Speech (none when it renders empty)."""
        text = render_template(template, self._variables(ctx))
        return [Speech(text)] if text else []

    def _end(self, action: Hangup) -> Hangup:
        """End the call with `action`, remembered before it is yielded: a barge-in may cut the stream first."""
        self.finished = True
        self.final_action = action
        return action

    # the walk

    async def _run(self, ctx: CallContext, node_id: str) -> AsyncIterator[BrainOutput]:
        """Walk from `node_id` until a node waits for the caller or the call ends."""
        self.waiting_at = None
        for _ in range(_MAX_STEPS_PER_TURN):
            node = self.nodes[node_id]
            kind = node["type"]
            ctx.variables["flow_node"] = node_id
            if kind == "say":
                for speech in self._say(node["text"], ctx):
                    yield speech
                node_id = node["next"]
            elif kind in WAITING_TYPES:
                # Waiting from the first word on: a barge-in over the question answers it.
                self.waiting_at = node_id
                for speech in self._say(node["prompt"], ctx):
                    yield speech
                return
            elif kind == "action":
                arguments = self._arguments(node.get("arguments", {}), ctx)
                outcome = await run_tool(node["tool"], arguments, ctx)
                yield ToolUse(name=node["tool"], arguments=arguments, result=outcome.result)
                if isinstance(outcome.action, Hangup):
                    yield self._end(outcome.action)
                    return
                if outcome.action is not None:
                    yield outcome.action
                failed = "error" in outcome.result
                following = (node.get("on_error") or node.get("next")) if failed else node.get("next")
                if following is None:
                    # An end_call/mark_do_not_call node whose tool failed: end anyway.
                    yield self._end(Hangup(ctx.disposition or "completed"))
                    return
                node_id = following
            elif kind == "goto":
                node_id = node["target"]
            elif kind == "end":
                ctx.disposition = node["disposition"]
                goodbye = self._end(Hangup(node["disposition"]))
                for speech in self._say(node.get("text", ""), ctx):
                    yield speech
                yield goodbye
                return
        # validate_flow refuses loops; this guards flows stored before it existed.
        logger.error("flow_step_limit", call_id=ctx.call_id, node=node_id)
        yield self._end(Hangup("flow_error"))

    def _resume(self, ctx: CallContext) -> None:
        """Pick up a call in progress on a new stream (after DTMF) where the last one left the flow.

        The engine stores the call's variables, flow_node among them, and a
        resumed session builds a fresh brain: without this it would greet again.
        """
        node_id = ctx.variables.get("flow_node")
        if not isinstance(node_id, str) or node_id not in self.nodes:
            return
        self.started = True
        node = self.nodes[node_id]
        if node["type"] in WAITING_TYPES:
            self.waiting_at = node_id
        elif node["type"] == "action" and node.get("next") in self.nodes:
            # The engine stops reading a reply at its first call action, so the
            # walk halted at this node (DTMF): the caller's words are heard
            # against the question it leads to, as over a greeting.
            self._walk_from = node["next"]

    def _first_question(self, origin: str | None = None) -> str | None:
        """The first ask/capture node the flow reaches from `origin` (its start) through say and goto nodes."""
        node_id = origin or self.flow.get("start")
        for _ in range(_MAX_STEPS_PER_TURN):
            node = self.nodes.get(node_id or "")
            if node is None:
                return None
            if node["type"] in WAITING_TYPES:
                return node_id
            edges = {"say": "next", "goto": "target"}
            node_id = node.get(edges[node["type"]]) if node["type"] in edges else None
        return None

    def _variables(self, ctx: CallContext) -> dict[str, Any]:
        return {**ctx.lead_variables, **ctx.variables}

    def _arguments(self, arguments: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        variables = self._variables(ctx)
        return {
            key: render_template(value, variables) if isinstance(value, str) else value
            for key, value in arguments.items()
        }

    def _global_or_branch(self, node: dict[str, Any], caller_text: str) -> str | None:
        """The node the caller's words lead to through an intent, if any."""
        candidates: dict[str, list[str]] = {}
        targets: dict[str, str] = {}
        for name, phrases in (node.get("intents") or {}).items():
            candidates[name] = phrases
            targets[name] = node["branches"][name]
        for name, spec in (self.flow.get("global_intents") or {}).items():
            if name not in candidates:
                candidates[f"global:{name}"] = spec["phrases"]
                targets[f"global:{name}"] = spec["goto"]
        if not candidates:
            return None
        found = match_intent(caller_text, candidates, threshold=float(node.get("threshold", DEFAULT_THRESHOLD)))
        return targets[found.intent] if found else None

    def _capture(self, node: dict[str, Any], caller_text: str, ctx: CallContext) -> bool:
        """Store what the caller said in ctx.variables[node.variable]; False when it was not usable."""
        variable = node["variable"]
        kind = node["kind"]
        if kind == "text":
            value = caller_text.strip()
            if not normalize(value):
                return False
            ctx.variables[variable] = value
            return True
        if kind == "yes_no":
            answer = match_yes_no(caller_text)
            if answer is None:
                return False
            ctx.variables[variable] = answer
            return True
        if kind == "number":
            number = parse_number(caller_text)
            if number is None:
                return False
            ctx.variables[variable] = int(number) if number.is_integer() else number
            return True
        moment = (
            choose_offered_slot(caller_text, ctx.variables.get("offered_slots") or [], ctx.timezone)
            if kind == "slot"
            else None
        )
        if moment is None:
            moment = parse_datetime(caller_text, ctx.timezone, now=ctx.clock())
        if moment is None:
            return False
        _store_moment(node, moment, ctx)
        return True

    async def _narrow_offer(self, preference: SlotPreference, ctx: CallContext) -> bool:
        """Offer the free slots that fit instead; False when none do (or there is no calendar to ask)."""
        try:
            return bool(await offer_fitting(ctx, preference))
        except ToolError:
            return False

    async def _llm_turn(self, ctx: CallContext, caller_text: str) -> AsyncIterator[BrainOutput]:
        """Let the LLM brain answer one turn the flow could not match; nothing when none is usable."""
        try:
            if self._llm is None:
                # Unreachable, it raises rather than apologise and hang up: the flow goes on.
                # Given the parsed config it does not parse and validate it again.
                self._llm = LLMBrain(self.config, llm=self.llm_defaults, apologize_when_unavailable=False)
            async for output in self._llm.reply(ctx, caller_text):
                yield self._end(output) if isinstance(output, Hangup) else output
        except Exception:  # no LLM reachable: the flow's own reprompt still works
            logger.warning("flow_llm_fallback_failed", call_id=ctx.call_id, exc_info=True)


def _store_moment(node: dict[str, Any], moment: datetime, ctx: CallContext) -> None:
    """The capture's variable (ISO, in the caller's zone) and how it is spoken (`<variable>_spoken`)."""
    variable = node["variable"]
    local = moment.astimezone(ZoneInfo(ctx.timezone))
    ctx.variables[variable] = local.isoformat()
    ctx.variables[f"{variable}_spoken"] = speak_slot(local, ctx.timezone, now=ctx.clock())


def _fitting_offer(preference: SlotPreference, text: str, ctx: CallContext) -> datetime | None:
    """The offered slot the caller's preference picks: the only one that fits, or the soonest for "any".

    Several fit and the words tell them apart ("Tuesday afternoon at 2"): the
    usual choice among just those. Several fit and nothing more is said: the
    offer shrinks to them and None (the flow asks again).
    """
    offered: list[dict[str, str]] = ctx.variables.get("offered_slots") or []
    zone = ZoneInfo(ctx.timezone)
    today = ctx.clock().astimezone(zone).date()
    fitting = [
        slot for slot in offered if preference.fits(datetime.fromisoformat(slot["start"]).astimezone(zone), today)
    ]
    if not fitting:
        return None
    if len(fitting) == 1 or preference.any:
        return datetime.fromisoformat(fitting[0]["start"])
    return choose_offered_slot(text, fitting, ctx.timezone)


_ORDINAL_CHOICE = {"first": 0, "1st": 0, "earlier": 0, "second": 1, "2nd": 1, "later": 1, "third": 2, "3rd": 2}
_CHOICE_LAST = {"last", "latter"}


def choose_offered_slot(text: str, offered: list[dict[str, str]], zone: str) -> datetime | None:
    """Which offered slot the caller picked: "the first one", "Tuesday", "2:30", "tomorrow works"."""
    if not offered:
        return None
    clean = words_to_digits(normalize(text))
    tokens = clean.split()
    starts = [datetime.fromisoformat(slot["start"]) for slot in offered]
    for token in tokens:
        if token in _ORDINAL_CHOICE and _ORDINAL_CHOICE[token] < len(starts):
            return starts[_ORDINAL_CHOICE[token]]
        if token in _CHOICE_LAST:
            return starts[-1]
    # Words that tell the offers apart: their day words and clock times.
    scored: list[tuple[float, int]] = []
    for index, slot in enumerate(offered):
        spoken = normalize(slot["spoken"]).replace(" at ", " ")
        found = match_intent(clean, {"slot": [spoken, *spoken.split()]}, threshold=85)
        if found is not None:
            scored.append((found.score * len(found.phrase), index))
    if scored:
        scored.sort(reverse=True)
        if len(scored) == 1 or scored[0][0] > scored[1][0]:
            return starts[scored[0][1]]
    if len(starts) == 1 and match_yes_no(text):
        return starts[0]
    return None
