"""Tests of plasticgym/SkillLearning-v0: pure functions, trial structure, oracle statistics.

The generic API checks (check_env, vector == sync, seeding, checkpoints, invalid actions) are in
test_env_conformance.py. Statistics run over a batch of envs and compare with margins derived
from standard errors, never from one lucky seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs.skill import (
    INFO_KEYS,
    SkillLearningEnv,
    SkillLearningVectorEnv,
    cue_evidence,
    history_channels,
    parse_sequence,
    random_target,
    step_reward,
    trial_target,
)

ENV_ID = "plasticgym/SkillLearning-v0"
SEQUENCE = "DBCACBDCBA"
N_ENVS = 64
MIXED = [
    {"name": "sequence", "blocks": 2},
    {"name": "random", "blocks": 2, "block_type": "random"},
]

Policy = Callable[[SkillLearningVectorEnv, np.ndarray, np.ndarray], np.ndarray]


def run_vector(policy: Policy, seed: int = 0, **kwargs: Any) -> dict[str, np.ndarray]:
    """One episode of each of ``N_ENVS`` envs; steps of envs already done are dropped.

    ``policy(env, obs, t_in_trial) -> actions`` sees the pending trial's step index. Returns
    every info key, ``reward`` and ``obs`` (the observation the action answered) as flat
    arrays over the valid steps, plus ``env`` (which env each row belongs to).
    """
    env = SkillLearningVectorEnv(num_envs=N_ENVS, **kwargs)
    obs, info = env.reset(seed=seed)
    t_in_trial = info["t_in_trial"].copy()
    done = np.zeros(N_ENVS, dtype=bool)
    rows: dict[str, list[np.ndarray]] = {key: [] for key in (*INFO_KEYS, "reward", "obs", "env")}
    while not done.all():
        actions = policy(env, obs, t_in_trial)
        next_obs, reward, terminated, truncated, info = env.step(actions)
        live = ~done
        for key in INFO_KEYS:
            rows[key].append(info[key][live])
        rows["reward"].append(reward[live])
        rows["obs"].append(obs[live])
        rows["env"].append(np.flatnonzero(live))
        assert not truncated.any()
        ended = info["latency"] > 0
        t_in_trial = np.where(ended, 0, info["t_in_trial"] + 1)
        done |= terminated
        obs = next_obs
    return {key: np.concatenate(value) for key, value in rows.items()}


def trial_rows(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rows that end a trial (one per trial), grouped by env, in time order."""
    ends = np.flatnonzero(out["latency"] > 0)
    rows = ends[np.argsort(out["env"][ends], kind="stable")]
    return {key: value[rows] for key, value in out.items()}


