"""Everything a call session needs, loaded once when the media stream starts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from django.conf import settings

from agents.brains.base import CallContext
from agents.brains.config import load_config
from agents.brains.factory import make_brain
from agents.runtime import DjangoToolPort, llm_defaults
from calls.selectors import call_conversation, call_for_stream
from calls.services import call_stream_start
from live.actions import CallActions
from live.pipeline.vad import silero_loaded, silero_session
from live.player import Transport
from live.session import CallSession
from live.store import db_run
from live.workers import STT_POOL, TTS_POOL


class CallNotLive(Exception):
    """The token named a call that does not exist or has already ended."""


def _load(call_id: uuid.UUID, stream_sid: str, call_sid: str) -> tuple[dict[str, Any], CallContext, bool, str]:
    call = call_for_stream(call_id=call_id)
    if call is None:
        raise CallNotLive(f"call {call_id} does not exist")
    if call.is_final:
        raise CallNotLive(f"call {call_id} has already ended ({call.status})")
    if call_sid and call.twilio_call_sid and call.twilio_call_sid != call_sid:
        raise CallNotLive("the stream's callSid is not this call's")
    raw = dict(call.agent_version.config or {})
    lead = call.lead
    ctx = CallContext(
        call_id=str(call.pk),
        config=raw,
        lead_id=lead.pk if lead else None,
        lead_variables=lead.template_variables() if lead else {},
        timezone=lead.timezone if lead else "UTC",
        variables=dict(call.variables or {}),
        disposition=call.disposition,
        tools=DjangoToolPort(run=db_run),  # tools write on the engine's database threads too
    )
    # A stream reconnected to a call in progress (after DTMF was played)
    # resumes the conversation instead of greeting again.
    turns = call_conversation(call_id=call.pk)
    for turn in turns:
        if turn.speaker == "caller":
            ctx.history.append({"role": "user", "content": turn.text})
        elif turn.heard_text or not turn.interrupted:
            ctx.history.append({"role": "assistant", "content": turn.heard_text or turn.text})
    call_stream_start(call_id=call.pk, stream_sid=stream_sid, call_sid=call_sid)
    return raw, ctx, bool(turns), call.twilio_call_sid or call_sid


async def build_session(
    *,
    call_id: uuid.UUID,
    call_sid: str,
    stream_sid: str,
    transport: Transport,
    actions: CallActions | None = None,
) -> CallSession:
    from live.speech.smart_turn import get_smart_turn, loaded_smart_turn
    from live.speech.stt import get_stt, loaded_stt
    from live.speech.tts import get_tts, loaded_tts

    # On the engine's own database threads: a call stuck on a row lock must
    # not hold up the setup of the next call (see live.store).
    raw, ctx, resumed, call_sid = await db_run(_load, call_id, stream_sid, call_sid)
    config = load_config(raw)
    model, backend, voice = config.stt.model or None, config.voice.backend or None, config.voice.voice or None
    # Loading a model takes seconds the first time: never on the event loop.
    # A loaded one is a dictionary read, taken here: a hop to a pool would
    # queue this call's setup behind other calls' transcriptions and speech.
    loop = asyncio.get_running_loop()
    stt = loaded_stt(model)
    if stt is None:
        stt = await loop.run_in_executor(STT_POOL, get_stt, model, None)
    tts = loaded_tts(backend, voice)
    if tts is None:
        tts = await loop.run_in_executor(TTS_POOL, get_tts, backend, voice)
    if not silero_loaded():
        await loop.run_in_executor(STT_POOL, silero_session)  # the shared VAD model, loaded once per process
    smart_turn = None
    if config.turn_taking.end_of_turn == "smart" and settings.SMART_TURN_MODEL:
        smart_turn = loaded_smart_turn(settings.SMART_TURN_MODEL)
        if smart_turn is None:
            smart_turn = await loop.run_in_executor(STT_POOL, get_smart_turn, settings.SMART_TURN_MODEL)
    brain = make_brain(ctx, config, llm=llm_defaults())  # parsed once, above
    return CallSession(
        call_id=call_id,
        call_sid=call_sid,
        stream_sid=stream_sid,
        config=config,
        ctx=ctx,
        brain=brain,
        stt=stt,
        tts=tts,
        transport=transport,
        actions=actions,
        resumed=resumed,
        supervised=True,  # consoles may watch, listen and steer it (live.supervision)
        smart_turn=smart_turn,
    )
