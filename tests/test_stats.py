"""The statistics the experiments' verdicts use (golden values computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from plasticgym.experiments.stats import difference_ci


def test_difference_ci_is_a_welch_interval_of_a_difference_of_means():
    a, b = np.array([3.0, 4.0, 5.0]), np.array([0.0, 2.0])
    # 4 - 1 = 3; variances 1 and 2: se^2 = 1/3 + 2/2 = 4/3,
    # Welch df = se^4 / ((1/3)^2 / 2 + 1^2 / 1) = (16/9) / (19/18) = 32/19
    estimate, low, high = difference_ci(a, b)
    half = stats.t.ppf(0.975, 32 / 19) * math.sqrt(4 / 3)
    assert estimate == pytest.approx(3.0)
    assert (low, high) == pytest.approx((3.0 - half, 3.0 + half))
    assert all(math.isnan(v) for v in difference_ci(a, b[:1]))
