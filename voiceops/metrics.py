"""Prometheus metrics: every name voiceops exports, and the `/metrics` door.

One module holds every metric, so a dashboard (deploy/grafana/voiceops.json)
and the code agree on names; the rooms that move them import this module and
make one call (`metrics.CALLS_ENDED.labels(status=...).inc()`), nothing else.

Processes. By default each process keeps its own values and each daphne
process is scraped on its own (a Prometheus target per process, or per
container): sum across them in queries. Celery workers have no HTTP server,
so their task durations only reach `/metrics` in prometheus-client's
multiprocess mode: set PROMETHEUS_MULTIPROC_DIR to one empty directory shared
by the daphne processes and Celery workers of a host (wiped before they
start), and any daphne process then answers for all of them. Gauges say how
they combine across processes (`multiprocess_mode`), which the default mode
ignores.

`/metrics` is off (404) unless METRICS_TOKEN is set, and then wants
`Authorization: Bearer <METRICS_TOKEN>` (401 otherwise): the numbers name no
caller, but call volumes and outcomes are business data.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

METRICS_PATH = "/metrics"

# Voice latency: a turn's stages run from tens of milliseconds (first brain
# text from a flow agent) to seconds (a slow LLM); 0.8 s voice to voice is
# the target, so the buckets are densest there.
_TURN_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
_QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
_WEBHOOK_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.031, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 200, 500)
_TASK_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# The stages CallTurn.timings records (milliseconds from the end of the caller's speech).
TURN_STAGES = ("stt_done", "first_brain_text", "first_tts_audio", "first_frame_sent", "first_mark_acknowledged")

CALLS_ENDED = Counter("voiceops_calls_ended", "Calls that reached a final status, by that status.", ["status"])
TURN_STAGE_SECONDS = Histogram(
    "voiceops_turn_stage_seconds",
    "Time from the end of the caller's speech to each stage of the agent's reply.",
    ["stage"],
    buckets=_TURN_BUCKETS,
)
BARGE_INS = Counter("voiceops_barge_ins", "Agent replies the caller interrupted.")
MODEL_QUEUE_DEPTH = Gauge(
    "voiceops_model_queue_depth",
    "Model jobs (STT, TTS) waiting for a worker thread.",
    ["pool"],
    multiprocess_mode="livesum",
)
MODEL_QUEUE_SECONDS = Histogram(
    "voiceops_model_queue_seconds",
    "Time a model job (STT, TTS) waited for a worker thread.",
    ["pool"],
    buckets=_QUEUE_BUCKETS,
)
LLM_FAILOVERS = Counter("voiceops_llm_failovers", "Times the LLM client left an endpoint for the next one.")
DIALER_CLAIMS = Counter("voiceops_dialer_claims", "Leads the dialer claimed (one queued call each).")
DIALER_DIALS = Counter("voiceops_dialer_dials", "Dial attempts, by result.", ["result"])
STATUS_WEBHOOK_SECONDS = Histogram(
    "voiceops_status_webhook_seconds",
    "Time to answer one POST /twilio/status/ (stored and committed).",
    buckets=_WEBHOOK_BUCKETS,
)
STATUS_WEBHOOK_BATCH_SIZE = Histogram(
    "voiceops_status_webhook_batch_size",
    "Status callbacks applied per database batch.",
    buckets=_BATCH_BUCKETS,
)
CELERY_TASK_SECONDS = Histogram(
    "voiceops_celery_task_seconds",
    "Celery task run time, by task name and final state.",
    ["task", "state"],
    buckets=_TASK_BUCKETS,
)


def turn_recorded(*, speaker: str, interrupted: bool, timings: Mapping[str, Any]) -> None:
    """Observe one stored turn: its stage latencies and, for an agent reply cut off, a barge-in."""
    for stage in TURN_STAGES:
        value = timings.get(stage)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            TURN_STAGE_SECONDS.labels(stage=stage).observe(value / 1000)
    if speaker == "agent" and interrupted:
        BARGE_INS.inc()


# --- model pools -------------------------------------------------------------------------------


def instrument_executor(executor: ThreadPoolExecutor, pool: str) -> None:
    """Count the jobs waiting in `executor` and time how long each waited.

    The pools belong to the live engine (live/workers.py), which knows nothing
    of monitoring; this wraps the one instance's `submit` (what
    `loop.run_in_executor` calls) instead of asking the engine to import us.
    Idempotent: instrumenting twice wraps once.
    """
    if getattr(executor, "_voiceops_pool", None):
        return
    depth = MODEL_QUEUE_DEPTH.labels(pool=pool)
    waited = MODEL_QUEUE_SECONDS.labels(pool=pool)
    submit = executor.submit

    def timed_submit(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        queued = time.monotonic()
        depth.inc()

        def run() -> Any:
            depth.dec()
            waited.observe(time.monotonic() - queued)
            return fn(*args, **kwargs)

        try:
            return submit(run)
        except BaseException:  # refused (shut down): it never queued
            depth.dec()
            raise

    executor.submit = timed_submit  # type: ignore[method-assign]
    executor._voiceops_pool = pool  # type: ignore[attr-defined]


def instrument_model_pools() -> None:
    """Instrument the live engine's STT and TTS pools (called where calls run: voiceops.asgi)."""
    from live.workers import STT_POOL, TTS_POOL

    instrument_executor(STT_POOL, "stt")
    instrument_executor(TTS_POOL, "tts")


