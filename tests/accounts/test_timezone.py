"""The user's timezone: set on the settings page, activated for each request by the middleware."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.middleware import SESSION_KEY, UserTimezoneMiddleware
from accounts.models import UserPreference
from voiceops.roles import VIEWER

pytestmark = pytest.mark.django_db


def test_any_role_sets_its_timezone_and_the_next_request_uses_it(client, role_user):
    user = role_user(VIEWER)
    client.force_login(user)
    assert client.get("/settings/").status_code == 200
    response = client.post("/settings/", {"timezone": "Europe/Paris"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=user).timezone == "Europe/Paris"
    assert client.session[SESSION_KEY] == "Europe/Paris"


def test_an_unknown_timezone_is_refused_beside_its_field(client, role_user):
    client.force_login(role_user(VIEWER))
    response = client.post("/settings/", {"timezone": "Mars/Olympus"})
    assert response.status_code == 400 and b"Mars/Olympus is not one of the available choices" in response.content
    assert not UserPreference.objects.exists()


def test_the_middleware_activates_the_sessions_zone_and_resets_without_one(rf):
    seen = []
    middleware = UserTimezoneMiddleware(lambda request: seen.append(timezone.get_current_timezone_name()))
    request = rf.get("/")
    request.session = {SESSION_KEY: "America/Chicago"}
    middleware(request)
    request.session = {}
    middleware(request)
    request.session = {SESSION_KEY: "Not/AZone"}
    middleware(request)
    assert seen == ["America/Chicago", "UTC", "UTC"]


def test_login_loads_a_saved_preference(client, role_user):
    user = role_user(VIEWER)
    UserPreference.objects.create(user=user, timezone="Asia/Kolkata")
    client.force_login(user)
    assert client.session[SESSION_KEY] == "Asia/Kolkata"


def test_the_call_page_shows_the_operators_time_and_the_leads_beside_it(client, role_user):
    import datetime as dt

    from calls.models import Call
    from tests.factories import CallFactory, LeadFactory

    user = role_user(VIEWER)
    UserPreference.objects.create(user=user, timezone="Europe/Paris")
    call = CallFactory(lead=LeadFactory(first_name="Maria", timezone="America/Los_Angeles"))
    Call.objects.filter(pk=call.pk).update(created_at=dt.datetime(2025, 3, 3, 18, 0, tzinfo=dt.UTC))
    client.force_login(user)
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "Placed <time" in page and "2025-03-03 19:00 CET" in page
    assert "Maria's local time 10:00 PST" in page


def _call_placed_at_six_pm_utc():
    import datetime as dt

    from calls.models import Call
    from tests.factories import CallFactory

    call = CallFactory()
    Call.objects.filter(pk=call.pk).update(created_at=dt.datetime(2025, 3, 3, 18, 0, tzinfo=dt.UTC))
    return call


def test_without_a_choice_pages_render_in_the_zone_the_browser_reports(client, role_user):
    from accounts.middleware import BROWSER_SESSION_KEY

    client.force_login(role_user(VIEWER))
    call = _call_placed_at_six_pm_utc()
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "2025-03-03 18:00 UTC" in page
    # Nothing chosen: the page asks the browser for its zone (a script file, no inline script under the CSP).
    assert 'data-browser-timezone-url="/settings/browser-timezone/"' in page and "browser_timezone.js" in page

    assert client.post("/settings/browser-timezone/", {"timezone": "Asia/Tokyo"}).status_code == 204
    assert client.session[BROWSER_SESSION_KEY] == "Asia/Tokyo"
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "2025-03-04 03:00 JST" in page
    assert 'data-browser-timezone="Asia/Tokyo"' in page  # reported: the script does not post it again
    assert "follow your browser's timezone, Asia/Tokyo" in client.get("/settings/").content.decode()


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../../etc/passwd", " Europe/Paris", "x" * 5000])
def test_a_zone_zoneinfo_does_not_know_is_a_400_and_ignored(client, role_user, bad):
    from accounts.middleware import BROWSER_SESSION_KEY

    client.force_login(role_user(VIEWER))
    response = client.post("/settings/browser-timezone/", {"timezone": bad})
    assert response.status_code == 400
    assert BROWSER_SESSION_KEY not in client.session
    call = _call_placed_at_six_pm_utc()
    assert "2025-03-03 18:00 UTC" in client.get(f"/calls/{call.pk}/").content.decode()


def test_a_picked_zone_wins_over_the_browsers(client, role_user):
    user = role_user(VIEWER)
    client.force_login(user)
    client.post("/settings/browser-timezone/", {"timezone": "Asia/Tokyo"})
    assert client.post("/settings/", {"timezone": "Europe/Paris"}).status_code == 302
    call = _call_placed_at_six_pm_utc()
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "2025-03-03 19:00 CET" in page
    assert "data-browser-timezone-url" not in page and "browser_timezone.js" not in page  # nothing to ask


def test_the_browser_zone_report_needs_a_login_and_a_post(client, role_user):
    assert client.post("/settings/browser-timezone/", {"timezone": "Asia/Tokyo"}).status_code == 302  # to login
    client.force_login(role_user(VIEWER))
    assert client.get("/settings/browser-timezone/").status_code == 405


def test_the_middleware_falls_back_to_the_browsers_zone(rf):
    from accounts.middleware import BROWSER_SESSION_KEY

    seen = []
    middleware = UserTimezoneMiddleware(lambda request: seen.append(timezone.get_current_timezone_name()))
    request = rf.get("/")
    request.session = {BROWSER_SESSION_KEY: "Asia/Tokyo"}
    middleware(request)
    request.session = {BROWSER_SESSION_KEY: "Asia/Tokyo", SESSION_KEY: "America/Chicago"}
    middleware(request)
    assert seen == ["Asia/Tokyo", "America/Chicago"]
