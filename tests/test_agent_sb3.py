"""SB3Agent: the Stable-Baselines3 baselines (PPO, A2C, DQN) behind plasticgym's agent API.

Skipped as a whole when Stable-Baselines3 (the optional extra ``plasticgym[sb3]``) is missing.
"""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip(
    "stable_baselines3", reason="Stable-Baselines3 is not installed (pip install plasticgym[sb3])"
)

from plasticgym.agents.sb3 import ALGOS, SB3Agent, population_seeds
from plasticgym.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from plasticgym.records import CORE_COLUMNS

BANDIT = "plasticgym/ReversalBandit-v0"
REACHING = "plasticgym/Reaching-v0"
SHORT = {"n_trials": 20, "reversal_every": 8}  # episodes end within the tests
SMALL = {
    "PPO": {"n_steps": 16, "batch_size": 16, "n_epochs": 2, "policy_kwargs": {"net_arch": [8]}},
    "A2C": {"n_steps": 8, "policy_kwargs": {"net_arch": [8]}},
    "DQN": {
        "learning_starts": 8,
        "buffer_size": 200,
        "batch_size": 8,
        "train_freq": (4, "step"),
        "target_update_interval": 16,
        "policy_kwargs": {"net_arch": [8]},
    },
}
BANDIT_INFO = ["correct_arm", "correct", "reversal", "reversals", "novelty"]
ONE = np.ones(1, dtype=np.float32)


def _agent(algo="PPO", env=BANDIT, **kwargs):
    defaults = {"n_agents": 2, "seed": 3, "env_kwargs": SHORT if env == BANDIT else None}
    return SB3Agent(env, algo=algo, **{**defaults, **SMALL[algo], **kwargs})


def _assert_same_tensors(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("algo", ALGOS)
def test_learn_predict_save_load_round_trip(algo, tmp_path):
    agent = _agent(algo).learn(48, record=True)
    assert agent.num_timesteps == 48
    assert list(agent.records.columns) == [*CORE_COLUMNS, *BANDIT_INFO]
    batch = np.ones((2, 1), dtype=np.float32)
    actions, state = agent.predict(batch, deterministic=True)
    assert actions.shape == (2,) and state is None
    assert set(actions.tolist()) <= {0, 1}

    path = agent.save(tmp_path / f"{algo}.safetensors")
    _, meta = load_checkpoint(path)
    assert meta["algo"] == algo and meta["n_agents"] == 2
    loaded = SB3Agent.load(path)
    assert loaded.algo_kwargs == agent.algo_kwargs  # tuples and nested dicts survive
    np.testing.assert_array_equal(loaded.predict(batch, deterministic=True)[0], actions)
    np.testing.assert_array_equal(loaded.predict(ONE, deterministic=True)[0], actions)
    for old, new in zip(agent.models, loaded.models, strict=True):
        _assert_same_tensors(old.policy.state_dict(), new.policy.state_dict())
        old_opt, new_opt = old.policy.optimizer.state_dict(), new.policy.optimizer.state_dict()
        assert old_opt["param_groups"] == new_opt["param_groups"]
        for index, entry in old_opt["state"].items():
            _assert_same_tensors(entry, new_opt["state"][index])
        assert new.num_timesteps == old.num_timesteps
        assert new._n_updates == old._n_updates
    # learning continues exactly where it stopped (same episode, env, streams, buffers)
    loaded.learn(16, record=True)
    assert loaded.num_timesteps == 64
    rows = loaded.records
    assert rows.groupby("agent")["step"].min().tolist() == [48, 48]
    agent.learn(16, record=True)
    later = agent.records[agent.records["step"] >= 48].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, later, check_exact=True)
    for old, new in zip(agent.models, loaded.models, strict=True):
        _assert_same_tensors(old.policy.state_dict(), new.policy.state_dict())


def test_an_env_given_at_load_starts_a_new_episode_with_fresh_streams(tmp_path):
    agent = _agent("PPO").learn(48, record=True)
    loaded = SB3Agent.load(agent.save(tmp_path / "ppo"), env=BANDIT)
    loaded.learn(16, record=True)
    last_episode = agent.records.groupby("agent")["episode"].max()
    assert (loaded.records.groupby("agent")["episode"].min() == last_episode + 1).all()


