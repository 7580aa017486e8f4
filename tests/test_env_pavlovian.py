"""Tests of plasticgym/Pavlovian-v0: API conformance, determinism, vector == sync, statistics."""

from __future__ import annotations

import importlib
import json
import math
import re
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from hypothesis import given, settings
from hypothesis import strategies as st

import plasticgym.envs
from plasticgym.envs.pavlovian import (
    INFO_KEYS,
    N_DRAWS,
    PavlovianEnv,
    PavlovianVectorEnv,
    Phase,
    draw_trial,
    empty_state,
    make_config,
    task_params,
    transition,
)

ENV_ID = "plasticgym/Pavlovian-v0"
FAST = {"cs_us_interval": 2, "iti": (1, 4), "n_trials": 3}
MIXED = {
    "cs_us_interval": 3,
    "iti": (1, 5),
    "reward_prob": 0.7,
    "omission_prob": 0.2,
    "free_reward_prob": 0.3,
    "n_trials": 2,
}
THREE_PHASES = [
    {"name": "acquisition", "trials": 2},
    {"name": "extinction", "trials": 3, "reward_prob": 0.0},
    {"name": "free", "trials": 4, "free_reward_prob": 1.0, "reward": 2.5},
]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def single_rollout(env: PavlovianEnv, seed: int, **reset_kwargs: Any) -> list[tuple[Any, ...]]:
    """Every (obs, reward, terminated, truncated, info) of one episode, reset included."""
    obs, info = env.reset(seed=seed, **reset_kwargs)
    steps: list[tuple[Any, ...]] = [(obs, 0.0, False, False, info)]
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(1)
        steps.append((obs, reward, terminated, truncated, info))
    return steps


