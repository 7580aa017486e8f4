"""The Stable-Baselines3 attributes of every PopulationAgent: spaces, get_env/set_env,
get_parameters, logger."""

import gymnasium as gym
import pytest
import torch

from plasticgym.agents import PlasticAgent, QLearningAgent
from plasticgym.tblog import TensorBoardLogger

BANDIT = "plasticgym/ReversalBandit-v0"


def test_spaces_env_and_logger():
    agent = PlasticAgent(BANDIT, n_agents=2, seed=0)
    assert agent.get_env() is agent.env and agent.get_env().num_envs == 2
    assert agent.observation_space == agent.env.single_observation_space
    assert agent.action_space == agent.env.single_action_space == gym.spaces.Discrete(2)
    assert agent.logger is None


def test_logger_is_the_tensorboard_logger(tmp_path):
    agent = QLearningAgent(BANDIT, n_agents=2, seed=0, tensorboard_log=tmp_path)
    assert isinstance(agent.logger, TensorBoardLogger)
    agent.close()


def test_get_parameters_are_copies_of_the_checkpointed_tensors(tmp_path):
    agent = PlasticAgent(BANDIT, n_agents=2, seed=0)
    agent.learn(20)
    parameters = agent.get_parameters()
    assert parameters and all(isinstance(t, torch.Tensor) for t in parameters.values())
    saved = {name.removeprefix("model.") for name in _checkpoint_names(agent, tmp_path)}
    assert set(parameters) <= saved
    name = next(n for n, t in parameters.items() if t.is_floating_point() and t.numel())
    parameters[name] += 1.0
    assert not torch.equal(agent.get_parameters()[name], parameters[name])


def _checkpoint_names(agent, tmp_path):
    from safetensors import safe_open

    path = agent.save(tmp_path / "agent.safetensors")
    with safe_open(str(path), "pt") as handle:
        return list(handle.keys())


def test_set_env_keeps_the_model_and_is_deterministic():
    def run():
        agent = PlasticAgent(BANDIT, n_agents=2, seed=1)
        agent.learn(30)
        before = agent.get_parameters()
        agent.set_env(BANDIT, p_high=0.9)
        assert agent.env_kwargs == {"p_high": 0.9}
        after = agent.get_parameters()
        assert all(torch.equal(before[n], after[n]) for n in before)
        agent.learn(30, record=True)
        return agent.records

    first, second = run(), run()
    assert len(first) == 2 * 30 and first.equals(second)


def test_set_env_checks_spaces_and_population_size():
    agent = PlasticAgent(BANDIT, n_agents=2, seed=0)
    env = agent.get_env()
    with pytest.raises(ValueError, match="num_envs=3 but n_agents=2"):
        agent.set_env(gym.make_vec(BANDIT, num_envs=3, vectorization_mode="sync"))
    with pytest.raises(ValueError, match="observation space"):
        agent.set_env("plasticgym/Pavlovian-v0")
    assert agent.get_env() is env  # unchanged after a refused env


def test_rollout_steps_are_what_sb3_runs():
    pytest.importorskip("stable_baselines3")
    from plasticgym.agents import SB3Agent
    from plasticgym.agents.sb3 import rollout_steps

    assert rollout_steps("PPO", {}, 1000) == 2048  # PPO's default n_steps
    assert rollout_steps("a2c", {}, 1001) == 1005
    assert rollout_steps("DQN", {"train_freq": (3, "step")}, 10) == 12
    assert rollout_steps("DQN", {"train_freq": (1, "episode")}, 10) is None
    agent = SB3Agent(BANDIT, algo="PPO", n_agents=1, seed=0, n_steps=32, batch_size=32)
    agent.learn(40)
    assert agent.num_timesteps == rollout_steps("PPO", agent.algo_kwargs, 40) == 64
