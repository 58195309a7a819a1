"""Activate the logged-in user's timezone for the request, so every rendered time is in it.

The name is read from the session, where login and the preferences page put
it: no query per request (and no change to any page's query count). A
preference changed elsewhere (the admin) applies from the user's next login.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SESSION_KEY = "voiceops_timezone"


def session_timezone_store(request: HttpRequest, name: str) -> None:
    request.session[SESSION_KEY] = name


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
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
