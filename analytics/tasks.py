"""Celery tasks for analytics: beat keeps the daily rollups current and rebuilds yesterday once more."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from analytics import days as reporting_days
from analytics.services import rollup_day_rebuild, rollups_refresh


@shared_task(name="analytics.rollups_refresh", ignore_result=True)
def rollups_refresh_task() -> int:
    """Every ANALYTICS_REFRESH_SECONDS: rebuild the days whose calls changed since the last refresh."""
    return len(rollups_refresh())


@shared_task(name="analytics.rollup_day_rebuild", ignore_result=True)
def rollup_day_rebuild_task(day: str | None = None) -> int:
    """Rebuild one reporting day (ISO date; default yesterday), e.g. after a late correction or a restore."""
    when = dt.date.fromisoformat(day) if day else reporting_days.today() - dt.timedelta(days=1)
    return rollup_day_rebuild(day=when)
