"""Checks and decisions a manager can act on every day: always-valid intervals (mSPRT with a normal
mixture), the sample-ratio mismatch test, and the keep / stop / keep-testing line.

Pure numpy/scipy (no Django). The sequential test is Johari, Pekelis & Walsh's mixture SPRT
(2017, "Always valid inference") on the log of the variant/holdout ratio, an asymptotically normal
estimate θ̂ with variance V at each look. With a N(0, τ²) mixture over the true log lift,

    Λ = √(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²)))

is a nonnegative martingale under "no lift", so by Ville's inequality P(Λ ever ≥ 1/α) ≤ α, however
often and whenever one looks; the always-valid p-value is the running minimum of 1/Λ and the
always-valid interval is every θ with Λ(θ) < 1/α:

    θ̂ ± √(V (V + τ²) / τ² · (log((V + τ²) / V) − 2 log α)).

τ² only changes where the interval is tightest, never its validity, as long as it is fixed without
looking at the test's outcomes. We pick it from the shop's own pre-period: the variance the estimate
will have at the planned horizon, V*, from the exposed customers' pre-period revenue spread (CV²) and
the customers expected by then; τ² = r* · V*, where r* minimises the interval's width at V* (it does
not depend on V*: r* ≈ 8.2 at α = 0.05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats

ALPHA = 0.05
SRM_ALPHA = 0.001
SMALLEST_LIFT_WORTH_HAVING = 0.05
KEEP, STOP, KEEP_TESTING = "keep", "stop", "keep testing"


# --- mSPRT -------------------------------------------------------------------------------------

def msprt_log_statistic(estimate: float, variance: float, tau2: float, null: float = 0.0) -> float:
    """log Λ: the mixture likelihood ratio of "the log lift is drawn from N(null, τ²)" against "it is null"."""
    if variance <= 0 or tau2 <= 0:
        raise ValueError("variance and the mixture variance τ² must be positive")
    shrink = tau2 / (variance + tau2)
    return 0.5 * math.log(variance / (variance + tau2)) + (estimate - null) ** 2 * shrink / (2 * variance)


def msprt_statistic(estimate: float, variance: float, tau2: float, null: float = 0.0) -> float:
    return math.exp(min(msprt_log_statistic(estimate, variance, tau2, null), 700.0))


def msprt_p_value(estimate: float, variance: float, tau2: float) -> float:
    """The always-valid p-value at one look (1 / Λ, capped at 1)."""
    return math.exp(-max(msprt_log_statistic(estimate, variance, tau2), 0.0))


def msprt_p_values(estimates: list[float], variances: list[float], tau2: float) -> list[float]:
    """Always-valid p-values over successive looks: the running minimum, so they never rise."""
    values, lowest = [], 1.0
    for estimate, variance in zip(estimates, variances):
        lowest = min(lowest, msprt_p_value(estimate, variance, tau2))
        values.append(lowest)
    return values


def always_valid_half_width(variance: float, tau2: float, alpha: float = ALPHA) -> float:
    return math.sqrt(variance * (variance + tau2) / tau2 * (math.log((variance + tau2) / variance)
                                                            - 2 * math.log(alpha)))


def always_valid_interval(estimate: float, variance: float, tau2: float, alpha: float = ALPHA) -> tuple[float, float]:
    half = always_valid_half_width(variance, tau2, alpha)
    return estimate - half, estimate + half


def confidence_sequence(estimates: list[float], variances: list[float], tau2: float,
                        alpha: float = ALPHA) -> list[tuple[float, float]]:
    """The always-valid interval at each look, intersected with the earlier ones (still valid)."""
    low, high, out = -math.inf, math.inf, []
    for estimate, variance in zip(estimates, variances):
        this_low, this_high = always_valid_interval(estimate, variance, tau2, alpha)
        low, high = max(low, this_low), min(high, this_high)
        out.append((low, high) if low <= high else (this_low, this_high))
    return out


def _width_ratio(alpha: float) -> float:
    """r* = τ² / V* that makes the interval narrowest at V*."""
    def squared_width(log_r: float) -> float:
        r = math.exp(log_r)
        return (1 + r) / r * (math.log1p(r) - 2 * math.log(alpha))

    return math.exp(optimize.minimize_scalar(squared_width, bounds=(-5, 8), method="bounded").x)


WIDTH_RATIO = _width_ratio(ALPHA)


def mixture_variance(*, pre_period_cv2: float, horizon_customers: float, holdout_share: float) -> float:
    """τ² from the shop's own pre-period: V* = CV² · (1 / n_variant + 1 / n_holdout) at the horizon
    (the variance of a log ratio of two means of customers who vary by CV²), times r*."""
    if not 0 < holdout_share < 1:
        raise ValueError("the holdout share must be between 0 and 1")
    if pre_period_cv2 <= 0 or horizon_customers <= 0:
        raise ValueError("the pre-period spread and the planned customers must be positive")
    horizon_variance = pre_period_cv2 * (1 / (horizon_customers * (1 - holdout_share))
                                         + 1 / (horizon_customers * holdout_share))
    return WIDTH_RATIO * horizon_variance


@dataclass(frozen=True)
class Sequential:
    """The always-valid view of one lift estimate (relative lifts; the interval is safe to peek at)."""

    lift: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    tau2_basis: str


def sequential_lift(log_ratio: float, se_log: float, tau2: float, tau2_basis: str,
                    alpha: float = ALPHA) -> Sequential:
    variance = se_log**2
    low, high = always_valid_interval(log_ratio, variance, tau2, alpha)
    return Sequential(math.expm1(log_ratio), math.expm1(low), math.expm1(high),
                      msprt_p_value(log_ratio, variance, tau2), tau2, tau2_basis)


# --- sample-ratio mismatch ----------------------------------------------------------------------

@dataclass(frozen=True)
class SampleRatio:
    holdout: int
    variant: int
    expected_holdout_share: float
    observed_holdout_share: float | None
    p_value: float | None
    mismatch: bool

    @property
    def message(self) -> str:
        if self.p_value is None:
            return "no exposed customers yet"
        observed = f"{self.holdout} held out and {self.variant} shown ({self.observed_holdout_share:.1%} held out " \
                   f"against the configured {self.expected_holdout_share:.1%}; chi-square p = {self.p_value:.2g})"
        if not self.mismatch:
            return f"Sample ratio as configured: {observed}."
        return (f"Sample-ratio mismatch: {observed}. The split is broken (a cache serving one arm, bots, a "
                "holdout share changed mid-test, lost exposure logs), so no lift below can be trusted until "
                "the cause is found.")


def sample_ratio_check(*, holdout: int, variant: int, holdout_share: float, alpha: float = SRM_ALPHA) -> SampleRatio:
    """Chi-square goodness of fit of exposed customers per arm against the configured holdout share."""
    total = holdout + variant
    if total == 0 or not 0 < holdout_share < 1:
        return SampleRatio(holdout, variant, holdout_share, None, None, False)
    expected = [total * holdout_share, total * (1 - holdout_share)]
    p_value = float(stats.chisquare([holdout, variant], expected).pvalue)
    return SampleRatio(holdout, variant, holdout_share, holdout / total, p_value, p_value < alpha)


# --- the decision -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    action: str  # keep / stop / keep testing
    sentence: str
    days_more: int | None = None


def decide(*, ci_low: float | None, ci_high: float | None, se_log: float | None, tau2: float | None,
           days_observed: int, smallest_lift: float = SMALLEST_LIFT_WORTH_HAVING,
           sequential: bool = True) -> Decision:
    """keep when the interval is above 0; stop when it is below 0 or below the smallest lift worth
    having; otherwise keep testing, with the days until the interval, narrowing as 1/days, is
    narrow enough to settle one way (its width below log(1 + smallest lift))."""
    if ci_low is None or ci_high is None:
        return Decision(KEEP_TESTING, "keep testing: no estimate yet (too few purchases in one arm)")
    kind = "always-valid" if sequential else "fixed-horizon"
    interval = f"the {kind} 95 % interval ({_percent(ci_low)} to {_percent(ci_high)})"
    if ci_low > 0:
        return Decision(KEEP, f"keep: {interval} is above 0")
    if ci_high < 0:
        return Decision(STOP, f"stop: {interval} is below 0")
    if ci_high < smallest_lift:
        return Decision(STOP, f"stop: {interval} excludes the smallest lift worth having ({_percent(smallest_lift)})")
    days = days_to_settle(se_log=se_log, tau2=tau2 if sequential else None, days_observed=days_observed,
                          smallest_lift=smallest_lift)
    if days is not None and days > 365:
        when = (", but settling it would take more than a year at current traffic (a larger holdout share or a "
                "bigger smallest lift worth having would shorten it)")
    else:
        when = f", about {days} more days at current traffic" if days is not None else ""
    return Decision(KEEP_TESTING, f"keep testing{when}: {interval} includes both 0 and {_percent(smallest_lift)}",
                    days)


def _percent(share: float) -> str:
    return f"{share * 100:+.0f} %"


def days_to_settle(*, se_log: float | None, tau2: float | None, days_observed: int,
                   smallest_lift: float) -> int | None:
    """More days until the interval's full width falls below log(1 + smallest lift), V ∝ 1/days."""
    if not se_log or days_observed <= 0:
        return None
    target_half = math.log1p(smallest_lift) / 2
    variance = se_log**2

    def half(v: float) -> float:
        return always_valid_half_width(v, tau2) if tau2 else stats.norm.ppf(0.975) * math.sqrt(v)

    if half(variance) <= target_half:
        return 0
    low = variance * 1e-9
    if half(low) > target_half:
        return None
    target_variance = optimize.brentq(lambda v: half(v) - target_half, low, variance)
    return int(math.ceil(days_observed * variance / target_variance - days_observed))


def log_lift_and_se(lift: float | None, ci_low: float | None, ci_high: float | None) -> tuple[float, float] | None:
    """Back from a lift's log-scale 95 % interval to (log ratio, its standard error)."""
    if ci_low is None or ci_high is None or ci_low <= -1:
        return None
    low, high = math.log1p(ci_low), math.log1p(ci_high)
    return (low + high) / 2, (high - low) / (2 * stats.norm.ppf(0.975))


__all__ = ["ALPHA", "Decision", "KEEP", "KEEP_TESTING", "STOP", "SampleRatio", "Sequential", "WIDTH_RATIO",
           "always_valid_interval", "confidence_sequence", "days_to_settle", "decide", "log_lift_and_se",
           "mixture_variance", "msprt_p_value", "msprt_p_values", "msprt_statistic", "sample_ratio_check",
           "sequential_lift"]
