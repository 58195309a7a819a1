"""The statistics behind an experiment's results: pure functions of counts, no Django.

Every figure an operator reads comes from here, with scipy for the
distributions:

- `wilson_interval`: a 95% interval for one variant's rate. Wilson rather than
  the textbook normal interval, which collapses to [0, 0] at zero successes and
  spills below 0 or above 1 with the small counts of a young experiment.
- `two_proportion_p_value`: the two-sided z-test of a variant against control
  with the pooled rate under the null (the same figure as the uncorrected
  chi-square test of the 2x2 table).
- `srm_p_value`: a chi-square goodness-of-fit test of the assigned counts
  against the weights (sample ratio mismatch). A tiny p-value means the split
  itself is broken (a dialer path that skips an arm, a lost assignment), so no
  comparison on top of it can be trusted.
- `chance_to_beat_control`: P(p_variant > p_control) under Beta(1, 1) priors,
  computed exactly (a finite sum), so the same counts always give the same
  figure: no Monte Carlo noise between two page loads.
- `confidence_sequence`: an always-valid 95% interval for the difference in
  rates. The fixed-sample p-value is only valid for one look at a sample size
  fixed in advance; an operator who opens the page every day and stops at the
  first p < 0.05 sees a false winner far more often than 5% of the time (the
  A/A simulation in the tests shows it). The confidence sequence holds at every
  look at once, at the price of a wider interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

ALPHA = 0.05
SRM_ALPHA = 0.001

# The confidence sequence is narrowest when the pair of arms holds about this
# many exposed leads. GrowthBook tunes for 5,000 users (web traffic); a voice
# campaign is an order of magnitude smaller, and a sequence tuned far above the
# sample it ends with is needlessly wide (at 1,000 leads it is ~10% wider tuned
# for 5,000 than for 1,000). Any positive value keeps the guarantee.
SEQUENTIAL_TUNING_N = 1_000


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(successes: int, trials: int, *, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The Wilson score interval for successes/trials; None with no trials."""
    if trials <= 0:
        return None
    z = _z(alpha)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # Clipped: at 0 or n successes the bound is 0 or 1 up to rounding error.
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_values(
    control_successes: ArrayLike, control_trials: ArrayLike, variant_successes: ArrayLike, variant_trials: ArrayLike
) -> np.ndarray:
    """The pooled two-sided z-test over arrays of counts (many looks at once); NaN where undefined.

    Undefined without trials on either side, or when the pooled rate is 0 or 1
    (no variance: both arms all failures or all successes, nothing to test).
    """
    s1, n1, s2, n2 = (
        np.asarray(x, dtype=float) for x in (control_successes, control_trials, variant_successes, variant_trials)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (s1 + s2) / (n1 + n2)
        variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
        z = (s2 / n2 - s1 / n1) / np.sqrt(variance)
    defined = (n1 > 0) & (n2 > 0) & (variance > 0)
    return np.where(defined, 2 * stats.norm.sf(np.abs(np.where(defined, z, 0.0))), np.nan)


def two_proportion_p_value(
    control_successes: int, control_trials: int, variant_successes: int, variant_trials: int
) -> float | None:
    """Two-sided pooled z-test of the variant's rate against control's; None when undefined (see above)."""
    p = float(two_proportion_p_values(control_successes, control_trials, variant_successes, variant_trials))
    return None if math.isnan(p) else p


def significantly_higher(
    control_events: int, control_trials: int, variant_events: int, variant_trials: int, *, alpha: float = ALPHA
) -> bool:
    """Whether the variant's rate is above control's with the pooled z-test's p below alpha (a guardrail breach)."""
    p = two_proportion_p_value(control_events, control_trials, variant_events, variant_trials)
    return p is not None and p < alpha and variant_events / variant_trials > control_events / control_trials


def srm_p_value(assigned: Sequence[int], weights: Sequence[float]) -> float | None:
    """Chi-square goodness of fit of the assigned counts to the weights; None with under two arms or no leads."""
    if len(assigned) != len(weights):
        raise ValueError("one weight per arm")
    total = sum(assigned)
    if len(assigned) < 2 or total <= 0:
        return None
    weight_sum = float(sum(weights))
    expected = [total * weight / weight_sum for weight in weights]
    return float(stats.chisquare(assigned, f_exp=expected).pvalue)


def chance_to_beat_control(
    control_successes: int, control_trials: int, variant_successes: int, variant_trials: int
) -> float:
    """P(p_variant > p_control) with Beta(1, 1) priors, exactly.

    With posteriors A = Beta(a1, b1) for control and B = Beta(a2, b2) for the
    variant (a = successes + 1, b = failures + 1) and a2 a whole number,

        P(B > A) = sum_{i=0}^{a2-1} B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1))

    (integrate P(B > x) = P(Binomial(a2 + b2 - 1, x) < a2) against A's
    density). The sum has a2 terms; each is taken in logs so that large counts
    neither overflow nor underflow.
    """
    a1, b1 = control_successes + 1, control_trials - control_successes + 1
    a2, b2 = variant_successes + 1, variant_trials - variant_successes + 1
    i = np.arange(a2, dtype=float)
    log_terms = special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    return float(min(1.0, max(0.0, np.exp(special.logsumexp(log_terms)))))


def sequential_rho(*, alpha: float = ALPHA, tuning_n: float = SEQUENTIAL_TUNING_N) -> float:
    """The mixture's spread that makes the sequence narrowest near `tuning_n` observations.

    Waudby-Smith et al., "Time-uniform central limit theory and asymptotic
    confidence sequences" (arXiv:2103.06476), the closed-form approximate
    optimum for a two-sided sequence; GrowthBook's sequential engine uses it.
    """
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / tuning_n)


