"""Chart geometry: stacked bars add up, lines break at days without data, counts get whole ticks, and
every label reaching the SVG is escaped."""

from __future__ import annotations

import datetime as dt

from analytics.charts import line_chart, stacked_bars

DAYS = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(3)]


def test_stacked_bars_stack_each_day_and_escape_labels():
    chart = stacked_bars(title="Calls", days=DAYS, series=[("completed", [2, 0, 1]), ("<b>busy</b>", [1, 0, 0])])
    day_one = [bar for bar in chart.bars if bar.title.startswith("Nov 01")]
    assert len(day_one) == 2
    # The second outcome sits on top of the first.
    assert abs(day_one[1].y + day_one[1].height - day_one[0].y) < 1e-9
    assert all(float(tick.label.replace(",", "")).is_integer() for tick in chart.y_ticks)
    markup = str(chart.marks)
    assert "&lt;b&gt;busy&lt;/b&gt;" in markup and "<b>" not in markup
    assert not chart.empty
    assert stacked_bars(title="Calls", days=DAYS, series=[]).empty


def test_lines_break_where_a_day_has_no_value():
    chart = line_chart(title="p95", days=DAYS, series=[("p95", [500.0, None, 700.0])], unit="ms")
    (line,) = chart.lines
    assert len(line.segments) == 2 and len(line.dots) == 2
    assert str(chart.marks).count("<polyline") == 2
    assert line_chart(title="p95", days=DAYS, series=[("p95", [None, None, None])]).empty
