"""``plasticgym train --checkpoint-every N`` and ``--resume``: a killed run, resumed, equals an
uninterrupted one (records, weights, metrics and TensorBoard curves)."""

import json

import pandas as pd
import pytest
import torch

from plasticgym.agents.base import PopulationAgent
from plasticgym.checkpoint import load_checkpoint
from plasticgym.cli import main
from plasticgym.records import load_records

STEPS, KILL_AT, EVERY, INTERVAL = 300, 250, 100, 30
"""The killed run's last checkpoint (200) is off the logging grid (multiples of 30), and it
logs two points (210, 240) after that checkpoint, which the resumed run must purge."""


def _train(out, *extra):
    argv = ["train", "--env", "plasticgym/ReversalBandit-v0", "--agent", "q_learning",
            "--steps", str(STEPS), "--n-agents", "3", "--seed", "4", "--out", str(out),
            "--set", "learning_rate=0.2", "--set", f"log_interval={INTERVAL}",
            "--tensorboard", "--no-progress", *extra]  # fmt: skip
    return main(argv)


class KilledError(Exception):
    """Stands for SIGKILL: nothing after it runs (main does not catch it)."""


def _kill_at(monkeypatch, step):
    original = PopulationAgent._step

    def dying_step(self, buffer):
        if self.num_timesteps == step:
            self._logger.flush()  # what the killed writer had sent to disk
            raise KilledError
        return original(self, buffer)

    monkeypatch.setattr(PopulationAgent, "_step", dying_step)


