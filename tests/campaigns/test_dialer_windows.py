"""Calling windows in each lead's own time, the 08:00-21:00 guard, and a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from campaigns.dialer import dialer_tick
from campaigns.models import Lead
from campaigns.windows import Window, open_zones
from tests.campaigns.dialer_support import no_carrier
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.usefixtures("no_carrier")
__all__ = ["no_carrier"]

WEEKDAYS = [1, 2, 3, 4, 5]


def at(*args):
    return datetime(*args, tzinfo=UTC)


def test_window_is_read_in_the_leads_timezone():
    window = Window.build(start=time(9), end=time(17), days=WEEKDAYS)
    moment = at(2026, 6, 10, 14, 30)  # a Wednesday: 10:30 in New York, 07:30 in Los Angeles, 15:30 in London
    assert window.allows("America/New_York", moment)
    assert not window.allows("America/Los_Angeles", moment)
    assert window.allows("Europe/London", moment)
    assert not window.allows("Asia/Tokyo", moment)  # 23:30 there


def test_guard_overrides_a_wider_configured_window():
    window = Window.build(start=time(6), end=time(23, 30), days=None)
    ny = "America/New_York"
    assert not window.allows(ny, at(2026, 6, 10, 11, 59))  # 07:59 EDT
    assert window.allows(ny, at(2026, 6, 10, 12, 0))  # 08:00 EDT
    assert window.allows(ny, at(2026, 6, 11, 0, 59))  # 20:59 EDT
    assert not window.allows(ny, at(2026, 6, 11, 1, 0))  # 21:00 EDT
    # No zone on earth is open outside 08:00-21:00 local at any instant.
    for hour in range(24):
        moment = at(2026, 1, 15, hour, 17)
        for zone in open_zones(window, moment):
            from zoneinfo import ZoneInfo

            local = moment.astimezone(ZoneInfo(zone)).time()
            assert time(8) <= local < time(21), (zone, local)


def test_days_and_dates_are_local():
    window = Window.build(
        start=time(9), end=time(17), days=[1], start_date=date(2026, 6, 8), end_date=date(2026, 6, 15)
    )
    # Monday 8 June 23:30 UTC is still Monday 16:30 in Los Angeles but Tuesday in Tokyo.
    moment = at(2026, 6, 8, 23, 30)
    assert window.allows("America/Los_Angeles", moment)
    assert not window.allows("Asia/Tokyo", moment)
    assert not window.allows("America/New_York", at(2026, 6, 1, 15))  # a Monday before start_date
    assert not window.allows("America/New_York", at(2026, 6, 22, 15))  # a Monday after end_date


def test_same_utc_instant_flips_across_the_dst_change():
    window = Window.build(start=time(8), end=time(17), days=None)
    ny = "America/New_York"
    # US DST began Sunday 8 March 2026. 12:30 UTC was 07:30 EST before, 08:30 EDT after.
    assert not window.allows(ny, at(2026, 3, 7, 12, 30))
    assert window.allows(ny, at(2026, 3, 9, 12, 30))
    # The next opening after Saturday evening is Sunday 08:00 EDT = 12:00 UTC.
    assert window.next_open(ny, at(2026, 3, 7, 23, 0)) == at(2026, 3, 8, 12, 0)
    # A window opening inside the skipped hour (02:00-03:00) still resolves to a real instant.
    night = Window.build(start=time(2, 30), end=time(22), days=None)  # clamped to 08:00
    assert night.next_open(ny, at(2026, 3, 8, 5, 0)) == at(2026, 3, 8, 12, 0)


@pytest.mark.django_db
def test_tick_across_timezones_and_dst_with_a_frozen_clock(settings):
    settings.DIALER_STALE_DIAL_SECONDS = 86400  # the first call stays queued across the jump
    campaign = CampaignFactory(status="running", max_concurrent=10, calls_per_minute=10, window_start=time(8))
    ny = LeadFactory(campaign=campaign, timezone="America/New_York")
    la = LeadFactory(campaign=campaign, timezone="America/Los_Angeles")
    # Saturday 7 March 12:30 UTC: 07:30 EST in New York, 04:30 in LA: nobody.
    with time_machine.travel(at(2026, 3, 7, 12, 30), tick=False):
        assert dialer_tick().call_ids == []
    # Monday 9 March 12:30 UTC, after the change: 08:30 EDT in New York, 05:30 in LA.
    with time_machine.travel(at(2026, 3, 9, 12, 30), tick=False):
        result = dialer_tick()
    assert len(result.call_ids) == 1
    ny.refresh_from_db()
    la.refresh_from_db()
    assert ny.status == Lead.Status.DIALING and ny.attempts == 1
    assert la.status == Lead.Status.NEW
    # 15:30 UTC: 08:30 PDT in LA.
    with time_machine.travel(at(2026, 3, 9, 15, 30), tick=False):
        assert len(dialer_tick().call_ids) == 1
    la.refresh_from_db()
    assert la.status == Lead.Status.DIALING


@pytest.mark.django_db
def test_tick_never_dials_at_night_whatever_the_campaign_says():
    campaign = CampaignFactory(status="running", window_start=time(0), window_end=time(23, 59), max_concurrent=5)
    LeadFactory(campaign=campaign, timezone="America/Chicago")
    with time_machine.travel(at(2026, 6, 10, 3, 0), tick=False):  # 22:00 CDT
        assert dialer_tick().call_ids == []
    with time_machine.travel(at(2026, 6, 10, 12, 59), tick=False):  # 07:59 CDT
        assert dialer_tick().call_ids == []
    with time_machine.travel(at(2026, 6, 10, 13, 0), tick=False):  # 08:00 CDT
        assert len(dialer_tick().call_ids) == 1
