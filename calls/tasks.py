"""Celery tasks of the calls app: they take ids (or nothing) and call a service."""

from __future__ import annotations

from celery import shared_task

from calls.reconcile import calls_reconcile


@shared_task(name="calls.reconcile", ignore_result=True)
def reconcile_task() -> int:
    """Beat runs this every RECONCILE_INTERVAL_S (calls.reconcile); returns how many calls it moved."""
    return len(calls_reconcile().moved)
