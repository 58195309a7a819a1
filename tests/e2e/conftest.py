"""End-to-end fixtures: the real ASGI app served by daphne, on the test database.

`voice_server` (session scope) starts `daphne voiceops.asgi:application` in a
subprocess on a free localhost port, against pytest's test database and this
run's Redis db, and yields a `VoiceServer`:

    base_url      "http://127.0.0.1:<port>" (also the server's PUBLIC_BASE_URL,
                  so signed webhooks validate and <Stream> urls point back here)
    auth_token    the server's TWILIO_AUTH_TOKEN: pass it to simulate_call
    twilio_api    what the server asked its carrier: the sandbox's simulated
                  carrier inside the server (SIMULATED_CARRIER, at its own
                  /carrier/, the server's TWILIO_API_BASE_URL), read from its
                  journal; `.requests` lists the REST requests (hang-ups,
                  <Dial> transfers, TwiML updates), `.hangups(sid)` the ends
    log_path      the server's output, printed when a test fails

The server loads Whisper, Piper and Silero once (on its first call) and keeps
them for the whole session. Tests that put rows in the database for the
server to see must use `transactional_db` (the server is another process).

The same carrier dials a campaign's calls (point the test process's
TWILIO_API_BASE_URL at `base_url + "/carrier"`). Needing different server
settings? Use `run_voice_server(env={...})` as a context manager in a module-
or session-scoped fixture of your own.

Example:

    def test_hello(voice_server, transactional_db):
        number = PhoneNumberFactory(agent=AgentVersionFactory(config=...).agent)
        result = asyncio.run(simulate_call(base_url=voice_server.base_url, persona=...,
                                           to_number=number.e164, from_number="+12125550100",
                                           auth_token=voice_server.auth_token))
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from telephony.signature import signature_compute

# The real llama.cpp server and dead endpoints, shared with the LLM protocol tests.
from tests.agents.brains.conftest import dead_url, gguf_path, llama_server, silent_url, spare_llama_server
from tests.sandbox.carrier_support import CarrierRequests, LocalCarrier

__all__ = ["dead_url", "gguf_path", "llama_server", "silent_url", "spare_llama_server"]

# The name of the hand-rolled fake this replaced, for tests that start one in-process.
FakeTwilioApi = LocalCarrier

REPO = Path(__file__).resolve().parents[2]
E2E_AUTH_TOKEN = "e2e-twilio-auth-token"
E2E_ACCOUNT_SID = "AC" + "e2e".ljust(32, "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VoiceServer:
    base_url: str
    auth_token: str
    twilio_api: CarrierRequests
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def run_voice_server(*, env: dict[str, str] | None = None, warm_up: bool = True) -> Iterator[VoiceServer]:
    """daphne voiceops.asgi:application on a free port, against the current (test) database.

    warm_up=False: yield as soon as it listens, models not loaded (for tests that place no call).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(settings.VAR_DIR) / f"e2e-daphne-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL or "redis://127.0.0.1:6379/15",
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_ACCOUNT_SID": E2E_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": E2E_AUTH_TOKEN,
        "TWILIO_API_BASE_URL": base_url + "/carrier",
        "SIMULATED_CARRIER": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "VOICEOPS_VAR_DIR": str(settings.VAR_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "voiceops.asgi:application"],
            cwd=REPO,
            env=server_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = VoiceServer(
        base_url=base_url,
        auth_token=server_env["TWILIO_AUTH_TOKEN"],
        twilio_api=CarrierRequests(
            # Empty: the server falls back to its own carrier too (settings.py).
            server_env["TWILIO_API_BASE_URL"] or base_url + "/carrier",
            server_env["TWILIO_ACCOUNT_SID"],
            server_env["TWILIO_AUTH_TOKEN"],
        ),
        log_path=log_path,
        process=process,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited with {process.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not listen on {port}:\n{server.log_tail()}")
            time.sleep(0.2)
        if warm_up:
            _warm_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _warm_up(server: VoiceServer, timeout_s: float = 120.0) -> None:
    """Make the server load its models now (any signed webhook starts that) and wait for them.

    Tests then measure calls, not model loading.
    """
    import httpx

    url = f"{server.base_url}/twilio/voice/"
    params = {"CallSid": "CA" + "0" * 32, "From": "+12125550100", "To": "+19999999999"}
    signature = signature_compute(url, params, auth_token=server.auth_token)
    httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = server.log_tail(200_000)
        if '"stt_loaded"' in log and '"tts_loaded"' in log:
            return
        if "engine_warm_up_failed" in log:
            raise RuntimeError(f"the server could not load its models:\n{server.log_tail()}")
        time.sleep(0.2)
    raise RuntimeError(f"the server did not load its models in {timeout_s} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def voice_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[VoiceServer]:
    """The real ASGI app on the test database (see this module's docstring)."""
    with run_voice_server() as server:
        yield server


@pytest.fixture(scope="session")
def speech_engines() -> tuple[Any, Any]:
    """Whisper and Piper in the test process (the simulator speaks and listens with them), loaded once."""
    from live.speech.stt import get_stt
    from live.speech.tts import get_tts

    return get_stt(), get_tts("piper")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    server = item.funcargs.get("voice_server") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(server, VoiceServer):
        report.sections.append(("voice server log", server.log_tail()))
