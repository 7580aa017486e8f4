"""Statistics the experiments judge their signatures with: confidence intervals over agents,
a percentile bootstrap interval of any statistic (the median), per-agent slopes, regression
slopes with a confidence interval, the intervals of a difference between two groups and of a
difference of differences between four groups, and logistic regression.

Every experiment treats the agents of a population as independent subjects: a quantity is
computed per agent from the records, then summarised by its mean and a 95% t confidence
interval over agents (:func:`mean_ci`). No statsmodels: :func:`logistic_regression` is a few
lines of Newton's method (iteratively reweighted least squares).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from scipy import special, stats


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval over agents (NaNs dropped; NaNs if < 2 left)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1) * stats.sem(values))
    return mean, mean - half, mean + half


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any] = np.median,
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """A statistic over agents (the median by default) and its percentile bootstrap interval
    (Efron & Tibshirani 1993, ch. 13): ``n_resamples`` resamples of the agents with
    replacement, each summarised by ``statistic(sample, axis=1)``, and the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles of those. NaNs are dropped (NaNs if fewer than 2 values
    remain). The resamples are drawn from ``numpy.random.default_rng(seed)``: the same values
    and seed give the same interval."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, values.size, size=(n_resamples, values.size))]
    estimates = statistic(samples, axis=1)
    low, high = np.quantile(estimates, [(1 - level) / 2, (1 + level) / 2])
    return float(statistic(values)), float(low), float(high)


def ci_row(values: Any, **labels: Any) -> dict[str, Any]:
    """One row of a result table: ``labels``, then ``mean``, ``ci_low``, ``ci_high`` (95% t
    interval over the finite values) and ``n`` (how many finite values: agents)."""
    values = np.asarray(values, dtype=float)
    return estimate_row(mean_ci(values), int(np.isfinite(values).sum()), **labels)


def estimate_row(estimate: tuple[float, float, float], n: int, **labels: Any) -> dict[str, Any]:
    """A result-table row for an estimate ``(value, ci_low, ci_high)`` from ``n`` agents."""
    mean, low, high = estimate
    return {**labels, "mean": mean, "ci_low": low, "ci_high": high, "n": n}


