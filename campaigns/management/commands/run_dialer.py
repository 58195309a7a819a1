"""python manage.py run_dialer [--once]: the dialer tick without Celery beat.

The embedded defaults have no Redis, so no beat and no worker: scripts/run
starts this next to daphne. Each tick claims leads and, with Celery eager,
places the calls right here (through the simulated carrier unless a Twilio
account is configured). With Redis, use `celery -A voiceops beat` and a worker
instead; running both is safe (ticks serialise on an advisory lock on
PostgreSQL), only pointless.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from campaigns.dialer import dialer_tick

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = "Run the outbound dialer tick every DIALER_TICK_SECONDS (the embedded stand-in for Celery beat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = settings.DIALER_TICK_SECONDS
        while not stopping:
            started = time.monotonic()
            try:
                result = dialer_tick()
                if result.call_ids or result.settled:
                    self.stdout.write(f"tick: {len(result.call_ids)} dialed, {result.settled} settled")
            except Exception:  # one bad tick must not stop the dialer; the next one retries
                log.exception("dialer_tick_failed")
            finally:
                close_old_connections()
            if options["once"]:
                return
            # Sleep in small steps so a stop signal is honoured quickly.
            while not stopping and time.monotonic() - started < interval:
                time.sleep(0.2)