def _events(out):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (run,) = (out / "tensorboard").iterdir()
    events = EventAccumulator(str(run), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    return events


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted run, and the same run killed at step 250 then resumed."""
    root = tmp_path_factory.mktemp("resume")
    whole, resumed = root / "whole", root / "resumed"
    assert _train(whole, "--checkpoint-every", str(EVERY)) == 0
    with pytest.MonkeyPatch.context() as patch:
        _kill_at(patch, KILL_AT)
        with pytest.raises(KilledError):
            _train(resumed, "--checkpoint-every", str(EVERY))
    killed = {
        "records": load_records(resumed / "records.parquet"),
        "step": load_checkpoint(resumed / "agent.safetensors")[1]["num_timesteps"],
        "rpe_steps": [e.step for e in _events(resumed).Scalars("plasticity/rpe")],
    }
    assert not (resumed / "result.json").exists()
    assert _train(resumed, "--resume", "--checkpoint-every", str(EVERY)) == 0
    return whole, resumed, killed


def test_the_killed_run_left_its_last_checkpoint_and_the_records_before_it(runs):
    _, _, killed = runs
    assert killed["step"] == 200
    assert int(killed["records"]["step"].max()) == 199
    assert killed["rpe_steps"] == [30, 60, 90, 120, 150, 180, 210, 240]  # 210, 240: orphans


def test_resumed_records_weights_and_metrics_equal_the_uninterrupted_runs(runs):
    whole, resumed, _ = runs
    pd.testing.assert_frame_equal(
        load_records(resumed / "records.parquet"), load_records(whole / "records.parquet")
    )
    pd.testing.assert_frame_equal(
        load_records(resumed / "chance_records.parquet"),
        load_records(whole / "chance_records.parquet"),
    )
    tensors_a, meta_a = load_checkpoint(whole / "agent.safetensors")
    tensors_b, meta_b = load_checkpoint(resumed / "agent.safetensors")
    assert sorted(tensors_a) == sorted(tensors_b)
    for name, tensor in tensors_a.items():
        assert torch.equal(tensor, tensors_b[name]), name
    assert meta_a["num_timesteps"] == meta_b["num_timesteps"] == STEPS
    metrics = [json.loads((out / "result.json").read_text())["metrics"] for out in runs[:2]]
    for key in ("mean_reward", "mean_reward_last20", "chance_reward", "steps"):
        assert metrics[0][key] == metrics[1][key], key


def test_tensorboard_after_resume_is_one_increasing_grid_equal_to_the_uninterrupted(runs):
    whole, resumed, _ = runs
    a, b = _events(whole), _events(resumed)
    for tag in ("plasticity/rpe", "plasticity/mean_abs_rpe", "plasticity/mean_abs_dw"):
        steps = [e.step for e in b.Scalars(tag)]
        assert steps == list(range(INTERVAL, STEPS + 1, INTERVAL)), tag  # purged 210, 240 once
        assert [e.value for e in b.Scalars(tag)] == [e.value for e in a.Scalars(tag)], tag
    assert sorted(b.Tags()["scalars"]) == sorted(a.Tags()["scalars"])
    for tag in a.Tags()["histograms"]:
        steps = [e.step for e in b.Histograms(tag)]
        assert steps == [100, 200, 300] == [e.step for e in a.Histograms(tag)], tag


def test_the_resumed_writer_purges_what_the_killed_run_logged_after_its_checkpoint(runs):
    """TensorBoard's own guess (a step going backwards) would purge too; the resumed writer
    says so explicitly, with a session start at the checkpoint's step + 1."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    _, resumed, _ = runs
    (run,) = (resumed / "tensorboard").iterdir()
    first, second = sorted(run.glob("events.out.tfevents.*"))
    assert not [e for e in EventFileLoader(str(first)).Load() if e.HasField("session_log")]
    starts = [e.step for e in EventFileLoader(str(second)).Load() if e.HasField("session_log")]
    assert starts == [201]


def test_resume_refuses_a_folder_without_checkpoint_and_other_arguments(runs, tmp_path, capsys):
    _, resumed, _ = runs
    assert _train(tmp_path / "empty", "--resume") == 2
    assert "holds no checkpoint (agent.safetensors)" in capsys.readouterr().err
    assert _train(resumed, "--resume", "--seed", "5") == 2
    error = capsys.readouterr().err
    assert "arguments differ" in error and "seed: saved 4, given 5" in error
    assert _train(resumed, "--resume", "--steps", "100") == 2
    assert "has already run 300 steps" in capsys.readouterr().err
    assert _train(tmp_path / "x", "--checkpoint-every", "0") == 2
    assert "--checkpoint-every 0 must be >= 1" in capsys.readouterr().err


def test_resume_extends_a_finished_run_to_a_larger_total(runs, tmp_path):
    whole, _, _ = runs
    out = tmp_path / "extended"
    argv = ["--steps", "150"]
    assert _train(out, *argv) == 0  # a finished run of 150 steps, no periodic checkpoint
    assert _train(out, "--resume") == 0  # to STEPS
    pd.testing.assert_frame_equal(
        load_records(out / "records.parquet"), load_records(whole / "records.parquet")
    )
    rpe = _events(out).Scalars("plasticity/rpe")
    assert [e.step for e in rpe] == list(range(INTERVAL, STEPS + 1, INTERVAL))
    assert [e.value for e in rpe] == [e.value for e in _events(whole).Scalars("plasticity/rpe")]


def test_a_fresh_run_leaves_no_earlier_checkpoint_for_resume(runs, tmp_path, capsys):
    import shutil

    whole, _, _ = runs
    out = tmp_path / "reused"
    shutil.copytree(whole, out)
    with pytest.MonkeyPatch.context() as patch:  # a new run, killed before its first checkpoint
        _kill_at(patch, 50)
        with pytest.raises(KilledError):
            _train(out, "--seed", "9", "--checkpoint-every", str(EVERY))
    assert _train(out, "--seed", "9", "--resume") == 2
    assert "holds no checkpoint" in capsys.readouterr().err


def test_a_tampered_unfinished_interval_is_refused(tmp_path):
    from plasticgym.agents import QLearningAgent
    from plasticgym.checkpoint import CheckpointError, save_checkpoint

    agent = QLearningAgent("plasticgym/ReversalBandit-v0", seed=0, tensorboard_log=tmp_path,
                           log_interval=10).learn(15)  # fmt: skip
    tensors, meta = load_checkpoint(agent.save(tmp_path / "a"))
    agent.close()
    assert meta["tensorboard_pending"]["count"] == 5
    bad = {**meta, "tensorboard_pending": {"count": 10**9, "sums": {}}}
    save_checkpoint(tmp_path / "bad", tensors, bad)
    with pytest.raises(CheckpointError, match="tensorboard_pending"):
        QLearningAgent.load(tmp_path / "bad.safetensors")
