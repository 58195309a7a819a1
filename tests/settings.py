"""Test settings: real PostgreSQL and Redis (started by scripts/services).

With VOICEOPS_TEST_DB=sqlite the suite runs on the embedded default instead
(SQLite, the in-memory channel layer, in-process Celery): the second CI leg,
and what a new user runs first (`pytest -m "not e2e"`).
"""

import os

import structlog

EMBEDDED = os.environ.get("VOICEOPS_TEST_DB") == "sqlite"
if EMBEDDED:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
else:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/voiceops")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("VOICEOPS_VAR_DIR", "/tmp/voiceops-tests")
# Tests load the models they use; tests/e2e/test_warm_start.py turns it on for its server.
os.environ.setdefault("WARM_START", "false")

from voiceops.settings import *  # noqa: E402, F403

# Tasks run in-process in tests; the dialer's own tests exercise real workers.
CELERY_TASK_ALWAYS_EAGER = True
# Post-call analysis runs only where a test asks for it (tests/analysis): elsewhere a call that
# ends would start a background analysis the test does not wait for.
POST_CALL_ANALYSIS = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# Throttle and log-in counts per test process, emptied before each test
# (tests/conftest.py): parallel runs share a Redis database, never counts.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if EMBEDDED:
    # A test database on disk, as the embedded default runs: the in-memory one
    # Django would pick shares one cache across threads with table locks that
    # the busy timeout never waits on, so a webhook served by a live server
    # thread fails where the real file database would wait its turn.
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-voiceops.sqlite3")}  # noqa: F405

# structlog.testing.capture_logs() swaps its own processors in; a logger cached
# on first use would keep the old ones and log past it, depending on which test
# used it first. tests/conftest.py turns caching off again after each test that
# configures logging itself.
structlog.configure(cache_logger_on_first_use=False)
