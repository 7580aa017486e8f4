"""Tests of plasticgym/ReversalBandit-v0: reward frequencies, reversal rules, oracle agents.

Statistics run many envs at once in the native vector env and compare per-env rates with
their expectation, within a margin of 4 standard errors of the mean over envs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs.reversal import (
    CRITERION,
    FIXED,
    INFO_KEYS,
    NONE,
    ReversalBanditEnv,
    arm_probabilities,
    reversal_due,
)

ENV_ID = "plasticgym/ReversalBandit-v0"
Policy = Callable[[gym.vector.VectorEnv, np.random.Generator], np.ndarray]


def make_vec(num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(
        ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def random_policy(env: gym.vector.VectorEnv, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2, size=env.num_envs)


def oracle_policy(env: gym.vector.VectorEnv, rng: np.random.Generator) -> np.ndarray:
    """Chooses the arm with the higher reward probability on the next trial (exact model)."""
    del rng
    return env.unwrapped.reward_probabilities.argmax(1)


def rollout(
    env: gym.vector.VectorEnv, policy: Policy, trials: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Exactly ``trials`` steps of one episode per env: arrays ``[trials, N]`` of the step
    outputs (the reset is not included)."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in (*INFO_KEYS, "reward", "action", "done")}
    for _ in range(trials):
        action = policy(env, rng)
        _, reward, terminated, truncated, info = env.step(action)
        for key in INFO_KEYS:
            rows[key].append(info[key])
        rows["reward"].append(reward)
        rows["action"].append(np.asarray(action))
        rows["done"].append(terminated | truncated)
    out = {key: np.stack(value) for key, value in rows.items()}
    assert out["done"][-1].all() and not out["done"][:-1].any(), "one episode of `trials` steps"
    return out


def assert_mean_close(values: np.ndarray, expected: float, what: str) -> None:
    """Mean of per-env values within 4 standard errors (plus a hair) of ``expected``."""
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - expected) < 4 * se + 1e-3, (what, values.mean(), expected, se)


def replay_criterion(correct: np.ndarray, criterion: int) -> np.ndarray:
    """Reference for the criterion rule: the trials (``[T]``) that start a new contingency."""
    flags, streak = np.zeros(correct.size, dtype=bool), 0
    for t, hit in enumerate(correct):
        streak = streak + 1 if hit else 0
        if streak >= criterion:
            streak = 0
            if t + 1 < correct.size:
                flags[t + 1] = True
    return flags


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------


def test_arm_probabilities_golden_values():
    probs = arm_probabilities(np.array([0, 1]), np.array([0.8, 0.7]), np.array([0.2, 0.1]))
    np.testing.assert_array_equal(probs, [[0.8, 0.2], [0.1, 0.7]])


def test_reversal_due_golden_values():
    rule = np.array([FIXED, FIXED, CRITERION, CRITERION, NONE])
    since = np.array([10, 9, 100, 3, 100])
    streak = np.array([0, 9, 2, 3, 100])
    due = reversal_due(rule, since, streak, np.full(5, 10), np.full(5, 3))
    np.testing.assert_array_equal(due, [True, False, False, True, False])


# --------------------------------------------------------------------------------------------
# Oracles
# --------------------------------------------------------------------------------------------


def test_reward_frequencies_match_arm_probabilities():
    p_high, p_low = 0.75, 0.3
    out = rollout(
        make_vec(128, p_high=p_high, p_low=p_low, reversal_every=17, n_trials=300),
        random_policy,
        300,
        seed=1,
    )
    reward, correct = out["reward"], out["correct"]
    np.testing.assert_array_equal(correct, out["action"] == out["correct_arm"])
    chosen = out["reward_probs"][np.arange(300)[:, None], np.arange(128)[None, :], out["action"]]
    np.testing.assert_array_equal(chosen, np.where(correct, p_high, p_low))
    assert set(np.unique(reward)) == {0.0, 1.0}
    high = (reward * correct).sum(0) / correct.sum(0)
    low = (reward * ~correct).sum(0) / (~correct).sum(0)
    assert_mean_close(high, p_high, "reward frequency of the correct arm")
    assert_mean_close(low, p_low, "reward frequency of the other arm")


@pytest.mark.parametrize("every", [1, 7, 25])
def test_fixed_rule_reverses_exactly_every_n_trials(every):
    trials = 100
    out = rollout(make_vec(8, reversal_every=every, n_trials=trials), random_policy, trials)
    t = np.arange(trials)[:, None]
    np.testing.assert_array_equal(out["trial"], np.broadcast_to(t, out["trial"].shape))
    starts = np.broadcast_to((t % every == 0) & (t > 0), (trials, 8))
    np.testing.assert_array_equal(out["reversal"], starts)
    np.testing.assert_array_equal(out["reversals"], np.broadcast_to(t // every, (trials, 8)))
    first = out["correct_arm"][0]
    np.testing.assert_array_equal(out["correct_arm"], (first + t // every) % 2)
    changed = out["correct_arm"][1:] != out["correct_arm"][:-1]
    np.testing.assert_array_equal(changed, out["reversal"][1:])


@pytest.mark.parametrize("policy", [random_policy, oracle_policy])
def test_criterion_rule_reverses_after_criterion_consecutive_correct_choices(policy):
    trials, criterion = 200, 5
    env = make_vec(16, reversal_rule="criterion", criterion=criterion, n_trials=trials)
    out = rollout(env, policy, trials, seed=2)
    for i in range(16):
        expected = replay_criterion(out["correct"][:, i], criterion)
        np.testing.assert_array_equal(out["reversal"][:, i], expected)
    changed = out["correct_arm"][1:] != out["correct_arm"][:-1]
    np.testing.assert_array_equal(changed, out["reversal"][1:])
    if policy is oracle_policy:
        assert out["correct"].all()
        t = np.arange(trials)[:, None]
        starts = np.broadcast_to((t % criterion == 0) & (t > 0), (trials, 16))
        np.testing.assert_array_equal(out["reversal"], starts)
    else:
        assert out["reversal"].sum() > 0


def test_oracle_agent_earns_p_high_and_anti_oracle_p_low():
    p_high, p_low, trials = 0.8, 0.2, 300
    env = make_vec(128, p_high=p_high, p_low=p_low, reversal_every=13, n_trials=trials)
    out = rollout(env, oracle_policy, trials, seed=3)
    assert out["correct"].all()
    assert_mean_close(out["reward"].mean(0), p_high, "oracle reward rate")
    anti = rollout(env, lambda e, rng: 1 - oracle_policy(e, rng), trials, seed=4)
    assert not anti["correct"].any()
    assert_mean_close(anti["reward"].mean(0), p_low, "anti-oracle reward rate")


def test_exposed_model_predicts_the_next_trial():
    env = ReversalBanditEnv(reversal_rule="criterion", criterion=3, n_trials=50)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        model = env.reward_probabilities.copy()
        _, _, terminated, _, info = env.step(int(rng.integers(2)))
        np.testing.assert_array_equal(info["reward_probs"], model)
        assert info["correct_arm"] == int(model.argmax())
    assert terminated


# --------------------------------------------------------------------------------------------
# Protocol, starting state, info
# --------------------------------------------------------------------------------------------


def test_protocol_phases_have_their_own_probabilities_and_rules():
    protocol = [
        {"name": "acquisition", "trials": 30, "reversal_rule": "none"},
        {"name": "serial", "trials": 40, "reversal_every": 10, "p_high": 0.9, "p_low": 0.1},
        {"name": "criterion", "trials": 30, "reversal_rule": "criterion", "criterion": 4},
    ]
    env = make_vec(16, protocol=protocol, p_high=0.7, p_low=0.3, initial_arm=1)
    out = rollout(env, oracle_policy, 100, seed=5)
    phase = out["phase"][:, 0]
    assert list(phase) == ["acquisition"] * 30 + ["serial"] * 40 + ["criterion"] * 30
    assert (out["phase"] == out["phase"][:, :1]).all()
    probs = np.sort(out["reward_probs"], axis=-1)
    np.testing.assert_array_equal(probs[:30], np.broadcast_to([0.3, 0.7], (30, 16, 2)))
    np.testing.assert_array_equal(probs[30:70], np.broadcast_to([0.1, 0.9], (40, 16, 2)))
    reversal = out["reversal"][:, 0]
    # none; then every 10 trials counted from the phase's start; then every 4 correct choices
    expected = np.zeros(100, dtype=bool)
    expected[[40, 50, 60, 70, 74, 78, 82, 86, 90, 94, 98]] = True
    np.testing.assert_array_equal(reversal, expected)
    assert (out["correct_arm"][:40] == 1).all()


def test_reset_into_a_phase_and_initial_arm():
    protocol = [{"name": "a", "trials": 5}, {"name": "b", "trials": 3, "p_high": 1.0}]
    env = ReversalBanditEnv(protocol=protocol, initial_arm=0)
    obs, info = env.reset(seed=0, options={"phase": "b"})
    np.testing.assert_array_equal(obs, [1.0])
    assert info["phase"] == "b" and info["trial"] == 0 and info["correct_arm"] == 0
    assert not info["reversal"] and not info["correct"] and info["t_in_trial"] == 0
    steps, terminated = 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(0)
        steps += 1
        assert reward == 1.0 and info["phase"] == "b" and not truncated
    assert steps == 3
    arms = make_vec(256, n_trials=2).reset(seed=1)[1]["correct_arm"]
    assert 0.4 < arms.mean() < 0.6


def test_info_types_are_fixed():
    env = make_vec(3, n_trials=5)
    _, info = env.reset(seed=0)
    _, _, _, _, step_info = env.step(np.array([0, 1, 0]))
    expected = {
        "trial": np.int64,
        "t_in_trial": np.int64,
        "correct_arm": np.int64,
        "reversals": np.int64,
        "correct": np.bool_,
        "reversal": np.bool_,
        "phase": np.object_,
        "reward_probs": np.float64,
    }
    for source in (info, step_info):
        for key, dtype in expected.items():
            assert source[key].dtype == dtype, key
        assert source["reward_probs"].shape == (3, 2)
    _, info = ReversalBanditEnv().reset(seed=0)
    assert isinstance(info["correct"], bool) and isinstance(info["trial"], int)
    assert info["reward_probs"].shape == (2,)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_high": 1.5}, "p_high"),
        ({"p_low": -0.1}, "p_low"),
        ({"p_high": 0.3, "p_low": 0.6}, "p_high must be >= p_low"),
        ({"reversal_rule": "random"}, "reversal_rule"),
        ({"reversal_every": 0}, "reversal_every"),
        ({"criterion": 2.5}, "criterion"),
        ({"n_trials": 0}, "n_trials"),
        ({"initial_arm": 2}, "initial_arm"),
        ({"protocol": [{"name": "a", "trials": 5}], "n_trials": 5}, "n_trials"),
        ({"protocol": [{"name": "a"}]}, "trials"),
        ({"protocol": [{"name": "a", "trials": 5, "p_hi": 0.9}]}, "p_hi"),
        ({"protocol": [{"name": "a", "trials": 5, "p_high": 0.1}]}, "p_high"),
        ({"protocol": []}, "protocol"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReversalBanditEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        make_vec(2, **kwargs)


def test_default_protocol_and_phase_instances():
    env = ReversalBanditEnv()
    (phase,) = env.protocol
    assert (phase.name, phase.length, phase.p_high, phase.p_low) == ("reversal", 400, 0.8, 0.2)
    assert (phase.reversal_rule, phase.reversal_every, phase.criterion) == ("fixed", 40, 8)
    assert ReversalBanditEnv(protocol=env.protocol).protocol == env.protocol
