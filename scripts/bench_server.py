"""The daphne server the benchmarks measure: one place to start, set up and stop it.

`bench_voice.py` and `bench_live.py` both start a real
`daphne voiceops.asgi:application` on a free port, in a temporary directory
of their own, with the environment the product reads (and nothing of the
shell's DATABASE_URL or REDIS_URL unless the benchmark passes them), and run
`manage.py` commands against the same settings.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaphneServer:
    """One daphne process on 127.0.0.1; `env` adds to (or overrides) the defaults below."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            # The shell's databases are someone else's: a benchmark names its own.
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "DJANGO_SETTINGS_MODULE": "voiceops.settings",
            "VOICEOPS_VAR_DIR": str(workdir),
            "PUBLIC_BASE_URL": self.base_url,
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "SECRET_KEY": "bench-only-secret",
            **(env or {}),
        }
        self.log = workdir / "daphne.log"
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True)  # noqa: S603

    def start(self, timeout_s: float = 60) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and daphne)
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "voiceops.asgi:application"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not start: " + self.log.read_text()[-2000:])

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User and system CPU the process has used so far (from /proc: Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
