"""Experiments write one named TensorBoard run per population under OUT/tensorboard, and the
logging changes no result (issue 18). One cheap quick experiment (two_step) stands for all."""

from __future__ import annotations

import pandas as pd
import pytest

from plasticgym.experiments import two_step
from plasticgym.experiments.report import run_experiment, run_name, tensorboard_folder
from plasticgym.records import load_records
from plasticgym.tblog import is_run_dir

N_AGENTS = 16
"""Agents per population: small, the test needs the logs and records, not the verdicts."""


@pytest.fixture(scope="module")
def two_step_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("two_step_tb")
    result, paths = run_experiment(
        "two_step", quick=True, seeds=N_AGENTS, out=out, progress_bar=False, threads=1
    )
    return out, result, paths


def test_two_step_writes_one_named_run_per_population(two_step_report):
    out, _, _ = two_step_report
    runs = {path.name: path for path in (out / "tensorboard").iterdir()}
    expected = {f"two_step_{kind}_1" for kind in two_step.Config.quick().kinds}
    assert set(runs) == expected
    assert all(is_run_dir(path) for path in runs.values()), sorted(runs)


def test_logging_changes_no_record(two_step_report):
    _, _, paths = two_step_report
    without_logs = two_step.run(two_step.Config.quick(n_agents=N_AGENTS), None)["trials"]
    logged = load_records(paths.records["trials"])
    pd.testing.assert_frame_equal(
        logged.reset_index(drop=True), without_logs.reset_index(drop=True), check_dtype=False
    )


def test_run_name_makes_group_labels_a_folder_name():
    assert run_name("addiction_relapse", "latent causes, every channel") == (
        "addiction_relapse_latent_causes_every_channel"
    )
    assert run_name("compare", "ReversalBandit-v0", "ppo") == "compare_ReversalBandit-v0_ppo"
    assert tensorboard_folder(None) is None
    with pytest.raises(ValueError, match="tb_log_name"):
        run_name("", " ")
