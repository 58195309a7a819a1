"""Calling windows: when a campaign may ring a lead, in the lead's own local time.

Pure functions over (campaign settings, timezone, instant); no database. The
08:00-21:00 local guard is applied here, on top of whatever the campaign says,
so no configuration can make the dialer call someone at night.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

# The legal/courtesy guard: never ring before 08:00 or from 21:00 local time.
GUARD_START = time(8, 0)
GUARD_END = time(21, 0)
ALL_DAYS = frozenset(range(1, 8))


@dataclass(frozen=True)
class Window:
    """A campaign's calling rules, reduced to what the clock needs."""

    start: time
    end: time
    days: frozenset[int]
    start_date: date | None = None
    end_date: date | None = None

    @classmethod
    def build(
        cls,
        *,
        start: time,
        end: time,
        days: list[int] | None,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> Window:
        # Clamp to the guard: a 06:00-23:00 campaign still calls 08:00-21:00 only.
        return cls(
            start=max(start, GUARD_START),
            end=min(end, GUARD_END),
            # An empty list means "not restricted", not "never".
            days=frozenset(days) if days else ALL_DAYS,
            start_date=start_date,
            end_date=end_date,
        )

    def allows_local(self, local: datetime) -> bool:
        if self.start >= self.end:
            return False
        if local.isoweekday() not in self.days:
            return False
        day = local.date()
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        return self.start <= local.time().replace(tzinfo=None) < self.end

    def allows(self, tz_name: str, at: datetime) -> bool:
        return self.allows_local(at.astimezone(_zone(tz_name)))

    def next_open(self, tz_name: str, at: datetime, *, horizon_days: int = 400) -> datetime | None:
        """The earliest instant >= `at` when a lead in `tz_name` may be called (UTC), or None."""
        zone = _zone(tz_name)
        if self.allows(tz_name, at):
            return at
        local_day = at.astimezone(zone).date()
        for offset in range(horizon_days):
            day = local_day + timedelta(days=offset)
            if self.end_date is not None and day > self.end_date:
                return None
            # Wall-clock opening of that day; zoneinfo resolves a DST gap to the
            # later offset, and allows() below double-checks the result.
            opening = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
            if opening >= at and self.allows(tz_name, opening):
                return opening
        return None


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def open_zones(window: Window, at: datetime, zones: tuple[str, ...] | None = None) -> list[str]:
    """Every IANA zone where `window` allows a call at instant `at`.

    About 600 zones, a few microseconds each: cheaper than asking the database
    which zones the campaign's leads use, and it lets the claim query filter
    with a plain `timezone = ANY(...)`.
    """
    return [name for name in (zones or known_zones()) if window.allows(name, at)]
