"""The embedded default (no environment at all) migrates and seeds on SQLite.

This is what `scripts/run` does on a fresh machine, so it runs in a clean
subprocess with none of the test settings.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env["VOICEOPS_VAR_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_embedded_default_migrates_and_seeds_the_demo_on_sqlite(tmp_path):
    migrate = _manage(tmp_path, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    seed = _manage(tmp_path, "seed_demo")
    assert seed.returncode == 0, seed.stderr
    assert "log in as demo / voiceops-demo" in seed.stdout
    again = _manage(tmp_path, "seed_demo")
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(tmp_path / "voiceops.sqlite3") as db:
        assert db.execute("select count(*) from agents_phonenumber where e164 = '+15005550006'").fetchone() == (1,)
        assert db.execute("select count(*) from auth_user where username = 'demo'").fetchone() == (1,)
    check = _manage(tmp_path, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, check.stdout + check.stderr