def assert_info_equal(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Vector infos are equal: same keys, dtypes and values."""
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert np.array_equal(a[key], b[key]), key


def assert_step_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    """Two vector step results are identical, including dtypes and info."""
    for x, y in zip(a[:4], b[:4], strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert_info_equal(a[4], b[4])


def record(envs: PavlovianVectorEnv, seed: int, steps: int) -> dict[str, np.ndarray]:
    """Arrays [T, N] of obs channels, rewards, terminations and info keys (reset included)."""
    obs, info = envs.reset(seed=seed)
    rows = [(obs, np.zeros(envs.num_envs), np.zeros(envs.num_envs, bool), info)]
    actions = np.zeros(envs.num_envs, dtype=np.int64)
    for _ in range(steps):
        obs, reward, terminated, _, info = envs.step(actions)
        rows.append((obs, reward, terminated, info))
    out = {
        "cue": np.stack([r[0][:, 0] for r in rows]),
        "us_obs": np.stack([r[0][:, 1] for r in rows]),
        "reward": np.stack([r[1] for r in rows]),
        "terminated": np.stack([r[2] for r in rows]),
    }
    for key in INFO_KEYS:
        out[key] = np.stack([r[3][key] for r in rows])
    return out


def trial_starts(t_in_trial: np.ndarray) -> np.ndarray:
    """[T, N] mask of the first step of each trial (negative t after a non-negative one)."""
    starts = t_in_trial < 0
    starts[1:] &= t_in_trial[:-1] >= 0
    return starts


def assert_close(observed: float, expected: float, se: float, what: str) -> None:
    """|observed - expected| within 4 standard errors."""
    assert abs(observed - expected) <= 4 * se, f"{what}: {observed} vs {expected} (SE {se})"


def proportion_se(p: float, n: int) -> float:
    """Standard error of a proportion estimated from n Bernoulli(p) samples."""
    return math.sqrt(p * (1 - p) / n)


def make_sync(n: int, **kwargs: Any) -> SyncVectorEnv:
    """SyncVectorEnv over n single envs built with kwargs."""
    return SyncVectorEnv([lambda: PavlovianEnv(**kwargs)] * n)


# ------------------------------------------------------------------------------------------
# registration and gymnasium conformance
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, FAST, MIXED, {"protocol": THREE_PHASES}])
def test_check_env_passes_without_warnings(kwargs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ENV_ID, **kwargs)
        check_env(env.unwrapped)


def test_registration_is_idempotent_and_make_vec_works() -> None:
    assert ENV_ID in gym.registry
    spec = gym.spec(ENV_ID)
    assert spec.entry_point == "plasticgym.envs.pavlovian:PavlovianEnv"
    assert spec.vector_entry_point == "plasticgym.envs.pavlovian:PavlovianVectorEnv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(plasticgym.envs)
    envs = gym.make_vec(
        ENV_ID, num_envs=8, vectorization_mode="vector_entry_point", cs_us_interval=4
    )
    assert isinstance(envs.unwrapped, PavlovianVectorEnv)
    assert envs.unwrapped.config.cs_us_interval == 4
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = envs.reset(seed=0)
    assert obs.shape == (8, 2) and obs.dtype == np.float32
    assert envs.observation_space.shape == (8, 2)
    assert envs.single_observation_space == PavlovianEnv().observation_space
    assert envs.single_action_space == gym.spaces.Discrete(2)
    assert envs.action_space == gym.spaces.MultiDiscrete([2] * 8)
    assert set(INFO_KEYS) | {f"_{k}" for k in INFO_KEYS} == set(info)


def test_info_types_of_single_env() -> None:
    env = PavlovianEnv(**FAST)
    _, info = env.reset(seed=3)
    types = {"trial": int, "phase": str, "t_in_trial": int}
    for key in INFO_KEYS:
        assert type(info[key]) is types.get(key, bool), key
    _, reward, terminated, truncated, info = env.step(0)
    assert type(reward) is float and type(terminated) is bool and truncated is False
    assert set(info) == set(INFO_KEYS)


# ------------------------------------------------------------------------------------------
# determinism and vector == sync
# ------------------------------------------------------------------------------------------


def test_same_seed_same_single_rollout() -> None:
    a = single_rollout(PavlovianEnv(**MIXED), seed=7)
    b = single_rollout(PavlovianEnv(**MIXED), seed=7)
    c = single_rollout(PavlovianEnv(**MIXED), seed=8)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]
    assert [s[4] for s in a] != [s[4] for s in c]


def test_same_seed_same_vector_rollout() -> None:
    a, b = (
        record(PavlovianVectorEnv(16, **MIXED), 5, 200),
        record(PavlovianVectorEnv(16, **MIXED), 5, 200),
    )
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    c = record(PavlovianVectorEnv(16, **MIXED), 6, 200)
    assert not np.array_equal(a["t_in_trial"], c["t_in_trial"])


@pytest.mark.parametrize(
    "kwargs",
    [
        MIXED,
        {**FAST, "cs_duration": 2, "reward": -0.5, "omission_prob": 0.5},
        {"cs_us_interval": 2, "iti": (1, 3), "protocol": THREE_PHASES[:2]},
    ],
)
def test_vector_env_equals_sync_vector_env(kwargs: dict[str, Any]) -> None:
    n = 5
    native, sync = PavlovianVectorEnv(n, **kwargs), make_sync(n, **kwargs)
    actions = np.random.default_rng(0)
    resets: list[dict[str, Any]] = [
        {"seed": 123},
        {"seed": None},
        {"seed": [4, None, 9, 1, 0]},
        {"seed": None, "options": {"phase": native.config.phase_names[-1]}},
    ]
    n_terminated = 0
    for reset_kwargs in resets:
        obs_a, info_a = native.reset(**reset_kwargs)
        obs_b, info_b = sync.reset(**reset_kwargs)
        np.testing.assert_array_equal(obs_a, obs_b)
        assert obs_a.dtype == obs_b.dtype
        assert_info_equal(info_a, info_b)
        for _ in range(150):
            action = actions.integers(0, 2, size=n)
            a, b = native.step(action), sync.step(action)
            assert_step_equal(a, b)
            n_terminated += int(a[2].sum())
    assert n_terminated > 10  # autoresets were exercised


def test_reset_mask_matches_sync_vector_env() -> None:
    n = 4
    native, sync = PavlovianVectorEnv(n, **MIXED), make_sync(n, **MIXED)
    native.reset(seed=11)
    sync.reset(seed=11)
    for step in range(120):
        action = np.full(n, step % 2)
        assert_step_equal(native.step(action), sync.step(action))
        if step % 40 == 39:
            mask = np.array([True, False, step % 80 == 79, False])
            options = {"phase": "conditioning", "reset_mask": mask}
            obs_a, info_a = native.reset(seed=[1, 2, 3, 4], options=dict(options))
            obs_b, info_b = sync.reset(seed=[1, 2, 3, 4], options=dict(options))
            np.testing.assert_array_equal(obs_a, obs_b)
            assert_info_equal(info_a, info_b)


def test_vector_autoreset_is_next_step() -> None:
    envs = PavlovianVectorEnv(3, cs_us_interval=1, iti=(1, 1), n_trials=1)
    envs.reset(seed=0)
    obs, reward, terminated, _, _ = envs.step(np.zeros(3, int))  # t=0: cue
    obs, reward, terminated, _, info = envs.step(np.zeros(3, int))  # t=1: reward, end
    assert terminated.all() and (reward == 1.0).all()
    obs, reward, terminated, truncated, info = envs.step(np.ones(3, int))
    assert not terminated.any() and not truncated.any() and (reward == 0.0).all()
    assert (info["trial"] == 0).all() and (info["t_in_trial"] == -1).all()
    np.testing.assert_array_equal(obs, np.zeros((3, 2), np.float32))


# ------------------------------------------------------------------------------------------
# observations, actions and arguments
# ------------------------------------------------------------------------------------------


@st.composite
def valid_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid constructor arguments with short episodes."""
    k = draw(st.integers(1, 6))
    low = draw(st.integers(1, 6))
    probability = st.floats(0.0, 1.0)
    return {
        "cs_us_interval": k,
        "iti": (low, draw(st.integers(low, low + 6))),
        "reward_prob": draw(probability),
        "omission_prob": draw(probability),
        "free_reward_prob": draw(probability),
        "n_trials": draw(st.integers(1, 4)),
        "reward": draw(st.floats(-1e6, 1e6, allow_nan=False)),
        "cs_duration": draw(st.integers(1, k)),
    }


@settings(max_examples=40, deadline=None)
@given(kwargs=valid_kwargs(), seed=st.integers(0, 2**32 - 1))
def test_observations_inside_space_and_consistent(kwargs: dict[str, Any], seed: int) -> None:
    env = PavlovianEnv(**kwargs)
    steps = single_rollout(env, seed)
    k, duration = kwargs["cs_us_interval"], kwargs["cs_duration"]
    for i, (obs, reward, terminated, truncated, info) in enumerate(steps):
        assert env.observation_space.contains(obs)
        t = info["t_in_trial"]
        assert obs[0] == float(0 <= t < duration and not info["free"])
        assert obs[1] == float(info["us"])
        assert reward == (kwargs["reward"] if info["us"] else 0.0)
        assert terminated == (i == len(steps) - 1) and truncated is False
        assert not (info["us"] and info["omitted"])
        assert t <= (0 if info["free"] else k)
    assert steps[-1][4]["trial"] == kwargs["n_trials"] - 1


_invalid_scalar_actions = st.one_of(
    st.integers().filter(lambda a: a not in (0, 1)),
    st.booleans(),
    st.sampled_from([np.True_, np.False_, np.array(True), np.int64(2), np.array(-1)]),
    st.floats().filter(lambda a: a not in (0.0, 1.0)),
    st.text(max_size=3),
    st.none(),
    st.lists(st.integers(0, 1), max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(action=_invalid_scalar_actions)
def test_invalid_single_action_raises(action: Any) -> None:
    env = PavlovianEnv(**FAST)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in \{0, 1\}"):
        env.step(action)


@pytest.mark.parametrize(
    "action", [0, 1, np.int64(1), np.uint8(0), np.array(1), 1.0, np.float32(0)]
)
def test_valid_single_action_forms(action: Any) -> None:
    env = PavlovianEnv(**FAST)
    env.reset(seed=0)
    env.step(action)


_invalid_vector_actions = st.one_of(
    st.lists(st.integers(0, 1), max_size=6).filter(lambda a: len(a) != 3),
    st.lists(st.integers(), min_size=3, max_size=3).filter(lambda a: set(a) - {0, 1}),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3).map(np.array),
    st.lists(st.floats(), min_size=3, max_size=3)
    .filter(lambda a: set(a) - {0.0, 1.0})
    .map(np.array),
    st.integers(0, 1),
    st.none(),
    st.just(np.zeros((3, 1), dtype=np.int64)),
    st.just(np.array(["0", "1", "0"])),
)


@settings(max_examples=60, deadline=None)
@given(actions=_invalid_vector_actions)
def test_invalid_vector_action_raises(actions: Any) -> None:
    envs = PavlovianVectorEnv(3, **FAST)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must be an integer array-like of shape \(3,\)"):
        envs.step(actions)


def test_valid_vector_action_forms() -> None:
    envs = PavlovianVectorEnv(3, **FAST)
    envs.reset(seed=0)
    for actions in ([0, 1, 0], (1, 1, 1), np.array([0, 1, 1], np.uint8), np.array([1.0, 0, 1])):
        envs.step(actions)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"cs_us_interval": 0}, ["cs_us_interval", "0", ">= 1"]),
        ({"cs_us_interval": 2.5}, ["cs_us_interval", "2.5"]),
        ({"cs_us_interval": True}, ["cs_us_interval", "True"]),
        ({"iti": (0, 3)}, ["iti", "(0, 3)", "1 <= min <= max"]),
        ({"iti": (5, 3)}, ["iti", "(5, 3)"]),
        ({"iti": (1,)}, ["iti"]),
        ({"iti": "ab"}, ["iti"]),
        ({"iti": (1.0, 2)}, ["iti"]),
        ({"reward_prob": 1.5}, ["reward_prob", "1.5", "[0, 1]"]),
        ({"reward_prob": float("nan")}, ["reward_prob", "nan"]),
        ({"omission_prob": -0.1}, ["omission_prob", "-0.1"]),
        ({"free_reward_prob": "0.5"}, ["free_reward_prob", "'0.5'"]),
        ({"n_trials": 0}, ["n_trials", "0"]),
        ({"n_trials": 3, "protocol": THREE_PHASES}, ["n_trials", "protocol"]),
        ({"reward": float("inf")}, ["reward", "inf", "finite"]),
        ({"cs_duration": 0}, ["cs_duration", "0", "[1, 6]"]),
        ({"cs_duration": 7}, ["cs_duration", "7", "[1, 6]"]),
        ({"protocol": []}, ["protocol"]),
        ({"protocol": "conditioning"}, ["protocol"]),
        ({"protocol": [{"name": "a", "trials": 1, "bogus": 2}]}, ["bogus", "reward_prob"]),
        ({"protocol": [{"name": "a", "trials": 1}, {"name": "a", "trials": 2}]}, ["unique", "a"]),
        ({"protocol": [{"name": "a"}]}, ["protocol[0]", "trials"]),
        ({"protocol": [{"name": "a", "trials": 0}]}, ["protocol[0]", "trials", "0"]),
        ({"protocol": [{"name": "a", "trials": 1, "reward_prob": 2}]}, ["reward_prob", "2"]),
        ({"protocol": [{"name": "", "trials": 1}]}, ["name"]),
        ({"render_mode": "human"}, ["render_mode", "human"]),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(
    kwargs: dict[str, Any], names: list[str]
) -> None:
    for factory in (PavlovianEnv, lambda **kw: PavlovianVectorEnv(2, **kw)):
        with pytest.raises(ValueError) as err:
            factory(**kwargs)
        for name in names:
            assert name in str(err.value), (name, str(err.value))


