"""/healthz and /readyz through the real ASGI application, and warm start's loading and its failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from channels.testing import HttpCommunicator
from django.db import connections

from tests.factories import AgentFactory, AgentVersionFactory
from voiceops import health, warmup
from voiceops.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    health.readiness_reset(fake)
    warmup.warmup_reset(enabled=False)
    yield fake
    health.readiness_reset()
    health._draining.clear()
    warmup.warmup_reset(enabled=False)


@pytest.fixture
def ready_settings(settings):
    settings.LLM_BASE_URLS = []
    settings.REDIS_URL = "redis://127.0.0.1:6379/9"
    return settings


@pytest.fixture
def broken_database(monkeypatch):
    """A database alias whose server refuses connections; the probe is pointed at it."""
    broken = dict(connections.settings["default"])
    if broken["ENGINE"].endswith("postgresql"):
        broken["PORT"] = 1
        broken["OPTIONS"] = {k: v for k, v in broken["OPTIONS"].items() if k != "pool"}
    else:
        broken["NAME"] = "/nonexistent-dir/voiceops.sqlite3"
    monkeypatch.setitem(connections.settings, "broken", broken)
    yield lambda: monkeypatch.setattr(health, "DATABASE_ALIAS", "broken")
    connections["broken"].close()


async def get(path: str, method: str = "GET") -> tuple[int, dict, dict]:
    response = await HttpCommunicator(application, method, path).get_response(timeout=10)
    headers = {k.decode().lower(): v.decode() for k, v in response["headers"]}
    return response["status"], json.loads(response["body"]), headers


async def test_healthz_says_alive_without_touching_sessions(clock, ready_settings):
    status, body, headers = await get("/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert "set-cookie" not in headers and headers["cache-control"] == "no-store"
    status, _, headers = await get("/healthz", "POST")
    assert status == 405 and headers["allow"] == "GET"


async def test_readyz_ready_when_database_and_redis_answer(clock, ready_settings):
    status, body, headers = await get("/readyz")
    assert status == 200
    assert body == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    assert "set-cookie" not in headers


async def test_database_down_makes_readyz_503_naming_only_the_component(clock, ready_settings, broken_database):
    assert (await get("/readyz"))[0] == 200
    broken_database()
    # The probe result is kept READYZ_CACHE_MS: polling every few ms costs one probe.
    assert (await get("/readyz"))[0] == 200
    clock.now += 1.1
    status, body, _ = await get("/readyz")
    assert status == 503
    assert body == {"status": "down", "checks": {"database": "down", "redis": "ok"}}


async def test_redis_down_makes_readyz_503(clock, ready_settings):
    ready_settings.REDIS_URL = "redis://127.0.0.1:1/0"
    status, body, _ = await get("/readyz")
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert "127.0.0.1" not in json.dumps(body)


async def test_redis_is_not_checked_when_not_configured(clock, ready_settings):
    ready_settings.REDIS_URL = ""
    status, body, _ = await get("/readyz")
    assert (status, body) == (200, {"status": "ready", "checks": {"database": "ok"}})


async def test_readyz_503_while_warming_and_when_needed_models_are_not_loaded(clock, ready_settings):
    warmup.warmup_reset(enabled=True, to=warmup.WARMING)
    status, body, _ = await get("/readyz")
    assert (status, body["status"], body["checks"]["models"]) == (503, "warming", "down")

    needs = warmup.SpeechNeeds(stt={"never-loaded-model": "test"}, tts={})
    warmup.warmup_reset(enabled=True, to=warmup.READY, needs=needs)
    status, body, _ = await get("/readyz")
    assert (status, body["status"], body["checks"]["models"]) == (503, "down", "down")


async def test_readyz_503_while_draining(clock, ready_settings):
    health.mark_draining()
    status, body, _ = await get("/readyz")
    assert (status, body["status"]) == (503, "draining")
    assert (await get("/healthz"))[0] == 200  # alive all the same: nobody should restart it


class _Models(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        ok = self.path == "/v1/models"
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def llm_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    _Models.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


async def test_an_llm_endpoint_down_is_marked_down_without_failing_readiness(clock, ready_settings, llm_server):
    ready_settings.LLM_BASE_URLS = [llm_server, "http://127.0.0.1:1/v1"]
    status, body, _ = await get("/readyz")
    assert status == 200
    assert body["checks"] == {"database": "ok", "redis": "ok", "llm-1": "ok", "llm-2": "down"}
    assert "127.0.0.1" not in json.dumps(body)
    # Probed once per LLM_PROBE_CACHE_S, however often /readyz is polled.
    for _ in range(3):
        clock.now += 1.1
        await get("/readyz")
    assert _Models.hits == 1
    clock.now += ready_settings.LLM_PROBE_CACHE_S
    await get("/readyz")
    assert _Models.hits == 2


# --- warm start --------------------------------------------------------------------------------


def test_warm_start_loads_what_published_versions_need_and_readyz_sees_it(clock, settings):
    draft = {"voice": {"voice": "/nowhere/draft.onnx"}}
    AgentVersionFactory(agent=AgentFactory(name="Draft only"), config=draft, published_at=None)
    needs = warmup.warm_start()
    assert warmup.state() == warmup.READY
    # A draft runs no calls: only the server defaults are needed here.
    assert set(needs.stt) == {settings.STT_MODEL} and set(needs.tts) == {(settings.TTS_BACKEND, "")}
    assert warmup.models_status() is True


def test_a_model_that_cannot_load_stops_warm_start_naming_it_and_its_agent(clock, settings):
    voice = {"backend": "piper", "voice": "/nowhere/voice.onnx"}
    AgentVersionFactory(agent=AgentFactory(name="Reminders"), config={"voice": voice})
    with pytest.raises(warmup.WarmStartError) as failure:
        warmup.warm_start()
    message = str(failure.value)
    assert "/nowhere/voice.onnx" in message and "'Reminders'" in message
    assert warmup.state() == warmup.FAILED and warmup.models_status() is False


def test_warm_start_makes_the_sentences_calls_open_with_so_the_first_call_replays_them(clock, settings):
    from live.speech.phrase_cache import phrases
    from live.speech.tts import get_tts

    config = {
        "brain": "flow",
        "greeting": "Hi {{first_name}}. This is Joe from Acme Dental.",
        "recording": {"enabled": True},
        "voice": {"speed": 1.1},
    }
    AgentVersionFactory(agent=AgentFactory(name="Dental"), config=config)
    AgentVersionFactory(
        agent=AgentFactory(name="Listens first"),
        config={"brain": "flow", "first_speaker": "caller", "greeting": "Said after the caller."},
    )
    phrases().clear()
    needs = warmup.warm_start()
    engine = get_tts()
    # The notice, and the greeting's sentence without the lead's field, as the calls' player asks for them.
    opening = needs.openings[(settings.TTS_BACKEND, "")]
    assert ("This call may be recorded for quality purposes.", 1.1) in opening
    assert ("This is Joe from Acme Dental.", 1.1) in opening
    assert ("Said after the caller.", 1.0) not in opening  # the caller speaks first: no greeting opens that call
    hits = phrases().hits
    for sentence, speed in opening:
        assert phrases().get(engine, sentence, speed), sentence
    assert phrases().hits == hits + len(opening)


def test_opening_speech_is_the_notice_and_the_greeting_with_no_lead_split_as_calls_speak_it():
    from agents.brains.config import load_config
    from live.replies import opening_speech

    recorded = load_config(
        {"greeting": "Hello {{first_name}}. Dr. Patel asked me to call.", "recording": {"enabled": True}}
    )
    notice = "This call may be recorded for quality purposes."
    # "Hello." is what a caller with no lead hears; "Dr." does not end a sentence, as the calls split it.
    assert opening_speech(recorded) == [notice, "Hello.", "Dr. Patel asked me to call."]
    silent = load_config({"greeting": "Hi.", "first_speaker": "caller", "recording": {"enabled": False}})
    assert opening_speech(silent) == []
