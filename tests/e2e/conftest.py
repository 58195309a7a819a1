"""End-to-end fixtures: the real ASGI app served by daphne, on the test database.

`voice_server` (session scope) starts `daphne voiceops.asgi:application` in a
subprocess on a free localhost port, against pytest's test database and this
run's Redis db, and yields a `VoiceServer`:

    base_url      "http://127.0.0.1:<port>" (also the server's PUBLIC_BASE_URL,
                  so signed webhooks validate and <Stream> urls point back here)
    auth_token    the server's TWILIO_AUTH_TOKEN: pass it to simulate_call
    twilio_api    a tiny local server speaking Twilio's REST shape, set as the
                  server's TWILIO_API_BASE_URL; `.requests` lists what it got
                  (hang-ups, <Dial> transfers, TwiML updates)
    log_path      the server's output, printed when a test fails

The server loads Whisper, Piper and Silero once (on its first call) and keeps
them for the whole session. Tests that put rows in the database for the
server to see must use `transactional_db` (the server is another process).

Needing different server settings (for example TWILIO_API_BASE_URL pointing at
the dialer's simulated carrier)? Use `run_voice_server(env={...})` as a
context manager in a module- or session-scoped fixture of your own.

Example:

    def test_hello(voice_server, transactional_db):
        number = PhoneNumberFactory(agent=AgentVersionFactory(config=...).agent)
        result = asyncio.run(simulate_call(base_url=voice_server.base_url, persona=...,
                                           to_number=number.e164, from_number="+12125550100",
                                           auth_token=voice_server.auth_token))
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
E2E_AUTH_TOKEN = "e2e-twilio-auth-token"
E2E_ACCOUNT_SID = "AC" + "e2e".ljust(32, "0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeTwilioApi:
    """Twilio's REST API as far as the call engine uses it: update a live call."""

    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                api.requests.append({"path": self.path, "form": form})
                parts = self.path.rstrip("/").removesuffix(".json").split("/")
                sid = parts[-1] if parts[-2] == "Calls" else "CA" + uuid.uuid4().hex
                body = json.dumps(
                    {
                        "sid": sid,
                        "account_sid": E2E_ACCOUNT_SID,
                        "status": form.get("Status", "in-progress"),
                        "to": form.get("To", ""),
                        "from": form.get("From", ""),
                    }
                ).encode()
                self.send_response(200 if parts[-2] == "Calls" else 201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def hangups(self, call_sid: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith(f"/Calls/{call_sid}.json") and "Status" in r["form"]]


@dataclass
class VoiceServer:
    base_url: str
    auth_token: str
    twilio_api: FakeTwilioApi
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
def run_voice_server(*, env: dict[str, str] | None = None) -> Iterator[VoiceServer]:
    """daphne voiceops.asgi:application on a free port, against the current (test) database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    api = FakeTwilioApi()
    api.start()
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
        "TWILIO_API_BASE_URL": api.base_url,
        "SIMULATED_CARRIER": "false",
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
        twilio_api=api,
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
        _warm_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        api.stop()


def _warm_up(server: VoiceServer, timeout_s: float = 120.0) -> None:
    """Make the server load its models now (any signed webhook starts that) and wait for them.

    Tests then measure calls, not model loading.
    """
    import httpx
    from twilio.request_validator import RequestValidator

    url = f"{server.base_url}/twilio/voice/"
    params = {"CallSid": "CA" + "0" * 32, "From": "+12125550100", "To": "+19999999999"}
    signature = RequestValidator(server.auth_token).compute_signature(url, params)
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
