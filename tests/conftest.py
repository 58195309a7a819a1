import datetime as dt
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calendars.models import Calendar
from tests.factories import LeadFactory, UserFactory

# A Monday morning in New York, well before the clinic opens; tests that need
# a fixed "now" travel here with time-machine.
MONDAY_MORNING = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)  # 7 AM New York, 4 AM Los Angeles


@pytest.fixture(autouse=True)
def _empty_cache():
    """API throttles and failed log-in counts start from zero in every test (voiceops.security)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def operator(db):
    return UserFactory(username="operator")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def api_client(operator):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=operator)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def clinic_calendar(db):
    # Weekdays 9-12 and 13-17 in New York, 30-minute slots.
    return Calendar.objects.create(name="Clinic", timezone="America/New_York", slot_minutes=30, min_notice_minutes=60)


@pytest.fixture
def lead(db):
    return LeadFactory(first_name="Maria", timezone="America/Los_Angeles", custom_fields={"persona": "booker"})


# Role fixtures (voiceops.roles): `operator` above is a superuser, hence an
# admin; these are plain users who hold exactly one role.
@pytest.fixture
def role_user(db):
    from voiceops.roles import role_assign

    def make(role: str, username: str | None = None):
        user = UserFactory(username=username or f"{role}-user", is_staff=False, is_superuser=False)
        role_assign(user=user, role=role)  # type: ignore[arg-type]  # a factory-built User
        return user

    return make


@pytest.fixture
def viewer(role_user):
    return role_user("viewer")


@pytest.fixture
def operator_role(role_user):
    return role_user("operator")


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def pytest_collection_modifyitems(config, items):
    """One rule for the e2e set: everything under tests/e2e/ is marked e2e, and nothing else is."""
    e2e_dir = Path(__file__).parent / "e2e"
    for item in items:
        inside = e2e_dir in Path(str(item.path)).parents
        if inside:
            item.add_marker(pytest.mark.e2e)
        elif item.get_closest_marker("e2e"):
            raise pytest.UsageError(f"{item.nodeid} is marked e2e but lives outside tests/e2e/")
        if "transactional_db" in getattr(item, "fixturenames", ()):
            # The flush after a transactional test recreates the content types; with the
            # sequences reset they come back under the same ids, which a live e2e server
            # process has cached (ContentType.objects.get_for_model): an audit entry it
            # writes after another test's flush would otherwise name an id that is gone.
            # (The `transaction=True` markers say reset_sequences=True for the same reason.)
            item.add_marker(pytest.mark.django_db(transaction=True, reset_sequences=True))


@pytest.fixture(autouse=True)
def campaign_progress_uncached(monkeypatch):
    """Pages count campaign progress afresh in tests (the per-process 5 s cache would carry counts across tests)."""
    monkeypatch.setattr("campaigns.selectors.PROGRESS_CACHE_S", 0)


@pytest.fixture(autouse=True)
def _structlog_uncached():
    """A test that configures logging itself turns logger caching back on; later tests must not inherit it."""
    yield
    import structlog

    structlog.configure(cache_logger_on_first_use=False)
