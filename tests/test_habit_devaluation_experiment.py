"""The habit_devaluation experiment's analysis on hand-made records: press rates of the
single-lever groups and the interval of a difference of differences (golden values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from plasticgym.experiments.habit_devaluation import Config, press_rates
from plasticgym.experiments.stats import interaction_ci


def test_interaction_ci_is_a_welch_interval_of_a_difference_of_differences():
    a, b, c, d = np.array([3.0, 4, 5]), np.array([0.0, 1, 2]), np.array([1.0, 2, 3]), np.zeros(3)
    d = d + np.array([-1.0, 0, 1])
    # (4 - 1) - (2 - 0) = 1; every variance 1, n = 3: se^2 = 4/3, Welch df = 4 (n - 1) = 8
    estimate, low, high = interaction_ci(a, b, c, d)
    half = stats.t.ppf(0.975, 8) * math.sqrt(4 / 3)
    assert estimate == pytest.approx(1.0)
    assert (low, high) == pytest.approx((1.0 - half, 1.0 + half))
    assert all(math.isnan(v) for v in interaction_ci(a[:1], b, c, d))
    assert interaction_ci(np.ones(3), np.zeros(3), np.zeros(3), np.zeros(3)) == (1.0, 1.0, 1.0)


def test_press_rates_per_agent_from_the_records():
    rows = []
    # agent 0 presses on 3 of its last 4 training steps and on 1 of its 4 test steps
    for step, (phase, action, reward) in enumerate([
        ("training", 1, 1.0), ("training", 0, 0.0), ("training", 1, 0.0), ("training", 1, 0.0),
        ("training", 1, 1.0), ("devaluation", 0, 1.0), ("test", 1, 0.0), ("test", 0, 0.0),
        ("test", 0, 0.0), ("test", 0, 0.0),
    ]):  # fmt: skip
        rows.append({"agent": 0, "step": step, "phase": phase, "action": action,
                     "reward": reward, "schedule": "ratio", "devalued": True})  # fmt: skip
    table = press_rates(pd.DataFrame(rows), late_training_steps=4)
    row = table.iloc[0]
    assert (row["schedule"], row["devalued"], row["agent"]) == ("ratio", True, 0)
    assert row["late_training_rate"] == pytest.approx(0.75)
    assert row["test_rate"] == pytest.approx(0.25)
    assert row["steps_per_reinforcer"] == pytest.approx(5 / 2)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"single_lever_agents": 1}, "single_lever_agents"),
        ({"single_lever_interval": 0.5}, "single_lever_interval"),
        ({"single_lever_interval": math.nan}, "single_lever_interval"),
        ({"schedule_param": "5"}, "schedule_param"),
        ({"moderate": 500, "extended": 400}, "moderate"),
    ],
)
def test_invalid_configs_are_clear_errors(overrides, match):
    with pytest.raises(ValueError, match=match):
        Config(**overrides)
