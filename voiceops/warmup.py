"""Warm start: load every speech model the published agents need before the process serves a call.

Loading Whisper and Piper takes seconds (3.5-6.9 s measured for the first
greeting after a start, seed 002's "cold start" lesson); a caller hangs up
by then. voiceops.asgi calls `warm_start()` while daphne imports the
application, before it listens: a load balancer sees no port (and /readyz,
once there is one, 503 until this finished), and the first call finds its
models in the caches that the live engine reads (`loaded_stt`, `loaded_tts`,
`silero_loaded`), exactly as the hundredth does.

What is loaded: the server's defaults (STT_MODEL on STT_DEVICE, the
TTS_BACKEND's default voice, Silero VAD, Smart Turn when SMART_TURN_MODEL
names it) and every distinct (STT model,
TTS backend and voice) that a published agent version names. A model that
cannot load stops start-up with a message naming it and the agent version
that needs it: better than a process that looks ready and fails every call.

Then the sentences calls open with (each published version's recording
notice and greeting, live.replies.opening_speech) are synthesised into the
phrase cache: a model loaded is not yet a greeting made, and the first call
would otherwise wait for its greeting's synthesis while later calls replay it.
WARM_START=false turns this off (models then load on the first call, as before).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from django.conf import settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

OFF, PENDING, WARMING, READY, FAILED = "off", "pending", "warming", "ready", "failed"


class WarmStartError(Exception):
    """A model the configuration needs could not be loaded."""


@dataclass(frozen=True)
class SpeechNeeds:
    """The engines to load: cache keys as the live engine looks them up (live/setup.py)."""

    stt: dict[str, str]  # STT model -> who needs it
    tts: dict[tuple[str, str], str]  # (backend, voice) -> who needs it
    # (backend, voice) -> the (sentence, speed) pairs calls open with, in the order first needed
    openings: dict[tuple[str, str], dict[tuple[str, float], str]] = field(default_factory=dict)


_state = OFF if not getattr(settings, "WARM_START", False) else PENDING
_needs: SpeechNeeds | None = None
_lock = threading.Lock()


def state() -> str:
    return _state


def speech_needs() -> SpeechNeeds:
    """The server's defaults plus what each published agent version names, each with the first one needing it."""
    from agents.brains.config import ConfigError, load_config
    from agents.selectors import published_agent_configs
    from live.replies import opening_speech

    stt: dict[str, str] = {settings.STT_MODEL: "the server default (STT_MODEL)"}
    tts: dict[tuple[str, str], str] = {(settings.TTS_BACKEND, ""): "the server default (TTS_BACKEND)"}
    openings: dict[tuple[str, str], dict[tuple[str, float], str]] = {}
    for label, raw in published_agent_configs():
        try:
            config = load_config(raw, stt_model=settings.STT_MODEL)
        except ConfigError:
            # Validation refused it at publish time or changed since: it
            # cannot run a call either way, so it needs no model.
            log.warning("warm_start_config_skipped", agent_version=label)
            continue
        engine = (config.voice.backend or settings.TTS_BACKEND, config.voice.voice or "")
        stt.setdefault(config.stt.model or settings.STT_MODEL, label)
        tts.setdefault(engine, label)
        for sentence in opening_speech(config):
            openings.setdefault(engine, {}).setdefault((sentence, config.voice.speed), label)
    return SpeechNeeds(stt=stt, tts=tts, openings=openings)


def warm_start() -> SpeechNeeds:
    """Load every engine in `speech_needs()` now (blocking); raises WarmStartError naming what failed."""
    global _state, _needs
    from live.pipeline.vad import silero_session
    from live.speech.phrase_cache import phrases
    from live.speech.smart_turn import get_smart_turn
    from live.speech.stt import get_stt
    from live.speech.tts import get_tts

    with _lock:
        _state = WARMING
        started = time.monotonic()
        try:
            needs = speech_needs()
            for model, needed_by in needs.stt.items():
                _must(
                    f"load the speech-to-text model {model!r} on {settings.STT_DEVICE}", needed_by, get_stt, model, None
                )
            for (backend, voice), needed_by in needs.tts.items():
                what = f"text-to-speech {backend} voice {voice or 'default'!r}"
                _must(f"load the {what}", needed_by, get_tts, backend, voice or None)
            _must("load the Silero VAD model", "every call", silero_session)
            if settings.SMART_TURN_MODEL:
                path = settings.SMART_TURN_MODEL
                _must(
                    f"load the Smart Turn model {path!r}",
                    "the smart end of turn (SMART_TURN_MODEL)",
                    get_smart_turn,
                    path,
                )
            made = 0
            for (backend, voice), sentences in needs.openings.items():
                engine = get_tts(backend, voice or None)  # loaded above
                for (sentence, speed), needed_by in sentences.items():
                    what = f"opening sentence {sentence!r} in the {backend} voice {voice or 'default'!r}"
                    # A voice that loads but cannot speak would fail every call's greeting.
                    made += _must(f"make the {what}", needed_by, phrases().fill, engine, sentence, speed)
        except BaseException:
            _state = FAILED
            raise
        _needs, _state = needs, READY
        log.info(
            "warm_start_done",
            seconds=round(time.monotonic() - started, 2),
            opening_sentences=made,
            stt=sorted(needs.stt),
            tts=sorted(f"{b}:{v or 'default'}" for b, v in needs.tts),
        )
        return needs


def _must(doing: str, needed_by: str, work: Callable[..., T], *args: object) -> T:
    """work(*args), or a WarmStartError saying what could not be done and who needs it."""
    try:
        return work(*args)
    except Exception as error:
        raise WarmStartError(f"warm start failed: could not {doing}, needed by {needed_by}: {error}") from error


def models_status() -> bool | None:
    """For /readyz: None when warm start is off; else whether every needed engine is loaded now.

    Dictionary reads only (the engines' caches), never a load.
    """
    if _state == OFF:
        return None
    needs = _needs
    if _state != READY or needs is None:
        return False
    from live.pipeline.vad import silero_loaded
    from live.speech.smart_turn import loaded_smart_turn
    from live.speech.stt import loaded_stt
    from live.speech.tts import loaded_tts

    return (
        silero_loaded()
        and (not settings.SMART_TURN_MODEL or loaded_smart_turn(settings.SMART_TURN_MODEL) is not None)
        and all(loaded_stt(model) is not None for model in needs.stt)
        and all(loaded_tts(backend, voice or None) is not None for backend, voice in needs.tts)
    )


def warmup_reset(*, enabled: bool, needs: SpeechNeeds | None = None, to: str | None = None) -> None:
    """Set the warm-up state by hand (tests)."""
    global _state, _needs
    _state = to or (PENDING if enabled else OFF)
    _needs = needs
