"""The tag_capture experiment: its quick run passes every verdict, each verdict is labelled,
the verdicts flip with corrupted records, and its helpers on hand-made inputs (golden
values)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import quick_runs

from plasticgym.experiments import tag_capture
from plasticgym.experiments.stats import tost
from plasticgym.experiments.tag_capture import (
    KIND,
    Config,
    calcium_time_above,
    decay_time_constants,
    interval_name,
    protocols,
    window_mean,
)
from plasticgym.records import load_records


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick run through the CLI, shared with tests/test_experiments.py."""
    out, code, printed = quick_runs.quick_run("tag_capture", tmp_path_factory)
    return out, code, printed


def test_quick_run_passes_every_verdict(quick_run):
    out, code, printed = quick_run
    result = json.loads((out / "result.json").read_text())
    assert set(result["verdicts"]) == set(KIND)
    failed = {k: result["lines"][k] for k, ok in result["verdicts"].items() if not ok}
    assert not failed and code == 0, (failed, printed)
    assert result["wall_s"] < 60


def test_every_verdict_is_labelled_in_its_line_and_the_table(quick_run):
    out, _, _ = quick_run
    result = json.loads((out / "result.json").read_text())
    for verdict, kind in KIND.items():
        assert kind in ("mechanism check", "finding")
        assert result["lines"][verdict].startswith(f"({kind}) ")
    kinds = {row["kind"] for row in result["table"]}
    assert {"mechanism check", "finding"} <= kinds
    report = (out / "report.md").read_text()
    assert "(mechanism check)" in report and "(finding)" in report


def corrupted(quick_run, corrupt) -> dict[str, bool]:
    out, _, _ = quick_run
    fields = json.loads((out / "config.json").read_text())
    config = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    corrupt(records)
    return tag_capture.analyse(records, config)["verdicts"]


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # constant corrupted groups
def test_verdicts_flip_with_the_records(quick_run):
    def blocker_as_intact(records):
        """Give the blocker group the time courses of the intact pairing."""
        tc = records["timecourse"]
        intact = tc[tc["group"] == "strong_then_weak_30min"]
        tc.loc[tc["group"] == "blocker", ["weak_pathway", "strong_pathway"]] = intact[
            ["weak_pathway", "strong_pathway"]
        ].to_numpy()

    verdicts = corrupted(quick_run, blocker_as_intact)
    assert not verdicts["blocker_abolishes_capture"]
    assert verdicts["no_capture_control"] and verdicts["weak_captured_after_strong"]

    def weak_lasts(records):
        """Hold the weak pathway of weak_alone at its early LTP for the whole session."""
        tc = records["timecourse"]
        alone = (tc["group"] == "weak_alone") & (tc["time_h"] > 0)
        tc.loc[alone, "weak_pathway"] = 25.0

    verdicts = corrupted(quick_run, weak_lasts)
    assert not verdicts["weak_alone_decays"] and not verdicts["tag_lifetime"]

    def late_window_open(records):
        """Give the weak pathway of the 3 h pairings a lasting potentiation."""
        tc = records["timecourse"]
        for late in ("weak_then_strong_3h", "strong_then_weak_3h"):
            tc.loc[tc["group"] == late, "weak_pathway"] = 20.0

    verdicts = corrupted(quick_run, late_window_open)
    assert not verdicts["weak_before_strong_window_closes"]
    assert not verdicts["strong_before_weak_window_closes"]


# --------------------------------------------------------------------------------------------
# Helpers: golden values
# --------------------------------------------------------------------------------------------


def test_tost_golden_one_sample():
    # [1, 2, 3]: mean 2, sd 1, se = 1 / sqrt(3), df = 2, where the t CDF is
    # F(t) = 1/2 + t / (2 sqrt(2 + t^2)). Margin 5: t_low = 7 sqrt(3), t_high = -3 sqrt(3)
    # (t^2 = 27); p = max(1 - F(7 sqrt 3), F(-3 sqrt 3)) = 1/2 - 3 sqrt(3) / (2 sqrt(29)).
    # The 90% interval: t_0.95,2 = 0.9 sqrt(2 / 0.19) (from F), times se.
    result = tost([1.0, 2.0, 3.0], None, 5.0)
    assert result.difference == pytest.approx(2.0)
    assert result.p == pytest.approx(0.5 - 3 * math.sqrt(3) / (2 * math.sqrt(29)))
    half = 0.9 * math.sqrt(2 / 0.19) / math.sqrt(3)
    assert (result.low, result.high) == pytest.approx((2 - half, 2 + half))
    assert result.equivalent
    assert not tost([1.0, 2.0, 3.0], None, 3.0).equivalent  # 90% interval reaches 3.69


