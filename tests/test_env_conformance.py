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
from hypothesis.extra import numpy as hnp

from plasticgym.docs import task_ids
from plasticgym.envs._base import Phase

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


def _assert_same_output(a, b):
    """Two vector env outputs (reset: 2 items, step: 5) are equal, info included."""
    for x, y in zip(a[:-1], b[:-1], strict=True):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)
    _assert_info_equal(a[-1], b[-1])


def _second_phase(env):
    """The name of the protocol's second phase (its only one if it has one)."""
    names = [phase.name for phase in env.unwrapped.protocol]
    return names[1] if len(names) > 1 else names[0]


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
def test_native_vector_env_equals_sync_vector_env_across_resets(env_id):
    """Seed lists, a reset into the second phase and a mid-run ``reset_mask`` (only the masked
    envs reset; the others keep their last observation) give the same results in both."""
    kwargs, n = _kwargs(env_id), 4
    native = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    sync = SyncVectorEnv([lambda: gym.make(env_id, **kwargs).unwrapped] * n)
    second = _second_phase(native)
    actions = _actions(native.single_action_space, n, seed=5)

    def run(steps):
        """Step both ``steps`` times; return the last observations and terminated | truncated."""
        for _ in range(steps):
            action = actions.sample()
            out_a, out_b = native.step(action), sync.step(action)
            _assert_same_output(out_a, out_b)
        return out_a[0], out_a[2] | out_a[3]

    seeds = [17, 3, 1000, 42]
    _assert_same_output(native.reset(seed=seeds), sync.reset(seed=seeds))
    run(60)
    out = native.reset(options={"phase": second}), sync.reset(options={"phase": second})
    _assert_same_output(*out)
    assert list(out[0][1]["phase"]) == [second] * n
    run(40)
    # a mid-run reset of some envs, preferably while another waits for its autoreset
    for _ in range(STEPS):
        last_obs, done = run(1)
        if done.any() and not done.all():
            break
    mask = np.array([True, False, True, False])
    if done.any() and not done.all():
        mask = np.zeros(n, dtype=bool)
        mask[np.flatnonzero(done)[0]] = True  # reset now; any other ended env autoresets
        mask[np.flatnonzero(~done)[0]] = True  # reset mid-episode
    obs_a, info_a = native.reset(seed=[5, 6, 7, 8], options={"reset_mask": mask.copy()})
    obs_b, info_b = sync.reset(seed=[5, 6, 7, 8], options={"reset_mask": mask.copy()})
    _assert_same_output((obs_a, info_a), (obs_b, info_b))
    np.testing.assert_array_equal(obs_a[~mask], last_obs[~mask])
    np.testing.assert_array_equal(info_a["_trial"], mask)
    run(50)
    mask = np.array([False, True, False, True])
    options = {"reset_mask": mask, "phase": second}
    out = native.reset(options=dict(options)), sync.reset(options=dict(options))
    _assert_same_output(*out)
    assert list(out[0][1]["phase"][mask]) == [second] * int(mask.sum())
    run(50)


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


REQUIRED_TYPES = {"trial": (int, "i"), "phase": (str, "O"), "t_in_trial": (int, "i")}
"""Required info keys: python type in the single env, numpy dtype kind in the vector env."""


def _check_required_info_single(info):
    for key, (kind, _) in REQUIRED_TYPES.items():
        assert key in info, key
        assert type(info[key]) is kind, (key, type(info[key]))


def _check_required_info_vector(info, n):
    for key, (kind, dtype_kind) in REQUIRED_TYPES.items():
        assert key in info, key
        assert info[key].shape == (n,) and info[key].dtype.kind == dtype_kind, (key, info[key])
        assert all(type(value) is kind for value in info[key].tolist()), (key, info[key])


@pytest.mark.parametrize("env_id", IDS)
def test_required_info_keys_with_fixed_types_at_every_step(env_id):
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    _, info = env.reset(seed=0)
    _check_required_info_single(info)
    keys = list(info)
    env.action_space.seed(0)
    for _ in range(STEPS):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        _check_required_info_single(info)
        assert list(info) == keys, "the info keys must not change from step to step"
        if terminated or truncated:
            _, info = env.reset()
            _check_required_info_single(info)
    n = 3
    vector = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                          **_kwargs(env_id))  # fmt: skip
    _, info = vector.reset(seed=0)
    _check_required_info_vector(info, n)
    actions = _actions(vector.single_action_space, n, seed=0)
    for _ in range(STEPS):
        info = vector.step(actions.sample())[4]
        _check_required_info_vector(info, n)


