"""Simulated callers: what a persona says, in order, each time the agent stops talking.

The call simulator (`simulate_call`) and the simulated carrier speak these
lines with the Piper voice over the real Media Streams protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Persona:
    name: str
    lines: list[str]
    # Say the first line over the agent's greeting instead of waiting (barge-in).
    barge_in: bool = False
    # Answer like an answering machine: one long message, no turn-taking.
    voicemail: bool = False
    description: str = ""
    expected_disposition: str = ""
    extra: dict[str, str] = field(default_factory=dict)


PERSONAS: dict[str, Persona] = {
    "smalltalk": Persona(
        name="smalltalk",
        lines=["Hello, who is this?", "Okay, thanks. Goodbye."],
        description="Says hello and goodbye.",
    ),
}


def persona_named(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise KeyError(f"unknown persona {name!r}; known: {', '.join(sorted(PERSONAS))}") from None
