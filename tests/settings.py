"""Test settings: real PostgreSQL and Redis (started by scripts/services)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/voiceops")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("VOICEOPS_VAR_DIR", "/tmp/voiceops-tests")

from voiceops.settings import *  # noqa: F403

# Tasks run in-process in tests; the dialer's own tests exercise real workers.
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
