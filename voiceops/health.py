"""GET /healthz (the process is alive) and GET /readyz (it can take calls now).

Both are plain ASGI apps mounted in voiceops.asgi in front of Django: a load
balancer polls them every second or so, and sessions, CSRF, auth and
templates have nothing to add. They are unauthenticated, so they say little:
a component name and ok/down, never a hostname, a version or an error's text
(the logs have those).

/readyz answers 503 while the models are loading (voiceops.warmup), while
the process drains for a restart, or when the database, Redis (when
configured) or the loaded models are not there. LLM endpoints are probed
too but only marked down: the client fails over between them, and flow
agents need none, so one endpoint down is no reason to stop taking calls.

Cost: the database and Redis probes (a SELECT 1 and a PING, a millisecond
each) run at most once per READYZ_CACHE_MS however many pollers there are;
concurrent requests share one probe. The LLM probe (GET <base>/models, every
endpoint at once, LLM_PROBE_TIMEOUT_MS at most) runs at most once per
LLM_PROBE_CACHE_S.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from django.conf import settings
from django.db import connections

from voiceops import warmup

log = structlog.get_logger(__name__)

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"
OK, DOWN = "ok", "down"

# The database alias probed (a test points it at a broken connection).
DATABASE_ALIAS = "default"

# One thread of its own: a probe waiting on a dead database must not take a
# thread from the pools that serve calls and webhooks.
_probe_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")

_draining = threading.Event()


def mark_draining() -> None:
    """From now on /readyz answers 503 (a graceful shutdown has begun: the load balancer stops sending calls)."""
    _draining.set()


def is_draining() -> bool:
    return _draining.is_set()


def draining_reset() -> None:
    """Serving again (tests only: a real process never comes back from a drain, it exits)."""
    _draining.clear()


@dataclass
class _Cached:
    checks: dict[str, str] = field(default_factory=dict)
    at: float = float("-inf")
    pending: asyncio.Future[dict[str, str]] | None = None


@dataclass
class Readiness:
    """The probes' state for one process; `clock` is injectable so tests need no sleeps."""

    clock: Callable[[], float] = time.monotonic
    infra: _Cached = field(default_factory=_Cached)
    llm: _Cached = field(default_factory=_Cached)

    async def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for /readyz."""
        checks: dict[str, str] = {}
        checks.update(await self._cached(self.infra, settings.READYZ_CACHE_MS / 1000, self._probe_infra))
        models = warmup.models_status()
        if models is not None:
            checks["models"] = OK if models else DOWN
        if settings.LLM_BASE_URLS:
            checks.update(await self._cached(self.llm, settings.LLM_PROBE_CACHE_S, _probe_llms))
        if is_draining():
            state = "draining"
        elif warmup.state() == warmup.WARMING:
            state = "warming"
        elif any(value != OK for name, value in checks.items() if not name.startswith("llm")):
            state = "down"
        else:
            state = "ready"
        return (200 if state == "ready" else 503), {"status": state, "checks": checks}

    async def _cached(self, cache: _Cached, max_age_s: float, probe: Callable[[], Any]) -> dict[str, str]:
        if self.clock() - cache.at < max_age_s:
            return cache.checks
        if cache.pending is None:
            cache.pending = asyncio.ensure_future(probe())
            try:
                cache.checks = await cache.pending
                cache.at = self.clock()
            finally:
                cache.pending = None
            return cache.checks
        return await asyncio.shield(cache.pending)

    async def _probe_infra(self) -> dict[str, str]:
        return await asyncio.get_running_loop().run_in_executor(_probe_thread, probe_infra)


def probe_infra() -> dict[str, str]:
    """Database and (when configured) Redis: ok or down. Runs on the probe thread."""
    checks = {"database": _probe(_database_ok, "database")}
    if settings.REDIS_URL:
        checks["redis"] = _probe(_redis_ok, "redis")
    return checks


def _probe(check: Callable[[], None], component: str) -> str:
    try:
        check()
    except Exception as error:
        log.warning("readyz_component_down", component=component, error=str(error)[:300])
        return DOWN
    return OK


def _database_ok() -> None:
    connection = connections[DATABASE_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # Back to the pool (PostgreSQL) or closed: the probe thread holds nothing between probes.
        connection.close()


_redis_clients: dict[str, Any] = {}


def _redis_ok() -> None:
    import redis

    url = settings.REDIS_URL
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=0
        )
    client.ping()


async def _probe_llms() -> dict[str, str]:
    """Every LLM endpoint at once; named by position (llm-1, llm-2, ...), never by host."""
    timeout = settings.LLM_PROBE_TIMEOUT_MS / 1000
    headers = {"Authorization": f"Bearer {settings.LLM_API_KEY}"}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:

        async def one(base_url: str) -> str:
            try:
                response = await client.get(base_url + "/models")
            except httpx.HTTPError:
                return DOWN
            # Any answer short of a server error means the server is there (a
            # 401 is a key problem, which the calls' own logs report).
            return OK if response.status_code < 500 else DOWN

        results = await asyncio.gather(*(one(url) for url in settings.LLM_BASE_URLS))
    return {f"llm-{index}": result for index, result in enumerate(results, start=1)}


_readiness = Readiness()


def readiness() -> Readiness:
    return _readiness


def readiness_reset(clock: Callable[[], float] = time.monotonic) -> Readiness:
    """A fresh probe state (tests; the caches start empty)."""
    global _readiness
    _readiness = Readiness(clock=clock)
    return _readiness


async def health_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """GET /healthz and /readyz, answered without Django's middleware."""
    if scope["method"] not in ("GET", "HEAD"):
        await _respond(send, 405, {"status": "method not allowed"}, [(b"allow", b"GET")])
        return
    if scope["path"] == HEALTHZ_PATH:
        # Alive: the event loop ran this. Nothing else is checked, so a
        # database outage does not get every process restarted.
        await _respond(send, 200, {"status": "ok"})
        return
    code, body = await _readiness.report()
    await _respond(send, code, body)


async def _respond(send: Any, code: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
