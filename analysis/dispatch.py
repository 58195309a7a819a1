"""Where a call's analysis runs: a Celery worker, or (embedded default) a thread of this process.

Same reasoning as webhooks.dispatch: with Celery eager, the task would run
inside whichever thread committed the call's end (a live call's database
thread, the status webhook's batch thread) and hold it for as long as the
model takes.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection


def analysis_schedule(*, call_id: uuid.UUID, force: bool = False) -> None:
    """Run the call's analysis soon.

    `force` is an operator's re-run: POST_CALL_ANALYSIS off stops only the automatic one.
    """
    from analysis.tasks import analyze_call  # the task imports the services, which import calls.services

    if not (settings.POST_CALL_ANALYSIS or force):
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        start_thread(_run_in_process, str(call_id), force)
    else:
        analyze_call.delay(str(call_id), force)


def analyses_schedule(*, call_ids: Sequence[uuid.UUID]) -> None:
    """analysis_schedule for calls that ended together (a status webhook batch): one Celery message for all.

    The worker that takes it queues each call's own analyze_call task, so every
    analysis still runs, retries and fails on its own; the process that
    committed the calls' ends pays for one message instead of one per call.
    """
    from analysis.tasks import analyze_calls

    if not settings.POST_CALL_ANALYSIS or not call_ids:
        return
    if len(call_ids) == 1 or settings.CELERY_TASK_ALWAYS_EAGER:
        for call_id in call_ids:
            analysis_schedule(call_id=call_id)
    else:
        analyze_calls.delay([str(call_id) for call_id in call_ids])


def start_thread(target: Callable[..., None], *args: object) -> None:
    """A daemon thread of this process (tests replace it to run the analysis where they can wait for it)."""
    threading.Thread(target=target, args=args, daemon=True, name="post-call-analysis").start()


def _run_in_process(call_id: str, force: bool) -> None:
    from analysis.tasks import analyze_call

    try:
        analyze_call(call_id, force)
    finally:
        connection.close()  # this thread's own connection; the thread ends here
