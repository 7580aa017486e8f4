"""The stdp_window experiment: its quick run passes every verdict, each verdict is labelled a
mechanism check or a finding, verdicts flip with corrupted records, and the interval of the
synaptic change has golden values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import quick_runs

from plasticgym.experiments import stdp_window
from plasticgym.experiments.report import analyse_records
from plasticgym.experiments.stdp_window import KINDS, Config, change_ci
from plasticgym.records import load_records


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick run shared with tests/test_experiments.py: its folder and saved result."""
    out, code, printed = quick_runs.quick_run("stdp_window", tmp_path_factory)
    return out, code, printed, json.loads((out / "result.json").read_text())


def test_quick_run_passes_every_verdict(quick_run):
    out, code, printed, result = quick_run
    failed = {k: result["lines"][k] for k, ok in result["verdicts"].items() if not ok}
    assert code == 0 and not failed, (failed, printed)
    assert set(result["verdicts"]) == set(KINDS)
    assert analyse_records("stdp_window", out)["verdicts"] == result["verdicts"]


def test_every_verdict_is_labelled_in_code_and_report(quick_run):
    out, _, _, result = quick_run
    assert set(KINDS.values()) == {"mechanism check", "finding"}
    report = (out / "report.md").read_text()
    for name, line in result["lines"].items():
        assert line.startswith(f"{KINDS[name]}: "), line
        assert f"- [PASS] {name}: {KINDS[name]}: " in report


def _corrupted(out, corrupt) -> dict[str, bool]:
    fields = json.loads((out / "config.json").read_text())
    config = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    corrupt(records["synapses"])
    return stdp_window.analyse(records, config)["verdicts"]


def test_verdicts_flip_with_the_records(quick_run):
    out = quick_run[0]

    def mirror_the_window(synapses):
        """Relabel dt as -dt in the window: LTD and LTP change sides."""
        window = synapses["part"] == "window"
        synapses.loc[window, "delta_t_ms"] *= -1

    verdicts = _corrupted(out, mirror_the_window)
    assert not verdicts["ltd_post_before_pre"] and not verdicts["ltp_pre_before_post"]
    assert not verdicts["window_matches_paper"]
    assert verdicts["ltd_at_low_pairing_rate"]  # the frequency part was left alone

    def nobody_switches(synapses):
        """Every synapse ends where it started: no change anywhere."""
        synapses["rho"] = synapses["rho_0"]

    verdicts = _corrupted(out, nobody_switches)
    assert not verdicts["ltd_post_before_pre"] and not verdicts["ltp_at_high_pairing_rate"]
    assert verdicts["no_change_at_long_delays"]
    assert not verdicts["simulation_matches_theory"]

    def control_potentiates(synapses):
        control = synapses["part"] == "control_theta_p"
        synapses.loc[control, "rho"] = 1.0
        synapses.loc[control, "time_above_p"] += 0.01

    verdicts = _corrupted(out, control_potentiates)
    assert not verdicts["control_no_ltp_without_theta_p"]


def test_change_ci_golden():
    """8 DOWN synapses, 2 ended UP (U = 1/4); 8 UP synapses, 4 ended DOWN (D = 1/2); beta =
    1/2, b = 5, so k = 4/3 and the change is 1 + 4/3 (1/8 - 1/4) = 5/6. Adjusted: U~ = 3/10,
    D~ = 5/10, centre 1 + 4/3 (0.15 - 0.25); se = 4/3 sqrt(0.25 0.21 / 10 + 0.25 0.25 / 10)."""
    ups = np.array([True] * 2 + [False] * 6)
    downs = np.array([True] * 4 + [False] * 4)
    change, low, high = change_ci(ups, downs)
    centre = 1 + 4 / 3 * (0.15 - 0.25)
    half = 1.959964 * 4 / 3 * math.sqrt(0.25 * 0.21 / 10 + 0.25 * 0.25 / 10)
    assert change == pytest.approx(5 / 6)
    assert low == pytest.approx(centre - half, rel=1e-6)
    assert high == pytest.approx(centre + half, rel=1e-6)
    # all switched: still a width
    change, low, high = change_ci(np.ones(50, bool), np.zeros(50, bool))
    assert change == pytest.approx(5 / 3) and low < change and high - low > 0


def test_config_validates():
    with pytest.raises(ValueError, match=r"n_agents=5 is invalid: an even integer"):
        Config(n_agents=5)
    with pytest.raises(ValueError, match=r"control_theta_p=2.5 is invalid: must exceed"):
        Config(control_theta_p=2.5)


def test_frequency_part_reads_the_configured_delays():
    """The frequency verdicts judge the rows of ``Config.frequency_delays_ms``, not the
    default's +-10 ms (with other delays they used to judge empty rows and fail)."""
    config = Config.quick(frequency_delays_ms=(-7.0, 7.0), delays_ms=(-10.0, 10.0))
    records = stdp_window.run(config, None)
    result = stdp_window.analyse(records, config)
    frequency_lines = [v for v in result["lines"].values() if "ms pairs" in v]
    assert frequency_lines and all("dt = -7 ms" in v or "dt = +7 ms" in v for v in frequency_lines)
    assert not any("dt = -10 ms" in v or "dt = +10 ms" in v for v in frequency_lines)
    with pytest.raises(ValueError, match=r"frequency_delays_ms=\(10.0, -10.0\) is invalid"):
        Config(frequency_delays_ms=(10.0, -10.0))
    with pytest.raises(ValueError, match=r"frequencies_hz=\(2.0, 100.0\) is invalid: .* hold 1"):
        Config(frequencies_hz=(2.0, 100.0))
    with pytest.raises(ValueError, match=r"frequencies_hz=\(1.0, 20.0\) is invalid"):
        Config(frequencies_hz=(1.0, 20.0))
