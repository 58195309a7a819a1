"""Celery task for webhook deliveries: takes an id, calls the service, schedules the retry."""

from __future__ import annotations

from celery import shared_task

from webhooks import dispatch
from webhooks.services import delivery_attempt


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt; a failure with attempts left comes back after its backoff (services.retry_delay)."""
    result = delivery_attempt(delivery_id=delivery_id)
    if result.retry_in is not None:
        dispatch.delivery_schedule(delivery_id=delivery_id, countdown=result.retry_in)
