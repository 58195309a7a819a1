"""The README's run path on a fresh machine: no environment at all, daphne serves the console with demo data.

What `scripts/run` does after installing: migrate, seed_demo, then daphne on
the embedded defaults (SQLite, in-memory channel layer, in-process Celery).
The install step itself is not repeated here: this test runs in the installed
virtualenv, in a clean subprocess with none of the test settings.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env["VOICEOPS_VAR_DIR"] = str(tmp_path)
    for args in (["migrate", "--noinput"], ["seed_demo"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    port = _free_port()
    log = (tmp_path / "daphne.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "voiceops.asgi:application"],
        cwd=ROOT,
        env={**env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):  # up to about a minute on a busy machine
            assert server.poll() is None, (tmp_path / "daphne.log").read_text(errors="replace")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_the_demo_operator_logs_in_and_sees_the_demo_data(embedded_server):
    with httpx.Client(base_url=embedded_server, timeout=30) as client:
        assert client.get("/").status_code in (302, 301)  # the console needs a login
        login = client.get("/login/")
        assert login.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert token, login.text[:500]
        response = client.post(
            "/login/",
            data={"username": "demo", "password": "voiceops-demo", "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{embedded_server}/login/"},
        )
        assert response.status_code == 302, response.text[:500]
        assert client.get("/").status_code == 200
        agents = client.get("/agents/")
        assert agents.status_code == 200 and "Ava" in agents.text
        campaigns = client.get("/campaigns/")
        assert campaigns.status_code == 200