@pytest.mark.parametrize("env_id", IDS)
def test_protocol_is_exposed_by_both_shells(env_id):
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point",
                          **_kwargs(env_id))  # fmt: skip
    protocol = env.protocol
    assert isinstance(protocol, tuple) and protocol
    assert all(isinstance(phase, Phase) for phase in protocol)
    assert tuple(phase.name for phase in protocol) == tuple(env.dynamics.phase_names)
    assert vector.unwrapped.protocol == protocol


@pytest.mark.parametrize("env_id", IDS)
def test_both_shells_take_the_arguments_of_one_config_documented_in_the_spec(env_id):
    """The task's config owns its arguments: both shells accept exactly its fields (plus
    ``render_mode``, and ``num_envs`` for the vector env), and the docstring's Arguments section
    documents every one of them."""
    env = gym.make(env_id, **_kwargs(env_id)).unwrapped
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point",
                          **_kwargs(env_id))  # fmt: skip
    config_class = type(env.config)
    assert type(vector.unwrapped.config) is config_class
    assert vector.unwrapped.config.to_json() == env.config.to_json()
    assert env.config.to_json() == env.dynamics.config_json()
    arguments = type(env).__doc__.split("## Arguments", 1)[1].split("\n    ## ", 1)[0]
    for name in (*config_class.argument_names(), "render_mode"):
        assert f"``{name}``" in arguments, name
    with pytest.raises(ValueError, match=r"unknown argument 'bogus'.*'protocol', 'render_mode'"):
        gym.make(env_id, bogus=1)


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


def _inside(space):
    """A strategy for float64 arrays of the Box's shape inside its bounds (finite)."""
    low = np.where(np.isfinite(space.low), space.low, -1e6).astype(np.float64)
    high = np.where(np.isfinite(space.high), space.high, 1e6).astype(np.float64)
    fractions = hnp.arrays(np.float64, space.shape, elements=st.floats(0.0, 1.0))
    return fractions.map(lambda f: np.clip(low + f * (high - low), low, high))


@st.composite
def invalid_box_entries(draw, space):
    """Arrays of the Box's shape with at least one entry NaN, infinite or out of bounds."""
    action = draw(_inside(space)).reshape(-1)
    low = np.broadcast_to(space.low, space.shape).reshape(-1).astype(np.float64)
    high = np.broadcast_to(space.high, space.shape).reshape(-1).astype(np.float64)
    where = draw(st.lists(st.integers(0, action.size - 1), min_size=1, unique=True))
    for i in where:
        kinds = ["nan", "inf", "-inf"]
        kinds += ["above"] if np.isfinite(high[i]) else []
        kinds += ["below"] if np.isfinite(low[i]) else []
        kind = draw(st.sampled_from(kinds))
        step = draw(st.floats(1e-3, 1e6))
        action[i] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}.get(kind, 0.0)
        if kind == "above":
            action[i] = high[i] + step
        elif kind == "below":
            action[i] = low[i] - step
    return action.reshape(space.shape)


def wrong_box_shapes(space):
    """Arrays of any shape but the Box's, with values inside its bounds."""
    value = float(np.clip(0.0, np.max(space.low), np.min(space.high)))
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)
    return shapes.filter(lambda s: s != space.shape).map(lambda s: np.full(s, value))


@pytest.mark.parametrize("env_id", IDS)
@settings(max_examples=40, deadline=None)
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
        bad = data.draw(st.one_of(
            invalid_box_entries(space), wrong_box_shapes(space), st.text(max_size=3), st.none(),
        ))  # fmt: skip
    with pytest.raises(ValueError, match="action"):
        env.step(bad)
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point",
                          **_kwargs(env_id))  # fmt: skip
    vector.reset(seed=0)
    if isinstance(bad, np.ndarray):
        # a batch with one valid action and one invalid one (stacked when the shapes allow)
        valid = np.asarray(space.sample(), dtype=np.float64)
        batch = np.stack([valid, bad]) if bad.shape == space.shape else [valid, bad]
    else:
        batch = [bad, bad]
    with pytest.raises(ValueError, match="actions"):
        vector.step(batch)
