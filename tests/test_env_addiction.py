"""Tests of plasticgym/Addiction-v0: schedules, pharmacokinetics, protocol phases, relapse
probes, with scripted agents in the native vector env."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs.addiction import (
    DRUG,
    FOOD,
    OBS_CHANNELS,
    REST,
    AddictionEnv,
    AddictionVectorEnv,
    drug_level_update,
    in_available_period,
    level_signal,
    progressive_ratio,
    ratio_requirement,
)

ENV_ID = "plasticgym/Addiction-v0"
LEVEL, CUE, TIMEOUT, UNAVAILABLE, FOOD_CH, SHOCK = range(len(OBS_CHANNELS))
PR_SEQUENCE = [1, 2, 4, 6, 9, 12, 15, 20, 25, 32, 40, 50, 62, 77, 95, 118, 145, 178, 219, 268]

Policy = Callable[[int], np.ndarray]


def record(
    env: AddictionVectorEnv, policy: Policy, steps: int, seed: int = 0, **reset: Any
) -> dict[str, np.ndarray]:
    """Roll out ``steps`` steps (no episode may end before the last) and stack everything:
    ``obs [T+1, N, C]`` (reset included), ``reward``/``terminated`` ``[T, N]``, info keys
    ``[T, N, ...]``, and the reset info under ``reset_<key>``."""
    obs, info0 = env.reset(seed=seed, **reset)
    out: dict[str, list[Any]] = {"obs": [obs], "reward": [], "terminated": []}
    for t in range(steps):
        obs, reward, terminated, truncated, info = env.step(policy(t))
        assert not truncated.any()
        assert not out["terminated"] or not out["terminated"][-1].any(), "episode ended early"
        out["obs"].append(obs)
        out["reward"].append(reward)
        out["terminated"].append(terminated)
        for key, value in info.items():
            if not key.startswith("_"):
                out.setdefault(key, []).append(value)
    stacked = {key: np.stack(values) for key, values in out.items()}
    stacked.update({f"reset_{k}": v for k, v in info0.items() if not k.startswith("_")})
    return stacked


def always(action: int, n: int) -> Policy:
    return lambda t: np.full(n, action, dtype=np.int64)


# ------------------------------------------------------------------------------------------
# pure functions: golden values
# ------------------------------------------------------------------------------------------


def test_progressive_ratio_follows_richardson_roberts():
    n = np.arange(1, len(PR_SEQUENCE) + 1)
    np.testing.assert_array_equal(progressive_ratio(n), PR_SEQUENCE)
    expected = [round(5 * math.exp(0.2 * k)) - 5 for k in n]
    np.testing.assert_array_equal(progressive_ratio(n), expected)
    assert progressive_ratio(np.array([10_000]))[0] > 10**12  # capped, no overflow
    got = ratio_requirement(np.array([3, 3]), np.array([True, False]), np.array([5, 5]))
    np.testing.assert_array_equal(got, [4, 5])


def test_pharmacokinetics_and_availability_golden_values():
    level = drug_level_update(np.array([2.0, 2.0]), np.array([True, False]), 1.5, 0.5)
    np.testing.assert_allclose(level, [2.5, 1.0])
    np.testing.assert_allclose(level_signal(np.array([0.0, 5.0, 10.0]), 1.0, 0.9), [0, 0.5, 1])
    t = np.arange(8)
    np.testing.assert_array_equal(
        in_available_period(t, np.full(8, 3), np.full(8, 2)),
        [True, True, True, False, False, True, True, True],
    )
    assert in_available_period(t, np.full(8, 1), np.zeros(8, dtype=np.int64)).all()


# ------------------------------------------------------------------------------------------
# schedules
# ------------------------------------------------------------------------------------------


def test_progressive_ratio_in_the_chamber_and_breakpoint():
    env = AddictionVectorEnv(
        num_envs=2,
        session_length=300,
        protocol=[{"name": "pr", "sessions": 2, "schedule": "PR", "timeout": 0}],
    )
    rec = record(env, always(DRUG, 2), 300)
    infusion = rec["infusion"][:, 0]
    steps = np.flatnonzero(infusion)
    gaps = np.diff(np.concatenate([[-1], steps]))
    assert len(steps) >= 12
    np.testing.assert_array_equal(gaps, PR_SEQUENCE[: len(steps)])
    np.testing.assert_array_equal(rec["ratio_requirement"][steps, 0], PR_SEQUENCE[: len(steps)])
    np.testing.assert_array_equal(rec["reset_ratio_requirement"], [1, 1])
    breakpoint = rec["breakpoint"][-1, 0]
    assert breakpoint == PR_SEQUENCE[len(steps) - 1]
    # the next session starts again at ratio 1
    nxt = record(env, always(DRUG, 2), 302)
    assert nxt["infusion"][300, 0] and nxt["ratio_requirement"][300, 0] == 1
    assert nxt["breakpoint"][300, 0] == 1


def test_fixed_ratio_counts_effective_presses():
    env = AddictionVectorEnv(num_envs=1, session_length=40, ratio=3, timeout=0)

    def policy(t: int) -> np.ndarray:  # presses on even steps, food on odd steps
        return np.array([DRUG if t % 2 == 0 else FOOD])

    rec = record(env, policy, 40)
    np.testing.assert_array_equal(np.flatnonzero(rec["infusion"][:, 0]), [4, 10, 16, 22, 28, 34])
    assert (rec["ratio_requirement"] == 3).all()
    np.testing.assert_array_equal(rec["food"][:, 0], np.arange(40) % 2 == 1)
    expected = 0.5 * rec["infusion"][:, 0] + 1.0 * rec["food"][:, 0]
    np.testing.assert_allclose(rec["reward"][:, 0], expected)
    np.testing.assert_array_equal(rec["obs"][1:, 0, FOOD_CH], rec["food"][:, 0])


@pytest.mark.parametrize("timeout", [0, 1, 3, 7])
def test_timeout_blocks_infusions_for_exactly_timeout_steps(timeout):
    env = AddictionVectorEnv(num_envs=2, session_length=50, timeout=timeout)
    rec = record(env, always(DRUG, 2), 50)
    steps = np.flatnonzero(rec["infusion"][:, 0])
    np.testing.assert_array_equal(steps, np.arange(0, 50, timeout + 1))
    blocked = np.ones(50, dtype=bool)
    blocked[steps] = False
    np.testing.assert_array_equal(rec["drug_available"][:, 0], ~blocked)
    # the timeout signal is on exactly while the next step is blocked
    np.testing.assert_array_equal(rec["obs"][1:50, 0, TIMEOUT], blocked[1:])
    np.testing.assert_array_equal(rec["cue"][:, 0], rec["infusion"][:, 0])
    assert (rec["obs"][1:, 0, CUE] == rec["infusion"][:, 0]).all()


def test_signalled_unavailable_periods_block_infusions():
    env = AddictionVectorEnv(
        num_envs=3, session_length=24, timeout=0, available_period=5, unavailable_period=3
    )
    rec = record(env, always(DRUG, 3), 48)
    t = np.arange(48) % 24
    available = t % 8 < 5
    np.testing.assert_array_equal(rec["infusion"][:, 0], available)
    np.testing.assert_array_equal(rec["drug_available"][:, 0], available)
    # the signal in the observation announces the period of the next step
    np.testing.assert_array_equal(rec["obs"][:48, 0, UNAVAILABLE], ~available)
    assert rec["obs"][0, 0, UNAVAILABLE] == 0


# ------------------------------------------------------------------------------------------
# phases
# ------------------------------------------------------------------------------------------


def test_extinction_delivers_no_drug():
    env = AddictionVectorEnv(
        num_envs=32,
        session_length=20,
        protocol=[{"name": "extinction", "sessions": 5, "drug": False, "cue_prob": 0.0}],
    )
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 3, size=(100, 32))
    rec = record(env, lambda t: actions[t], 100)
    assert not rec["infusion"].any() and not rec["drug_available"].any()
    assert not rec["cue"].any() and not rec["shock"].any()
    assert (rec["drug_level"] == 0).all() and (rec["obs"][:, :, LEVEL] == 0).all()
    np.testing.assert_allclose(rec["reward"], 1.0 * (actions == FOOD))
    assert (actions == DRUG).sum() > 500


def test_shock_frequency_matches_probability_and_costs_reward():
    prob = 0.3
    env = AddictionVectorEnv(
        num_envs=64,
        session_length=100,
        timeout=0,
        shock_magnitude=2.0,
        protocol=[{"name": "punished", "sessions": 2, "shock_prob": prob}],
    )
    rec = record(env, always(DRUG, 64), 100)
    infusions = rec["infusion"].sum()
    assert infusions == 6400
    assert not (rec["shock"] & ~rec["infusion"]).any()
    rate = rec["shock"].sum() / infusions
    assert abs(rate - prob) < 4 * math.sqrt(prob * (1 - prob) / infusions)
    np.testing.assert_allclose(rec["reward"], 0.5 - 2.0 * rec["shock"])
    np.testing.assert_array_equal(rec["obs"][1:, :, SHOCK], rec["shock"])


def test_non_contingent_cue_frequency():
    env = AddictionVectorEnv(
        num_envs=64,
        session_length=100,
        protocol=[{"name": "cue", "sessions": 2, "drug": False, "cue_prob": 0.1}],
    )
    rec = record(env, always(REST, 64), 100)
    n = rec["cue"].size
    assert abs(rec["cue"].mean() - 0.1) < 4 * math.sqrt(0.09 / n)
    np.testing.assert_array_equal(rec["obs"][1:, :, CUE], rec["cue"])
    assert not rec["infusion"].any()


def test_drug_level_follows_the_pharmacokinetic_recursion():
    dose, decay, length = 0.7, 0.8, 25
    env = AddictionVectorEnv(num_envs=16, session_length=length, dose=dose, decay=decay)
    actions = np.random.default_rng(1).integers(0, 3, size=(100, 16))
    rec = record(env, lambda t: actions[t], 100)
    level = rec["drug_level"]
    previous = np.zeros(16)
    for t in range(100):
        if t % length == 0:
            previous = np.zeros(16)  # the drug is cleared between sessions
        expected = decay * previous + dose * rec["infusion"][t]
        np.testing.assert_allclose(level[t], expected, atol=1e-12)
        previous = expected
        seen = 0.0 if (t + 1) % length == 0 else expected * (1 - decay) / dose
        np.testing.assert_allclose(rec["obs"][t + 1, :, LEVEL], seen, atol=1e-6)
    assert rec["infusion"].sum() > 100
    assert level.max() <= dose / (1 - decay)


def test_priming_infusion_at_each_session_start_of_a_priming_phase():
    env = AddictionVectorEnv(
        num_envs=4,
        session_length=10,
        protocol=[
            {"name": "extinction", "sessions": 1, "drug": False},
            {"name": "priming", "sessions": 3, "drug": False, "priming": True},
        ],
    )
    rec = record(env, always(DRUG, 4), 40)
    t = np.arange(40)
    expected = (t >= 10) & (t % 10 == 0)
    for key in ("infusion", "priming"):
        np.testing.assert_array_equal(rec[key], np.repeat(expected[:, None], 4, axis=1), key)
    assert not rec["cue"].any() and not rec["shock"].any()
    np.testing.assert_allclose(rec["reward"][expected], 0.5)
    np.testing.assert_allclose(rec["drug_level"][expected], 1.0)
    # with the drug available, the priming step's press is ineffective
    env = AddictionVectorEnv(num_envs=1, session_length=5, timeout=0, priming=True)
    rec = record(env, always(DRUG, 1), 10)
    np.testing.assert_array_equal(rec["priming"][:, 0], np.arange(10) % 5 == 0)
    assert rec["infusion"].all() and not rec["drug_available"][::5].any()
    np.testing.assert_allclose(rec["drug_level"][4, 0], sum(0.9**k for k in range(5)))


def test_sessions_phases_and_contexts_follow_the_protocol():
    protocol = [
        {"name": "acquisition", "sessions": 2, "session_length": 3},
        {"name": "extinction", "sessions": 3, "session_length": 2, "drug": False, "context": 1},
        {"name": "renewal", "sessions": 1, "session_length": 4, "drug": False, "context": 0},
        {"name": "other", "sessions": 1, "session_length": 1, "context": 2},
    ]
    env = AddictionVectorEnv(num_envs=2, n_contexts=3, protocol=protocol)
    total = 2 * 3 + 3 * 2 + 4 + 1
    rec = record(env, always(REST, 2), total)
    phases = ["acquisition"] * 6 + ["extinction"] * 6 + ["renewal"] * 4 + ["other"]
    assert rec["phase"][:, 0].tolist() == phases
    assert rec["trial"][:, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5, 6]
    assert rec["session"][:, 0].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0]
    assert rec["t_in_trial"][:, 0].tolist() == [0, 1, 2] * 2 + [0, 1] * 3 + [0, 1, 2, 3, 0]
    contexts = [0] * 6 + [1] * 6 + [0] * 4 + [2]
    assert rec["context"][:, 0].tolist() == contexts
    # the observation shows the context of the next step (reset: the first)
    shown = np.argmax(rec["obs"][:, 0, len(OBS_CHANNELS) :], axis=1)
    assert shown[:-1].tolist() == contexts
    assert rec["terminated"][:, 0].tolist() == [False] * (total - 1) + [True]
    assert rec["reset_phase"][0] == "acquisition" and rec["reset_t_in_trial"][0] == 0

    single = AddictionEnv(n_contexts=3, protocol=protocol)
    _, info = single.reset(seed=0, options={"phase": "renewal"})
    assert info["phase"] == "renewal" and info["context"] == 0 and info["trial"] == 0
    steps, done = 0, False
    while not done:
        *_, done, _, info = single.step(REST)
        steps += 1
    assert steps == 5 and info["phase"] == "other"


def test_observation_layout_and_info_types():
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == (8,) and env.action_space.n == 3
    assert obs.tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    assert isinstance(info["drug_level"], float) and isinstance(info["infusion"], bool)
    assert isinstance(info["ratio_requirement"], int) and isinstance(info["phase"], str)
    envs = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(envs, AddictionVectorEnv)
    _, info = envs.reset(seed=0)
    assert info["drug_level"].dtype == np.float64 and info["session"].dtype == np.int64
    assert info["phase"].dtype == object and info["shock"].dtype == np.bool_
    names = [(p.name, p.length) for p in env.unwrapped.dynamics.protocol]
    assert names == [
        ("acquisition", 10),
        ("punishment", 2),
        ("extinction", 5),
        ("reinstatement", 1),
    ]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"session_length": 0}, "session_length"),
        ({"drug": 1}, "drug"),
        ({"schedule": "VR"}, "schedule"),
        ({"ratio": 0}, "ratio"),
        ({"timeout": -1}, "timeout"),
        ({"shock_prob": 1.5}, "shock_prob"),
        ({"shock_magnitude": -1.0}, "shock_magnitude"),
        ({"cue_prob": -0.1}, "cue_prob"),
        ({"dose": 0.0}, "dose"),
        ({"decay": 1.0}, "decay"),
        ({"n_contexts": 0}, "n_contexts"),
        ({"context": 2}, "context"),
        ({"drug_reward": float("nan")}, "drug_reward"),
        ({"protocol": [{"name": "a", "sessions": 1, "context": 5}]}, "context"),
        ({"protocol": [{"name": "a", "sessions": 1, "dose": 2.0}]}, "dose"),
        ({"protocol": [{"name": "a", "trials": 1}]}, "trials"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        AddictionEnv(**kwargs)
