"""Runs write only under their run folder: nothing appears in the system temp directory."""

import os
import tempfile

import pytest

pytest.importorskip("stable_baselines3")

from plasticgym.agents import PlasticAgent, SB3Agent


@pytest.fixture
def empty_tempdir(tmp_path, monkeypatch):
    """The system temp directory, redirected to an empty folder for the test."""
    folder = tmp_path / "system_tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    assert tempfile.gettempdir() == str(folder)
    return folder


def _litter(folder):
    """What a run left in ``folder``, less torch's own compile cache: constructing any
    ``torch.optim`` optimizer (SB3's Adam) creates ``torchinductor_<user>`` there once per
    machine, whatever the caller does (set ``TORCHINDUCTOR_CACHE_DIR`` to move it)."""
    return sorted(name for name in os.listdir(folder) if not name.startswith("torchinductor_"))


@pytest.mark.parametrize(
    ("algo", "kwargs"),
    [("PPO", {"n_steps": 16, "batch_size": 16}), ("A2C", {"n_steps": 8}), ("DQN", {})],
)
def test_sb3_agent_learn_save_load_writes_nothing_to_temp(empty_tempdir, tmp_path, algo, kwargs):
    agent = SB3Agent("plasticgym/ReversalBandit-v0", algo=algo, n_agents=2, seed=0, **kwargs)
    agent.learn(32, record=True)
    path = tmp_path / "run" / "agent"
    agent.save(path)
    loaded = SB3Agent.load(path)
    loaded.learn(16)
    assert _litter(empty_tempdir) == []


def test_sb3_agent_tensorboard_logs_stay_in_the_run_folder(empty_tempdir, tmp_path):
    run = tmp_path / "run"
    agent = SB3Agent(
        "plasticgym/ReversalBandit-v0", n_agents=1, seed=0, tensorboard_log=run, n_steps=16,
        batch_size=16,
    )  # fmt: skip
    agent.learn(16)
    agent.close()
    assert _litter(empty_tempdir) == []
    assert any(run.rglob("events.out.tfevents.*"))


def test_plastic_agent_learn_writes_nothing_to_temp(empty_tempdir, tmp_path):
    agent = PlasticAgent("plasticgym/ReversalBandit-v0", n_agents=4, seed=0)
    agent.learn(64, record=True)
    agent.save(tmp_path / "plastic")
    assert _litter(empty_tempdir) == []
