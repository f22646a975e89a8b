"""The A/B statistics agree with statsmodels' and scipy's own implementations."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from movie_recs.analytics.ab_stats import (
    compare,
    required_sample_per_arm,
    two_proportion_z_test,
    wilson_interval,
)

CASES = [(1, 10), (37, 1000), (480, 5000), (0, 50), (50, 50), (12_345, 987_654)]


@pytest.mark.parametrize(("successes", "trials"), CASES)
def test_wilson_matches_statsmodels_and_scipy(successes, trials):
    ours = wilson_interval(successes, trials)
    assert ours == pytest.approx(
        proportion_confint(successes, trials, alpha=0.05, method="wilson"), abs=1e-9
    )
    scipy_ci = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    assert ours == pytest.approx((scipy_ci.low, scipy_ci.high), abs=1e-9)


@pytest.mark.parametrize(
    ("control", "arm"), [((37, 1000), (52, 1000)), ((480, 5000), (455, 5100)), ((3, 40), (9, 41))]
)
def test_z_test_matches_statsmodels(control, arm):
    z, p_value = two_proportion_z_test(control[0], control[1], arm[0], arm[1])
    expected_z, expected_p = proportions_ztest(
        [arm[0], control[0]], [arm[1], control[1]], alternative="two-sided"
    )
    assert z == pytest.approx(expected_z, abs=1e-9)
    assert p_value == pytest.approx(expected_p, abs=1e-9)


def test_required_sample_is_close_to_statsmodels_power_analysis():
    """statsmodels uses Cohen's h (arcsine); the normal approximation is within 2%."""
    ours = required_sample_per_arm(0.05, 0.1)
    effect = proportion_effectsize(0.055, 0.05)
    theirs = NormalIndPower().solve_power(effect, alpha=0.05, power=0.8, ratio=1.0)
    assert ours == pytest.approx(theirs, rel=0.02)


def test_compare_lifts_and_sufficiency():
    result = compare(control=(100, 2000), arm=(130, 2000), mde=0.1)
    assert result.rate == pytest.approx(0.065)
    assert result.abs_lift == pytest.approx(0.015)
    assert result.rel_lift == pytest.approx(0.3)
    assert result.is_sample_sufficient is False  # ~31k per arm needed for a 10% lift at 5%
    big = compare(control=(5000, 100_000), arm=(5600, 100_000), mde=0.1)
    assert big.is_sample_sufficient is True and big.p_value < 1e-6


def test_empty_arms_give_nan_not_errors():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert all(math.isnan(v) for v in two_proportion_z_test(0, 0, 1, 10))
    assert compare((0, 0), (1, 10), mde=0.1).is_sample_sufficient is False
