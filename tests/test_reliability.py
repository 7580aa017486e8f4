"""Fault injection (issue 19): hostile and corrupted checkpoints, diverging learning, requests
too large for memory, and command-line mistakes each end in one clear error, never in a raw
traceback, a silent NaN or an unloadable file."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import plasticgym.guards
from plasticgym.agents import (
    ModelBasedAgent,
    PlasticAgent,
    QLearningAgent,
    SarsaLambdaAgent,
    TDActorCriticAgent,
)
from plasticgym.checkpoint import CHECKSUM_KEY, METADATA_KEY, CheckpointError, load_checkpoint
from plasticgym.cli import main
from plasticgym.guards import (
    MemoryLimitError,
    NonFiniteError,
    check_device,
    check_memory,
    check_threads,
    max_threads,
)

ENV = "plasticgym/ReversalBandit-v0"


def rewrite(src, dst, meta_change=None, tensor_change=None, raw_meta=None):
    """Copy checkpoint ``src`` to ``dst`` with edited metadata or tensors and *no* digest: a
    hostile file (an attacker strips the checksum, as a checkpoint older than it has none)."""
    tensors, meta = load_checkpoint(src)
    if meta_change is not None:
        meta_change(meta)
    if tensor_change is not None:
        tensor_change(tensors)
    text = raw_meta if raw_meta is not None else json.dumps(meta)
    save_file(tensors, str(dst), metadata={METADATA_KEY: text})
    return dst


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A Q-learning and a plastic population saved mid-run (with rollout and env state)."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for cls in (QLearningAgent, PlasticAgent):
        agent = cls(ENV, n_agents=2, seed=0)
        agent.learn(20)
        paths[cls] = agent.save(folder / f"{cls.__name__}.safetensors")
    return paths


def _set(key, value):
    return lambda meta: meta.__setitem__(key, value)


def _set_seed(meta):
    meta["seeds"]["learn_seed"] = 2**70


def _zero_generator(tensors):
    tensors["generator.learn"] = torch.zeros_like(tensors["generator.learn"])


def _array_names(meta):
    meta["env_state"]["array_names"] = "abc"


def _extra(tensors):
    tensors["evil"] = torch.ones(3)


HOSTILE = {  # name: (rewrite arguments, words the error must contain)
    "mt19937 state of zeros": ({"tensor_change": _zero_generator}, "random-generator state"),
    "seed 2**70": ({"meta_change": _set_seed}, "seeds.learn_seed"),
    "verbose 'abc'": ({"meta_change": _set("verbose", "abc")}, "verbose='abc'"),
    "verbose 1.5": ({"meta_change": _set("verbose", 1.5)}, "verbose=1.5"),
    "env_state a string": ({"meta_change": _set("env_state", "abc")}, "env_state='abc'"),
    "array_names a string": ({"meta_change": _array_names}, "array_names"),
    "100k-deep JSON": (
        {
            "raw_meta": '{"format": "plasticgym-checkpoint", "x": '
            + "[" * 100_000
            + "]" * 100_000
            + "}"
        },
        "nested too deeply",
    ),
    "has_rollout 'no'": ({"meta_change": _set("has_rollout", "no")}, "has_rollout='no'"),
    "device [1]": ({"meta_change": _set("device", [1])}, "device=[1]"),
    "config a string": ({"meta_change": _set("config", "abc")}, "config='abc'"),
    "seeds a list": ({"meta_change": _set("seeds", [1, 2])}, "seeds=[1, 2]"),
    "num_timesteps 2**70": ({"meta_change": _set("num_timesteps", 2**70)}, "num_timesteps"),
    "run_dir a list": ({"meta_change": _set("run_dir", ["x"])}, "run_dir"),
    "an unknown extra tensor": ({"tensor_change": _extra}, "does not use: ['evil']"),
    "n_agents 1e6 in a small file": ({"meta_change": _set("n_agents", 10**6)}, "claims n_agents"),
    "an unknown env argument": ({"meta_change": _set("env_kwargs", {"bogus": 1})}, "bogus"),
}


@pytest.mark.parametrize("cls", [QLearningAgent, PlasticAgent], ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_checkpoint_raises_a_checkpoint_error_naming_the_field(
    saved, tmp_path, cls, case
):
    arguments, words = HOSTILE[case]
    path = rewrite(saved[cls], tmp_path / "hostile.safetensors", **arguments)
    with pytest.raises(CheckpointError, match=None) as error:
        cls.load(path)
    assert words in str(error.value)


@pytest.mark.parametrize("value", [1e30, -0.5])
def test_tampered_plastic_weights_outside_their_bounds_are_refused(saved, tmp_path, value):
    def change(tensors):
        tensors["model.actor.weights"][0, 0, 0] = value

    path = rewrite(saved[PlasticAgent], tmp_path / "w.safetensors", tensor_change=change)
    with pytest.raises(CheckpointError, match="outside the bounds"):
        PlasticAgent.load(path)


def test_an_unaltered_checkpoint_without_a_digest_still_loads(saved, tmp_path):
    """(what a checkpoint of an earlier version is: tests/test_agent_compat.py loads two)"""
    path = rewrite(saved[PlasticAgent], tmp_path / "old.safetensors")
    loaded = PlasticAgent.load(path)
    loaded.learn(5)


def test_a_flipped_byte_fails_the_checksum(saved, tmp_path):
    data = bytearray(saved[QLearningAgent].read_bytes())
    data[-3] ^= 0x01  # the last tensor's bytes
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="fails its checksum"):
        QLearningAgent.load(path)


def test_edited_metadata_under_the_old_digest_fails_the_checksum(saved, tmp_path):
    from safetensors import safe_open

    with safe_open(str(saved[QLearningAgent]), framework="pt") as handle:
        digest = handle.metadata()[CHECKSUM_KEY]
    tensors, meta = load_checkpoint(saved[QLearningAgent])
    meta["num_timesteps"] = 5
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(meta), CHECKSUM_KEY: digest})
    with pytest.raises(CheckpointError, match="fails its checksum"):
        QLearningAgent.load(path)


def test_a_checkpoint_continues_only_its_own_tensorboard_run(tmp_path):
    logs = tmp_path / "tb"
    mine = QLearningAgent(ENV, seed=0, tensorboard_log=logs)
    mine.learn(5)
    path = mine.save(tmp_path / "mine.safetensors")
    assert QLearningAgent.load(path).run_dir == mine.run_dir
    other = QLearningAgent(ENV, seed=1, tensorboard_log=logs)
    other.learn(5)
    other.save(tmp_path / "other.safetensors")  # (writes its events)
    pointed = rewrite(path, tmp_path / "p.safetensors", _set("run_dir", str(other.run_dir)))
    with pytest.warns(UserWarning, match="not created for this checkpoint"):
        assert QLearningAgent.load(pointed).run_dir is None


# ------------------------------------------------------------------ silent NaN


@pytest.mark.parametrize(
    ("env", "hyperparameters", "named"),
    [
        (ENV, {"critic_lr": 1e39}, "critic_lr=1e+39"),
        ("plasticgym/Addiction-v0", {"dopamine_gain_positive": 1e38}, "dopamine_gain_positive"),
        (ENV, {"microstimulus_width": 1e-30}, "microstimulus_width=1e-30"),
    ],
)
def test_extreme_in_range_hyperparameters_stop_plastic_learning_naming_the_cause(
    env, hyperparameters, named
):
    agent = PlasticAgent(env, n_agents=2, seed=0, **hyperparameters)
    with pytest.raises(NonFiniteError, match="became NaN or infinite at step") as error:
        agent.learn(300)
    assert named in str(error.value)


class HugeReward(gym.Wrapper):
    """A finite reward close to float32's largest number."""

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, 3e38, terminated, truncated, info


