"""Tests of plasticgym/ToneDiscrimination-v0: tone frequencies, rewards, stimulation modes,
protocol phases, arguments (the generic conventions are in test_env_conformance.py).

The oracle is the task re-written from its docstring: rewards from the tone played and the
response, the pulse from the tone shown; statistics over many envs compare frequencies with
their expectation within 4 binomial standard errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs.tone import (
    INFO_KEYS,
    PAIRED,
    UNPAIRED,
    draw_tone,
    stimulation_with,
    tone_frequencies,
    trial_reward,
)

ENV_ID = "plasticgym/ToneDiscrimination-v0"


def make_vec(num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point",
                        **kwargs)  # fmt: skip


def _within(count: float, n: int, p: float) -> bool:
    return abs(count - n * p) <= 4 * np.sqrt(n * p * (1 - p)) + 1


def test_frequencies_and_reward_golden():
    np.testing.assert_allclose(tone_frequencies(5), [0.0, 0.25, 0.5, 0.75, 1.0])
    response = np.array([True, True, False, False])
    target = np.array([True, False, True, False])
    np.testing.assert_array_equal(trial_reward(response, target, 0.5), [1.0, -0.5, 0.0, 0.0])


def test_draw_tone_golden_and_distribution():
    u = np.array([0.0, 0.19, 0.2, 0.39, 0.41, 0.99])
    # p_target 0.2, target 2 of 5: u < 0.2 -> 2; else floor((u - 0.2) / 0.8 * 4) skipping 2
    np.testing.assert_array_equal(draw_tone(u, np.full(6, 0.2), 2, 5), [2, 2, 0, 0, 1, 4])
    draws = draw_tone(np.random.default_rng(0).random(20_000), np.full(20_000, 0.4), 1, 4)
    counts = np.bincount(draws, minlength=4)
    for tone, p in enumerate((0.2, 0.4, 0.2, 0.2)):
        assert _within(counts[tone], 20_000, p), counts


def test_stimulation_modes():
    rng = np.random.default_rng(1)
    n = 20_000
    is_target = rng.random(n) < 0.25
    u = rng.random(n)
    paired = stimulation_with(np.full(n, PAIRED), is_target, u, np.full(n, 0.25))
    np.testing.assert_array_equal(paired, is_target.astype(float))
    unpaired = stimulation_with(np.full(n, UNPAIRED), is_target, u, np.full(n, 0.25))
    assert _within(unpaired.sum(), n, 0.25)
    # unpaired pulses are independent of the tone: as frequent with the target as without
    assert _within(unpaired[is_target].sum(), int(is_target.sum()), 0.25)
    assert not stimulation_with(np.zeros(n, dtype=np.int64), is_target, u, np.full(n, 0.25)).any()


def test_an_episode_follows_its_docstring():
    protocol = [{"name": "pairing", "trials": 40, "stimulation": "paired"},
                {"name": "training", "trials": 30}]  # fmt: skip
    env = make_vec(64, n_tones=5, target=1, protocol=protocol)
    obs, info = env.reset(seed=3)
    frequencies = tone_frequencies(5)
    rng = np.random.default_rng(0)
    shown_target = np.isclose(obs[:, 0], frequencies[1])
    np.testing.assert_array_equal(info["stimulation"], shown_target.astype(float))
    targets = 0
    for trial in range(70):
        actions = rng.integers(0, 2, 64)
        obs, reward, terminated, truncated, info = env.step(actions)
        assert sorted(k for k in info if not k.startswith("_")) == sorted(INFO_KEYS)
        played_target = shown_target  # the tone shown before this step is the one played
        np.testing.assert_array_equal(info["is_target"], played_target)
        np.testing.assert_array_equal(info["frequency"], frequencies[info["tone"]])
        expected = np.where(actions == 1, np.where(played_target, 1.0, -0.5), 0.0)
        np.testing.assert_array_equal(reward, expected)
        np.testing.assert_array_equal(info["hit"], (actions == 1) & played_target)
        assert (info["phase"] == ("pairing" if trial < 40 else "training")).all()
        assert (info["trial"] == trial).all() and not truncated.any()
        shown_target = np.isclose(obs[:, 0], frequencies[1])
        pulse = shown_target if trial < 39 else np.zeros(64, dtype=bool)  # next trial's phase
        np.testing.assert_array_equal(info["stimulation"], pulse.astype(float))
        targets += int(played_target.sum())
        assert terminated.all() == (trial == 69)
    assert _within(targets, 64 * 70, 0.2)  # p_target defaults to 1 / n_tones


def test_reset_can_start_in_a_phase():
    env = gym.make(ENV_ID, protocol=[{"name": "a", "trials": 2}, {"name": "b", "trials": 2}])
    _, info = env.reset(seed=0, options={"phase": "b"})
    assert info["phase"] == "b" and info["correct"] is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_tones": 1}, r"n_tones must be an integer in \[2, 1000\]"),
        ({"n_tones": 5, "target": 5}, r"target must be an integer in \[0, 4\]"),
        ({"p_target": 1.5}, r"p_target must be a probability"),
        ({"stimulation": "always"}, r"stimulation.*'none', 'paired', 'unpaired'"),
        ({"false_alarm_cost": -1}, r"false_alarm_cost=-1 is invalid"),
        ({"n_trials": 5, "protocol": [{"name": "a", "trials": 3}]}, r"give either n_trials"),
        ({"protocol": [{"name": "a", "trials": 3, "pulse": 1}]}, r"unknown key 'pulse'"),
        ({"n_tone": 3}, r"unknown argument 'n_tone'"),
    ],
)  # fmt: skip
def test_invalid_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make(ENV_ID, **kwargs)


def test_invalid_actions_raise():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in \{0, ..., 1\}"):
        env.step(2)
