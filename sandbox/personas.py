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


# Lines are short, plain English that faster-whisper tiny.en transcribes
# reliably from Piper's voice; each is what the caller says after one agent
# turn. The expected dispositions are those of Ava's flow (sandbox/demo.py).
PERSONAS: dict[str, Persona] = {
    "smalltalk": Persona(
        name="smalltalk",
        lines=["Hello, who is this?", "Okay, thanks. Goodbye."],
        description="Says hello and goodbye.",
    ),
    "booker": Persona(
        name="booker",
        lines=["Yes, speaking.", "The first one works for me.", "Thank you, bye."],
        description="Confirms who they are and takes the first slot offered.",
        expected_disposition="booked",
    ),
    "not_interested": Persona(
        name="not_interested",
        lines=["Yes, speaking.", "No thank you, I'm not interested."],
        description="Confirms who they are, then declines.",
        expected_disposition="not_interested",
    ),
    "call_later": Persona(
        name="call_later",
        lines=["Yes, speaking.", "I'm busy right now. Please call me back later.", "Tomorrow at 3 PM."],
        description="Asks for a callback and gives a time.",
        expected_disposition="callback",
    ),
    "voicemail": Persona(
        name="voicemail",
        lines=["Hi, you have reached my voicemail. Please leave a message after the beep."],
        voicemail=True,
        description="An answering machine greeting.",
        expected_disposition="voicemail",
    ),
    "wrong_person": Persona(
        name="wrong_person",
        lines=["Sorry, you have the wrong number."],
        description="The number belongs to someone else.",
        expected_disposition="wrong_person",
    ),
    "do_not_call": Persona(
        name="do_not_call",
        lines=["Yes, speaking.", "Please stop calling me."],
        description="Asks never to be called again.",
        expected_disposition="do_not_call",
    ),
}


def persona_named(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise KeyError(f"unknown persona {name!r}; known: {', '.join(sorted(PERSONAS))}") from None
