"""experiments.statistics against reference values computed another way: by the textbook formula
written out here, or by a scipy function the module does not use. No database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from experiments.statistics import (
    ArmCounts,
    chance_to_beat_control,
    confidence_sequence,
    confidence_sequences,
    experiment_statistics,
    lift,
    sequential_margin,
    srm_p_value,
    two_proportion_p_value,
    two_proportion_p_values,
    wilson_interval,
)

COUNTS = [(0, 10), (1, 10), (8, 10), (10, 10), (37, 250), (412, 1800), (9_880, 50_000)]


@pytest.mark.parametrize(("successes", "trials"), COUNTS)
def test_wilson_interval_matches_scipys_binomtest(successes, trials):
    low, high = wilson_interval(successes, trials)
    reference = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)


def test_wilson_interval_textbook_values():
    # 0 of 10: the normal interval says [0, 0]; Wilson's upper bound is 0.2775 (Newcombe 1998, table I).
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    # 15 of 148 (Newcombe's example 2): 0.0624 to 0.1605.
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson_interval(0, 0) is None


def _pooled_z_by_hand(s1, n1, s2, n2):
    pooled = (s1 + s2) / (n1 + n2)
    z = (s2 / n2 - s1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))  # two-sided normal tail, without scipy


@pytest.mark.parametrize(
    ("s1", "n1", "s2", "n2"), [(40, 200, 55, 210), (10, 100, 10, 100), (120, 1000, 160, 1000), (3, 30, 9, 28)]
)
def test_two_proportion_z_test_matches_the_hand_formula_and_the_2x2_chi_square(s1, n1, s2, n2):
    p = two_proportion_p_value(s1, n1, s2, n2)
    assert p == pytest.approx(_pooled_z_by_hand(s1, n1, s2, n2), rel=1e-9)
    # The pooled z-test is the uncorrected chi-square test of the 2x2 table (z^2 = chi^2).
    table = [[s1, n1 - s1], [s2, n2 - s2]]
    assert p == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9)


def test_two_proportion_z_test_is_undefined_without_variance_or_leads():
    assert two_proportion_p_value(0, 50, 0, 60) is None  # nobody succeeded anywhere
    assert two_proportion_p_value(50, 50, 60, 60) is None
    assert two_proportion_p_value(3, 10, 0, 0) is None


def test_srm_chi_square_goodness_of_fit_by_hand():
    assigned, weights = [5200, 4800], [1, 1]
    # Expected 5000 each: chi^2 = (200^2 + 200^2) / 5000 = 16 on one degree of freedom.
    assert srm_p_value(assigned, weights) == pytest.approx(stats.chi2.sf(16, 1), rel=1e-12)
    assert srm_p_value(assigned, weights) == pytest.approx(math.erfc(4 / math.sqrt(2)), rel=1e-9)  # P(|Z| > 4)
    # Three arms at 1:1:2 (expected 250, 250, 500 of 1,000).
    chi2 = (260 - 250) ** 2 / 250 + (230 - 250) ** 2 / 250 + (510 - 500) ** 2 / 500
    assert srm_p_value([260, 230, 510], [1, 1, 2]) == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-12)
    assert srm_p_value([500, 500], [1, 1]) == pytest.approx(1.0)
    assert srm_p_value([0, 0], [1, 1]) is None
    assert srm_p_value([10], [1]) is None


def _beat_by_integration(s1, n1, s2, n2):
    control, variant = stats.beta(s1 + 1, n1 - s1 + 1), stats.beta(s2 + 1, n2 - s2 + 1)
    peaks = [s / n for s, n in ((s1, n1), (s2, n2)) if n]
    value, _ = integrate.quad(lambda x: control.pdf(x) * variant.sf(x), 0, 1, points=peaks or None, limit=400)
    return value


@pytest.mark.parametrize(
    ("s1", "n1", "s2", "n2"),
    [(10, 100, 15, 100), (3, 10, 0, 5), (200, 1000, 230, 1000), (2000, 10000, 2100, 10000), (0, 0, 0, 0), (7, 7, 1, 9)],
)
def test_chance_to_beat_control_matches_numerical_integration(s1, n1, s2, n2):
    assert chance_to_beat_control(s1, n1, s2, n2) == pytest.approx(_beat_by_integration(s1, n1, s2, n2), abs=1e-8)


def test_chance_to_beat_control_is_symmetric_and_deterministic():
    assert chance_to_beat_control(30, 100, 30, 100) == pytest.approx(0.5, abs=1e-12)
    forward = chance_to_beat_control(30, 100, 41, 110)
    assert forward + chance_to_beat_control(41, 110, 30, 100) == pytest.approx(1.0, abs=1e-12)
    assert chance_to_beat_control(30, 100, 41, 110) == forward  # exact sum: no sampling noise


def test_confidence_sequence_by_the_papers_formula():
    """Waudby-Smith et al. (2103.06476) eq. for the two-sided normal-mixture boundary, written out by hand."""
    s1, n1, s2, n2 = 100, 500, 130, 520
    alpha, tuning = 0.05, 1_000
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    n = n1 + n2
    p1, p2 = s1 / n1, s2 / n2
    sigma = math.sqrt(n * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
    half = sigma * math.sqrt(2 * (n * rho2 + 1) / (n**2 * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    low, high = confidence_sequence(s1, n1, s2, n2)
    assert (low, high) == pytest.approx((p2 - p1 - half, p2 - p1 + half), rel=1e-12)
    # Always wider than the fixed-sample 95% interval of the same difference: the price of peeking.
    fixed = stats.norm.ppf(0.975) * sigma / math.sqrt(n)
    assert high - low > 2 * fixed
    assert confidence_sequence(1, 10, 0, 0) is None


def test_the_sequences_margin_shrinks_as_leads_accumulate():
    margins = [sequential_margin(n=n) for n in (50, 200, 1_000, 5_000, 50_000)]
    assert margins == sorted(margins, reverse=True)


def test_lift_is_relative_to_control():
    assert lift(0.2, 0.25) == pytest.approx(0.25)
    assert lift(0.0, 0.1) is None and lift(None, 0.1) is None


def test_experiment_statistics_leaves_the_controls_comparisons_empty():
    arms = [
        ArmCounts(name="A", is_control=True, weight=1, assigned=520, exposed=300, successes=60),
        ArmCounts(name="B", is_control=False, weight=1, assigned=480, exposed=290, successes=75),
        ArmCounts(name="C", is_control=False, weight=1, assigned=500, exposed=0, successes=0),
    ]
    result = experiment_statistics(arms)
    control, b, c = result.arms
    assert (control.lift, control.p_value, control.chance_to_beat_control, control.seq_ci_low) == (None,) * 4
    assert control.rate == pytest.approx(0.2) and b.rate == pytest.approx(75 / 290)
    assert b.lift == pytest.approx((75 / 290 - 0.2) / 0.2)
    assert b.p_value == pytest.approx(_pooled_z_by_hand(60, 300, 75, 290))
    assert (b.seq_ci_low, b.seq_ci_high) == pytest.approx(confidence_sequence(60, 300, 75, 290))
    assert (c.rate, c.ci_low, c.p_value, c.seq_ci_low, c.lift) == (None,) * 5
    assert c.chance_to_beat_control == pytest.approx(chance_to_beat_control(60, 300, 0, 0))
    assert result.srm_p_value == pytest.approx(srm_p_value([520, 480, 500], [1, 1, 1]))
    assert result.srm_warning is False
    skewed = experiment_statistics(arms, srm_assigned=[600, 400, 500])
    assert skewed.srm_warning is True and skewed.srm_p_value < 0.001
    with pytest.raises(ValueError, match="control"):
        experiment_statistics([arms[1], arms[2]])


def test_aa_experiments_looked_at_daily_fool_the_naive_test_but_not_the_sequence():
    """1,000 A/A experiments (both arms convert at 20%), 30 days, about 20 exposed leads per arm a day.

    Stopping at the first daily look with p < 0.05 declares a difference in far
    more than 5% of them; the confidence sequence excludes zero on some day in
    at most 5% of them. The traffic is simulated with numpy, seeded; the
    looks go through the module's own (array) functions.
    """
    rng = np.random.default_rng(20261201)
    experiments, days, rate = 1_000, 30, 0.2
    exposed_daily = rng.poisson(20, size=(2, experiments, days))
    exposed = np.cumsum(exposed_daily, axis=2)
    successes = np.cumsum(rng.binomial(exposed_daily, rate), axis=2)
    # Every look of every experiment at once: arrays of shape (experiments, days).
    p_values = two_proportion_p_values(successes[0], exposed[0], successes[1], exposed[1])
    low, high = confidence_sequences(successes[0], exposed[0], successes[1], exposed[1])
    naive_hits = int(np.any(p_values < 0.05, axis=1).sum())
    sequential_hits = int(np.any((low > 0) | (high < 0), axis=1).sum())
    # The array versions are the scalar functions the results use, look by look.
    for e, day in [(0, 0), (17, 5), (999, 29)]:
        s1, n1, s2, n2 = (int(a[i, e, day]) for a, i in ((successes, 0), (exposed, 0), (successes, 1), (exposed, 1)))
        assert p_values[e, day] == pytest.approx(two_proportion_p_value(s1, n1, s2, n2))
        assert (low[e, day], high[e, day]) == pytest.approx(confidence_sequence(s1, n1, s2, n2))
    naive_rate, sequential_rate = naive_hits / experiments, sequential_hits / experiments
    assert sequential_rate <= 0.05, sequential_rate
    assert naive_rate > 0.05, naive_rate
    # Not a near thing: daily peeking at a fixed-sample test inflates the error several times over.
    assert naive_rate > 3 * 0.05


def test_the_sequence_is_withheld_while_an_arm_has_no_spread():
    """0 of 2 against 0 of 2 estimates zero variance: the sequence would be [0, 0], claiming certainty."""
    assert confidence_sequence(0, 2, 0, 2) is None
    assert confidence_sequence(0, 40, 3, 40) is None  # control all failures: its variance is unknown, not 0
    assert confidence_sequence(40, 40, 39, 40) is None
    low, high = confidence_sequence(1, 40, 3, 40)
    assert low < 0 < high
