"""Activate the logged-in user's timezone for the request, so every rendered time is in it.

The name is read from the session, where login and the preferences page put
it: no query per request (and no change to any page's query count). A
preference changed elsewhere (the admin) applies from the user's next login.

An operator who never picked a zone sees the browser's: the console's script
(static/console/browser_timezone.js) reports it once per session, and it is
kept apart from the preference, which always wins when there is one.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SESSION_KEY = "voiceops_timezone"  # the operator's own choice (accounts.UserPreference)
BROWSER_SESSION_KEY = "voiceops_browser_timezone"  # what the browser reported, the default until a choice


def session_timezone_store(request: HttpRequest, name: str) -> None:
    request.session[SESSION_KEY] = name


def browser_timezone_store(request: HttpRequest, name: str) -> None:
    request.session[BROWSER_SESSION_KEY] = name


def session_timezone_name(session: Mapping[str, Any] | None) -> str:
    """The zone a session's pages render in: the operator's choice, else the browser's, else "" (UTC)."""
    if session is None:
        return ""
    return str(session.get(SESSION_KEY) or session.get(BROWSER_SESSION_KEY) or "")


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = session_timezone_name(request.session) if hasattr(request, "session") else ""
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


@receiver(user_logged_in, dispatch_uid="accounts.timezone_on_login")
def _timezone_on_login(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    if request is None or not hasattr(request, "session"):
        return
    from accounts.models import UserPreference

    name = UserPreference.objects.filter(user=user).values_list("timezone", flat=True).first()
    if name:
        session_timezone_store(request, name)
