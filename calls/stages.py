"""The stages of an agent reply, in pipeline order, with the one colour each is drawn in.

Both latency visuals on the call page read this table: the live/per-turn bar
(calls.latency) and the call's waterfall (calls.waterfall), so a stage is the
same colour wherever an operator sees it. Times are ms after the end of the
caller's speech (CallTurn.timings); a turn may lack some stages (a greeting
has no STT).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    key: str  # the CallTurn.timings key
    short_label: str  # beside the small bar
    label: str  # in the waterfall's tooltips and legend
    color: str


STAGES: tuple[Stage, ...] = (
    Stage("stt_done", "STT", "speech recognised", "#98a2b3"),
    Stage("first_brain_text", "brain", "first brain text", "#7a5af8"),
    Stage("first_tts_audio", "TTS", "first audio synthesized", "#2f6fed"),
    Stage("first_frame_sent", "first frame", "first frame sent", "#0a7a3b"),
    Stage("first_mark_acknowledged", "first mark", "first mark acknowledged", "#f79009"),
)
