"""The statistics the experiments' verdicts use (golden values computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from plasticgym.experiments.stats import bootstrap_ci, difference_ci, mean_ci, proportion_ci


def test_difference_ci_is_a_welch_interval_of_a_difference_of_means():
    a, b = np.array([3.0, 4.0, 5.0]), np.array([0.0, 2.0])
    # 4 - 1 = 3; variances 1 and 2: se^2 = 1/3 + 2/2 = 4/3,
    # Welch df = se^4 / ((1/3)^2 / 2 + 1^2 / 1) = (16/9) / (19/18) = 32/19
    estimate, low, high = difference_ci(a, b)
    half = stats.t.ppf(0.975, 32 / 19) * math.sqrt(4 / 3)
    assert estimate == pytest.approx(3.0)
    assert (low, high) == pytest.approx((3.0 - half, 3.0 + half))
    assert all(math.isnan(v) for v in difference_ci(a, b[:1]))


def test_proportion_ci_is_the_wilson_interval():
    # 23 of 24: p = 23/24, z = 1.959964; centre (p + z^2/48) / (1 + z^2/24),
    # half z sqrt(p (1 - p) / 24 + z^2 / 2304) / (1 + z^2/24): 0.79758 .. 0.99261 by hand
    p, low, high = proportion_ci([1.0] * 23 + [0.0, np.nan])
    assert p == pytest.approx(23 / 24)
    assert (low, high) == pytest.approx((0.797582, 0.992607), abs=1e-6)
    assert proportion_ci([0.0] * 10)[1:] == pytest.approx((0.0, 0.277533), abs=1e-6)
    assert all(math.isnan(v) for v in proportion_ci([np.nan]))


def test_bootstrap_ci_of_the_median():
    # 15 zeros and one 10: a resample's median leaves 0 only when 8 or more of its 16 draws are
    # the 10, P = P(Binomial(16, 1/16) >= 8) = 2.6e-6, so the interval is [0, 0]
    assert bootstrap_ci([0.0] * 15 + [10.0, np.nan]) == (0.0, 0.0, 0.0)
    # 12 of -17 and 4 of -200: 8 or more draws of -200 (P(Binomial(16, 1/4) >= 8) = 0.027 >
    # 0.025) put the median at (-17 - 200) / 2 = -108.5 or below, so the lower end is -108.5
    assert stats.binom.sf(7, 16, 0.25) == pytest.approx(0.0271, abs=1e-4)
    values = [-17.0] * 12 + [-200.0] * 4
    assert bootstrap_ci(values) == (-17.0, -108.5, -17.0)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert all(math.isnan(v) for v in bootstrap_ci([1.0, np.nan]))


def test_bootstrap_ci_of_the_mean_is_close_to_the_t_interval():
    values = np.random.default_rng(0).normal(0.0, 1.0, size=200)
    mean, low, high = bootstrap_ci(values, np.mean)
    t_mean, t_low, t_high = mean_ci(values)
    assert mean == pytest.approx(t_mean)
    assert (low, high) == pytest.approx((t_low, t_high), abs=0.03)
