"""voiceops settings, read from the environment.

With no environment at all the product runs on its embedded defaults: SQLite,
the in-memory channel layer and Celery tasks run in-process. DATABASE_URL and
REDIS_URL switch to PostgreSQL and Redis. Names are listed in the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from voiceops import smart_turn_file
from voiceops.env import (
    env_bool,
    env_choice,
    env_file,
    env_int,
    env_rate,
    env_str,
    env_timezone,
    env_url,
    env_url_list,
    local_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
VAR_DIR = Path(env_str("VOICEOPS_VAR_DIR", str(BASE_DIR / "var")))
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if DATABASE_URL and not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off and DATABASE_URL is set")
    # Embedded defaults (a laptop demo, no environment at all): a random key
    # kept in var/ so sessions survive a restart. Never used in production,
    # where DATABASE_URL is set and the check above applies.
    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")

PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
_public_host = PUBLIC_BASE_URL.split("://", 1)[1].split(":")[0]
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "").split(",") if h.strip()] or [
    _public_host,
    "127.0.0.1",
    "localhost",
    "testserver",
]
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "agents",
    "calendars",
    "campaigns",
    "calls",
    "experiments",
    "analytics",
    "sandbox",
    "telephony",
    "webhooks",
    "accounts",
    "audit",
    "analysis",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "voiceops.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "voiceops.logging.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "voiceops.security.LoginThrottleMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "voiceops.urls"
ASGI_APPLICATION = "voiceops.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.console_timezone",
            ],
        },
    },
]

# Storage: SQLite unless DATABASE_URL names PostgreSQL.
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request's sync code runs on a fresh thread, so
        # per-thread persistent connections (CONN_MAX_AGE) pile up until
        # PostgreSQL refuses clients; a process-wide pool reuses them instead.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["pool"] = {"min_size": 1, "max_size": env_int("DB_POOL_MAX_SIZE", 10, minimum=1), "timeout": 10}
        # Parameters travel apart from the SQL (psycopg's C dumpers) instead of
        # being quoted into it in Python: the status webhook's batches spent
        # more CPU quoting than PostgreSQL spent running them.
        options["server_side_binding"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "voiceops.sqlite3"),
            # WAL and a busy timeout let the in-process dialer, the calls and
            # the web requests share the file; IMMEDIATE takes the write lock
            # at BEGIN, so concurrent writers wait instead of failing with
            # "database is locked" when a read transaction tries to upgrade.
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Messaging: the in-memory layer and in-process Celery unless REDIS_URL is set.
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))
if REDIS_URL:
    # channels-redis 4.3.0 waits for messages with BZPOPMIN, blocking 5 s at a
    # time; redis-py 8 gives every connection a 5 s read timeout by default,
    # so an idle console socket died with "Timeout reading from ..." whenever
    # the server's empty answer came a hair after the client gave up
    # (redis-py issue 4091, channels_redis issue 422; its fix, PR 423, is not
    # released). The read timeout must outlast the blocking read: 15 s still
    # notices a Redis that stopped answering, which None would wait on forever.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    # Shared by every process: API throttles and failed log-in counts.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "vo"}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Time limits for every task (a worker's prefork pool enforces them; eager
# tasks on the embedded default have none). The soft limit raises
# SoftTimeLimitExceeded in the task, which lets go of what it holds (its
# transaction rolls back, the dialer fails the attempt); the hard limit kills
# the worker process for a task stuck where no exception can reach it.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT_S", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", CELERY_TASK_SOFT_TIME_LIMIT + 30, minimum=2)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT_S must be longer than CELERY_TASK_SOFT_TIME_LIMIT_S")

# Twilio. Signatures are checked whenever the auth token is set.
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_API_BASE_URL = env_url("TWILIO_API_BASE_URL", "https://api.twilio.com", schemes=("http", "https"))
# Every REST request (dial, hang-up, TwiML update) gives up after these. A
# call create answers in well under a second; 3.05 s is just past TCP's 3 s
# SYN retransmission, so one lost SYN does not fail a dial.
TWILIO_CONNECT_TIMEOUT_MS = env_int("TWILIO_CONNECT_TIMEOUT_MS", 3050, minimum=100, maximum=60_000)
TWILIO_READ_TIMEOUT_MS = env_int("TWILIO_READ_TIMEOUT_MS", 10_000, minimum=100, maximum=120_000)

# Models. Defaults are the packaged CPU models; see README for the GPU tier.
STT_MODEL = env_str("STT_MODEL", "tiny.en")
STT_DEVICE = env_choice("STT_DEVICE", "cpu", ("cpu", "cuda", "auto"))
TTS_BACKEND = env_choice("TTS_BACKEND", "piper", ("piper", "coqui"))
TTS_MODEL = env_str("TTS_MODEL")
# Audio of sentences already synthesised, replayed instead of synthesised again (live/speech/phrase_cache.py).
TTS_PHRASE_CACHE_MB = env_int("TTS_PHRASE_CACHE_MB", 64, minimum=0)
LLM_BASE_URLS = env_url_list("LLM_BASE_URLS", schemes=("http", "https"))
LLM_MODEL = env_str("LLM_MODEL")
LLM_API_KEY = env_str("LLM_API_KEY", "none")
LLM_FIRST_TOKEN_TIMEOUT_MS = env_int("LLM_FIRST_TOKEN_TIMEOUT_MS", 1500, minimum=50)

# Live call engine. Models run in these worker threads, never on the event loop.
STT_CPU_THREADS = env_int("STT_CPU_THREADS", 0, minimum=0)  # per STT worker; 0: min(4, cores / ENGINE_THREADS)
# Whisper encoder window for short turns (seconds; 0: always the standard 30 s).
STT_ENCODER_WINDOW_S = env_int("STT_ENCODER_WINDOW_S", 10, minimum=0, maximum=30)
ENGINE_THREADS = env_int("ENGINE_THREADS", 2, minimum=1)  # concurrent STT (and, apart, TTS) jobs per process
# After this much silence the engine starts STT and the brain speculatively,
# before the agent's end-of-turn silence has completed.
SPECULATIVE_PAUSE_MS = env_int("SPECULATIVE_PAUSE_MS", 200, minimum=50)
# Files of models that ship outside any package we can install (scripts/bootstrap fetches them).
MODELS_DIR = Path(env_str("VOICEOPS_MODELS_DIR", str(BASE_DIR / "models")))
# Smart Turn v3.2's ONNX file (voiceops.smart_turn_file): a version whose
# end_of_turn is "smart" (the default) hears the caller's voice beside the
# words (live.turn_taking). Unset: the file bootstrap put in MODELS_DIR, when
# it is there; "" turns it off (the words alone decide).
_smart_turn_fetched = smart_turn_file.installed(MODELS_DIR)
SMART_TURN_MODEL = env_file("SMART_TURN_MODEL", str(_smart_turn_fetched) if _smart_turn_fetched else "")
MEDIA_LEAD_MS = env_int("MEDIA_LEAD_MS", 80, minimum=20)  # reply audio kept queued at Twilio
MEDIA_STREAM_TOKEN_MAX_AGE_S = env_int("MEDIA_STREAM_TOKEN_MAX_AGE_S", 120, minimum=5)

# Warm start (voiceops.warmup): load every model the published agents need
# while daphne imports the application, before it listens. Off, the first
# call after a start waited 3.5-6.9 s for its greeting while they loaded.
WARM_START = env_bool("WARM_START", True)
# /readyz (voiceops.health): the database and Redis probes run at most once
# per READYZ_CACHE_MS however many pollers; the LLM endpoints (GET <base>/models)
# at most once per LLM_PROBE_CACHE_S, each given LLM_PROBE_TIMEOUT_MS.
READYZ_CACHE_MS = env_int("READYZ_CACHE_MS", 1000, minimum=0, maximum=60_000)
LLM_PROBE_CACHE_S = env_int("LLM_PROBE_CACHE_S", 5, minimum=0, maximum=3600)
LLM_PROBE_TIMEOUT_MS = env_int("LLM_PROBE_TIMEOUT_MS", 500, minimum=50, maximum=10_000)
# /metrics (voiceops.metrics) is off (404) unless this bearer token is set.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Graceful restarts (voiceops.shutdown): after SIGTERM a daphne process stops
# taking calls and gives live ones this long to end by themselves before it
# ends them. Give the orchestrator's grace period (Kubernetes'
# terminationGracePeriodSeconds, systemd's TimeoutStopSec) 30 s more.
SHUTDOWN_DRAIN_S = env_int("SHUTDOWN_DRAIN_S", 120, minimum=0, maximum=3600)
# Calls left "in progress" by a process that died (SIGKILL, a crash) are
# reconciled from the carrier's REST API by a beat task (calls.reconcile)
# every RECONCILE_INTERVAL_S: each live call with a CallSid whose last known move
# (answered, started, created) is more than RECONCILE_AFTER_S old is looked up
# (one GET each, at most RECONCILE_BATCH a run).
RECONCILE_INTERVAL_S = env_int("RECONCILE_INTERVAL_S", 60, minimum=5, maximum=3600)
RECONCILE_AFTER_S = env_int("RECONCILE_AFTER_S", 120, minimum=0, maximum=86_400)
RECONCILE_BATCH = env_int("RECONCILE_BATCH", 200, minimum=1, maximum=10_000)

# Dialer guard rails (issue: outbound campaigns).
DIALER_GLOBAL_MAX_CONCURRENT = env_int("DIALER_GLOBAL_MAX_CONCURRENT", 50, minimum=1)
DIALER_TICK_SECONDS = env_int("DIALER_TICK_SECONDS", 5, minimum=1)
DIALER_BATCH_SIZE = env_int("DIALER_BATCH_SIZE", 100, minimum=1, maximum=5000)
DIALER_BREAKER_WINDOW = env_int("DIALER_BREAKER_WINDOW", 10, minimum=2)
DIALER_BREAKER_PERCENT = env_int("DIALER_BREAKER_PERCENT", 80, minimum=1, maximum=100)
DIALER_BREAKER_RATIO = DIALER_BREAKER_PERCENT / 100
DIALER_DISPOSITION_GRACE_SECONDS = env_int("DIALER_DISPOSITION_GRACE_SECONDS", 10, minimum=0)
DIALER_STALE_DIAL_SECONDS = env_int("DIALER_STALE_DIAL_SECONDS", 300, minimum=30)
LEAD_IMPORT_INLINE_ROWS = env_int("LEAD_IMPORT_INLINE_ROWS", 500, minimum=0)
# Per-task time limits (soft; the hard limit is 15 s later). A dial is one
# REST request, so its limit must outlast the request's own timeouts: the
# dialer then reports a hung carrier itself, and the soft limit only catches
# what those cannot (a lock wait, a carrier trickling bytes).
PLACE_CALL_TIME_LIMIT_S = env_int("PLACE_CALL_TIME_LIMIT_S", 30, minimum=1)
if PLACE_CALL_TIME_LIMIT_S * 1000 <= TWILIO_CONNECT_TIMEOUT_MS + TWILIO_READ_TIMEOUT_MS:
    raise ImproperlyConfigured(
        "PLACE_CALL_TIME_LIMIT_S must be longer than TWILIO_CONNECT_TIMEOUT_MS + TWILIO_READ_TIMEOUT_MS"
    )
LEAD_IMPORT_TIME_LIMIT_S = env_int("LEAD_IMPORT_TIME_LIMIT_S", 1800, minimum=10)
# Without a Twilio account the built-in simulated carrier (sandbox/carrier.py,
# mounted at /carrier/) answers the dialer's calls with simulator personas.
SIMULATED_CARRIER = env_bool("SIMULATED_CARRIER", not env_str("TWILIO_ACCOUNT_SID"))
if SIMULATED_CARRIER and not env_str("TWILIO_API_BASE_URL"):
    TWILIO_API_BASE_URL = PUBLIC_BASE_URL + "/carrier"
# Outbound webhooks may reach loopback and private networks only with this on
# (a receiver on one's own network); link-local and cloud metadata addresses
# are refused whatever it says (webhooks/ssrf.py).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# Post-call analysis (analysis.tasks) after every answered call; off stops it on every path.
POST_CALL_ANALYSIS = env_bool("POST_CALL_ANALYSIS", True)
# How often the retention purge looks for data past its agent version's retention days.
RETENTION_PURGE_SECONDS = env_int("RETENTION_PURGE_SECONDS", 3600, minimum=60)
# Analytics rollups (analytics/services.py): the days whose calls changed are rebuilt this often, and
# yesterday once more at 00:30 UTC for anything that landed after the last refresh's grace.
ANALYTICS_REFRESH_SECONDS = env_int("ANALYTICS_REFRESH_SECONDS", 60, minimum=5)
# The zone analytics days are cut in (midnight to midnight there): the business's reporting zone.
ANALYTICS_TIMEZONE = env_timezone("ANALYTICS_TIMEZONE", "UTC")
# Test calls started from the console (browser "Talk to it", simulated callers) count in analytics only when on.
ANALYTICS_INCLUDE_TEST_CALLS = env_bool("ANALYTICS_INCLUDE_TEST_CALLS", False)
CELERY_BEAT_SCHEDULE = {
    "dialer-tick": {"task": "calls.dialer_tick", "schedule": float(DIALER_TICK_SECONDS)},
    # Retention (privacy.tasks): recordings, transcripts and analyses past their version's days.
    "retention-purge": {"task": "privacy.retention_purge", "schedule": float(RETENTION_PURGE_SECONDS)},
    "analytics-refresh": {"task": "analytics.rollups_refresh", "schedule": float(ANALYTICS_REFRESH_SECONDS)},
    "analytics-rebuild-yesterday": {
        "task": "analytics.rollup_day_rebuild",
        "schedule": crontab(hour=0, minute=30),
    },
    "calls-reconcile": {"task": "calls.reconcile", "schedule": float(RECONCILE_INTERVAL_S)},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"


def _recordings_storage(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Where finished call recordings live (`STORAGES["recordings"]`), from RECORDINGS_STORAGE.

    `local` (default): MEDIA_ROOT on this server's disk. `s3`: any
    S3-compatible store through django-storages, so that every web server
    serves the recordings any of them took. Writes overwrite (a call resumed
    on a new media stream stores its longer recording under the same name).
    """
    kind = env_choice("RECORDINGS_STORAGE", "local", ("local", "s3"), environ=environ)
    if kind == "local":
        # No `location`: it follows MEDIA_ROOT, also when a test changes it.
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"allow_overwrite": True}}
    bucket = env_str("RECORDINGS_S3_BUCKET", environ=environ)
    if not bucket:
        raise ImproperlyConfigured("RECORDINGS_S3_BUCKET is required when RECORDINGS_STORAGE is s3")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": env_str("RECORDINGS_S3_PREFIX", environ=environ).strip("/"),
        "file_overwrite": True,
        "default_acl": None,  # private objects: recordings are served through the console only
        "querystring_auth": True,
        "addressing_style": env_choice(
            "RECORDINGS_S3_ADDRESSING_STYLE", "auto", ("auto", "path", "virtual"), environ=environ
        ),
    }
    endpoint = env_url("RECORDINGS_S3_ENDPOINT_URL", schemes=("http", "https"), environ=environ)
    if endpoint:  # MinIO, Ceph, R2, ...; unset is AWS itself
        options["endpoint_url"] = endpoint
    region = env_str("RECORDINGS_S3_REGION", environ=environ)
    if region:
        options["region_name"] = region
    # Unset keys leave boto3 its own chain (AWS_* variables, an instance role).
    access_key = env_str("RECORDINGS_S3_ACCESS_KEY_ID", environ=environ)
    secret_key = env_str("RECORDINGS_S3_SECRET_ACCESS_KEY", environ=environ)
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured("RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY go together")
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key)
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "recordings": _recordings_storage(),
}
# A call's recording is written here while the call runs (a call resumed on a
# new media stream appends to it on this server), then saved to the storage.
RECORDINGS_WORK_DIR = Path(env_str("RECORDINGS_WORK_DIR", str(VAR_DIR / "recordings-in-progress")))
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every endpoint checks the caller's role (voiceops.roles); a token acts with its user's.
    "DEFAULT_PERMISSION_CLASSES": ["voiceops.roles.ApiRolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "voiceops.api_filters.Pagination",
    "PAGE_SIZE": 50,
    # Per token (or session) user, and per address for anonymous requests;
    # counted in the cache (Redis when REDIS_URL is set: across processes).
    # Past the rate: 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/min"),
        "user": env_rate("API_THROTTLE_USER", "1200/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "voiceops API",
    "DESCRIPTION": "Machine access to agents, leads, campaigns and calls.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models have a "status" field; name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "CallStatusEnum": "calls.models.Call.Status",
        "LeadStatusEnum": "campaigns.models.Lead.Status",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "WebhookEventEnum": "webhooks.models.Event",
    },
}

# Production safety: secure cookies and HSTS whenever the public origin is https.
_https = PUBLIC_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _https else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# voiceops.security: the Content-Security-Policy (report-only to try it out)
# and the failed log-in limit, per address and per username.
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)
LOGIN_FAILURES_MAX = env_int("LOGIN_FAILURES_MAX", 10, minimum=1, maximum=10_000)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 900, minimum=10, maximum=86_400)

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING_CONFIG = None
from voiceops.logging import configure_logging  # noqa: E402  (needs LOG_LEVEL above)

configure_logging(LOG_LEVEL)
