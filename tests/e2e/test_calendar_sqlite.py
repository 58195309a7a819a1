"""The calendar on the embedded default: a real SQLite database migrated by manage.py in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.e2e
def test_the_embedded_sqlite_default_migrates_and_books(tmp_path: Path):
    """The calendar's guarantees must hold on SQLite too (unique slot start + the service)."""
    # No DATABASE_URL and no REDIS_URL: the embedded default, SQLite under VOICEOPS_VAR_DIR.
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")},
        "DJANGO_SETTINGS_MODULE": "voiceops.settings",
        "VOICEOPS_VAR_DIR": str(tmp_path),
    }
    root = Path(__file__).resolve().parents[2]

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    # Every app's migrations: the roles are synced after migrate, and need auth's tables.
    manage("migrate", "--no-input")
    script = (
        "from calendars.models import Calendar; from calendars.selectors import calendar_free_slots; "
        "from calendars.services import appointment_book, SlotUnavailable; "
        "c = Calendar.objects.create(name='Clinic', timezone='Europe/Paris'); s = calendar_free_slots(c)[0]; "
        "appointment_book(calendar=c, start=s)\n"
        "try:\n    appointment_book(calendar=c, start=s)\nexcept SlotUnavailable as e:\n    print('refused:', e)"
    )
    assert "refused: that slot was just taken" in manage("shell", "-c", script)
