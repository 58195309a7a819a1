"""ASGI entry point: `daphne voiceops.asgi:application`.

HTTP goes to Django, except Twilio's status callbacks: POST /twilio/status/
arrives hundreds of times a second during a campaign and goes straight to its
lean ASGI handler (telephony.status), past middleware it has no use for. So do /healthz, /readyz (voiceops.health)
and /metrics (voiceops.metrics), which load balancers and Prometheus poll.
WebSockets split in two: the Twilio media socket is
authenticated by its per-call token (Twilio sends no browser Origin), while
console sockets need a same-origin browser and a logged-in session.
"""

import gc
import os
import sys
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voiceops.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from calls.routing import console_websocket_urlpatterns  # noqa: E402
from telephony.routing import twilio_websocket_urlpatterns  # noqa: E402
from telephony.status import STATUS_PATH, status_asgi_app  # noqa: E402
from voiceops import daphne_http, metrics, shutdown, warmup  # noqa: E402
from voiceops.health import HEALTHZ_PATH, READYZ_PATH, health_asgi_app  # noqa: E402

_HEALTH_PATHS = (HEALTHZ_PATH, READYZ_PATH)


async def http_application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    if path == STATUS_PATH:
        with metrics.STATUS_WEBHOOK_SECONDS.time():
            return await status_asgi_app(scope, receive, send)
    if path in _HEALTH_PATHS:
        return await health_asgi_app(scope, receive, send)
    if path == metrics.METRICS_PATH:
        return await metrics.metrics_asgi_app(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


metrics.instrument_model_pools()
shutdown.install_for_daphne()  # SIGTERM drains live calls first (voiceops.shutdown)
daphne_http.install_for_daphne()  # no per-request work that nothing reads (voiceops.daphne_http)
if settings.WARM_START:
    # Before daphne listens (it imports this module first): the first call
    # greets as fast as the hundredth. A model that cannot load stops the
    # process here, with the message, instead of failing every call.
    try:
        warmup.warm_start()
    except warmup.WarmStartError as error:
        sys.exit(f"voiceops: {error}")


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": URLRouter(
            [
                *twilio_websocket_urlpatterns,
                # A prefix (re_path without $), not path(): channels only treats
                # path() as a prefix when its target is a URLRouter itself, and
                # here middleware wraps the router, so /ws/console/live/ never matched.
                re_path(
                    r"^ws/console/",
                    AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(console_websocket_urlpatterns))),
                ),
            ]
        ),
    }
)

# Everything imported so far lives as long as the process: move it out of the
# collector's sight, so a full collection no longer walks Django, Twisted and
# the models (a 50-100 ms pause every few seconds under load, felt by every
# call and webhook in flight).
gc.freeze()
