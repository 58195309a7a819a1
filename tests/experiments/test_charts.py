"""The results chart's geometry: intervals placed on the axis, readable ticks, zero in the middle."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from experiments.charts import PLOT_LEFT, PLOT_RIGHT, differences_panel, rates_panel, results_chart


@dataclass
class Arm:
    name: str
    is_control: bool
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    seq_ci_low: float | None = None
    seq_ci_high: float | None = None


def test_rates_sit_inside_their_intervals_on_a_zero_based_axis():
    panel = rates_panel([Arm("A", True, 0.25, 0.15, 0.38), Arm("B", False, 0.5, 0.36, 0.64)])
    assert panel.ticks[0].label == "0%" and panel.ticks[0].x == PLOT_LEFT
    assert panel.ticks[-1].x == PLOT_RIGHT
    for row in panel.rows:
        assert PLOT_LEFT <= row.x_low < row.x_point < row.x_high <= PLOT_RIGHT
    assert panel.rows[0].label == "A (control)" and panel.rows[0].text == "25.0% [15.0%, 38.0%]"


def test_differences_center_zero_and_mark_an_interval_clear_of_it():
    arms = [
        Arm("A", True, 0.20, 0.1, 0.3),
        Arm("B", False, 0.30, 0.2, 0.4, seq_ci_low=0.02, seq_ci_high=0.18),
        Arm("C", False, 0.21, 0.1, 0.3, seq_ci_low=-0.07, seq_ci_high=0.09),
    ]
    panel = differences_panel(arms)
    assert panel is not None and panel.zero_x == pytest.approx((PLOT_LEFT + PLOT_RIGHT) / 2)
    clear, unclear = panel.rows
    assert clear.highlight and clear.x_low > panel.zero_x
    assert not unclear.highlight and unclear.x_low < panel.zero_x < unclear.x_high


@pytest.mark.parametrize("reach", [0.004, 0.012, 0.03, 0.4])
def test_tick_labels_never_repeat_whatever_the_range(reach):
    arms = [Arm("A", True, 0.2, 0.1, 0.3), Arm("B", False, 0.2, 0.1, 0.3, seq_ci_low=-reach, seq_ci_high=reach)]
    labels = [tick.label for tick in differences_panel(arms).ticks]
    assert len(set(labels)) == len(labels), labels
    labels = [tick.label for tick in rates_panel([Arm("A", True, reach / 2, 0.0, reach)]).ticks]
    assert len(set(labels)) == len(labels), labels


def test_nothing_to_compare_draws_only_the_rates():
    assert len(results_chart([Arm("A", True, None, None, None), Arm("B", False, None, None, None)])) == 1
    assert results_chart([]) == []
