"""What the fault scripts share: free ports, daphne processes, and a PostgreSQL and Redis of their own.

The fault scripts restart and kill things. Other people's PostgreSQL (5432)
and Redis (6379) on this machine are never touched: `OwnPostgres` runs
initdb and pg_ctl into a temporary directory on a free port, `OwnRedis` runs
redis-server on a free port, and only those are restarted.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout_s: float = 120, expect: int = 200) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == expect:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} not answering {expect} after {timeout_s} s: {last}")


def _as_postgres() -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"]
    return []


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="voiceops-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/voiceops_faults"

    def _ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603  (PostgreSQL's own tools, our arguments)
            [*_as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        if not self.data.exists():
            subprocess.run(  # noqa: S603  (PostgreSQL's own tools, our arguments)
                [*_as_postgres(), str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
            self._ctl("-o", options, "start")
            subprocess.run(  # noqa: S603  (PostgreSQL's own tools, our arguments)
                [*_as_postgres(), str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "voiceops_faults"],
                check=True,
            )
            self._options = options
        else:
            self._ctl("-o", self._options, "start")

    def restart(self) -> None:
        """A fast shutdown (open connections are cut, as in a crash or a failover) and a start."""
        self._ctl("-m", "fast", "stop")
        self._ctl("-o", self._options, "start")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server of our own (no persistence: a restart loses what it held, as a crashed one does)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="voiceops-faults-redis-"))

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603  (redis-server from PATH, our arguments)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def restart(self) -> None:
        self.stop(remove=False)
        self.start()

    def stop(self, *, remove: bool = True) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="voiceops.settings", PYTHONUNBUFFERED="1", WARM_START="false")
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def daphne(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`daphne voiceops.asgi:application` on `port`, ready (/healthz) when entered; stopped when left."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603  (our own interpreter and daphne)
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "voiceops.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
