"""The user's own settings page (every role may set its own timezone), and the browser's timezone report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import PreferencesForm
from accounts.middleware import browser_timezone_store, session_timezone_store
from accounts.models import UserPreference
from accounts.services import user_timezone_set
from voiceops.validators import validate_timezone


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)  # login_required
    chosen = UserPreference.objects.filter(user=request.user).values_list("timezone", flat=True).first()
    # Without a choice the page shows the zone the console is using now (the browser's, else UTC).
    form = PreferencesForm(request.POST or None, initial={"timezone": chosen or timezone.get_current_timezone_name()})
    if request.method == "POST" and form.is_valid():
        preference = user_timezone_set(user=request.user, timezone=form.cleaned_data["timezone"])
        session_timezone_store(request, preference.timezone)
        messages.success(request, f"Times are now shown in {preference.timezone}.")
        return redirect("console:preferences")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "chosen": chosen, "current": timezone.get_current_timezone_name()}
    return render(request, "accounts/preferences.html", context, status=status)


MAX_TIMEZONE_LENGTH = UserPreference._meta.get_field("timezone").max_length or 64


@login_required
@require_POST
def browser_timezone(request: HttpRequest) -> HttpResponse:
    """The browser's own zone (Intl), posted once per session by the console's script: 204 when kept,
    400 (and ignored) when zoneinfo does not know it. It is only the default: a picked zone wins."""
    name = request.POST.get("timezone", "")
    try:
        if len(name) > MAX_TIMEZONE_LENGTH:
            raise ValidationError("That is not an IANA timezone name.")
        validate_timezone(name)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain")
    browser_timezone_store(request, name)
    return HttpResponse(status=204)
