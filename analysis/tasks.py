"""Celery task for post-call analysis: takes a call id, calls the service."""

from __future__ import annotations

import uuid

import structlog
from celery import shared_task

from analysis.services import analysis_run

log = structlog.get_logger(__name__)


@shared_task(name="analysis.analyze_call", ignore_result=True)
def analyze_call(call_id: str, force: bool = False) -> None:
    """After an answered call (skipped where the version turns analysis off), or an operator's re-run (`force`)."""
    try:
        analysis_run(call_id=uuid.UUID(call_id), automatic=not force)
    except Exception:
        log.exception("analysis_failed", call_id=call_id)
        raise


@shared_task(name="analysis.analyze_calls", ignore_result=True)
def analyze_calls(call_ids: list[str]) -> None:
    """Calls that ended together, sent as one message (analysis.dispatch.analyses_schedule): one task each."""
    for call_id in call_ids:
        analyze_call.delay(call_id)
