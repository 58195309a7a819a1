"""Celery tasks for the dialer and lead imports: they take ids and call a service."""

from __future__ import annotations

import structlog
from celery import shared_task

from campaigns import dialer

log = structlog.get_logger(__name__)


@shared_task(name="calls.dialer_tick", ignore_result=True)
def dialer_tick_task() -> int:
    """Beat runs this every DIALER_TICK_SECONDS; ticks serialise on an advisory lock."""
    return len(dialer.dialer_tick().call_ids)


@shared_task(name="calls.place_call", ignore_result=True, acks_late=True)
def place_call(call_id: str) -> str:
    # No autoretry: dial_attempt is at-most-once by design, and a redelivered
    # message finds the attempt already started and does nothing.
    return dialer.dial_attempt(call_id=call_id)


@shared_task(name="calls.import_leads", ignore_result=True)
def import_leads_task(import_id: int) -> None:
    from campaigns.importer import lead_import_run

    lead_import_run(import_id=import_id)
