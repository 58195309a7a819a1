"""The demo agent's configuration ("Ava", a dental clinic appointment setter).

Placeholder until the agents issue lands the flow schema and Ava's full flow.
"""

from __future__ import annotations

from typing import Any

DEMO_AGENT_NAME = "Ava (dental appointments)"


def demo_agent_config(*, greeting_style: str = "standard") -> dict[str, Any]:
    greeting = (
        "Hi {{first_name}}, this is Ava from Bright Smile Dental."
        if greeting_style == "standard"
        else "Hello {{first_name}}! Ava here, from Bright Smile Dental, hope your day is going well."
    )
    return {"brain": "flow", "greeting": greeting}
