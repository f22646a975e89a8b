"""A/B statistics for proportions (CTR, watch-through rate).

Plain formulas, documented, so analysts can check them:
- Wilson score interval for one proportion;
- two-proportion z-test with the pooled standard error (two-sided);
- the per-arm sample size needed to detect a relative lift `mde` over the
  control rate at significance `alpha` with power `power`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    if trials == 0:
        return (math.nan, math.nan)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (centre - half, centre + half)


def two_proportion_z_test(
    control_successes: int, control_trials: int, successes: int, trials: int
) -> tuple[float, float]:
    """(z, two-sided p-value) for treatment rate minus control rate."""
    if control_trials == 0 or trials == 0:
        return (math.nan, math.nan)
    pooled = (control_successes + successes) / (control_trials + trials)
    se = math.sqrt(pooled * (1 - pooled) * (1 / control_trials + 1 / trials))
    if se == 0:
        return (math.nan, math.nan)
    z = (successes / trials - control_successes / control_trials) / se
    return (z, float(2 * norm.sf(abs(z))))


def required_sample_per_arm(
    control_rate: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Trials per arm to detect control_rate * (1 + mde) vs control_rate."""
    treated_rate = control_rate * (1 + mde)
    if not 0 < control_rate < 1 or not 0 < treated_rate < 1:
        return math.inf
    z_alpha, z_power = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    mean_rate = (control_rate + treated_rate) / 2
    spread = z_alpha * math.sqrt(2 * mean_rate * (1 - mean_rate)) + z_power * math.sqrt(
        control_rate * (1 - control_rate) + treated_rate * (1 - treated_rate)
    )
    return spread**2 / (treated_rate - control_rate) ** 2


@dataclass(frozen=True)
class ArmComparison:
    trials: int
    successes: int
    rate: float
    ci_low: float
    ci_high: float
    abs_lift: float
    rel_lift: float
    z: float
    p_value: float
    required_trials: float
    is_sample_sufficient: bool


def compare(
    control: tuple[int, int], arm: tuple[int, int], mde: float, alpha: float = 0.05
) -> ArmComparison:
    """`control` and `arm` are (successes, trials)."""
    (c_succ, c_trials), (succ, trials) = control, arm
    rate = succ / trials if trials else math.nan
    control_rate = c_succ / c_trials if c_trials else math.nan
    low, high = wilson_interval(succ, trials, 1 - alpha)
    z, p_value = two_proportion_z_test(c_succ, c_trials, succ, trials)
    required = required_sample_per_arm(control_rate, mde, alpha) if c_trials else math.inf
    return ArmComparison(
        trials=trials,
        successes=succ,
        rate=rate,
        ci_low=low,
        ci_high=high,
        abs_lift=rate - control_rate,
        rel_lift=(rate - control_rate) / control_rate if control_rate else math.nan,
        z=z,
        p_value=p_value,
        required_trials=required,
        is_sample_sufficient=bool(min(trials, c_trials) >= required),
    )
