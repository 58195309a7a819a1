"""What base.html needs to let the browser report its timezone (static/console/browser_timezone.js)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.middleware import BROWSER_SESSION_KEY, SESSION_KEY


def console_timezone(request: HttpRequest) -> dict[str, Any]:
    """`browser_timezone_wanted`: no zone was picked, so the browser's is the default;
    `browser_timezone`: the one already reported this session ("" before the first report)."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return {"browser_timezone_wanted": False, "browser_timezone": ""}
    return {
        "browser_timezone_wanted": not session.get(SESSION_KEY),
        "browser_timezone": str(session.get(BROWSER_SESSION_KEY) or ""),
    }
