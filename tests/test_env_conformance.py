"""Every registered plasticgym task obeys the env conventions of DESIGN.md.

Each task module defines ``TEST_KWARGS``: a short configuration whose episodes end within a
few hundred steps, so that autoresets happen in these tests.
"""

import importlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import SyncVectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st

from plasticgym.docs import task_ids

IDS = task_ids()
STEPS = 400


def _kwargs(env_id):
    module = importlib.import_module(gym.registry[env_id].entry_point.split(":")[0])
    return dict(module.TEST_KWARGS)


def _actions(space, n, seed):
    space = gym.vector.utils.batch_space(space, n)
    space.seed(seed)
    return space


def _assert_info_equal(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_without_warnings(env_id):
    env = gym.make(env_id, **_kwargs(env_id))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_native_vector_env_equals_sync_vector_env(env_id):
    kwargs, n = _kwargs(env_id), 4
    native = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    sync = SyncVectorEnv([lambda: gym.make(env_id, **kwargs).unwrapped] * n)
    assert native.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs_a, info_a = native.reset(seed=11)
    obs_b, info_b = sync.reset(seed=11)
    np.testing.assert_array_equal(obs_a, obs_b)
    _assert_info_equal(info_a, info_b)
    actions = _actions(native.single_action_space, n, seed=3)
    ended = 0
    for _ in range(STEPS):
        action = actions.sample()
        out_a, out_b = native.step(action), sync.step(action)
        for a, b in zip(out_a[:4], out_b[:4], strict=True):
            np.testing.assert_array_equal(a, b)
        _assert_info_equal(out_a[4], out_b[4])
        ended += int(np.sum(out_a[2] | out_a[3]))
    assert ended > 0, "TEST_KWARGS must make episodes end within the test"


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_rollout_and_observations_in_space(env_id):
    def rollout(seed):
        env = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point",
                           **_kwargs(env_id))  # fmt: skip
        obs, _ = env.reset(seed=seed)
        actions = _actions(env.single_action_space, 3, seed)
        trace = [obs]
        for _ in range(200):
            obs, reward, *_ = env.step(actions.sample())
            assert env.observation_space.contains(obs)
            trace += [obs, reward]
        return trace

    first, again, other = rollout(1), rollout(1), rollout(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("env_id", IDS)
def test_required_info_keys_and_phase_reset(env_id):
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    _, info = env.reset(seed=0)
    for key in ("trial", "phase", "t_in_trial"):
        assert key in info, key
    for name in env.dynamics.phase_names:
        _, info = env.reset(options={"phase": name})
        assert info["phase"] == name
    with pytest.raises(ValueError, match="phase"):
        env.reset(options={"phase": "no-such-phase"})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"bogus": 1})


@pytest.mark.parametrize("env_id", IDS)
def test_get_state_set_state_continues_identically(env_id):
    kwargs = _kwargs(env_id)

    def make():
        return gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", **kwargs)

    env = make()
    env.reset(seed=5)
    actions = _actions(env.single_action_space, 3, seed=9)
    for _ in range(57):
        env.step(actions.sample())
    snapshot = env.get_state()
    future = [actions.sample() for _ in range(150)]
    restored = make()
    restored.set_state(snapshot)
    for action in future:
        a, b = env.step(action), restored.step(action)
        for x, y in zip(a[:4], b[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    broken = dict(snapshot, num_envs=99)
    with pytest.raises(ValueError, match="num_envs"):
        restored.set_state(broken)
    arrays = dict(snapshot["arrays"])
    name = next(iter(arrays))
    arrays[name] = arrays[name][:1]
    with pytest.raises(ValueError, match="shape"):
        restored.set_state(dict(snapshot, arrays=arrays))


@pytest.mark.parametrize("env_id", IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_invalid_actions_raise_clear_errors(env_id, data):
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    env.reset(seed=0)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):

        def valid_float(a):
            return a == a and float(a).is_integer() and 0 <= a < space.n

        bad = data.draw(st.one_of(
            st.integers().filter(lambda a: not 0 <= a < space.n),
            st.floats().filter(lambda a: not valid_float(a)),
            st.booleans(), st.text(max_size=3), st.none(),
        ))  # fmt: skip
    else:
        shape = space.shape
        bad = data.draw(st.one_of(
            st.just(np.full(shape, np.nan)),
            st.just(np.full(shape, float(space.high.max()) + 1.0)),
            st.just(np.zeros((shape[0] + 1,))),
            st.text(max_size=3),
        ))  # fmt: skip
    with pytest.raises(ValueError, match="action"):
        env.step(bad)
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point",
                          **_kwargs(env_id))  # fmt: skip
    vector.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        vector.step([bad, bad] if not isinstance(bad, np.ndarray) else np.stack([bad, bad]))
