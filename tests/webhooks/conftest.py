"""Fixtures for webhook tests: a real local HTTP receiver, a stand-in DNS and a recording scheduler."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import dispatch, ssrf

HOOK_HOST = "hooks.example.test"  # .test never resolves for real: only the stand-in DNS knows it


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with `statuses` in turn (the last one repeats)."""

    port: int
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)

    def url(self, host: str = HOOK_HOST, path: str = "/hooks/voiceops") -> str:
        return f"http://{host}:{self.port}{path}"

    def next_status(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.next_status()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"receiver is down")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """The answers ssrf.resolve gives, by host name; edit the dict to change them (DNS rebinding)."""
    answers: dict[str, list[str]] = {HOOK_HOST: ["127.0.0.1"]}

    def resolve(host: str, port: int) -> list[ssrf.IPAddress]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    return answers


@pytest.fixture
def scheduled(monkeypatch) -> list[tuple[int, float]]:
    """What would go to Celery, as (delivery id, countdown); tests run the attempts themselves under a frozen clock."""
    queue: list[tuple[int, float]] = []
    monkeypatch.setattr(
        dispatch, "delivery_schedule", lambda *, delivery_id, countdown=0: queue.append((delivery_id, countdown))
    )
    return queue


@pytest.fixture(autouse=True)
def _fresh_subscriptions() -> Iterator[None]:
    from webhooks.services import subscriptions_forget

    subscriptions_forget()
    yield
    subscriptions_forget()