def sequential_margin(*, n: ArrayLike, alpha: float = ALPHA, tuning_n: float = SEQUENTIAL_TUNING_N) -> Any:
    """The normal-mixture boundary for a unit-variance mean of n observations, valid at every n at once.

    Half-width of the asymptotic confidence sequence is
    sigma * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1) / alpha)).
    """
    rho2 = sequential_rho(alpha=alpha, tuning_n=tuning_n) ** 2
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * np.log(np.sqrt(n * rho2 + 1) / alpha))


def confidence_sequences(
    control_successes: ArrayLike,
    control_trials: ArrayLike,
    variant_successes: ArrayLike,
    variant_trials: ArrayLike,
    *,
    alpha: float = ALPHA,
    tuning_n: float = SEQUENTIAL_TUNING_N,
) -> tuple[np.ndarray, np.ndarray]:
    """Always-valid bounds for p_variant - p_control over arrays of counts; NaN until both arms vary.

    The difference of the two sample means has variance s^2 / n with n the
    leads of both arms together and s^2 = n (p1 q1 / n1 + p2 q2 / n2); the
    sequence is the difference plus or minus s times the mixture margin at n.
    It is asymptotic (the variance is estimated), so it is trusted from a few
    dozen leads per arm on; the A/A simulation checks it at such sizes.
    """
    s1, n1, s2, n2 = (
        np.asarray(x, dtype=float) for x in (control_successes, control_trials, variant_successes, variant_trials)
    )
    # Each arm needs a success and a failure: an arm at 0% or 100% estimates its
    # variance as 0, and a sequence built on that would be [0, 0] when both are,
    # a certainty the data does not have. Withheld until then, not faked.
    defined = (s1 > 0) & (s1 < n1) & (s2 > 0) & (s2 < n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = s1 / n1, s2 / n2
        n = n1 + n2
        half = np.sqrt(n * (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)) * sequential_margin(
            n=n, alpha=alpha, tuning_n=tuning_n
        )
    low = np.where(defined, np.maximum(-1.0, p2 - p1 - half), np.nan)
    high = np.where(defined, np.minimum(1.0, p2 - p1 + half), np.nan)
    return low, high


def confidence_sequence(
    control_successes: int,
    control_trials: int,
    variant_successes: int,
    variant_trials: int,
    *,
    alpha: float = ALPHA,
    tuning_n: float = SEQUENTIAL_TUNING_N,
) -> tuple[float, float] | None:
    """An always-valid interval for p_variant - p_control (see above); None until each arm has a success and a
    failure."""
    low, high = confidence_sequences(
        control_successes, control_trials, variant_successes, variant_trials, alpha=alpha, tuning_n=tuning_n
    )
    if math.isnan(low):
        return None
    return float(low), float(high)


def lift(control_rate: float | None, variant_rate: float | None) -> float | None:
    """The variant's rate relative to control's (0.25: 25% better); None when control's rate is 0 or unknown."""
    if control_rate is None or variant_rate is None or control_rate == 0:
        return None
    return (variant_rate - control_rate) / control_rate


@dataclass(frozen=True)
class ArmCounts:
    """One variant's counts: what the statistics are computed from."""

    name: str
    is_control: bool
    weight: float
    assigned: int
    exposed: int
    successes: int


@dataclass(frozen=True)
class ArmResult:
    name: str
    is_control: bool
    assigned: int
    exposed: int
    successes: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    lift: float | None
    p_value: float | None
    chance_to_beat_control: float | None
    seq_ci_low: float | None
    seq_ci_high: float | None


@dataclass(frozen=True)
class ExperimentStatistics:
    srm_p_value: float | None
    srm_warning: bool
    arms: list[ArmResult]


def experiment_statistics(
    arms: Sequence[ArmCounts], *, srm_assigned: Sequence[int] | None = None
) -> ExperimentStatistics:
    """Every arm's figures against the (single) control arm.

    `srm_assigned` are the counts the SRM test checks against the weights;
    by default the arms' assigned counts. (The results selector passes only
    the leads assigned under the current weights: a weight change makes the
    earlier leads follow other proportions.) The control arm's comparison
    fields are None: it is the baseline.
    """
    controls = [arm for arm in arms if arm.is_control]
    if len(controls) != 1:
        raise ValueError(f"exactly one control arm is needed, got {len(controls)}")
    control = controls[0]
    observed = list(srm_assigned) if srm_assigned is not None else [arm.assigned for arm in arms]
    srm = srm_p_value(observed, [arm.weight for arm in arms])
    control_rate = control.successes / control.exposed if control.exposed else None
    results = []
    for arm in arms:
        rate = arm.successes / arm.exposed if arm.exposed else None
        interval = wilson_interval(arm.successes, arm.exposed)
        compared = not arm.is_control and arm.exposed > 0 and control.exposed > 0
        sequence = (
            confidence_sequence(control.successes, control.exposed, arm.successes, arm.exposed) if compared else None
        )
        results.append(
            ArmResult(
                name=arm.name,
                is_control=arm.is_control,
                assigned=arm.assigned,
                exposed=arm.exposed,
                successes=arm.successes,
                rate=rate,
                ci_low=interval[0] if interval else None,
                ci_high=interval[1] if interval else None,
                lift=None if arm.is_control else lift(control_rate, rate),
                p_value=(
                    two_proportion_p_value(control.successes, control.exposed, arm.successes, arm.exposed)
                    if compared
                    else None
                ),
                chance_to_beat_control=(
                    chance_to_beat_control(control.successes, control.exposed, arm.successes, arm.exposed)
                    if not arm.is_control
                    else None
                ),
                seq_ci_low=sequence[0] if sequence else None,
                seq_ci_high=sequence[1] if sequence else None,
            )
        )
    return ExperimentStatistics(srm_p_value=srm, srm_warning=srm is not None and srm < SRM_ALPHA, arms=results)
