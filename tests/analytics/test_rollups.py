"""Daily rollups: rebuilt from the calls of a day, refreshed for the days that changed, and every report's
figures equal to the same figures counted from the calls and turns directly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.histograms import bucket_of_ms, histogram_percentile, histogram_percentiles
from analytics.models import CallDaily, LatencyDaily
from analytics.pricing import PricingError, pricing_of
from analytics.selectors import (
    Filters,
    calls_per_day,
    cost_by_version,
    latency,
    rates_by,
    summary,
)
from analytics.services import rollup_day_rebuild, rollups_refresh
from calls.models import Call
from tests.analytics.conftest import DAY1, DAY2, PRICING, at, make_call

pytestmark = pytest.mark.django_db

BOTH_DAYS = Filters(start=DAY1, end=DAY2)


def rebuild():
    rollup_day_rebuild(day=DAY1)
    rollup_day_rebuild(day=DAY2)


def test_calls_per_day_by_outcome(world):
    rebuild()
    figures = calls_per_day(Filters(start=DAY1, end=DAY2, agent_id=world.v1.agent_id))
    assert figures.days == [DAY1, DAY2]
    assert figures.counts["completed"] == [2, 2]
    assert figures.counts["no-answer"] == [1, 0]
    assert figures.counts["voicemail"] == [1, 0]
    assert figures.counts["canceled"] == [0, 1]
    assert figures.totals == [4, 3]
    assert figures.outcomes[0] == "completed"  # most calls first


def test_connect_and_success_rates_by_version_campaign_and_source(world):
    rebuild()
    by_version = {row.key: row for row in rates_by(BOTH_DAYS, dimension="version")}
    assert (by_version[world.v1.pk].calls, by_version[world.v1.pk].connected, by_version[world.v1.pk].successes) == (
        4,
        2,
        1,
    )
    # v2's own success list counts the callback too; inbound calls connect when answered.
    assert (by_version[world.v2.pk].calls, by_version[world.v2.pk].connected, by_version[world.v2.pk].successes) == (
        3,
        2,
        2,
    )
    assert by_version[world.v1.pk].connect_rate == 0.5 and by_version[world.v1.pk].success_rate == 0.5
    assert by_version[world.v1.pk].label == "Ava v1"
    by_campaign = {row.label: row.calls for row in rates_by(BOTH_DAYS, dimension="campaign")}
    assert by_campaign == {"Spring recall": 4, "No campaign (inbound)": 4}
    by_source = {
        row.label: (row.calls, row.connected, row.successes) for row in rates_by(BOTH_DAYS, dimension="source")
    }
    assert by_source == {"web": (2, 1, 1), "fair": (2, 1, 0), "(none)": (4, 3, 3)}


def test_filters_narrow_every_figure(world):
    rebuild()
    assert summary(Filters(start=DAY1, end=DAY1))["calls"] == 4
    assert summary(Filters(start=DAY2, end=DAY2, agent_id=world.v1.agent_id))["calls"] == 3
    assert summary(Filters(start=DAY1, end=DAY2, version_id=world.v2.pk))["successes"] == 2
    assert summary(Filters(start=DAY1, end=DAY2, campaign_id=world.campaign.pk))["connected"] == 2
    everything = summary(BOTH_DAYS)
    assert (everything["calls"], everything["connected"], everything["successes"]) == (8, 5, 4)
    assert everything["minutes"] == pytest.approx((120 + 60 + 30 + 90 + 30 + 10) / 60)


def test_latency_percentiles_match_the_turns_within_half_a_bucket(world):
    rebuild()
    figures = latency(BOTH_DAYS)
    v2v = next(stage for stage in figures.stages if stage.stage == "first_frame_sent")
    assert v2v.turns == 6
    for p in (50, 95, 99):
        exact = float(np.percentile(world.v2v_values, p, method="inverted_cdf"))
        assert v2v.overall[p] == pytest.approx(exact, rel=0.025)
    # Day by day: day 1 holds the first three replies.
    assert v2v.per_day[50][0] == pytest.approx(520, rel=0.025)
    stt = next(stage for stage in figures.stages if stage.stage == "stt_done")
    assert stt.overall[50] == pytest.approx(610 - 150, rel=0.025)
    # The engine does not record an end-of-turn stage yet: nothing is invented for it.
    end_of_turn = next(stage for stage in figures.stages if stage.stage == "end_of_turn")
    assert end_of_turn.turns == 0 and end_of_turn.overall[50] is None


def test_interruptions_per_connected_call(world):
    rebuild()
    figures = latency(BOTH_DAYS)
    assert figures.interruptions_overall == pytest.approx(2 / 5)
    assert figures.interruptions_per_call == pytest.approx([1 / 2, 1 / 3])


def test_cost_per_call_and_per_minute_from_the_versions_prices_and_tokens(world):
    rebuild()
    rows = {row.version_id: row for row in cost_by_version(BOTH_DAYS)}
    v1 = rows[world.v1.pk]
    minutes = 210 / 60
    llm = minutes * 0.001 + 1000 / 1000 * 0.5 + 200 / 1000 * 1.5
    assert (v1.prompt_tokens, v1.completion_tokens) == (1000, 200)
    assert v1.components == pytest.approx(
        {"telephony": minutes * 0.014, "stt": minutes * 0.006, "tts": minutes * 0.015, "llm": llm}
    )
    total = minutes * (0.014 + 0.006 + 0.015) + llm
    assert v1.per_call == pytest.approx(total / 4)
    assert v1.per_minute == pytest.approx(total / minutes)
    assert v1.currency == "USD"
    # A version without prices has no cost figures, not a cost of zero.
    assert rows[world.v2.pk].components is None and rows[world.v2.pk].per_call is None


def test_bad_prices_are_refused_with_the_key_named():
    assert pricing_of({"brain": "flow"}) is None
    assert pricing_of({"pricing": PRICING}).telephony_per_minute == 0.014
    for bad, key in [
        ({"telephony_per_minute": -1}, "telephony_per_minute"),
        ({"stt_per_minute": "cheap"}, "stt_per_minute"),
        ({"tts_per_min": 1}, "tts_per_min"),
        ({"llm_per_minute": True}, "llm_per_minute"),
    ]:
        with pytest.raises(PricingError, match=key):
            pricing_of({"pricing": bad})


def test_a_rebuild_is_idempotent_and_follows_late_writes(world):
    rebuild()
    before = list(CallDaily.objects.order_by("pk").values_list("day", "outcome", "calls", "successes"))
    rollup_day_rebuild(day=DAY1)
    after = list(CallDaily.objects.order_by("pk").values_list("day", "outcome", "calls", "successes"))
    assert sorted(before) == sorted(after)
    # A disposition that lands after the call ended changes the day on its next rebuild.
    Call.objects.filter(disposition="not_interested").update(disposition="booked")
    rollup_day_rebuild(day=DAY1)
    assert summary(Filters(start=DAY1, end=DAY1))["successes"] == 2


def test_refresh_rebuilds_only_the_days_whose_calls_changed(world):
    first = rollups_refresh(now=at(DAY2, 23))
    assert first == [DAY1, DAY2]
    assert summary(BOTH_DAYS)["calls"] == 8
    # Within the freshness window a page's refresh does nothing.
    assert rollups_refresh(now=at(DAY2, 23) + dt.timedelta(seconds=10), max_age=dt.timedelta(seconds=60)) == []
    # A call placed later on day 2 (and nothing new on day 1): only day 2 is rebuilt.
    make_call(day=DAY2, version=world.v1, direction="outbound", status="busy", outcome="busy")
    late = at(DAY2, 23) + dt.timedelta(minutes=5)
    Call.objects.filter(outcome="busy").update(created_at=late, ended_at=late + dt.timedelta(seconds=20))
    assert rollups_refresh(now=at(DAY2, 23) + dt.timedelta(minutes=30)) == [DAY2]
    assert summary(Filters(start=DAY2, end=DAY2))["calls"] == 5


def test_the_histogram_buckets_are_five_percent_wide():
    assert bucket_of_ms(1000) == bucket_of_ms(1000 * 1.049) or bucket_of_ms(1000) + 1 == bucket_of_ms(1000 * 1.049)
    assert bucket_of_ms(1000 * 1.051) > bucket_of_ms(1000)
    assert bucket_of_ms(0) == 0
    assert histogram_percentile({}, 50) is None
    histogram = {bucket_of_ms(100): 98, bucket_of_ms(2000): 2}
    assert histogram_percentile(histogram, 50) == pytest.approx(100, rel=0.025)
    assert histogram_percentile(histogram, 99) == pytest.approx(2000, rel=0.025)
    # The one-pass form gives the same answers.
    assert histogram_percentiles(histogram, (50, 95, 99)) == {
        p: histogram_percentile(histogram, p) for p in (50, 95, 99)
    }
    assert histogram_percentiles({}, (50,)) == {50: None}


def test_latency_rows_per_stage_bucket(world):
    rebuild()
    v2v = LatencyDaily.objects.filter(stage="first_frame_sent")
    assert sum(v2v.values_list("turns", flat=True)) == 6
    assert set(v2v.values_list("bucket", flat=True)) == {bucket_of_ms(ms) for ms in world.v2v_values}


def test_long_ranges_give_weekly_latency_with_the_same_totals(world):
    rebuild()
    daily = latency(BOTH_DAYS)
    long = latency(Filters(start=DAY1 - dt.timedelta(days=60), end=DAY2 + dt.timedelta(days=60)))
    assert (daily.period, long.period) == ("day", "week")
    assert all(day.weekday() == 0 for day in long.days)  # each point is a week, from its Monday
    v2v = {stage.stage: stage for stage in long.stages}["first_frame_sent"]
    assert v2v.turns == 6
    assert v2v.overall == {stage.stage: stage for stage in daily.stages}["first_frame_sent"].overall
    assert long.interruptions_overall == daily.interruptions_overall
    # DAY1 (a Monday) and DAY2 fall in one week: one point holds all six replies.
    assert [value for value in v2v.per_day[50] if value is not None] == [v2v.overall[50]]


def test_console_test_calls_stay_out_unless_asked(world, settings):
    rebuild()
    before = summary(BOTH_DAYS)
    make_call(day=DAY1, version=world.v1, status="completed", test_kind="web", duration_seconds=30)
    make_call(day=DAY1, version=world.v1, status="completed", test_kind="simulated", duration_seconds=30)
    rollup_day_rebuild(day=DAY1)
    assert summary(BOTH_DAYS)["calls"] == before["calls"]
    settings.ANALYTICS_INCLUDE_TEST_CALLS = True
    rollup_day_rebuild(day=DAY1)
    assert summary(BOTH_DAYS)["calls"] == before["calls"] + 2
