"""Browser-facing protections: a Content-Security-Policy on every response, and a limit on failed log-ins.

Content-Security-Policy. Django 5.2 has none built in (6.0 adds one). A small
middleware rather than django-csp: the policy here is one static string (no
per-request nonces, because no template has an inline script or style: the
console's scripts are files under static/, and htmx is told not to inject its
indicator <style>), so django-csp's nonce machinery and per-directive
decorators would be a dependency for a header we can build in a few lines.
One page needs a wider policy, the API docs (drf-spectacular's Swagger UI
loads its bundle from a CDN and has a small inline <style>); views say so
with `csp_override`. CSP_REPORT_ONLY sends the same policy as
Content-Security-Policy-Report-Only (to try a change on a live site first).

Log-in limit. Each failed log-in (a POST to the console or admin log-in page
that does not redirect) counts against the client address and against the
username, in Django's cache (Redis when REDIS_URL is set, so every process
shares the counts). At LOGIN_FAILURES_MAX failures within
LOGIN_FAILURE_WINDOW_S, further log-in POSTs from that address, or for that
username, answer 429 without checking the password, until the window passes.
A successful log-in clears the username's count. Counting by username as
well stops one account being guessed at from many addresses; counting by
address stops one address guessing across many accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

# The console's own policy: everything from this origin, nothing inline, no
# plugins, no framing. 'self' in connect-src covers the same-origin ws:/wss:
# sockets (CSP Level 3) that htmx's websocket extension opens.
DEFAULT_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "media-src": ("'self'", "blob:"),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}

# drf-spectacular's Swagger UI (GET /api/docs/): its bundle and stylesheet
# come from jsDelivr and its page carries a three-rule inline <style>; its
# start-up script is served from our origin (SpectacularSwaggerSplitView).
SWAGGER_CDN = "https://cdn.jsdelivr.net"
API_DOCS_POLICY: dict[str, tuple[str, ...]] = {
    **DEFAULT_POLICY,
    "script-src": ("'self'", SWAGGER_CDN),
    "style-src": ("'self'", SWAGGER_CDN, "'unsafe-inline'"),
    "img-src": ("'self'", "data:", SWAGGER_CDN),
}


def policy_header(policy: dict[str, tuple[str, ...]]) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


_DEFAULT_HEADER = policy_header(DEFAULT_POLICY)

V = TypeVar("V", bound=Callable[..., Any])


def csp_override(policy: dict[str, tuple[str, ...]]) -> Callable[[V], V]:
    """Give one view's responses `policy` instead of the default (used for the API docs)."""
    header = policy_header(policy)

    def decorate(view: V) -> V:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            response = view(request, *args, **kwargs)
            response.csp_header = header
            return response

        wrapped.__name__ = getattr(view, "__name__", "view")
        wrapped.__doc__ = view.__doc__
        # Keep the class-based view's attributes (csrf_exempt, view_class, ...).
        wrapped.__dict__.update(getattr(view, "__dict__", {}))
        return wrapped  # type: ignore[return-value]

    return decorate


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        name = "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        if name not in response:
            response[name] = getattr(response, "csp_header", _DEFAULT_HEADER)
        return response


# --- failed log-ins ------------------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR as the ASGI server saw it. Behind a proxy that is the
    # proxy's address, so the limit is per proxy: set the proxy to pass the
    # client's address (daphne --proxy-headers) for a per-client limit.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _keys(request: HttpRequest) -> list[str]:
    keys = [f"login-failures:addr:{_client_address(request)}"]
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    if username:
        keys.append(f"login-failures:user:{username}")
    return keys


def login_blocked(request: HttpRequest) -> bool:
    limit = settings.LOGIN_FAILURES_MAX
    counts = cache.get_many(_keys(request))
    return any(int(count) >= limit for count in counts.values())


def login_failed(request: HttpRequest) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_S
    for key in _keys(request):
        # add() starts the window on the first failure; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.add(key, 1, timeout=window)


def login_succeeded(request: HttpRequest) -> None:
    cache.delete_many(_keys(request)[1:])  # the username's count; the address keeps its own


class LoginThrottleMiddleware:
    """Counts failed log-ins on the console and admin log-in pages and answers 429 past the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._paths: frozenset[str] | None = None

    def _login_paths(self) -> frozenset[str]:
        if self._paths is None:
            self._paths = frozenset({reverse("login"), reverse("admin:login")})
        return self._paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path not in self._login_paths():
            return self.get_response(request)
        if login_blocked(request):
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
            refused = TemplateResponse(
                request,
                "registration/login.html",
                {"form": AuthenticationForm(request), "throttled_minutes": minutes, "next": ""},
                status=429,
            )
            refused["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_S)
            return refused.render()
        response = self.get_response(request)
        if response.status_code in (301, 302, 303) and request.user.is_authenticated:
            login_succeeded(request)
        elif response.status_code == 200:  # the form came back: wrong credentials
            login_failed(request)
        return response