@settings(max_examples=30, deadline=None)
@given(
    field=st.sampled_from(["reward_prob", "omission_prob", "free_reward_prob"]),
    value=st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1 + 1e-9)),
)
def test_out_of_range_probability_raises(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PavlovianEnv(**{field: value})


def test_num_envs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        PavlovianVectorEnv(0)


def test_protocol_is_exposed_as_frozen_phases() -> None:
    env = PavlovianEnv(reward_prob=0.5, protocol=THREE_PHASES)
    assert env.protocol == (
        Phase("acquisition", 2, 0.5, 0.0, 0.0, 1.0),
        Phase("extinction", 3, 0.0, 0.0, 0.0, 1.0),
        Phase("free", 4, 0.5, 0.0, 1.0, 2.5),
    )
    with pytest.raises(AttributeError):
        env.protocol = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        env.protocol[0].trials = 5  # type: ignore[misc]
    assert PavlovianEnv().protocol == (Phase("conditioning", 100),)
    assert PavlovianEnv(protocol=env.protocol).protocol == env.protocol


@pytest.mark.parametrize("factory", [PavlovianEnv, lambda: PavlovianVectorEnv(2)])
def test_invalid_reset_options_raise(factory: Callable[[], Any]) -> None:
    env = factory()
    with pytest.raises(ValueError, match=re.escape("('conditioning',)")):
        env.reset(options={"phase": "extinction"})
    with pytest.raises(ValueError, match="colour"):
        env.reset(options={"colour": "red"})
    env.reset(options={})


def test_step_before_reset_or_after_termination_raises() -> None:
    env = PavlovianEnv(**FAST)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    single_rollout(env, seed=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        PavlovianVectorEnv(2).step([0, 0])


# ------------------------------------------------------------------------------------------
# the time line, the protocol and the statistics
# ------------------------------------------------------------------------------------------


def test_draw_trial_golden_values() -> None:
    params = task_params(make_config(iti=(20, 40), reward_prob=0.5, omission_prob=0.25))
    u = np.array(
        [
            [0.0, 0.5, 0.1, 0.9],  # L = 20, cued, rewarded
            [0.999999, 0.5, 0.1, 0.1],  # L = 40, cued, omitted (u3 < 0.25)
            [0.5, 0.5, 0.6, 0.9],  # L = 20 + floor(10.5) = 30, cued, not rewarded (u2 >= .5)
        ]
    )
    t, free, rewarded = draw_trial(u, np.zeros(3, np.int64), params)
    np.testing.assert_array_equal(t, [-20, -40, -30])
    np.testing.assert_array_equal(free, [False, False, False])
    np.testing.assert_array_equal(rewarded, [True, False, False])


def test_transition_is_pure_and_checks_draw_count() -> None:
    params = task_params(make_config(iti=(2, 2), cs_us_interval=1))
    state = empty_state(2)
    restart = np.ones(2, bool)
    u = np.full((2, N_DRAWS), 0.5)
    new = transition(state, restart, np.zeros(2, np.int64), u, params)
    assert (state.t_in_trial == 0).all()  # the input is untouched
    np.testing.assert_array_equal(new.t_in_trial, [-2, -2])
    with pytest.raises(ValueError, match="u must have shape"):
        transition(new, np.zeros(2, bool), np.zeros(2, np.int64), u, params)


def test_time_line_and_events_follow_the_spec() -> None:
    k, duration, iti = 3, 2, (2, 6)
    kwargs = {"cs_us_interval": k, "cs_duration": duration, "iti": iti}
    kwargs |= {"reward_prob": 0.7, "free_reward_prob": 0.3, "reward": 0.5, "n_trials": 10_000}
    rec = record(PavlovianVectorEnv(64, **kwargs), seed=2, steps=300)
    t, cs, us, free, omitted = (rec[k_] for k_ in ("t_in_trial", "cs", "us", "free", "omitted"))
    # within a trial t increases by one; after its last step the next trial starts at -L
    end = np.where(free, 0, k)[:-1]
    same_trial = (t[1:] == t[:-1] + 1) & (rec["trial"][1:] == rec["trial"][:-1])
    new_trial = (
        (t[:-1] == end)
        & (t[1:] <= -iti[0])
        & (t[1:] >= -iti[1])
        & (rec["trial"][1:] == rec["trial"][:-1] + 1)
    )
    assert (same_trial ^ new_trial).all()
    assert (t[0] <= -iti[0]).all() and (t[0] >= -iti[1]).all() and (rec["trial"][0] == 0).all()
    # events happen only at their times; observation channels follow them
    assert (t[cs] == 0).all() and (t[free] == 0).all() and (t[omitted] == k).all()
    assert np.isin(t[us], [0, k]).all() and not (us & omitted).any()
    np.testing.assert_array_equal(rec["cue"], ((t >= 0) & (t < duration) & ~free).astype(float))
    np.testing.assert_array_equal(rec["us_obs"], us.astype(float))
    np.testing.assert_array_equal(rec["reward"], np.where(us, 0.5, 0.0))
    # a cued reward comes exactly K steps after cue onset, in the same trial
    steps, envs = np.nonzero(us & ~free)
    assert steps.size > 100 and (steps >= k).all()
    assert cs[steps - k, envs].all()
    np.testing.assert_array_equal(rec["trial"][steps - k, envs], rec["trial"][steps, envs])
    # every cue is followed K steps later by a reward or an omission
    steps, envs = np.nonzero(cs[: -k or None])
    assert (us | omitted)[steps + k, envs].all()


@pytest.mark.parametrize(
    ("reward_prob", "omission_prob", "free_reward_prob"),
    [(0.6, 0.0, 0.0), (1.0, 0.3, 0.0), (0.6, 0.25, 0.2)],
)
def test_trial_statistics_match_the_parameters(
    reward_prob: float, omission_prob: float, free_reward_prob: float
) -> None:
    iti = (2, 9)
    kwargs = {"cs_us_interval": 3, "iti": iti, "n_trials": 10_000}
    kwargs |= {"reward_prob": reward_prob, "omission_prob": omission_prob}
    kwargs |= {"free_reward_prob": free_reward_prob}
    rec = record(PavlovianVectorEnv(256, **kwargs), seed=17, steps=400)
    # ITI lengths: uniform on [min, max]
    lengths = -rec["t_in_trial"][trial_starts(rec["t_in_trial"])]
    m = iti[1] - iti[0] + 1
    assert lengths.size > 10_000
    assert set(np.unique(lengths)) == set(range(iti[0], iti[1] + 1))
    sd = math.sqrt((m**2 - 1) / 12)
    assert_close(lengths.mean(), (iti[0] + iti[1]) / 2, sd / math.sqrt(lengths.size), "ITI mean")
    for value in range(iti[0], iti[1] + 1):
        frequency = np.mean(lengths == value)
        assert_close(frequency, 1 / m, proportion_se(1 / m, lengths.size), f"P(L={value})")
    # trial types
    n_free, n_cs = int(rec["free"].sum()), int(rec["cs"].sum())
    p_free = n_free / (n_free + n_cs)
    assert_close(p_free, free_reward_prob, proportion_se(free_reward_prob, n_free + n_cs), "free")
    n_rewarded = int((rec["us"] & ~rec["free"]).sum())
    n_omitted = int(rec["omitted"].sum())
    n_due = n_rewarded + n_omitted
    p_rewarded = reward_prob * (1 - omission_prob)
    se = proportion_se(p_rewarded, n_due)
    assert_close(n_rewarded / n_due, p_rewarded, se, "rewarded cued trials")
    if reward_prob == 1.0:
        assert_close(n_omitted / n_due, omission_prob, se, "omitted cued trials")


def test_protocol_phases_run_in_order_and_episode_ends_after_all_trials() -> None:
    env = PavlovianEnv(cs_us_interval=2, iti=(1, 3), protocol=THREE_PHASES)
    for seed in range(5):
        steps = single_rollout(env, seed)
        infos = [s[4] for s in steps]
        trial_phase = {info["trial"]: info["phase"] for info in infos}
        assert trial_phase == dict(
            enumerate(["acquisition"] * 2 + ["extinction"] * 3 + ["free"] * 4)
        )
        assert [s[2] for s in steps].count(True) == 1 and steps[-1][2]
        assert infos[-1]["trial"] == 8 and infos[-1]["us"] and infos[-1]["t_in_trial"] == 0
        by_phase: dict[str, list[dict[str, Any]]] = {}
        for step in steps:
            by_phase.setdefault(step[4]["phase"], []).append({**step[4], "reward": step[1]})
        acquisition, extinction, free = (
            by_phase["acquisition"],
            by_phase["extinction"],
            by_phase["free"],
        )
        assert sum(i["us"] for i in acquisition) == 2 == sum(i["cs"] for i in acquisition)
        assert {i["reward"] for i in acquisition if i["us"]} == {1.0}
        assert not any(i["us"] for i in extinction) and sum(i["omitted"] for i in extinction) == 3
        assert sum(i["free"] for i in free) == 4 and not any(i["cs"] for i in free)
        assert {i["reward"] for i in free if i["us"]} == {2.5}


def test_default_protocol_ends_after_n_trials() -> None:
    steps = single_rollout(PavlovianEnv(cs_us_interval=1, iti=(1, 2), n_trials=5), seed=0)
    assert steps[-1][4]["trial"] == 4 and steps[-1][2]
    assert sum(s[4]["us"] for s in steps) == 5
    assert len(single_rollout(PavlovianEnv(cs_us_interval=1, iti=(1, 1)), seed=0)) == 300


def test_reset_option_phase_starts_that_phase() -> None:
    env = PavlovianEnv(cs_us_interval=2, iti=(1, 3), protocol=THREE_PHASES)
    steps = single_rollout(env, seed=4, options={"phase": "extinction"})
    infos = [s[4] for s in steps]
    assert infos[0]["phase"] == "extinction" and infos[0]["trial"] == 0
    trial_phase = {info["trial"]: info["phase"] for info in infos}
    assert trial_phase == dict(enumerate(["extinction"] * 3 + ["free"] * 4))
    # vector: all envs start at the phase; autoresets start at the first phase (as gymnasium's)
    envs = PavlovianVectorEnv(4, cs_us_interval=2, iti=(1, 3), protocol=THREE_PHASES)
    _, info = envs.reset(seed=0, options={"phase": "free"})
    assert (info["phase"] == "free").all()
    seen_after_reset = set()
    for _ in range(60):
        _, _, _, _, info = envs.step(np.zeros(4, int))
        seen_after_reset |= set(info["phase"][info["trial"] == 0])
    assert seen_after_reset == {"free", "acquisition"}


# ------------------------------------------------------------------------------------------
# checkpoints
# ------------------------------------------------------------------------------------------

CHECKPOINT_KWARGS = {"cs_us_interval": 2, "iti": (1, 3), "protocol": THREE_PHASES[:2]}


def json_round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """The state as it comes back from a JSON file plus a separate array store."""
    rest = json.loads(json.dumps({k: v for k, v in state.items() if k != "arrays"}))
    return {**rest, "arrays": {k: v.copy() for k, v in state["arrays"].items()}}


def started_env(n: int = 6) -> PavlovianVectorEnv:
    """A vector env stepped until at least one env has a pending autoreset."""
    envs = PavlovianVectorEnv(n, **CHECKPOINT_KWARGS)
    envs.reset(seed=21)
    while True:
        if envs.step(np.zeros(n, int))[2].any():
            return envs


def test_get_state_set_state_continues_identically() -> None:
    source = started_env()
    state = source.get_state()
    assert state["arrays"]["autoreset"].any()
    json.dumps({k: v for k, v in state.items() if k != "arrays"})
    target = PavlovianVectorEnv(6, **CHECKPOINT_KWARGS)
    target.reset(seed=999)
    target.set_state(json_round_trip(state))
    actions = np.random.default_rng(1)
    for _ in range(200):
        action = actions.integers(0, 2, size=6)
        assert_step_equal(source.step(action), target.step(action))
    source.reset()
    target.reset()
    assert_step_equal(source.step(np.zeros(6, int)), target.step(np.zeros(6, int)))


def _corrupt(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    state = json_round_trip(started_env().get_state())
    mutate(state)
    return state


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(state: dict[str, Any]) -> None:
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.pop("rng_states"), "keys"),
        (_set(("extra",), 1), "keys"),
        (_set(("version",), 2), "version"),
        (_set(("num_envs",), 7), "num_envs"),
        (_set(("config", "cs_us_interval"), 3), "config"),
        (lambda s: s["arrays"].pop("free"), "arrays"),
        (_set(("arrays", "phase"), np.zeros(6, np.int32)), "'phase'"),
        (_set(("arrays", "trial"), np.zeros(5, np.int64)), "'trial'"),
        (_set(("arrays", "free"), [False] * 6), "'free'"),
        (_set(("arrays", "phase"), np.full(6, 2, np.int64)), "'phase'"),
        (_set(("arrays", "trial_in_phase"), np.full(6, 3, np.int64)), "'trial_in_phase'"),
        (_set(("arrays", "t_in_trial"), np.full(6, -4, np.int64)), "'t_in_trial'"),
        (_set(("arrays", "t_in_trial"), np.full(6, 3, np.int64)), "'t_in_trial'"),
        (_set(("arrays", "autoreset"), np.ones(6, bool)), "'autoreset'"),
        (_set(("rng_states",), []), "rng_states"),
        (_set(("rng_states", 2), {"bit_generator": "MT19937"}), "rng_states'][2]"),
        (_set(("rng_states", 0), "seed"), "rng_states'][0]"),
    ],
)
def test_set_state_rejects_corrupt_state(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    envs = PavlovianVectorEnv(6, **CHECKPOINT_KWARGS)
    envs.reset(seed=0)
    before = envs.get_state()
    with pytest.raises(ValueError, match=re.escape(message)):
        envs.set_state(_corrupt(mutate))
    after = envs.get_state()  # nothing was changed
    assert after["rng_states"] == before["rng_states"]
    for key, value in before["arrays"].items():
        np.testing.assert_array_equal(after["arrays"][key], value)


def test_set_state_rejects_state_of_other_num_envs() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        PavlovianVectorEnv(5, **CHECKPOINT_KWARGS).set_state(started_env(6).get_state())


def test_get_state_before_reset_raises() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        PavlovianVectorEnv(2).get_state()
