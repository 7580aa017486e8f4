"""``plasticgym train --agent ppo|a2c|dqn --checkpoint-every N`` and ``--resume``: a killed
Stable-Baselines3 run, resumed from its last checkpoint (written between two rollouts of the
model that was learning), equals the uninterrupted run: records, weights, optimizer moments,
random streams and DQN's replay buffer."""

import json

import pandas as pd
import pytest
import torch

pytest.importorskip("stable_baselines3")

from plasticgym.agents.sb3 import RecordingWrapper
from plasticgym.checkpoint import load_checkpoint
from plasticgym.cli import main
from plasticgym.records import load_records

STEPS, EVERY, KILL_AGENT, KILL_AT = 96, 40, 1, 70
SETTINGS = {
    "ppo": ["n_steps=16", "batch_size=16", "n_epochs=2"],
    "a2c": ["n_steps=8"],
    "dqn": ["learning_starts=16", "train_freq=4", "buffer_size=64", "target_update_interval=20"],
}
"""Rollouts of 16, 8 and 4 steps: the killed model's last checkpoint is at its first rollout
start past 40 (48, 48, 44), the replay buffer of 64 has wrapped by the end."""


def _train(out, agent, *extra):
    sets = [item for value in SETTINGS[agent] for item in ("--set", value)]
    argv = ["train", "--env", "plasticgym/Pavlovian-v0", "--agent", agent, "--steps", str(STEPS),
            "--n-agents", "3", "--seed", "6", "--out", str(out), "--no-progress",
            "--checkpoint-every", str(EVERY), *sets, *extra]  # fmt: skip
    return main(argv)


class KilledError(Exception):
    """Stands for SIGKILL: nothing after it runs (main does not catch it)."""


@pytest.mark.parametrize("agent", list(SETTINGS))
def test_a_killed_and_resumed_sb3_run_equals_the_uninterrupted_one(agent, tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert _train(whole, agent) == 0
    original = RecordingWrapper.step

    def dying(self, action):
        if self.agent == KILL_AGENT and self.steps == KILL_AT:
            raise KilledError
        return original(self, action)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordingWrapper, "step", dying)
        with pytest.raises(KilledError):
            _train(resumed, agent)
    _, meta = load_checkpoint(resumed / "agent.safetensors")
    steps = [a["counters"]["num_timesteps"] for a in meta["agents"]]
    assert steps[0] == STEPS and steps[2] == 0 and EVERY <= steps[1] < KILL_AT  # part-way
    assert all(c is not None for c in meta["continuation"])
    killed = load_records(resumed / "records.parquet")
    assert killed.groupby("agent").size().tolist() == [STEPS, steps[1]]

    assert _train(resumed, agent, "--resume") == 0
    pd.testing.assert_frame_equal(
        load_records(resumed / "records.parquet"), load_records(whole / "records.parquet")
    )
    tensors_a, meta_a = load_checkpoint(whole / "agent.safetensors")
    tensors_b, meta_b = load_checkpoint(resumed / "agent.safetensors")
    assert sorted(tensors_a) == sorted(tensors_b)
    assert any(".replay." in name for name in tensors_a) == (agent == "dqn")
    for name, tensor in tensors_a.items():  # (weights, optimizers, streams, buffers, env)
        assert torch.equal(tensor, tensors_b[name]), name
    assert meta_a["agents"] == meta_b["agents"]
    metrics = [json.loads((out / "result.json").read_text())["metrics"] for out in (whole, resumed)]
    for key in ("mean_reward", "mean_reward_last20", "steps"):
        assert metrics[0][key] == metrics[1][key], key


def test_resume_refuses_sb3_records_with_rows_missing(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, "a2c") == 0
    records = load_records(out / "records.parquet")
    records.iloc[:-5].to_parquet(out / "records.parquet", index=False)
    assert _train(out, "a2c", "--resume", "--steps", str(2 * STEPS)) == 2
    assert "lacks the records before step" in capsys.readouterr().err
