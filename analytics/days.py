"""Reporting days: the one place that says where an analytics day starts and ends.

Rollups are kept per calendar day of ANALYTICS_TIMEZONE, the zone the
business reports in, so "calls per day" splits at the operators' midnight and
not at UTC's. A day is midnight to midnight on that zone's wall clock: 23 or
25 hours long when the clocks change. Every rollup write, page, API answer,
CSV export and the admin summary take their days from here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone


def zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.ANALYTICS_TIMEZONE)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants `day` starts and ends (exclusive) in the reporting zone."""
    tz = zone()
    # In UTC, because Python subtracts two times of one zone by their wall clocks (always 24 hours).
    return (
        dt.datetime.combine(day, dt.time.min, tzinfo=tz).astimezone(dt.UTC),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz).astimezone(dt.UTC),
    )


def day_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(zone()).date()


def today() -> dt.date:
    return day_of(timezone.now())