class NanObservation(gym.Wrapper):
    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return np.full_like(obs, np.nan), reward, terminated, truncated, info


@pytest.mark.parametrize(
    "cls", [QLearningAgent, SarsaLambdaAgent, TDActorCriticAgent, ModelBasedAgent]
)
def test_huge_finite_rewards_stop_every_tabular_agent_naming_them(cls):
    agent = cls(HugeReward(gym.make(ENV)), seed=0)
    with pytest.raises(NonFiniteError, match="rewards as large as 3e\\+38"):
        agent.learn(50)


def test_a_nan_observation_is_refused_at_its_step():
    agent = PlasticAgent(NanObservation(gym.make(ENV)), seed=0)
    with pytest.raises(NonFiniteError, match="non-finite observation at step 0"):
        agent.learn(5)


def test_save_refuses_non_finite_state_and_writes_nothing(tmp_path):
    agent = QLearningAgent(ENV, n_agents=2, seed=0)
    agent.learn(5)
    agent.q_values[1, 0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"model\.q"):
        agent.save(tmp_path / "nan.safetensors")
    assert not list(tmp_path.iterdir())


def test_fuzzed_hyperparameters_either_learn_and_round_trip_or_raise_naming_the_cause(tmp_path):
    """Learning rates and gains drawn log-uniformly over their documented ranges (> 0, up to
    1e38): every draw either learns with finite state, saves and loads, or stops with a
    NonFiniteError; never NaN weights, never an unloadable file."""
    rng = np.random.default_rng(19)
    outcomes = []
    for i in range(6):
        hyper = {
            name: float(10 ** rng.uniform(-3, 38))
            for name in ("critic_lr", "actor_lr", "dopamine_gain_positive")
        }
        agent = PlasticAgent(ENV, n_agents=2, seed=i, **hyper)
        try:
            agent.learn(60)
        except NonFiniteError as error:
            outcomes.append("stopped")
            assert "Likely cause" in str(error)
            continue
        outcomes.append("learned")
        assert not agent._nonfinite_state()
        PlasticAgent.load(agent.save(tmp_path / f"fuzz{i}.safetensors")).learn(5)
    assert "stopped" in outcomes  # (the draws reach far beyond what float32 can take)


