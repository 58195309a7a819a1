"""The user's own settings page (every role may set its own timezone)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.forms import PreferencesForm
from accounts.middleware import session_timezone_store
from accounts.models import UserPreference
from accounts.services import user_timezone_set


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required
    current = UserPreference.objects.filter(user=request.user).values_list("timezone", flat=True).first() or "UTC"
    form = PreferencesForm(request.POST or None, initial={"timezone": current})
    if request.method == "POST" and form.is_valid():
        preference = user_timezone_set(user=request.user, timezone=form.cleaned_data["timezone"])
        session_timezone_store(request, preference.timezone)
        messages.success(request, f"Times are now shown in {preference.timezone}.")
        return redirect("console:preferences")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/preferences.html", {"form": form}, status=status)
