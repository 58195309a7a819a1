"""Warm start on a real daphne process: models load before it listens, and a model that cannot load stops it.

(The greeting latency of the first call against later ones is measured by
scripts/bench_voice.py on a freshly started server; README "Warm start".)
"""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings

from tests.e2e.conftest import run_voice_server
from tests.factories import AgentFactory, AgentVersionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, reset_sequences=True)]


def test_a_fresh_server_is_ready_with_its_models_loaded_when_it_first_listens():
    with run_voice_server(env={"WARM_START": "true"}) as server:
        log = server.log_tail(200_000)
        # Loaded during start-up, before the fixture's first request (its webhook warm-up found them loaded).
        assert log.index('"warm_start_done"') < log.index('"twilio_voice_')
        # Smart Turn, fetched by scripts/bootstrap and on by default, is loaded with the others.
        assert settings.SMART_TURN_MODEL, "scripts/bootstrap fetches Smart Turn into models/"
        assert '"smart_turn_loaded"' in log[: log.index('"warm_start_done"')]
        ready = httpx.get(server.base_url + "/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"]["models"] == "ok"


def test_a_model_that_cannot_load_stops_start_up_with_a_clear_message():
    voice = {"backend": "piper", "voice": "/nowhere/missing-voice.onnx"}
    AgentVersionFactory(agent=AgentFactory(name="Broken voice"), config={"voice": voice})
    with pytest.raises(RuntimeError) as failure, run_voice_server(env={"WARM_START": "true"}):
        pass
    message = str(failure.value)
    assert "daphne exited with 1" in message
    assert "voiceops: warm start failed" in message and "'Broken voice'" in message