# --- read at scrape time -----------------------------------------------------------------------


class LiveCallsCollector(Collector):
    """Calls live right now (database-wide), read when Prometheus scrapes.

    One indexed COUNT per scrape; every process reports the same number, so
    dashboards take max(), not sum(). (A per-process count of media sessions
    would need the Media Streams consumer to report its sessions.)
    """

    name = "voiceops_live_calls"
    documentation = "Calls initiated, ringing or in progress (database-wide)."

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration asks for the names: without this it would run collect(), a query, at import.
        yield GaugeMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from calls.selectors import calls_live

        family = GaugeMetricFamily(self.name, self.documentation)
        family.add_metric([], calls_live().count())
        yield family


_live_calls = LiveCallsCollector()
REGISTRY.register(_live_calls)


# --- Celery task durations -------------------------------------------------------------------

_task_started: dict[str, float] = {}


def _task_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def _task_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _task_started.pop(task_id or "", None)
    if started is not None and task is not None:
        CELERY_TASK_SECONDS.labels(task=task.name, state=state or "UNKNOWN").observe(time.monotonic() - started)


def _worker_process_shutdown(pid: int | None = None, **_: Any) -> None:
    # Multiprocess mode: a prefork child's live gauges leave with it.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun, worker_process_shutdown

    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="voiceops.metrics.prerun")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="voiceops.metrics.postrun")
    worker_process_shutdown.connect(_worker_process_shutdown, weak=False, dispatch_uid="voiceops.metrics.shutdown")


connect_celery_signals()


# --- the /metrics door -----------------------------------------------------------------------

# One thread: a scrape reads the database (live calls) and must not take a
# thread from the calls' own pools; scrapes are seconds apart anyway.
_scrape_thread: Executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics")


def metrics_text() -> bytes:
    """The exposition text (this process, or every process of the host in multiprocess mode)."""
    close_old_connections()
    try:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            registry.register(_live_calls)
            return generate_latest(registry)
        return generate_latest(REGISTRY)
    finally:
        close_old_connections()


def metrics_authorized(authorization: str) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", ""))
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """GET /metrics in front of Django (no session, CSRF or auth middleware: Prometheus has none of those)."""
    if not settings.METRICS_TOKEN:
        await _respond(send, 404, b"not found")
        return
    if scope["method"] not in ("GET", "HEAD"):
        await _respond(send, 405, b"method not allowed", [(b"allow", b"GET")])
        return
    headers = dict(scope.get("headers", []))
    if not metrics_authorized(headers.get(b"authorization", b"").decode("latin-1")):
        await _respond(send, 401, b"bearer token required", [(b"www-authenticate", b'Bearer realm="metrics"')])
        return
    body = await asyncio.get_running_loop().run_in_executor(_scrape_thread, metrics_text)
    await _respond(send, 200, body, content_type=CONTENT_TYPE_LATEST.encode())


async def _respond(
    send: Any,
    code: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    content_type: bytes = b"text/plain; charset=utf-8",
) -> None:
    headers = [(b"content-type", content_type), (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
