"""The statistics the experiments' verdicts use (golden values computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from plasticgym.experiments.stats import difference_ci, proportion_ci


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