class NanRewardLater(gym.Wrapper):
    """NaN rewards (or observations) from the 20th step on, as a buggy env would give."""

    def __init__(self, env, what):
        super().__init__(env)
        self.what, self.steps = what, 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps >= 20:
            if self.what == "reward":
                reward = float("nan")
            else:
                obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info


@pytest.mark.parametrize("what", ["reward", "observation"])
def test_sb3_dqn_refuses_nan_rewards_and_observations_at_their_step(what):
    pytest.importorskip("stable_baselines3")
    from plasticgym.agents import SB3Agent

    env = NanRewardLater(gym.make(ENV), what)
    agent = SB3Agent(env, algo="DQN", seed=0, learning_starts=5, buffer_size=100)
    with pytest.raises(NonFiniteError, match=f"non-finite {what} at step 19|reward nan at step 19"):
        agent.learn(100)


def test_sb3_divergence_is_caught_after_the_update_naming_the_learning_rate(tmp_path):
    pytest.importorskip("stable_baselines3")
    from plasticgym.agents import SB3Agent

    agent = SB3Agent(ENV, algo="DQN", seed=0, learning_rate=1e30, learning_starts=5,
                     buffer_size=100)  # fmt: skip
    with pytest.raises(NonFiniteError, match="learning_rate=1e\\+30"):
        agent.learn(200)
    with pytest.raises(NonFiniteError, match="cannot save"):
        agent.save(tmp_path / "diverged.safetensors")
    assert not list(tmp_path.iterdir())


def test_sb3_buffers_too_large_for_memory_are_refused_before_allocating(small_memory):
    pytest.importorskip("stable_baselines3")
    from plasticgym.agents import SB3Agent

    with pytest.raises(MemoryLimitError, match=r"rollout buffer of 29\.8 GiB"):
        SB3Agent(ENV, algo="PPO", seed=0, n_steps=10**9)
    with pytest.raises(MemoryLimitError, match="replay buffer"):
        SB3Agent(ENV, algo="DQN", seed=0, buffer_size=10**10)