def test_ppo_on_reaching_box_actions(tmp_path):
    agent = _agent("PPO", env=REACHING, n_agents=1).learn(16, record=True)
    rows = agent.records
    assert len(rows) == 16
    assert {"target", "angular_error", "hit", "timeout"} <= set(rows.columns)
    action_space = agent.envs[0].action_space
    for action in rows["action"]:
        assert action.shape == action_space.shape and action_space.contains(action)
    obs = agent.envs[0].observation_space.sample()
    action, _ = agent.predict(obs, deterministic=True)
    assert action.shape == action_space.shape
    loaded = SB3Agent.load(agent.save(tmp_path / "reach"))
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], action)


def test_records_follow_their_definitions():
    agent = _agent("PPO").learn(32, record=True)
    rows = agent.records
    assert rows["dopamine"].isna().all()
    assert np.isfinite(rows[["rpe", "value", "reward"]].to_numpy()).all()
    for _, own in rows.groupby("agent"):
        assert own["step"].tolist() == list(range(32))
        assert own["trial"].tolist() == [s % 20 for s in range(32)]  # 20-trial episodes
        assert own["episode"].tolist() == [s // 20 for s in range(32)]
    # Within one rollout the weights are fixed and the observation is constant, so
    # rpe_t = r_t + gamma * V(o_t+1) - V(o_t) with V(o_t) the previous row's value.
    gamma = agent.models[0].gamma
    row = rows[(rows["agent"] == 0) & (rows["step"].between(1, 15)) & (rows["trial"] < 19)]
    previous = rows.loc[row.index - 1, "value"].to_numpy()
    expected = row["reward"] + gamma * row["value"] - previous
    np.testing.assert_allclose(row["rpe"], expected, rtol=1e-5, atol=1e-6)
    # the last trial of an episode terminates: no bootstrap
    last = rows[(rows["agent"] == 0) & (rows["trial"] == 19)].iloc[0]
    assert last["rpe"] == pytest.approx(last["reward"] - rows.loc[last.name - 1, "value"], abs=1e-6)


def test_same_seed_identical_records_and_independent_agents():
    before = np.random.get_state()[1].copy(), torch.get_rng_state()
    a = _agent("PPO").learn(32, record=True)
    b = _agent("PPO")
    b.learn(16, record=True)
    b.predict(ONE)  # predicting between learn calls does not change learning
    b.learn(16, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    _assert_same_tensors(a.models[1].policy.state_dict(), b.models[1].policy.state_dict())
    # agent i does not depend on the population's size; other seeds differ
    single = _agent("PPO", n_agents=1).learn(32, record=True)
    pd.testing.assert_frame_equal(single.records, a.records[a.records["agent"] == 0])
    other = _agent("PPO", seed=4).learn(32, record=True)
    assert not other.records["action"].equals(a.records["action"])
    # the user's global generators are left as they were
    np.testing.assert_array_equal(np.random.get_state()[1], before[0])
    assert torch.equal(torch.get_rng_state(), before[1])


def test_loading_twice_gives_the_same_continuation(tmp_path):
    path = _agent("DQN").learn(24).save(tmp_path / "dqn")
    first = SB3Agent.load(path).learn(16, record=True).records
    second = SB3Agent.load(path).learn(16, record=True).records
    pd.testing.assert_frame_equal(first, second)


def test_population_seeds_fan_out():
    seeds = population_seeds(0, 3)
    assert seeds.entropy == 0 and len(set(seeds.model + seeds.predict)) == 6
    assert population_seeds(0, 1).model == seeds.model[:1]
    assert population_seeds(None, 2).entropy != population_seeds(None, 2).entropy


def test_invalid_arguments():
    with pytest.raises(
        ValueError, match=r"algo='SAC' is invalid.*\['A2C', 'DQN', 'PPO', 'RecurrentPPO'\]"
    ):
        SB3Agent(BANDIT, algo="SAC")
    with pytest.raises(ValueError, match=r"unknown PPO argument.*n_stepz"):
        SB3Agent(BANDIT, n_stepz=8)
    with pytest.raises(ValueError, match="set by SB3Agent"):
        SB3Agent(BANDIT, tensorboard_log=None, _init_setup_model=False)
    with pytest.raises(ValueError, match="DQN needs a Discrete action space"):
        SB3Agent(REACHING, algo="DQN")
    with pytest.raises(ValueError, match="unknown env id"):
        SB3Agent("plasticgym/Nope-v0")
    with pytest.raises(ValueError, match="n_agents"):
        SB3Agent(BANDIT, n_agents=0)
    agent = _agent("PPO")
    with pytest.raises(ValueError, match="expected"):
        agent.predict(np.ones((3, 1), dtype=np.float32))
    assert SB3Agent(BANDIT, algo="a2c", n_steps=4).algo == "A2C"


def test_unsaveable_hyperparameters_fail_clearly(tmp_path):
    agent = SB3Agent(BANDIT, learning_rate=lambda p: 1e-3 * p, n_steps=16, batch_size=16)
    with pytest.raises(ValueError, match=r"learning_rate.*cannot be stored as JSON"):
        agent.save(tmp_path / "schedule")
    assert not list(tmp_path.iterdir())


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    agent = _agent("PPO")
    path = agent.save(tmp_path / "good")
    data = path.read_bytes()
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        SB3Agent.load(corrupt)
    tensors, meta = load_checkpoint(path)
    for change, message in [
        ({"algo": "SAC"}, "invalid metadata"),
        ({"agent": "PlasticAgent"}, "not a SB3Agent"),
        ({"algo_kwargs": {"policy_kwargs": {"activation_fn": {"__torch_class__": "os.system"}}}},
         "invalid metadata"),
        ({"n_agents": 3}, "n_agents=3 entries"),
        ({"verbose": 7}, "invalid metadata"),
        ({"env_kwargs": [1]}, "must be a mapping"),
        ({"env_id": None}, "no registered id; pass env="),
    ]:  # fmt: skip
        bad = tmp_path / "bad.safetensors"
        header = {k: v for k, v in meta.items() if k not in ("format", "version")}
        save_checkpoint(bad, tensors, {**header, **change})
        with pytest.raises(CheckpointError, match=message):
            SB3Agent.load(bad)
    name = next(n for n in tensors if n.startswith("agent1.policy."))
    for bad_tensors, message in [
        ({**tensors, name: tensors[name][..., :1]}, "shape"),
        ({**tensors, name: tensors[name] * math.nan}, "NaN"),
        ({k: v for k, v in tensors.items() if k != name}, "lacks"),
        ({**tensors, "agent0.policy.extra": torch.zeros(1)}, "lacks"),
    ]:
        bad = tmp_path / "bad_tensors.safetensors"
        header = {k: v for k, v in meta.items() if k not in ("format", "version")}
        save_checkpoint(bad, bad_tensors, header)
        with pytest.raises(CheckpointError, match=message):
            SB3Agent.load(bad)


def test_callback_stops_the_population_and_tensorboard_runs_per_agent(tmp_path):
    seen = []

    def stop_after_ten(agent):
        seen.append(agent.learning_agent)
        return len(seen) < 10

    agent = _agent("PPO", tensorboard_log=tmp_path / "runs").learn(32, callback=stop_after_ten)
    assert seen == [0] * 10
    assert [m.num_timesteps for m in agent.models] == [10, 0]
    agent.learn(32)
    assert agent.run_dir == tmp_path / "runs" / "PPO_1"
    for i in range(2):
        assert list((agent.run_dir / f"agent_{i}").glob("events.out.tfevents.*"))
    loaded = SB3Agent.load(agent.save(tmp_path / "tb"))
    assert loaded.run_dir == agent.run_dir
    agent.close()
    loaded.close()


def test_ppo_population_beats_chance_on_the_bandit():
    # One 1000-trial episode without reversals: each agent must find its better arm
    # (p=0.8 vs 0.2; the correct arm is drawn per agent). Chance earns 0.5 per trial.
    steps, window = 320, 128
    agent = SB3Agent(
        BANDIT, n_agents=4, seed=0, env_kwargs={"reversal_rule": "none", "n_trials": 1000},
        n_steps=64, batch_size=64, n_epochs=4, learning_rate=0.01, gamma=0.0,
        policy_kwargs={"net_arch": [16]},
    ).learn(steps, record=True)  # fmt: skip
    late = agent.records[agent.records["step"] >= steps - window]
    for column in ("reward", "correct"):
        per_agent = late.groupby("agent")[column].mean()
        # agents are the independent units; never trust an SE below the binomial one
        se = max(per_agent.std(ddof=1) / math.sqrt(len(per_agent)), 0.5 / math.sqrt(len(late)))
        assert per_agent.mean() > 0.5 + 3 * se, (column, per_agent.tolist(), se)
    early = agent.records[agent.records["step"] < window]
    assert late["correct"].mean() > early["correct"].mean()


def test_missing_sb3_raises_a_clear_import_error():
    # a fresh interpreter in which stable_baselines3 cannot be imported
    script = (
        "import sys\n"
        "sys.modules['stable_baselines3'] = None\n"
        "import plasticgym.agents\n"
        "from plasticgym.agents import SB3Agent\n"
        "try:\n"
        f"    SB3Agent({BANDIT!r})\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pip install plasticgym[sb3]" in done.stdout