def hazard_policy(hazard: float, seed: int) -> Policy:
    """Responds with probability ``hazard`` at every step, with a uniformly random key."""
    rng = np.random.default_rng(seed)

    def policy(env: SkillLearningVectorEnv, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
        respond = rng.random(env.num_envs) < hazard
        return np.where(respond, rng.integers(1, 5, size=env.num_envs), 0)

    return policy


def accumulator_policy(wait: int) -> Policy:
    """Sums the cue channels for ``wait`` steps, then names the largest sum."""
    total = np.zeros((N_ENVS, 4))

    def policy(env: SkillLearningVectorEnv, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
        total[t == 0] = 0.0
        total[:] += obs[:, :4]
        return np.where(t + 1 >= wait, total.argmax(axis=1) + 1, 0)

    return policy


def sequence_knower_policy(threshold: float = 1.5) -> Policy:
    """Knows the sequence (and where it is in it): in sequence blocks it answers at once; in
    random blocks it accumulates evidence until one position leads by ``threshold``."""
    total = np.zeros((N_ENVS, 4))
    table = np.array(["ABCD".index(c) for c in SEQUENCE])

    def policy(env: SkillLearningVectorEnv, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
        total[t == 0] = 0.0
        total[:] += obs[:, :4]
        ranked = np.sort(total, axis=1)
        sure = ranked[:, -1] - ranked[:, -2] > threshold
        accumulated = np.where(sure, total.argmax(axis=1) + 1, 0)
        known = env.block_type == "sequence"
        predicted = table[np.maximum(env.seq_position, 0)] + 1
        return np.where(known, predicted, accumulated)

    return policy


SEQUENCE_TABLE = {
    tuple("ABCD".index(SEQUENCE[(k - j) % len(SEQUENCE)]) for j in (1, 2, 3)): "ABCD".index(
        SEQUENCE[k]
    )
    for k in range(len(SEQUENCE))
}
"""The default sequence's next item from its last three items (most recent first)."""
NEXT_FROM_CODE = np.full(64, -1)
for _back, _next in SEQUENCE_TABLE.items():
    NEXT_FROM_CODE[16 * _back[0] + 4 * _back[1] + _back[2]] = _next


def history_knower_policy(threshold: float = 1.5) -> Policy:
    """Knows only the sequence, not where it is nor the block type: it reads the last three
    targets from the observation's previous-target channels (``history=3``). If they are three
    consecutive items of the sequence it answers the next item at once; otherwise it
    accumulates evidence until one position leads by ``threshold``."""
    total = np.zeros((N_ENVS, 4))

    def policy(env: SkillLearningVectorEnv, obs: np.ndarray, t: np.ndarray) -> np.ndarray:
        del env  # nothing but the observation
        total[t == 0] = 0.0
        total[:] += obs[:, :4]
        ranked = np.sort(total, axis=1)
        sure = ranked[:, -1] - ranked[:, -2] > threshold
        accumulated = np.where(sure, total.argmax(axis=1) + 1, 0)
        groups = obs[:, 4:16].reshape(-1, 3, 4)
        known = groups.any(axis=2).all(axis=1)
        back = groups.argmax(axis=2) @ np.array([16, 4, 1])  # (t-1, t-2, t-3) in base 4
        predicted = NEXT_FROM_CODE[back]
        return np.where(known & (predicted >= 0), predicted + 1, accumulated)

    return policy


def mean_and_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def per_env_mean_and_se(values: np.ndarray, env: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` and its standard error over envs (each env one independent unit)."""
    means = np.array([values[env == i].mean() for i in np.unique(env)], dtype=float)
    return mean_and_se(means)


def previous_targets(out: dict[str, np.ndarray]) -> np.ndarray:
    """For trial rows grouped by env in time order: the previous trial's target (-1 if none)."""
    previous = np.roll(out["target"], 1)
    first = np.ones(out["env"].size, dtype=bool)
    first[1:] = out["env"][1:] != out["env"][:-1]
    return np.where(first, -1, previous)


def expected_accumulator_accuracy(wait: int, n: int = 200_000) -> tuple[float, float]:
    """Monte Carlo accuracy (and its SE) of summing ``wait`` noisy views of a uniformly drawn
    target and naming the largest sum, with the default ``signal = noise_sd = 0.3``."""
    rng = np.random.default_rng(12345)
    target = rng.integers(0, 4, n)
    total = np.zeros((n, 4))
    for _ in range(wait):
        total += cue_evidence(target, rng.standard_normal((n, 4)), 0.3, 0.3).astype(np.float32)
    return mean_and_se(total.argmax(axis=1) == target)


# ------------------------------------------------------------------------------------------
# pure functions
# ------------------------------------------------------------------------------------------


def test_trial_target_follows_sequence_or_pseudo_random():
    sequences = np.array([[3, 1, 2, 0], [0, 0, 0, 0]])
    lengths = np.array([3, 4])
    is_sequence = np.array([True, False])
    phase = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    trial_in_phase = np.array([0, 1, 2, 4, 0, 1, 2, 3, 4, 5, 6])
    u = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 0.999999, 0.0, 0.4, 0.999999])
    previous = np.array([-1, 3, 1, 3, -1, -1, -1, -1, 0, 1, 3])
    target, position = trial_target(
        phase, trial_in_phase, u, previous, is_sequence, sequences, lengths
    )
    # Random: no previous -> floor(4u); previous p -> k = floor(3u), k + [k >= p].
    np.testing.assert_array_equal(target, [3, 1, 2, 1, 0, 1, 2, 3, 1, 2, 2])
    np.testing.assert_array_equal(position, [0, 1, 2, 1, -1, -1, -1, -1, -1, -1, -1])


def test_random_target_is_uniform_over_the_positions_other_than_the_previous():
    u = np.random.default_rng(0).random(60_000)
    for previous in (-1, 0, 1, 2, 3):
        target = random_target(u, np.full(u.size, previous))
        allowed = [k for k in range(4) if k != previous]
        assert set(np.unique(target)) == set(allowed)
        counts = np.bincount(target, minlength=4)[allowed]
        assert stats.chisquare(counts).pvalue > 1e-4, (previous, counts)


def test_cue_evidence_history_channels_and_reward_golden_values():
    z = np.array([[0.0, 1.0, -1.0, 10.0]])
    np.testing.assert_allclose(cue_evidence(np.array([0]), z, 0.3, 0.2), [[0.3, 0.2, 0.0, 1.0]])
    history = np.array([[2, -1], [0, 3]])
    expected = [[0, 0, 1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 1]]
    np.testing.assert_array_equal(history_channels(history), expected)
    assert history_channels(np.zeros((2, 0), dtype=np.int64)).shape == (2, 0)
    correct = np.array([True, False, False])
    ends = np.array([True, True, False])
    np.testing.assert_allclose(step_reward(correct, ends, 1.0, -0.5, 0.01), [0.99, -0.51, -0.01])


@pytest.mark.parametrize("value", ["", "ABCE", "abcd", 123, None, ["A", "B"]])
def test_parse_sequence_rejects_non_sequences(value):
    with pytest.raises(ValueError, match="sequence"):
        parse_sequence("sequence", value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sequence": "DBX"}, "sequence"),
        ({"block_trials": 0}, "block_trials"),
        ({"max_steps": 0}, "max_steps"),
        ({"signal": 1.5}, "signal"),
        ({"noise_sd": -0.1}, "noise_sd"),
        ({"history": -1}, "history"),
        ({"history": 33}, "history"),
        ({"reward_correct": float("nan")}, "reward_correct"),
        ({"reward_error": float("inf")}, "reward_error"),
        ({"step_cost": "0.1"}, "step_cost"),
        ({"protocol": [{"name": "a", "blocks": 1, "block_type": "mixed"}]}, "block_type"),
        ({"protocol": [{"name": "a", "blocks": 1, "trials": 3}]}, "trials"),
        ({"protocol": [{"name": "a"}]}, "blocks"),
        ({"protocol": [{"name": "a", "blocks": 1}, {"name": "a", "blocks": 1}]}, "unique"),
        ({"protocol": []}, "protocol"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SkillLearningEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        SkillLearningVectorEnv(num_envs=2, **kwargs)


def test_unknown_arguments_raise_value_errors_listing_the_allowed_ones():
    for make in (
        lambda **kw: SkillLearningEnv(**kw),
        lambda **kw: gym.make(ENV_ID, **kw),
        lambda **kw: SkillLearningVectorEnv(num_envs=2, **kw),
        lambda **kw: gym.make_vec(
            ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", **kw
        ),
    ):
        with pytest.raises(ValueError, match=r"unknown argument 'bogus'; allowed") as err:
            make(bogus=1)
        assert "'block_trials'" in str(err.value) and "'render_mode'" in str(err.value)
        with pytest.raises(ValueError, match=r"unknown argument 'histroy'; allowed"):
            make(histroy=3)
    with pytest.raises(ValueError, match=r"SkillLearningEnv got an unknown argument 'num_envs'"):
        SkillLearningEnv(num_envs=2)


# ------------------------------------------------------------------------------------------
# trial structure
# ------------------------------------------------------------------------------------------


def test_defaults_and_spaces():
    env = gym.make(ENV_ID).unwrapped
    assert isinstance(env, SkillLearningEnv)
    layout = [(p.name, p.length, p.block_type, p.block_trials) for p in env.protocol]
    assert layout == [("training", 4, "sequence", 100), ("random", 1, "random", 100),
                      ("recovery", 1, "sequence", 100)]  # fmt: skip
    assert env.action_space == gym.spaces.Discrete(5)
    space = env.observation_space
    assert space.shape == (8,) and (space.low == 0).all() and (space.high == 1).all()
    assert SkillLearningEnv(history=3).observation_space.shape == (16,)


def test_watching_times_out_and_responses_end_trials():
    env = SkillLearningEnv(block_trials=2, max_steps=3, history=2, reward_error=-0.5,
                           protocol=[{"name": "s", "blocks": 2}])  # fmt: skip
    obs, info = env.reset(seed=0)
    assert sorted(info) == sorted(INFO_KEYS)
    assert info["target"] == env.target == 3 and info["seq_position"] == 0  # D
    np.testing.assert_array_equal(obs[4:], 0.0)  # no previous targets yet
    types = {key: type(value) for key, value in info.items()}
    for t in range(3):  # keep watching: a miss after max_steps
        obs, reward, terminated, _, info = env.step(0)
        assert {key: type(value) for key, value in info.items()} == types
        assert info["t_in_trial"] == t and not info["responded"] and info["response"] == -1
        assert info["missed"] == (t == 2) and info["latency"] == (3 if t == 2 else 0)
        assert reward == pytest.approx(-0.01 + (-0.5 if t == 2 else 0.0))
    np.testing.assert_array_equal(obs[4:], [0, 0, 0, 1, 0, 0, 0, 0])  # D one trial back
    assert env.target == 1 and env.seq_position == 1  # B
    obs, reward, _, _, info = env.step(2)  # correct at once
    assert info["correct"] and info["latency"] == 1 and info["block"] == 0
    assert reward == pytest.approx(0.99)
    np.testing.assert_array_equal(obs[4:], [0, 1, 0, 0, 0, 0, 0, 1])  # B, then D
    obs, reward, terminated, _, info = env.step(0)
    obs, reward, terminated, _, info = env.step(1)  # C is the target; A is wrong
    assert info["block"] == 1 and info["target"] == 2 and info["response"] == 0
    assert not info["correct"] and info["latency"] == 2 and not terminated
    assert reward == pytest.approx(-0.51)
    *_, terminated, _, info = env.step(4)
    assert terminated and info["trial"] == 3 and info["target"] == 0


def test_forced_phase_and_block_counting():
    env = SkillLearningEnv(block_trials=3, protocol=MIXED)
    _, info = env.reset(seed=1, options={"phase": "random"})
    assert info["phase"] == "random" and info["block_type"] == "random"
    assert info["seq_position"] == -1 and env.block_type == "random"
    blocks = []
    terminated = False
    while not terminated:
        *_, terminated, _, info = env.step(1)
        blocks.append(info["block"])
    assert blocks == [0, 0, 0, 1, 1, 1]


def test_sequence_blocks_follow_the_sequence_and_random_blocks_never_repeat():
    out = trial_rows(run_vector(hazard_policy(0.5, 0), block_trials=100, protocol=MIXED))
    seq = out["block_type"] == "sequence"
    assert (out["seq_position"][seq] == np.tile(np.arange(10), 20 * N_ENVS)).all()
    expected = np.array(["ABCD".index(c) for c in SEQUENCE])[out["seq_position"][seq]]
    np.testing.assert_array_equal(out["target"][seq], expected)
    previous = previous_targets(out)
    assert (out["target"][1:] != out["target"][:-1])[out["env"][1:] == out["env"][:-1]].all()
    targets, before = out["target"][~seq], previous[~seq]
    assert targets.size == 200 * N_ENVS and (out["seq_position"][~seq] == -1).all()
    # Every random trial follows a known target (the random phase comes second): never the
    # same again (the sequence never repeats a position either), and given the previous
    # target uniform over the other three. Conditional chi-square: 4 rows x 2 dof = 8 dof.
    assert (before >= 0).all() and (targets != before).all()
    offset = targets - (targets > before)  # rank among the three allowed: 0, 1, 2
    table = np.zeros((4, 3))
    np.add.at(table, (before, offset), 1)
    expected_counts = table.sum(axis=1, keepdims=True) / 3
    chi2 = float(((table - expected_counts) ** 2 / expected_counts).sum())
    assert stats.chi2.sf(chi2, df=8) > 1e-4, table


def test_first_random_target_of_an_episode_is_uniform_over_all_four():
    env = SkillLearningVectorEnv(num_envs=8000, block_trials=3, protocol=MIXED)
    _, info = env.reset(seed=0, options={"phase": "random"})
    assert (info["block_type"] == "random").all()
    assert stats.chisquare(np.bincount(info["target"], minlength=4)).pvalue > 1e-4


def test_history_channels_make_the_sequence_predictable():
    """With three previous targets the next sequence item is a function of the observation,
    so a learner that knows only the sequence (not its position in it, nor the block type)
    can infer where it is and answer at once in sequence blocks, as the perfect knower does.
    In random blocks its guesses from the history are right a third of the time."""
    assert len(SEQUENCE_TABLE) == len(SEQUENCE), "three items fix the position in the sequence"
    out = trial_rows(
        run_vector(history_knower_policy(), history=3, block_trials=100, protocol=MIXED)
    )
    seq = (out["block_type"] == "sequence") & (out["trial"] >= 3)
    assert (out["latency"][seq] == 1).all() and out["correct"][seq].all()
    rnd = out["block_type"] == "random"
    # Immediate answers in random blocks name the sequence's next item, never the previous
    # target (the sequence has no repeats), so they are right with probability exactly 1/3.
    guessed = rnd & (out["latency"] == 1)
    accuracy = out["correct"][guessed].mean()
    assert guessed.sum() > 1000
    assert abs(accuracy - 1 / 3) < 4 * math.sqrt(1 / 3 * 2 / 3 / guessed.sum())
    lat_seq, se_seq = per_env_mean_and_se(out["latency"][seq], out["env"][seq])
    lat_rnd, se_rnd = per_env_mean_and_se(out["latency"][rnd], out["env"][rnd])
    assert lat_rnd - lat_seq > 4 * math.hypot(se_seq, se_rnd)


# ------------------------------------------------------------------------------------------
# oracle statistics
# ------------------------------------------------------------------------------------------


def test_random_responder_is_blind_to_block_type():
    out = trial_rows(run_vector(hazard_policy(0.3, 1), block_trials=50, protocol=MIXED))
    seq = out["block_type"] == "sequence"
    for key in ("latency", "correct"):
        m_seq, se_seq = mean_and_se(out[key][seq])
        m_rnd, se_rnd = mean_and_se(out[key][~seq])
        assert abs(m_seq - m_rnd) < 4 * math.hypot(se_seq, se_rnd), key
    accuracy, se = mean_and_se(out["correct"][out["responded"]])
    assert abs(accuracy - 0.25) < 4 * se


def test_evidence_accumulator_accuracy_rises_with_waiting():
    protocol = [{"name": "random", "blocks": 1, "block_type": "random"}]
    accuracy = []
    for wait in (1, 3, 10):
        out = trial_rows(run_vector(accumulator_policy(wait), block_trials=100, protocol=protocol))
        assert (out["latency"] == wait).all()
        observed, se = per_env_mean_and_se(out["correct"], out["env"])
        expected, se_expected = expected_accumulator_accuracy(wait)
        assert abs(observed - expected) < 4 * math.hypot(se, se_expected), (wait, observed)
        accuracy.append((observed, se))
    for (low, se_low), (high, se_high) in pairwise(accuracy):
        assert high - low > 4 * math.hypot(se_low, se_high)


def test_sequence_knower_is_faster_and_not_less_accurate_in_sequence_blocks():
    out = trial_rows(run_vector(sequence_knower_policy(), block_trials=50, protocol=MIXED))
    seq = out["block_type"] == "sequence"
    assert (out["latency"][seq] == 1).all() and out["correct"][seq].all()
    lat_seq, se_seq = mean_and_se(out["latency"][seq])
    lat_rnd, se_rnd = mean_and_se(out["latency"][~seq])
    assert lat_rnd - lat_seq > 4 * math.hypot(se_seq, se_rnd)
    acc_rnd, se_acc = mean_and_se(out["correct"][~seq])
    assert acc_rnd < 1.0 and out["correct"][seq].mean() >= acc_rnd - 4 * se_acc


# ------------------------------------------------------------------------------------------
# the memory variant: history=0, the cue alone
# ------------------------------------------------------------------------------------------


def test_memory_variant_observation_is_the_cue_alone():
    """With ``history=0`` the observation space is the four cue channels, and every
    observation equals the cue rows of the same run with the previous targets shown (same
    seed, same actions): nothing about earlier trials is visible."""
    env = gym.make(ENV_ID, history=0).unwrapped
    space = env.observation_space
    assert space.shape == (4,) and (space.low == 0).all() and (space.high == 1).all()
    shown = run_vector(hazard_policy(0.4, 2), history=3, block_trials=20, protocol=MIXED)
    alone = run_vector(hazard_policy(0.4, 2), history=0, block_trials=20, protocol=MIXED)
    assert alone["obs"].shape == (len(shown["obs"]), 4)
    np.testing.assert_array_equal(alone["obs"], shown["obs"][:, :4])
    for key in INFO_KEYS:
        np.testing.assert_array_equal(alone[key], shown[key], err_msg=key)
    assert shown["obs"][:, 4:].any()  # the history was there to be removed


def test_memory_variant_cue_does_not_depend_on_the_previous_target():
    """Given the current target, the cue evidence of ``history=0`` is the same whatever the
    previous target was: its mean per (previous, current) pair matches the pair's current
    target alone within standard errors (no trace of the previous target in the channels)."""
    out = run_vector(hazard_policy(0.3, 3), history=0, block_trials=100, protocol=MIXED)
    trials = trial_rows(out)
    previous = previous_targets(trials)
    first_steps = (out["t_in_trial"] == 0) & (out["trial"] > 0)
    # previous target of each first step: the target of the env's trial before
    by_trial = {(e, t): p for e, t, p in zip(trials["env"], trials["trial"], previous, strict=True)}
    rows = np.flatnonzero(first_steps)
    before = np.array([by_trial[(out["env"][i], out["trial"][i])] for i in rows])
    target, obs = out["target"][rows], out["obs"][rows]
    for current in range(4):
        pooled = obs[target == current].mean(axis=0)
        for back in set(before[target == current]) - {-1}:
            pick = (target == current) & (before == back)
            se = obs[pick].std(axis=0, ddof=1) / math.sqrt(pick.sum())
            assert pick.sum() > 200
            assert (np.abs(obs[pick].mean(axis=0) - pooled) < 5 * se + 1e-9).all()


def test_memory_variant_vector_equals_single_and_is_deterministic():
    kwargs = {"history": 0, "block_trials": 10, "max_steps": 6, "protocol": MIXED}
    native = SkillLearningVectorEnv(num_envs=4, **kwargs)
    sync = gym.vector.SyncVectorEnv([lambda: SkillLearningEnv(**kwargs) for _ in range(4)])
    runs = []
    for env in (native, sync, SkillLearningVectorEnv(num_envs=4, **kwargs)):
        obs, _ = env.reset(seed=5)
        steps = [obs]
        actions = np.random.default_rng(1)
        for _ in range(120):
            obs, reward, terminated, _, info = env.step(actions.integers(0, 5, size=4))
            steps.extend([obs, reward, terminated, info["target"], info["correct"]])
        runs.append(steps)
        env.close()
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(runs[0], runs[2], strict=True):  # the same seed again: bit-identical
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = SkillLearningVectorEnv(num_envs=4, **kwargs)
    obs, _ = other.reset(seed=6)
    assert not np.array_equal(obs, runs[0][0])
