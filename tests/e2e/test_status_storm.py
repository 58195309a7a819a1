"""The status storm fault, a lean slice: shuffled, duplicated callbacks across two daphne processes.

scripts/faults/status_storm.py sends 10,000 by default; here 400, enough for
duplicates to land on the other process and for a call's callbacks to race
each other in two database threads. It runs on a database of its own (named
after the test database) because its servers are other processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL,
    reason="the fault runs two daphne processes on PostgreSQL and Redis",
)


def test_shuffled_duplicated_callbacks_across_two_processes_end_every_call_right():
    db = settings.DATABASES["default"]
    admin = (
        f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/postgres"
    )
    env = {
        **os.environ,
        "STORM_DB": f"{db['NAME']}_storm",
        "BENCH_PG_ADMIN_URL": admin,
        "BENCH_REDIS_URL": str(settings.REDIS_URL),
        "WARM_START": "false",  # no call is placed: the servers need no speech models
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [
            sys.executable,
            "scripts/faults/status_storm.py",
            "--callbacks",
            "400",
            "--servers",
            "2",
            "--connections",
            "16",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(done.stdout)  # the counts, for the test log
    assert done.returncode == 0, done.stdout + done.stderr
    assert "calls wrong 0" in done.stdout and "lost 0, stored twice 0" in done.stdout
    assert "answers: 200 applied" in done.stdout and "200 duplicate" in done.stdout
