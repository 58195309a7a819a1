"""The flow graph's schema: which nodes and edges a flow may have, checked before it runs.

`validate_flow` reports every problem with a flow (the JSON under an agent
version's "flow", described in agents.brains.flow) as a path inside the flow
and a message; the config schema (agents.brains.config) prefixes the paths
with "flow.". The runner, `FlowBrain`, trusts a flow that passed.
"""

from __future__ import annotations

from typing import Any

from agents.brains.intents import DEFAULT_THRESHOLD
from agents.brains.tools import TOOL_NAMES
from agents.brains.validation import DISPOSITION_RULE, VARIABLE_NAME_RULE, is_disposition, is_variable_name

NODE_TYPES = ("say", "ask", "capture", "action", "goto", "end")
CAPTURE_KINDS = ("datetime", "yes_no", "number", "text", "slot")
WAITING_TYPES = ("ask", "capture")
# Edges that are followed without waiting for the caller, per node type.
_IMMEDIATE_EDGES = {"say": ("next",), "action": ("next", "on_error"), "goto": ("target",)}


def validate_flow(flow: Any, *, tools: tuple[str, ...] = TOOL_NAMES) -> list[tuple[str, str]]:
    """Every problem with a flow graph as (path inside the flow, message); empty when valid."""
    errors: list[tuple[str, str]] = []
    if not isinstance(flow, dict):
        return [("", "must be an object with start and nodes")]
    nodes = flow.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        return [("nodes", "must be an object of node id to node")]
    start = flow.get("start")
    if not isinstance(start, str) or start not in nodes:
        errors.append(("start", f"must name a node (one of {', '.join(sorted(nodes))})"))

    def target(path: str, value: Any, *, required: bool = True) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str) or value not in nodes:
            errors.append((path, f"{value!r} is not a node" if value is not None else "is required"))

    def text(path: str, value: Any, *, required: bool = True) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value.strip()):
            errors.append((path, "must be non-empty text" if required else "must be text"))

    def intents(path: str, node: dict[str, Any], *, required: bool) -> None:
        raw = node.get("intents")
        branches = node.get("branches")
        if raw is None and branches is None and not required:
            return
        if not isinstance(raw, dict) or (required and not raw):
            errors.append((f"{path}.intents", "must be an object of intent name to a list of phrases"))
            return
        for name, phrases in raw.items():
            if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
                errors.append((f"{path}.intents.{name}", "must be a non-empty list of phrases"))
        if not isinstance(branches, dict):
            errors.append((f"{path}.branches", "must be an object of intent name to node id"))
            return
        for name, goto in branches.items():
            if name not in raw:
                errors.append((f"{path}.branches.{name}", "has no intent of that name"))
            target(f"{path}.branches.{name}", goto)
        for name in raw:
            if name not in branches:
                errors.append((f"{path}.branches", f"intent {name!r} has no branch"))

    def waiting(path: str, node: dict[str, Any]) -> None:
        text(f"{path}.prompt", node.get("prompt"))
        reprompts = node.get("reprompts", [])
        if not isinstance(reprompts, list) or not all(isinstance(r, str) and r.strip() for r in reprompts):
            errors.append((f"{path}.reprompts", "must be a list of non-empty texts"))
        target(f"{path}.no_match", node.get("no_match"))
        threshold = node.get("threshold", DEFAULT_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 50 <= threshold <= 100:
            errors.append((f"{path}.threshold", "must be a number from 50 to 100"))
        if not isinstance(node.get("llm_fallback", False), bool):
            errors.append((f"{path}.llm_fallback", "must be true or false"))

    for node_id, node in nodes.items():
        path = f"nodes.{node_id}"
        if not isinstance(node, dict):
            errors.append((path, "must be an object"))
            continue
        kind = node.get("type")
        if kind not in NODE_TYPES:
            errors.append((f"{path}.type", f"must be one of {', '.join(NODE_TYPES)}"))
            continue
        if kind == "say":
            text(f"{path}.text", node.get("text"))
            target(f"{path}.next", node.get("next"))
        elif kind == "ask":
            waiting(path, node)
            intents(path, node, required=True)
        elif kind == "capture":
            waiting(path, node)
            intents(path, node, required=False)
            if node.get("kind") not in CAPTURE_KINDS:
                errors.append((f"{path}.kind", f"must be one of {', '.join(CAPTURE_KINDS)}"))
            if not is_variable_name(node.get("variable")):
                errors.append((f"{path}.variable", VARIABLE_NAME_RULE))
            target(f"{path}.next", node.get("next"))
        elif kind == "action":
            if node.get("tool") not in tools:
                errors.append((f"{path}.tool", f"must be one of {', '.join(tools)}"))
            if not isinstance(node.get("arguments", {}), dict):
                errors.append((f"{path}.arguments", "must be an object"))
            target(f"{path}.next", node.get("next"), required=node.get("tool") not in ("end_call", "mark_do_not_call"))
            target(f"{path}.on_error", node.get("on_error"), required=False)
        elif kind == "goto":
            target(f"{path}.target", node.get("target"))
        elif kind == "end":
            text(f"{path}.text", node.get("text"), required=False)
            if not is_disposition(node.get("disposition")):
                errors.append((f"{path}.disposition", DISPOSITION_RULE))

    global_intents = flow.get("global_intents", {})
    if not isinstance(global_intents, dict):
        errors.append(("global_intents", "must be an object of intent name to {phrases, goto}"))
    else:
        for name, spec in global_intents.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("phrases"), list) or not spec["phrases"]:
                errors.append((f"global_intents.{name}.phrases", "must be a non-empty list of phrases"))
                continue
            target(f"global_intents.{name}.goto", spec.get("goto"))

    if not errors:
        errors.extend(_loops(nodes))
    return errors


def _loops(nodes: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """A cycle of say/action/goto nodes would talk forever without listening."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node_id: str, trail: list[str]) -> list[str] | None:
        if state.get(node_id) == 2:
            return None
        if state.get(node_id) == 1:
            return [*trail[trail.index(node_id) :], node_id]
        state[node_id] = 1
        node = nodes[node_id]
        for edge in _IMMEDIATE_EDGES.get(node["type"], ()):
            nxt = node.get(edge)
            if nxt is not None:
                found = visit(nxt, [*trail, node_id])
                if found:
                    return found
        state[node_id] = 2
        return None

    for node_id in nodes:
        cycle = visit(node_id, [])
        if cycle:
            return [(f"nodes.{cycle[0]}", "loops without waiting for the caller: " + " -> ".join(cycle))]
    return []
