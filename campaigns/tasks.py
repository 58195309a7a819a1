"""Celery tasks for the dialer and lead imports: they take ids and call a service.

Each has a time limit (settings.py: the global CELERY_TASK_* limits, and
PLACE_CALL_TIME_LIMIT_S and LEAD_IMPORT_TIME_LIMIT_S here); the hard limit is
HARD_LIMIT_GRACE_S after the soft one, time enough to record a time-out.
"""

from __future__ import annotations

import structlog
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from campaigns import dialer
from voiceops import metrics

log = structlog.get_logger(__name__)

HARD_LIMIT_GRACE_S = 15


@shared_task(name="calls.dialer_tick", ignore_result=True)
def dialer_tick_task() -> int:
    """Beat runs this every DIALER_TICK_SECONDS; ticks serialise on an advisory lock."""
    return len(dialer.dialer_tick().call_ids)


@shared_task(
    name="calls.place_call",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=settings.PLACE_CALL_TIME_LIMIT_S,
    time_limit=settings.PLACE_CALL_TIME_LIMIT_S + HARD_LIMIT_GRACE_S,
)
def place_call(call_id: str) -> str:
    # No autoretry: dial_attempt is at-most-once by design, and a redelivered
    # message finds the attempt already started and does nothing. It handles
    # its own soft time-out (the attempt fails; the lead's lock is let go).
    result = dialer.dial_attempt(call_id=call_id)
    metrics.DIALER_DIALS.labels(result=result).inc()
    return result


@shared_task(
    name="calls.import_leads",
    ignore_result=True,
    soft_time_limit=settings.LEAD_IMPORT_TIME_LIMIT_S,
    time_limit=settings.LEAD_IMPORT_TIME_LIMIT_S + HARD_LIMIT_GRACE_S,
)
def import_leads_task(import_id: int) -> None:
    from campaigns.importer import lead_import_fail, lead_import_run

    try:
        lead_import_run(import_id=import_id)
    except SoftTimeLimitExceeded:
        # The chunk being written rolled back; the chunks before it are kept.
        # Importing the same file again merges the leads already in.
        lead_import_fail(
            import_id=import_id,
            reason=f"ran out of time ({settings.LEAD_IMPORT_TIME_LIMIT_S} s, LEAD_IMPORT_TIME_LIMIT_S) after "
            "the rows counted as processed; import the file again to finish (rows already in are merged)",
        )
