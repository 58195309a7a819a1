"""Engine setup for a new call: models already loaded are taken on the event loop, not queued on a model pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

import live.setup
from calls.models import Call
from live.pipeline.vad import silero_session
from live.session import Transport
from live.setup import build_session
from live.speech.smart_turn import get_smart_turn
from live.speech.stt import get_stt
from live.speech.tts import get_tts
from tests.factories import AgentVersionFactory, CallFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]

# A version that asks the voice too (Smart Turn), so the session takes every loaded model.
CONFIG = {"brain": "scripted", "greeting": "Hello.", "script": [], "turn_taking": {"end_of_turn": "smart"}}


class BusyPool(ThreadPoolExecutor):
    """A model pool that records what is sent to it (other calls' STT and TTS work would queue ahead of it)."""

    def __init__(self, *, refuse: bool = False) -> None:
        super().__init__(max_workers=1)
        self.refuse = refuse
        self.jobs: list[str] = []

    def submit(self, fn, /, *args, **kwargs):
        self.jobs.append(fn.__name__)
        if self.refuse:
            pytest.fail(f"call setup queued {fn.__name__} on a model pool")
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pools(monkeypatch):
    stt_pool, tts_pool = BusyPool(refuse=True), BusyPool(refuse=True)
    monkeypatch.setattr(live.setup, "STT_POOL", stt_pool)
    monkeypatch.setattr(live.setup, "TTS_POOL", tts_pool)
    yield stt_pool, tts_pool
    stt_pool.shutdown()
    tts_pool.shutdown()


@pytest.fixture(scope="module")
def loaded_models():
    """What the first call in a process loads (as warm start does): Whisper, Piper, Silero and Smart Turn."""
    assert settings.SMART_TURN_MODEL, "scripts/bootstrap fetches Smart Turn into models/"
    return get_stt(), get_tts(), silero_session(), get_smart_turn(settings.SMART_TURN_MODEL)


async def new_call(config):
    version = await sync_to_async(AgentVersionFactory)(config=config)
    return await sync_to_async(CallFactory)(agent_version=version)


async def test_a_call_on_loaded_models_never_waits_for_a_model_pool(loaded_models, pools):
    stt, tts, _, smart_turn = loaded_models
    call = await new_call(CONFIG)

    session = await build_session(
        call_id=call.pk, call_sid=call.twilio_call_sid, stream_sid="MZ" + "e" * 32, transport=Transport()
    )

    replies, decisions = session.replies, session.decisions
    assert replies.stt is stt and replies.tts is tts and decisions.smart_turn is smart_turn
    assert pools[0].jobs == pools[1].jobs == []
    await sync_to_async(call.refresh_from_db)()
    assert call.status == Call.Status.IN_PROGRESS


async def test_a_model_not_loaded_yet_loads_on_its_pool(loaded_models, pools):
    stt_pool, tts_pool = pools
    tts_pool.refuse = False
    call = await new_call({**CONFIG, "voice": {"voice": "/nonexistent/voice.onnx"}})

    # The Piper voice is not in the cache: its pool tries to load it (and finds no such file).
    with pytest.raises(FileNotFoundError):
        await build_session(
            call_id=call.pk, call_sid=call.twilio_call_sid, stream_sid="MZ" + "f" * 32, transport=Transport()
        )

    assert tts_pool.jobs == ["get_tts"]
    assert stt_pool.jobs == []
