"""Console forms for agents: a new agent, and a version's common settings.

The version form only converts what the operator typed into the
configuration's JSON shape; whether a value is allowed is decided in one
place, the configuration schema (agents.brains.config via
AgentVersion.clean), which the services run. Its errors come back keyed by
path ("voice.speed", "llm.tools[1]") and `errors_by_field` puts each one
beside the form field that holds that path.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from agents.brains.config import BRAIN_KINDS, FIRST_SPEAKERS, TTS_BACKENDS
from agents.brains.tools import TOOL_NAMES


class AgentCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    greeting = forms.CharField(
        max_length=500, initial="Hello {{first_name}}, this is the clinic calling.", help_text="The first draft's."
    )


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# Form field name -> configuration path. A box left empty drops the key (the schema's default applies).
FIELD_PATHS = {
    "brain": ("brain",),
    "greeting": ("greeting",),
    "first_speaker": ("first_speaker",),
    "voice_backend": ("voice", "backend"),
    "voice_voice": ("voice", "voice"),
    "voice_speed": ("voice", "speed"),
    "end_of_turn_silence_ms": ("turn_taking", "end_of_turn_silence_ms"),
    "barge_in_min_ms": ("turn_taking", "barge_in_min_ms"),
    "interruptible": ("turn_taking", "interruptible"),
    "backchannel_words": ("turn_taking", "backchannel_words"),
    "llm_system_prompt": ("llm", "system_prompt"),
    "llm_tools": ("llm", "tools"),
    "calendar": ("calendar",),
    "transfer_number": ("transfer_number",),
    "success_dispositions": ("success_dispositions",),
}
LIST_FIELDS = {"backchannel_words", "success_dispositions"}


class VersionSettingsForm(forms.Form):
    """The settings most versions change; the flow graph and the rest stay in the JSON editor."""

    brain = forms.ChoiceField(choices=[(k, k) for k in BRAIN_KINDS])
    greeting = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    first_speaker = forms.ChoiceField(choices=[(k, k) for k in FIRST_SPEAKERS], label="Who speaks first")
    voice_backend = forms.ChoiceField(
        required=False, choices=[("", "server default"), *((k, k) for k in TTS_BACKENDS)], label="Voice engine"
    )
    voice_voice = forms.CharField(required=False, label="Voice", help_text="Empty: the engine's default voice.")
    voice_speed = forms.FloatField(required=False, label="Voice speed", help_text="0.5 to 2.0; 1 is normal.")
    end_of_turn_silence_ms = forms.IntegerField(
        required=False, label="End of turn after silence (ms)", help_text="100 to 5000."
    )
    barge_in_min_ms = forms.IntegerField(
        required=False, label="Barge-in after caller speech of (ms)", help_text="0 to 5000."
    )
    interruptible = forms.BooleanField(required=False, label="Callers may interrupt")
    backchannel_words = forms.CharField(
        required=False, label="Backchannel words", help_text="Comma-separated; these never interrupt."
    )
    llm_system_prompt = forms.CharField(
        required=False, label="LLM prompt", widget=forms.Textarea(attrs={"rows": 5}), help_text="For the llm brain."
    )
    llm_tools = forms.MultipleChoiceField(
        required=False, choices=[(t, t) for t in TOOL_NAMES], widget=forms.CheckboxSelectMultiple, label="LLM tools"
    )
    calendar = forms.CharField(required=False, help_text="The calendar book_appointment uses, by name.")
    transfer_number = forms.CharField(required=False, help_text="E.164, e.g. +14155550100.")
    success_dispositions = forms.CharField(
        required=False, help_text="Comma-separated dispositions that count as a success."
    )

    @classmethod
    def initial_from(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The form's values from a stored configuration (absent keys show empty, meaning the default)."""
        initial: dict[str, Any] = {}
        for name, path in FIELD_PATHS.items():
            value: Any = config
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                continue
            if name in LIST_FIELDS and isinstance(value, list):
                value = ", ".join(str(item) for item in value)
            initial[name] = value
        initial.setdefault("brain", "flow")
        initial.setdefault("first_speaker", "agent")
        initial.setdefault("interruptible", True)
        return initial

    def merged_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The stored configuration with this form's fields written over it (flow and the rest untouched)."""
        merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
        for name, path in FIELD_PATHS.items():
            value = self.cleaned_data.get(name)
            if name in LIST_FIELDS:
                value = _comma_list(value or "") if value else None
            elif name == "llm_tools":
                value = list(value) if value else None
            elif value == "":
                value = None  # an empty box means the schema's default
            target = merged
            for key in path[:-1]:
                section = target.get(key)
                if not isinstance(section, dict):
                    section = {}
                target[key] = section
                target = section
            if value is None:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        # Sections emptied by the form are left out rather than stored as {}.
        for section in ("voice", "turn_taking", "llm"):
            if merged.get(section) == {}:
                merged.pop(section)
        return merged

    def add_config_errors(self, messages: list[str]) -> None:
        """Put each "path: message" from the configuration schema beside its field (or above the form)."""
        for message in messages:
            path, _, text = message.partition(": ")
            field = field_for_path(path)
            if field is None:
                self.add_error(None, message)
            else:
                self.add_error(field, text or message)


_INDEX = re.compile(r"\[\d+\]$")


def field_for_path(path: str) -> str | None:
    """The form field that holds a configuration path ("llm.tools[1]" -> "llm_tools"); None when none does."""
    bare = tuple(_INDEX.sub("", path).split("."))
    for name, field_path in FIELD_PATHS.items():
        if bare == field_path:
            return name
    return None
