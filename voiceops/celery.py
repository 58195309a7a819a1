"""Celery wired to Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")

app = Celery("voiceops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import voiceops.metrics  # noqa: E402, F401  (times every task: Celery signals, connected on import)
