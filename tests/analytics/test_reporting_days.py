"""Analytics days are calendar days of ANALYTICS_TIMEZONE: a call belongs to the day the business saw it on,
and changing the zone rebuilds every rollup in the new zone's days."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import days as reporting_days
from analytics.models import CallDaily, RollupState
from analytics.selectors import Filters, calls_per_day, summary
from analytics.services import rollups_refresh
from calls.models import Call
from tests.analytics.conftest import make_call
from tests.factories import AgentFactory, AgentVersionFactory

pytestmark = pytest.mark.django_db

# 03:30 UTC on 10 March is still the evening of 9 March in New York.
LATE_EVENING_IN_NEW_YORK = dt.datetime(2026, 3, 10, 3, 30, tzinfo=dt.UTC)
MARCH_9 = dt.date(2026, 3, 9)
MARCH_10 = dt.date(2026, 3, 10)


@pytest.fixture
def evening_call(db):
    version = AgentVersionFactory(agent=AgentFactory(name="Ava"), number=1, config={"brain": "flow"})
    call = make_call(day=MARCH_10, version=version, direction="outbound", status="completed", outcome="completed")
    Call.objects.filter(pk=call.pk).update(
        created_at=LATE_EVENING_IN_NEW_YORK, ended_at=LATE_EVENING_IN_NEW_YORK + dt.timedelta(minutes=2)
    )
    return call


def test_day_bounds_follow_the_zones_wall_clock_across_a_clock_change(settings):
    settings.ANALYTICS_TIMEZONE = "America/New_York"
    # 8 March 2026: clocks go forward in New York, so the day is 23 hours long.
    start, end = reporting_days.day_bounds(dt.date(2026, 3, 8))
    assert start == dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)
    assert reporting_days.day_of(LATE_EVENING_IN_NEW_YORK) == MARCH_9


def test_a_call_counts_on_the_day_of_the_reporting_zone(settings, evening_call):
    settings.ANALYTICS_TIMEZONE = "America/New_York"
    rollups_refresh(now=LATE_EVENING_IN_NEW_YORK + dt.timedelta(hours=1))
    figures = calls_per_day(Filters(start=MARCH_9, end=MARCH_10))
    assert figures.totals == [1, 0]
    assert summary(Filters(start=MARCH_10, end=MARCH_10))["calls"] == 0


def test_changing_the_zone_rebuilds_the_rollups_in_the_new_days(settings, evening_call):
    settings.ANALYTICS_TIMEZONE = "UTC"
    later = LATE_EVENING_IN_NEW_YORK + dt.timedelta(hours=1)
    rollups_refresh(now=later)
    assert list(CallDaily.objects.values_list("day", flat=True)) == [MARCH_10]

    settings.ANALYTICS_TIMEZONE = "America/New_York"
    # Even a page's freshness check, well inside the refresh period, does not keep days cut in UTC.
    rebuilt = rollups_refresh(now=later + dt.timedelta(seconds=5), max_age=dt.timedelta(minutes=10))
    assert rebuilt == [MARCH_9]
    assert list(CallDaily.objects.values_list("day", flat=True)) == [MARCH_9]
    assert RollupState.objects.get(pk=1).timezone == "America/New_York"
