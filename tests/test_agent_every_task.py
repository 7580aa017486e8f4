"""Every registered agent on every registered task: learn with records, predict, save, load and
learn on (issue 4). Combinations an agent does not support raise a clear ``ValueError`` at
construction, naming the space (or, for the model-based learner, the states that would not fit
its dense transition model).

The agents come from the registry (:data:`plasticgym.agents.AGENTS`) and the tasks from the
Gymnasium registry, so a new agent or task is covered without touching this file. Each task runs
with its module's ``TEST_KWARGS`` (short episodes); the Stable-Baselines3 agents get tiny
networks and rollouts (they are slow per step). Skipped for the SB3 names when Stable-Baselines3
is not installed.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from plasticgym.agents import AGENTS, agent_class, make_agent
from plasticgym.agents.tabular import MAX_MODEL_ENTRIES, StateEncoder
from plasticgym.docs import task_class, task_ids
from plasticgym.extras import MissingExtraError

TASKS = task_ids()
DISCRETE_ACTIONS_ONLY = {"q_learning", "sarsa_lambda", "td_actor_critic", "model_based", "dqn",
                         "spiking"}  # fmt: skip
"""Agents that choose among a finite set of actions (tabular learners, DQN, spiking)."""
NET = {"policy_kwargs": {"net_arch": [8]}}
SMALL = {
    "ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1, **NET},
    "a2c": {"n_steps": 8, **NET},
    "dqn": {"learning_starts": 8, "buffer_size": 100, "batch_size": 8, "train_freq": 4,
            "target_update_interval": 16, **NET},
    "recurrent_ppo": {"n_steps": 16, "batch_size": 16, "n_epochs": 1,
                      "policy_kwargs": {"net_arch": [8], "lstm_hidden_size": 8}},
}  # fmt: skip
"""Hyperparameters that keep the SB3 models fast; other agents run with their defaults."""
STEPS, MORE = 64, 16


def _n_agents(name: str) -> int:
    """Population size: SB3 builds one model per agent, so it gets one; the others two."""
    return 1 if name in SMALL else 2


def _test_kwargs(env_id: str) -> dict[str, Any]:
    """The short configuration of the task's module (``TEST_KWARGS``)."""
    return dict(importlib.import_module(task_class(env_id).__module__).TEST_KWARGS)


@functools.cache
def _spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    """The task's (observation, action) spaces under its ``TEST_KWARGS``."""
    env = gym.make(env_id, **_test_kwargs(env_id))
    env.close()
    return env.observation_space, env.action_space


def _unsupported(name: str, env_id: str) -> str | None:
    """The error an agent must raise on the task (a regular expression), None if it runs."""
    observation_space, action_space = _spaces(env_id)
    if name in DISCRETE_ACTIONS_ONLY and not isinstance(action_space, gym.spaces.Discrete):
        return rf"needs a Discrete action space.*{type(action_space).__name__}\("
    if name == "model_based":  # a dense transition model [B, S, A, S + 1]
        S, A = StateEncoder(observation_space).n_states, int(action_space.n)
        if _n_agents(name) * S * A * (S + 1) > MAX_MODEL_ENTRIES:
            return rf"transition model of .* {S} states"
    return None


def _build(name: str, env_id: str) -> Any:
    try:
        agent_class(name)
    except MissingExtraError as error:
        pytest.skip(str(error))
    kwargs = {"n_agents": _n_agents(name), "seed": 0, "env_kwargs": _test_kwargs(env_id)}
    return make_agent(name, env_id, **kwargs, **SMALL.get(name, {}))


COMBOS = [(name, env_id) for name in AGENTS for env_id in TASKS]


@pytest.mark.parametrize(
    ("name", "env_id"),
    [c for c in COMBOS if _unsupported(*c) is None],
    ids=lambda v: v.split("/")[-1],
)
def test_agent_learns_predicts_saves_and_loads(name, env_id, tmp_path):
    n_agents = _n_agents(name)
    agent = _build(name, env_id).learn(STEPS, record=True)
    assert agent.num_timesteps == STEPS
    records = agent.records
    assert len(records) > 0 and set(records["agent"]) == set(range(n_agents))
    assert {"trial", "phase", "t_in_trial", "reward", "rpe", "value"} <= set(records.columns)
    # RecurrentPPO's records have no per-step value / rpe (docs/agents.md)
    diagnostics = ["reward"] if name == "recurrent_ppo" else ["reward", "rpe", "value"]
    assert np.isfinite(records[diagnostics].to_numpy(dtype=float)).all()

    obs_space, action_space = _spaces(env_id)
    obs_space.seed(0)
    batch = np.stack([obs_space.sample() for _ in range(n_agents)])
    for deterministic in (False, True):
        actions, _ = agent.predict(batch, deterministic=deterministic)
        actions = np.asarray(actions).reshape(n_agents, *action_space.shape)
        assert all(action_space.contains(a.astype(action_space.dtype)) for a in actions)

    loaded = type(agent).load(agent.save(tmp_path / "agent"))
    loaded.learn(MORE, record=True)
    assert loaded.num_timesteps == STEPS + MORE
    assert loaded.records["step"].min() >= STEPS
    loaded.close()
    agent.close()


@pytest.mark.parametrize(
    ("name", "env_id"),
    [c for c in COMBOS if _unsupported(*c) is not None],
    ids=lambda v: v.split("/")[-1],
)
def test_unsupported_combination_raises_a_clear_error(name, env_id):
    with pytest.raises(ValueError, match=_unsupported(name, env_id)):
        _build(name, env_id)
