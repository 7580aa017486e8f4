"""LoopVectorEnv (agents/vector_env.py), the vector env PlasticAgent makes for a Gymnasium task
without a native vector env, gives exactly what gymnasium's SyncVectorEnv gives."""

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.agents.vector_env import LoopVectorEnv, population_env


def assert_same(a, b):
    """Equal structure, dtypes, shapes and bytes (object arrays: equal elements)."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        x, y = np.asarray(a), np.asarray(b)
        assert (x.dtype, x.shape) == (y.dtype, y.shape)
        if x.dtype == object:
            assert (x == y).all()
        else:
            assert x.tobytes() == y.tobytes()


# MountainCar: truncation by TimeLimit (200 steps); FrozenLake: info and termination;
# Blackjack: a Tuple observation space; Pendulum: Box actions.
@pytest.mark.parametrize(
    "env_id", ["MountainCar-v0", "FrozenLake-v1", "Blackjack-v1", "Pendulum-v1"]
)
def test_each_step_equals_sync_vector_env(env_id):
    sync = gym.make_vec(env_id, num_envs=6, vectorization_mode="sync")
    loop = LoopVectorEnv.adopt(gym.make_vec(env_id, num_envs=6, vectorization_mode="sync"))
    assert_same(sync.reset(seed=5), loop.reset(seed=5))
    sync.action_space.seed(1)
    ended = 0
    for _ in range(450):
        actions = sync.action_space.sample()
        expected = sync.step(actions)
        assert_same(expected, loop.step(actions))
        ended += int(np.sum(expected[2] | expected[3]))
    assert ended > 0  # episodes ended and were reset next step
    assert all(direct is not None for direct in loop._bypass)  # the core envs were stepped


def test_time_limit_truncates_at_the_same_step_when_stepping_the_core_env():
    loop = LoopVectorEnv.adopt(
        gym.make_vec("MountainCar-v0", num_envs=2, vectorization_mode="sync")
    )
    loop.reset(seed=0)
    truncated_at = [t for t in range(1, 402) if loop.step(np.zeros(2, dtype=np.int64))[3].all()]
    assert truncated_at == [200, 401]  # step 201 is the reset (NEXT_STEP autoreset)


def test_an_id_without_a_vector_entry_point_gets_a_loop_vector_env():
    env, env_id, _ = population_env("FrozenLake-v1", 3, None)
    assert type(env) is LoopVectorEnv and env_id == "FrozenLake-v1"
    assert env.spec.id == "FrozenLake-v1" and env.num_envs == 3
    native, _, _ = population_env("plasticgym/ReversalBandit-v0", 3, None)
    assert not isinstance(native, gym.vector.SyncVectorEnv)
    with pytest.raises(ValueError, match="needs a SyncVectorEnv"):
        LoopVectorEnv.adopt(native)


def test_a_plastic_agent_learns_the_same_as_on_sync_vector_env():
    kwargs = {"n_agents": 4, "seed": 3}
    fast = PlasticAgent("MountainCar-v0", **kwargs)
    sync = gym.make_vec("MountainCar-v0", num_envs=4, vectorization_mode="sync")
    slow = PlasticAgent(sync, **kwargs)
    assert type(fast.env) is LoopVectorEnv and type(slow.env) is gym.vector.SyncVectorEnv
    fast.learn(260, record=True)
    slow.learn(260, record=True)
    pd.testing.assert_frame_equal(fast.records, slow.records)
    assert fast.actor.weights.numpy().tobytes() == slow.actor.weights.numpy().tobytes()