def test_difference_is_exact_without_variance():
    assert tag_capture.difference(np.zeros(3), np.zeros(4)) == (0.0, 0.0, 0.0)
    value, low, high = tag_capture.difference(np.array([1.0, 2.0, 3.0]), np.zeros(3))
    assert value == 2.0 and low < 2.0 < high


def test_tost_golden_two_samples_and_zero_variance():
    # Welch with equal sizes and variances: a = [1, 2, 3], b = [0, 1, 2]: difference 1,
    # se = sqrt(1/3 + 1/3), df = (2/3)^2 / (2 (1/3)^2 / 2) = 4
    result = tost([1.0, 2.0, 3.0], [0.0, 1.0, 2.0], 4.0)
    se = math.sqrt(2 / 3)
    # t_0.95,4 = 2.131847 (tabled)
    assert (result.low, result.high) == pytest.approx((1 - 2.131847 * se, 1 + 2.131847 * se),
                                                      rel=1e-6)  # fmt: skip
    assert result.equivalent
    exact = tost([0.0, 0.0], [0.0, 0.0], 1.0)
    assert exact.equivalent and exact.p == 0.0
    assert not tost([2.0, 2.0], None, 1.0).equivalent


def test_calcium_time_above_golden():
    # Two pulses 10 ms apart, tau 20 ms, C = 1: c_1 = 1 (below 1.3), c_2 = 1 + exp(-0.5);
    # the last pulse stays above 1.3 for tau ln(c_2 / 1.3).
    expected = 0.02 * math.log((1 + math.exp(-0.5)) / 1.3)
    assert calcium_time_above(2, 100.0, 1.3) == pytest.approx(expected)
    # At 1 Hz every pulse decays before the next: never above 1.3.
    assert calcium_time_above(900, 1.0, 1.3) == 0.0
    # A long train is above the threshold for about a second per 100 pulses.
    assert 0.95 < calcium_time_above(100, 100.0, 1.3) < 1.0


def test_window_mean_and_decay_time_constant_golden():
    times = np.arange(0, 8.01, 1 / 12)
    rows = []
    for agent, tau in ((0, 1.0), (1, 2.0)):
        rows.append(pd.DataFrame({"group": "weak_alone", "agent": agent, "time_h": times,
                                  "weak_pathway": 20.0 * np.exp(-times / tau)}))  # fmt: skip
    tc = pd.concat(rows, ignore_index=True)
    # mean of 20 exp(-t) over t in {1, 13/12, ..., 2} (13 records)
    window = window_mean(tc, "weak_alone", "weak_pathway", 0.0, (1.0, 2.0))
    expected = 20.0 * np.exp(-np.arange(12, 25) / 12).mean()
    assert window[0] == pytest.approx(expected)
    # area / initial value of an exponential: tau (1 - exp(-8 / tau)), up to trapezoids
    taus = decay_time_constants(tc)
    assert taus == pytest.approx([1 - math.exp(-8), 2 * (1 - math.exp(-4))], rel=2e-3)


def test_protocols_and_names():
    config = Config.quick()
    names = [p.name for p in protocols(config)]
    assert names[:2] == ["weak_alone", "strong_alone"]
    assert {"weak_then_strong_5min", "weak_then_strong_1h", "weak_then_strong_3h",
            "strong_then_weak_30min", "blocker", "no_capture",
            "weak_then_dopamine_30min"} <= set(names)  # fmt: skip
    assert interval_name(5 / 60) == "5min" and interval_name(2.0) == "2h"
    blocker = next(p for p in protocols(config) if p.name == "blocker")
    assert blocker.blocker_h == (-0.5, 2.0) and blocker.weak_h == 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"dt": 100.0}, "dt=100.0 is invalid"),
     ({"pair_interval_h": 0.75}, "pair_interval_h=0.75 must be one of"),
     ({"weak_before_strong_h": (1.0, 3.0)}, "needs 5 min"),
     ({"follow_h": 5.0}, "follow_h=5.0 is invalid")],
)  # fmt: skip
def test_bad_config_is_a_clear_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        Config(**overrides)
