"""The call page's two latency visuals draw each reply stage in the same colour (one table, calls.stages)."""

from __future__ import annotations

import re

import pytest

from calls.latency import latency_segments
from calls.models import CallTurn
from calls.stages import STAGES
from calls.waterfall import waterfall
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

TIMINGS = {
    "stt_done": 300,
    "first_brain_text": 420,
    "first_tts_audio": 510,
    "first_frame_sent": 530,
    "first_mark_acknowledged": 700,
}


def test_every_stage_has_its_own_colour():
    assert len({stage.color for stage in STAGES}) == len(STAGES)
    assert [stage.key for stage in STAGES] == list(TIMINGS)  # pipeline order


def test_the_bar_and_the_waterfall_colour_a_stage_alike():
    bar = {segment.stage: segment.color for segment in latency_segments(TIMINGS)}
    turn = CallTurn(index=1, speaker="agent", text="Hello", timings=TIMINGS)
    chart = waterfall([turn])
    assert chart is not None
    drawn = {segment.stage: segment.color for segment in chart.rows[0].segments}
    assert bar == drawn == {stage.key: stage.color for stage in STAGES}
    assert dict(chart.legend) == {stage.label: stage.color for stage in STAGES}


def test_the_call_page_fills_both_visuals_from_the_table(operator_client):
    call = CallFactory()
    CallTurn.objects.create(call=call, index=1, speaker="agent", text="Hello!", timings=TIMINGS)
    page = operator_client.get(f"/calls/{call.pk}/").content.decode()
    bar_svg = page[page.index('<svg class="latency-bar"') :]
    bar_svg = bar_svg[: bar_svg.index("</svg>")]
    chart_svg = page[page.index('<svg class="chart"') :]
    chart_svg = chart_svg[: chart_svg.index("</svg>")]

    def fills(svg: str) -> dict[str, str]:
        """Each stage's fill attribute, by the stage named in its rect's class."""
        found = {}
        for tag in re.findall(r'<rect class="stage stage-\w+"[^>]*>', svg):
            key = re.search(r"stage-(\w+)", tag)
            fill = re.search(r'fill="([^"]+)"', tag)
            assert key is not None and fill is not None, tag
            found[key.group(1)] = fill.group(1)
        return found

    expected = {stage.key: stage.color for stage in STAGES}
    assert fills(bar_svg) == expected
    assert fills(chart_svg) == expected
