"""Celery beat task for retention (CELERY_BEAT_SCHEDULE "retention-purge")."""

from __future__ import annotations

from celery import shared_task

from privacy.retention import retention_purge


@shared_task(name="privacy.retention_purge", ignore_result=True)
def purge_due() -> None:
    retention_purge()
