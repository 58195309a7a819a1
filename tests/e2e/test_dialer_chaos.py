"""The lean CI slice of scripts/faults/dialer_chaos.py: 60 leads, the same three faults, the same zero counts.

The script starts its own PostgreSQL (initdb, pg_ctl) and redis-server on free
ports, so the machine's shared ones are never restarted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_campaign_survives_a_killed_worker_and_restarted_postgresql_and_redis():
    if not Path("/usr/lib/postgresql/15/bin/initdb").exists() or not shutil.which("redis-server"):
        pytest.skip("needs PostgreSQL 15's server binaries and redis-server to start private ones")
    result = subprocess.run(
        [sys.executable, "scripts/faults/dialer_chaos.py", "--leads", "60", "--per-minute", "600", "--timeout", "400"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout[-3000:])
    for line in ("double_dials: 0", "lost_attempts: 0", "lost_status_updates: 0", "backward_statuses: 0"):
        assert line in result.stdout, result.stdout[-4000:] + result.stderr[-3000:]
    assert result.stdout.count("fault: ") == 3
    assert result.returncode == 0