def proportion_ci(successes: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Fraction of true values among the finite 0/1 ``successes`` (one per agent) and its
    Wilson score interval (Wilson 1927), which stays inside [0, 1] where the t interval of
    :func:`mean_ci` does not: ``(p + z^2 / 2n +- z sqrt(p (1 - p) / n + z^2 / 4n^2)) /
    (1 + z^2 / n)``. NaNs without values."""
    values = np.asarray(successes, dtype=float)
    values = values[np.isfinite(values)]
    n = values.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    p = float(values.mean())
    z = float(stats.norm.ppf(0.5 + level / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(centre - half, 0.0), min(centre + half, 1.0)


def difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a`` minus mean of ``b`` (independent groups) with Welch's 95% interval (NaNs
    when either group has fewer than 2 values)."""
    if min(np.size(a), np.size(b)) < 2:
        return float("nan"), float("nan"), float("nan")
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return float(a.mean() - b.mean()), float(interval.low), float(interval.high)


def interaction_ci(
    a: Any, b: Any, c: Any, d: Any, level: float = 0.95
) -> tuple[float, float, float]:
    """``(mean a - mean b) - (mean c - mean d)`` over four independent groups, with a Welch
    t interval: ``se^2 = sum_g s_g^2 / n_g`` and Welch-Satterthwaite degrees of freedom
    ``df = se^4 / sum_g (s_g^2 / n_g)^2 / (n_g - 1)``."""
    groups = [np.asarray(g, dtype=float) for g in (a, b, c, d)]
    if min(g.size for g in groups) < 2:
        return float("nan"), float("nan"), float("nan")
    estimate = groups[0].mean() - groups[1].mean() - groups[2].mean() + groups[3].mean()
    shares = np.array([g.var(ddof=1) / g.size for g in groups])
    se = float(np.sqrt(shares.sum()))
    if se == 0.0:
        return float(estimate), float(estimate), float(estimate)
    df = shares.sum() ** 2 / sum(v**2 / (g.size - 1) for v, g in zip(shares, groups, strict=True))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return float(estimate), float(estimate - half), float(estimate + half)


def format_ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    """``+0.61 [+0.58, +0.65]``."""
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def slopes(x: Any, y: Any) -> np.ndarray:
    """Least-squares slope of each row of ``y`` ``[n_agents, n_levels]`` on ``x`` ``[n_levels]``,
    using the finite entries of the row (NaN where fewer than two remain or ``x`` is constant)."""
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    out = np.full(y.shape[0], np.nan)
    for i, row in enumerate(y):
        keep = np.isfinite(row)
        xs = x[keep]
        if keep.sum() >= 2 and np.ptp(xs) > 0:
            xc = xs - xs.mean()
            out[i] = float(xc @ (row[keep] - row[keep].mean()) / (xc @ xc))
    return out


def regression_slope_ci(x: Any, y: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Ordinary least-squares slope of ``y`` on ``x`` (one point per agent) and its two-sided t
    confidence interval (``n - 2`` degrees of freedom)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return float("nan"), float("nan"), float("nan")
    fit = stats.linregress(x[keep], y[keep])
    half = float(stats.t.ppf(0.5 + level / 2, keep.sum() - 2) * fit.stderr)
    return float(fit.slope), float(fit.slope) - half, float(fit.slope) + half


class LogisticFit(NamedTuple):
    """Coefficients ``[k]``, their standard errors (from the inverse Hessian of the penalised
    log-likelihood), the number of Newton iterations and whether they converged."""

    coef: np.ndarray
    se: np.ndarray
    n_iter: int
    converged: bool


def logistic_regression(
    X: Any, y: Any, *, l2: float = 0.0, max_iter: int = 100, tol: float = 1e-10
) -> LogisticFit:
    """Maximum-likelihood logistic regression ``P(y = 1) = sigmoid(X beta)`` by Newton's method.

    ``X`` is the design matrix ``[n, k]`` (include a column of ones for the intercept), ``y``
    the 0/1 outcomes ``[n]``. Each step solves ``(X^T W X + l2 P) d = X^T (y - p) - l2 P beta``
    with ``W = diag(p (1 - p))`` and ``P`` the identity without its intercept entry (a column of
    ones is not penalised): the ridge term ``l2 / 2 * |beta|^2`` keeps the coefficients finite
    when an agent's choices are perfectly separated (e.g. it always stays after a reward).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"logistic_regression: need X [n, k] and y [n], got {X.shape}, {y.shape}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("logistic_regression: y must hold 0/1 outcomes")
    penalty = np.full(X.shape[1], float(l2))
    penalty[np.all(X == 1.0, axis=0)] = 0.0
    beta = np.zeros(X.shape[1])
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        p = special.expit(X @ beta)
        gradient = X.T @ (y - p) - penalty * beta
        hessian = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(penalty)
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    p = special.expit(X @ beta)
    hessian = (X * (p * (1.0 - p))[:, None]).T @ X + np.diag(penalty)
    se = np.sqrt(np.clip(np.diag(np.linalg.pinv(hessian)), 0.0, None))
    return LogisticFit(beta, se, n_iter, converged)


class Equivalence(NamedTuple):
    """A two one-sided tests (TOST) result: the difference, its 90% interval, the larger of
    the two one-sided p-values and whether the difference is inside ``(-margin, margin)`` at
    the 5% level."""

    difference: float
    low: float
    high: float
    p: float
    equivalent: bool


def tost(a: Any, b: Any | None, margin: float, alpha: float = 0.05) -> Equivalence:
    """Two one-sided Welch t tests of ``|mean a - mean b| < margin`` (Schuirmann 1987); with
    ``b`` None, of ``|mean a| < margin``. Equivalent when both one-sided nulls
    (difference <= -margin, difference >= margin) are rejected at ``alpha``, i.e. when the
    ``1 - 2 alpha`` interval lies inside the margins."""
    a = np.asarray(a, dtype=float)
    shares = [a.var(ddof=1) / a.size]
    dfs = [a.size - 1]
    difference = float(a.mean())
    if b is not None:
        b = np.asarray(b, dtype=float)
        shares.append(b.var(ddof=1) / b.size)
        dfs.append(b.size - 1)
        difference -= float(b.mean())
    se = math.sqrt(sum(shares))
    if se == 0.0:
        inside = abs(difference) < margin
        return Equivalence(difference, difference, difference, 0.0 if inside else 1.0, inside)
    df = sum(shares) ** 2 / sum(s**2 / d for s, d in zip(shares, dfs, strict=True))
    p_low = float(stats.t.sf((difference + margin) / se, df))
    p_high = float(stats.t.cdf((difference - margin) / se, df))
    half = float(stats.t.ppf(1 - alpha, df)) * se
    p = max(p_low, p_high)
    return Equivalence(difference, difference - half, difference + half, p, p < alpha)


def format_tost(result: Equivalence, margin: float) -> str:
    return (f"{result.difference:+.2f} [90% {result.low:+.2f}, {result.high:+.2f}] inside "
            f"+-{margin:g}: TOST p = {result.p:.2g}")  # fmt: skip