# ------------------------------------------------------------------ memory and devices


@pytest.fixture
def small_memory(monkeypatch):
    """A machine with 4 GiB available, whatever this one has."""
    monkeypatch.setattr(plasticgym.guards, "available_memory", lambda: 4 * 2**30)


@pytest.mark.parametrize("cls", [PlasticAgent, QLearningAgent], ids=lambda c: c.__name__)
def test_a_population_too_large_for_memory_is_refused_before_allocating(small_memory, cls):
    with pytest.raises(MemoryLimitError, match=r"n_agents=100,000,000 .* needs about"):
        cls("plasticgym/Addiction-v0", n_agents=10**8, seed=0)


def test_check_memory_names_the_size():
    check_memory("a small thing", 10, "hint", available=100)
    with pytest.raises(MemoryLimitError, match=r"a big thing needs about 1\.0 GiB .* hint"):
        check_memory("a big thing", 2**30, "hint", available=2**20)


def test_devices_and_threads_are_checked():
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='bogus' is invalid"):
        check_device("bogus")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' is not available"):
            check_device("cuda")
    check_threads(1)
    for bad in (0, max_threads() + 1, 100_000, True, 2.0):
        with pytest.raises(ValueError, match="threads="):
            check_threads(bad)


# ------------------------------------------------------------------ the command line


def _train(tmp_path, *extra):
    return ["train", "--env", ENV, "--steps", "4", "--no-progress", "--out", str(tmp_path / "o"),
            *extra]  # fmt: skip


CLI_MISTAKES = {
    "--device bogus": (["--agent", "q_learning", "--device", "bogus"], "device='bogus'"),
    "--threads 100000": (["--agent", "q_learning", "--threads", "100000"], "threads=100000"),
    "--out an existing file": (["--agent", "q_learning", "--out", "FILE"], "existing file"),
}
SB3_MISTAKES = {
    "n_steps=0": "n_steps=0 is invalid",
    "learning_rate=x": "learning_rate='x' is invalid",
    "batch_size=0": "batch_size=0 is invalid",
}


@pytest.mark.parametrize("case", list(CLI_MISTAKES))
def test_train_mistakes_are_one_line_errors(tmp_path, capsys, case):
    arguments, words = CLI_MISTAKES[case]
    (tmp_path / "FILE").write_text("")
    arguments = [str(tmp_path / "FILE") if a == "FILE" else a for a in arguments]
    assert main(_train(tmp_path, *arguments)) == 2
    err = capsys.readouterr().err
    assert err.startswith("plasticgym: error: ") and words in err and err.count("\n") == 1


def test_train_on_an_unavailable_cuda_is_a_one_line_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(_train(tmp_path, "--agent", "q_learning", "--device", "cuda")) == 2
    assert "device='cuda' is not available" in capsys.readouterr().err


@pytest.mark.parametrize("setting", list(SB3_MISTAKES))
def test_bad_sb3_values_are_one_line_errors_before_training(tmp_path, capsys, setting):
    pytest.importorskip("stable_baselines3")
    assert main(_train(tmp_path, "--agent", "ppo", "--set", setting)) == 2
    err = capsys.readouterr().err
    assert SB3_MISTAKES[setting] in err and "Traceback" not in err
    assert not (tmp_path / "o" / "result.json").exists()


def test_sweep_out_an_existing_file_is_a_one_line_error(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text(f'env = "{ENV}"\nagent = "q_learning"\nseeds = 1\n[params]\nsteps = 4\n')
    (tmp_path / "FILE").write_text("")
    code = main(["sweep", str(config), "--out", str(tmp_path / "FILE"), "--no-progress"])
    assert code == 2 and "existing file" in capsys.readouterr().err
