"""Where a delivery's next attempt runs: a Celery worker, or a thread of this process.

With a broker (REDIS_URL) the attempt is a Celery task and the backoff is
Celery's countdown. On the embedded default Celery runs tasks inline, which
would put an HTTP request (and, worse, every retry, back to back since an
inline task ignores its countdown) into whichever thread committed the event:
the status webhook's batch thread or a live call's database thread. There the
attempt runs on a timer thread instead, after its countdown.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.db import connection


def delivery_schedule(*, delivery_id: int, countdown: float = 0) -> None:
    from webhooks.tasks import deliver  # the task module imports the services, which import this one

    if settings.CELERY_TASK_ALWAYS_EAGER:
        timer = threading.Timer(countdown, _run_in_process, args=(delivery_id,))
        timer.daemon = True
        timer.name = f"webhook-delivery-{delivery_id}"
        timer.start()
    else:
        deliver.apply_async(args=[delivery_id], countdown=countdown)


def _run_in_process(delivery_id: int) -> None:
    from webhooks.tasks import deliver

    try:
        deliver(delivery_id)
    finally:
        connection.close()  # this thread's own connection; the thread ends here
