"""Tests of plasticgym/Addiction-v0: schedules, pharmacokinetics, protocol phases, relapse
probes, with scripted agents in the native vector env."""

from __future__ import annotations

import itertools
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
    pr_session_over,
    progressive_ratio,
    ratio_requirement,
)

ENV_ID = "plasticgym/Addiction-v0"
LEVEL, CUE, TIMEOUT, UNAVAILABLE, FOOD_CH, SHOCK, FOOD_TIMEOUT = range(len(OBS_CHANNELS))
PR_SEQUENCE = [1, 2, 4, 6, 9, 12, 15, 20, 25, 32, 40, 50, 62, 77, 95, 118, 145, 178, 219, 268]

FR = [{"name": "fr", "sessions": 10}]
"""A plain chamber: one fixed-ratio phase with the constructor's parameters."""

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


def pr_always_pressing(timeout: int, pr_limit: int) -> tuple[list[int], int]:
    """Steps of the infusions of an agent pressing the drug lever at every step of a PR
    session, and the session's length, worked out from the rules: ratio 1 is completed at
    step 0; each later infusion comes ``timeout`` blocked steps plus ``ratio_n`` presses
    after the one before, unless that wait exceeds ``pr_limit``: then the session ends
    ``pr_limit`` steps after the last infusion."""
    steps, last = [], -1
    for n, ratio in enumerate(PR_SEQUENCE, start=1):
        wait = (timeout if n > 1 else 0) + ratio  # steps after `last` until the infusion
        if wait > pr_limit:
            return steps, last + pr_limit + 1
        last += wait
        steps.append(last)
    raise AssertionError("extend PR_SEQUENCE")


def test_pr_session_over_golden_values():
    idle = np.array([59, 60, 61, 60])
    progressive = np.array([True, True, True, False])
    np.testing.assert_array_equal(
        pr_session_over(idle, progressive, np.full(4, 60)), [False, True, True, False]
    )


def test_progressive_ratio_in_the_chamber_breakpoint_and_session_end():
    env = AddictionVectorEnv(
        num_envs=2,
        protocol=[
            {"name": "pr", "sessions": 2, "schedule": "PR", "timeout": 0, "session_length": 1000}
        ],
    )
    infusions, length = pr_always_pressing(timeout=0, pr_limit=60)
    assert len(infusions) == 12 and length == 215 + 60 + 1  # sum(ratios 1..50) - 1 + 60 + 1
    rec = record(env, always(DRUG, 2), length + 2)
    steps = np.flatnonzero(rec["infusion"][:length, 0])
    np.testing.assert_array_equal(steps, infusions)
    gaps = np.diff(np.concatenate([[-1], steps]))
    np.testing.assert_array_equal(gaps, PR_SEQUENCE[:12])
    np.testing.assert_array_equal(rec["ratio_requirement"][steps, 0], PR_SEQUENCE[:12])
    np.testing.assert_array_equal(rec["reset_ratio_requirement"], [1, 1])
    # the session ends pr_limit = 60 steps after its last infusion; its breakpoint is 50
    end = np.flatnonzero(rec["session_end"][:, 0])
    assert end.tolist() == [length - 1] and length - 1 == steps[-1] + 60
    assert rec["breakpoint"][length - 1, 0] == 50 == PR_SEQUENCE[11]
    assert (rec["t_in_trial"][:length, 0] == np.arange(length)).all()
    # the next session starts again at ratio 1
    assert rec["trial"][length, 0] == 1 and rec["t_in_trial"][length, 0] == 0
    assert rec["infusion"][length, 0] and rec["ratio_requirement"][length, 0] == 1
    assert rec["breakpoint"][length, 0] == 1


@pytest.mark.parametrize(("timeout", "pr_limit"), [(0, 60), (2, 60), (0, 250), (5, 20), (0, 1)])
def test_always_pressing_reaches_the_highest_ratio_that_fits_in_pr_limit(timeout, pr_limit):
    infusions, length = pr_always_pressing(timeout, pr_limit)
    highest = max(r for r in PR_SEQUENCE if timeout + r <= pr_limit)
    assert len(infusions) == PR_SEQUENCE.index(highest) + 1
    env = AddictionVectorEnv(
        num_envs=1,
        timeout=timeout,
        pr_limit=pr_limit,
        protocol=[{"name": "pr", "sessions": 2, "schedule": "PR", "session_length": 5000}],
    )
    rec = record(env, always(DRUG, 1), length + 1)
    np.testing.assert_array_equal(np.flatnonzero(rec["infusion"][:length, 0]), infusions)
    np.testing.assert_array_equal(np.flatnonzero(rec["session_end"][:, 0]), [length - 1])
    assert rec["breakpoint"][length - 1, 0] == highest
    assert rec["trial"][length, 0] == 1  # the next session has begun


def test_an_agent_that_stops_pressing_gets_a_lower_breakpoint_and_an_earlier_end():
    env = AddictionVectorEnv(
        num_envs=2,
        timeout=0,
        protocol=[{"name": "pr", "sessions": 5, "schedule": "PR", "session_length": 1000}],
    )
    # env 0 presses at every step, env 1 only during the first 40 steps, then rests
    rec = record(env, lambda t: np.array([DRUG, DRUG if t < 40 else REST]), 300)
    infusions = np.flatnonzero(rec["infusion"][:, 1])
    # ratios 1, 2, 4, 6, 9, 12 end at steps 0, 2, 6, 12, 21, 33; ratio 15 would need step 48
    assert infusions[:6].tolist() == [0, 2, 6, 12, 21, 33]
    end = np.flatnonzero(rec["session_end"][:, 1])[0]
    assert end == 33 + 60
    assert rec["breakpoint"][end, 1] == 12 < rec["breakpoint"][275, 0] == 50
    assert rec["trial"][end + 1, 1] == 1 and rec["t_in_trial"][end + 1, 1] == 0
    # and presses that do not complete a ratio do not postpone the end
    env = AddictionVectorEnv(
        num_envs=1,
        timeout=0,
        pr_limit=10,
        protocol=[{"name": "pr", "sessions": 3, "schedule": "PR", "session_length": 1000}],
    )
    rec = record(env, lambda t: np.array([DRUG if t in (0, 1, 2, 4, 9, 12) else REST]), 30)
    # infusions at 0 (ratio 1) and 2 (ratio 2); ratio 4 needs 4 presses, 4, 9, 12 are 3: the
    # session ends 10 steps after step 2; the next, without presses, after its 10 steps
    assert np.flatnonzero(rec["infusion"][:, 0]).tolist() == [0, 2]
    assert np.flatnonzero(rec["session_end"][:, 0]).tolist() == [2 + 10, 12 + 10]
    assert rec["breakpoint"][12, 0] == 2 and rec["breakpoint"][22, 0] == 0


def test_fixed_ratio_sessions_ignore_pr_limit():
    env = AddictionVectorEnv(num_envs=1, session_length=25, pr_limit=1, protocol=FR)
    rec = record(env, always(REST, 1), 50)
    np.testing.assert_array_equal(np.flatnonzero(rec["session_end"][:, 0]), [24, 49])
    assert rec["t_in_trial"][:, 0].tolist() == list(range(25)) * 2


def test_fixed_ratio_counts_effective_presses():
    env = AddictionVectorEnv(num_envs=1, session_length=40, ratio=3, timeout=0, protocol=FR)

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
    env = AddictionVectorEnv(num_envs=2, session_length=50, timeout=timeout, protocol=FR)
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
        num_envs=3,
        session_length=24,
        timeout=0,
        available_period=5,
        unavailable_period=3,
        protocol=FR,
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
    np.testing.assert_array_equal(rec["food"], (actions == FOOD) & rec["food_available"])
    np.testing.assert_allclose(rec["reward"], 1.0 * rec["food"])
    np.testing.assert_array_equal(rec["press"], actions)
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


def test_delayed_infusion_follows_the_completed_ratio_and_its_shock_by_one_step():
    env = AddictionVectorEnv(num_envs=2, session_length=7, timeout=2, shock_magnitude=2.0,
                             protocol=[{"name": "punished", "sessions": 2, "shock_prob": 1.0,
                                        "infusion_delay": 1, "food": False}])  # fmt: skip
    rec = record(env, always(DRUG, 2), 14)
    completes = np.array([1, 0, 0, 1, 0, 0, 1] * 2, dtype=bool)  # FR1 + 2-step timeout
    for n in range(2):
        np.testing.assert_array_equal(rec["cue"][:, n], completes)
        np.testing.assert_array_equal(rec["shock"][:, n], completes)
        # the next step infuses, except after a session's last step (t = 6)
        infused = np.array([0, 1, 0, 0, 1, 0, 0] * 2, dtype=bool)
        np.testing.assert_array_equal(rec["infusion"][:, n], infused)
        np.testing.assert_allclose(rec["reward"][:, n], 0.5 * infused - 2.0 * completes)
        assert (rec["drug_level"][:, n][infused] >= 1.0).all()
        assert rec["drug_level"][0, n] == 0.0  # nothing before the infusion
    env.close()


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
    env = AddictionVectorEnv(
        num_envs=16, session_length=length, dose=dose, decay=decay, protocol=FR
    )
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
    env = AddictionVectorEnv(num_envs=1, session_length=5, timeout=0, priming=True, protocol=FR)
    rec = record(env, always(DRUG, 1), 10)
    np.testing.assert_array_equal(rec["priming"][:, 0], np.arange(10) % 5 == 0)
    assert rec["infusion"].all() and not rec["drug_available"][::5].any()
    np.testing.assert_allclose(rec["drug_level"][4, 0], sum(0.9**k for k in range(5)))


def test_priming_dose_scales_the_priming_infusion_but_not_its_reward():
    dose, decay = 0.7, 0.9
    env = AddictionVectorEnv(
        num_envs=2,
        session_length=10,
        dose=dose,
        decay=decay,
        protocol=[
            {"name": "extinction", "sessions": 1, "drug": False},
            {"name": "primed", "sessions": 2, "drug": False, "priming": True, "priming_dose": 5},
        ],
    )
    rec = record(env, always(REST, 2), 30)
    primed = np.flatnonzero(rec["priming"][:, 0])
    assert primed.tolist() == [10, 20] and (rec["infusion"] == rec["priming"]).all()
    # the priming step raises the level by 5 * dose; its reward is still drug_reward
    np.testing.assert_allclose(rec["drug_level"][primed], 5 * dose)
    np.testing.assert_allclose(rec["reward"][primed], 0.5)
    assert (rec["reward"][~rec["priming"]] == 0).all()
    # then it decays as after any infusion; the channel shows level * (1 - decay) / dose
    k = np.arange(10)
    level = 5 * dose * decay**k
    np.testing.assert_allclose(rec["drug_level"][10:20, 0], level)
    signal = np.minimum(level * (1 - decay) / dose, 1.0)
    np.testing.assert_allclose(rec["obs"][11:20, 0, LEVEL], signal[:9], rtol=1e-6)
    # above the self-administration ceiling dose / (1 - decay) the channel is clipped to 1,
    # self-administered infusions still add dose, and the state stays valid
    dose, decay = 1.0, 0.5
    env = AddictionVectorEnv(
        num_envs=1,
        session_length=6,
        timeout=0,
        dose=dose,
        decay=decay,
        priming=True,
        priming_dose=5.0,
        protocol=FR,
    )
    rec = record(env, always(DRUG, 1), 3)
    np.testing.assert_array_equal(rec["priming"][:, 0], [True, False, False])
    assert rec["infusion"].all()
    np.testing.assert_allclose(rec["drug_level"][:, 0], [5.0, 2.5 + 1.0, 1.75 + 1.0])
    np.testing.assert_array_equal(rec["obs"][1:, 0, LEVEL], [1.0, 1.0, 1.0])
    env.dynamics.check_state(env.state)
    too_high = env.state._replace(level=np.array([5.0 * dose / (1 - decay) * 1.01]))
    with pytest.raises(ValueError, match="level"):
        env.dynamics.check_state(too_high)


def test_press_cost_charges_every_lever_press_effective_or_not():
    protocol = [
        {"name": "extinction", "sessions": 1, "drug": False, "food": False},
        {"name": "fr", "sessions": 1},
        {"name": "free", "sessions": 1, "press_cost": 0.0},
    ]
    env = AddictionVectorEnv(num_envs=3, session_length=9, press_cost=0.1, protocol=protocol)
    rec = record(env, lambda t: np.array([REST, DRUG, FOOD]), 27)
    reward = rec["reward"]
    # drug-free phase: each press costs 0.1, resting is free
    np.testing.assert_allclose(reward[:9], np.tile([0.0, -0.1, -0.1], (9, 1)))
    # drug phase (timeouts of 2 steps): an infusion press earns drug_reward - press_cost, a
    # food press food_reward - press_cost, a press during a timeout costs press_cost
    np.testing.assert_array_equal(rec["infusion"][9:18, 1], [True, False, False] * 3)
    np.testing.assert_array_equal(rec["food"][9:18, 2], [True, False, False] * 3)
    np.testing.assert_allclose(reward[9:18, 0], 0.0)
    np.testing.assert_allclose(reward[9:18, 1], [0.5 - 0.1, -0.1, -0.1] * 3)
    np.testing.assert_allclose(reward[9:18, 2], [1.0 - 0.1, -0.1, -0.1] * 3)
    # a phase's own press_cost wins
    np.testing.assert_allclose(reward[18:, 1], [0.5, 0.0, 0.0] * 3)
    np.testing.assert_allclose(reward[18:, 2], [1.0, 0.0, 0.0] * 3)
    expected = 0.5 * rec["infusion"] + 1.0 * rec["food"] - 0.1 * (rec["press"] != REST)
    np.testing.assert_allclose(reward[:18], expected[:18], atol=1e-12)


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
    assert env.observation_space.shape == (9,) and env.action_space.n == 3
    assert obs.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0]
    assert isinstance(info["drug_level"], float) and isinstance(info["infusion"], bool)
    assert isinstance(info["ratio_requirement"], int) and isinstance(info["phase"], str)
    assert info["press"] == 0 and info["unavailable"] is False and info["session_end"] is False
    envs = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(envs, AddictionVectorEnv)
    _, info = envs.reset(seed=0)
    assert info["drug_level"].dtype == np.float64 and info["session"].dtype == np.int64
    assert info["phase"].dtype == object and info["shock"].dtype == np.bool_
    assert info["press"].dtype == np.int64 and info["unavailable"].dtype == np.bool_


# ------------------------------------------------------------------------------------------
# food timeout, earning rates
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "gap"),
    [
        ({}, 3),  # food_timeout defaults to the timeout (2)
        ({"timeout": 5}, 6),
        ({"timeout": 5, "food_timeout": 0}, 1),
        ({"timeout": 0, "food_timeout": 3}, 4),
    ],
)
def test_food_timeout_blocks_the_food_lever_and_is_signalled(kwargs, gap):
    env = AddictionVectorEnv(num_envs=1, session_length=30, protocol=FR, **kwargs)
    rec = record(env, always(FOOD, 1), 60)
    t = np.arange(60) % 30
    delivered = t % gap == 0
    np.testing.assert_array_equal(rec["food"][:, 0], delivered)
    np.testing.assert_array_equal(rec["food_available"][:, 0], delivered)
    # the signal is on exactly while the next step's food lever is blocked
    np.testing.assert_array_equal(rec["obs"][:60, 0, FOOD_TIMEOUT], ~delivered)
    np.testing.assert_allclose(rec["reward"][:, 0], 1.0 * delivered)


def test_food_timeout_none_follows_each_phases_timeout():
    env = AddictionEnv(
        protocol=[
            {"name": "a", "sessions": 1, "timeout": 4},
            {"name": "b", "sessions": 1, "timeout": 1, "food_timeout": 7},
        ]
    )
    assert [p.food_timeout for p in env.protocol] == [4, 7]
    assert env.dynamics.config.food_timeout is None
    env = AddictionEnv(food_timeout=3, protocol=[{"name": "a", "sessions": 1, "timeout": 4}])
    assert env.protocol[0].food_timeout == 3


def test_maximal_earning_rates_of_each_lever_and_of_both():
    # defaults: FR1, timeout 2, food_timeout 2: each lever delivers at most once per 3 steps,
    # and pressing them in turn earns both (0.5 / 3 + 1 / 3 = 0.5 per step)
    env = AddictionVectorEnv(num_envs=3, session_length=30, protocol=FR)
    turns = [DRUG, FOOD, REST]
    rec = record(env, lambda t: np.array([DRUG, FOOD, turns[t % 3]]), 300)
    np.testing.assert_allclose(rec["reward"].mean(axis=0), [0.5 / 3, 1 / 3, 0.5], rtol=1e-12)
    assert rec["infusion"][:, 2].sum() == rec["food"][:, 2].sum() == 100
    # no sequence of presses earns more: all 3^9 sequences of a 9-step session, at once
    horizon = 9
    sequences = np.array(list(itertools.product(range(3), repeat=horizon)))
    env = AddictionVectorEnv(num_envs=len(sequences), session_length=horizon, protocol=FR)
    rec = record(env, lambda t: sequences[:, t], horizon)
    earned = rec["reward"].sum(axis=0)
    assert earned.max() == 0.5 * horizon
    turn_taking = np.flatnonzero((sequences == [DRUG, FOOD, REST] * 3).all(axis=1))
    assert earned[turn_taking] == earned.max()


# ------------------------------------------------------------------------------------------
# response-contingent cue, press and unavailability records
# ------------------------------------------------------------------------------------------


def test_cue_on_press_presents_the_cue_after_the_agents_own_completed_ratios():
    protocol = [
        {
            "name": "cue_test",
            "sessions": 2,
            "drug": False,
            "cue_on_press": True,
            "ratio": 3,
            "shock_prob": 1.0,
            "unavailable_period": 4,
        }
    ]
    env = AddictionVectorEnv(
        num_envs=2, session_length=20, timeout=2, available_period=8, protocol=protocol
    )
    rec = record(env, lambda t: np.array([DRUG, REST]), 40)
    # env 0: presses 0, 1, 2 -> cue; timeout 3, 4; presses 5, 6, 7 -> cue; unavailable 8-11;
    # timeout over, presses 12, 13, 14 -> cue; timeout 15, 16; 17, 18, 19 -> cue; new session
    cues = [0 + 2, 7, 14, 19]
    expected = np.zeros(40, dtype=bool)
    expected[cues + [20 + c for c in cues]] = True
    np.testing.assert_array_equal(rec["cue"][:, 0], expected)
    np.testing.assert_array_equal(rec["obs"][1:, 0, CUE], expected)
    assert not rec["infusion"].any() and not rec["shock"].any() and not rec["drug_available"].any()
    assert (rec["drug_level"] == 0).all() and (rec["reward"] == 0).all()
    # the timeout follows each contingent cue, as it followed infusions in acquisition
    np.testing.assert_array_equal(rec["obs"][[3, 4, 5], 0, TIMEOUT], [1, 1, 0])
    assert rec["breakpoint"][19, 0] == 3 and rec["ratio_requirement"][19, 0] == 3
    assert not rec["cue"][:, 1].any()  # contingent: no press, no cue
    # without cue_on_press the same presses show nothing
    plain = AddictionVectorEnv(
        num_envs=1,
        session_length=20,
        protocol=[{"name": "extinction", "sessions": 2, "drug": False}],
    )
    assert not record(plain, always(DRUG, 1), 40)["cue"].any()


def test_cue_on_press_and_cue_prob_combine_and_cue_on_press_is_idle_in_drug_phases():
    protocol = [{"name": "cue", "sessions": 4, "drug": False, "cue_on_press": True}]
    env = AddictionVectorEnv(
        num_envs=64, session_length=25, timeout=0, cue_prob=0.2, protocol=protocol
    )
    rec = record(env, lambda t: np.array([DRUG] * 32 + [REST] * 32), 100)
    assert rec["cue"][:, :32].all()  # FR1 without timeout: every press
    n = rec["cue"][:, 32:].size
    assert abs(rec["cue"][:, 32:].mean() - 0.2) < 4 * math.sqrt(0.2 * 0.8 / n)
    drug_phase = [{"name": "fr", "sessions": 2}]
    a = record(AddictionVectorEnv(4, protocol=drug_phase, cue_on_press=True), always(DRUG, 4), 60)
    b = record(AddictionVectorEnv(4, protocol=drug_phase), always(DRUG, 4), 60)
    for key in ("cue", "infusion", "drug_available"):
        np.testing.assert_array_equal(a[key], b[key])


def test_press_unavailable_and_availability_flags_are_readable_from_records():
    env = AddictionVectorEnv(
        num_envs=16,
        session_length=30,
        available_period=6,
        unavailable_period=4,
        protocol=[
            {"name": "acquisition", "sessions": 2},
            {"name": "primed", "sessions": 1, "priming": True},
        ],
    )
    actions = np.random.default_rng(2).integers(0, 3, size=(90, 16))
    rec = record(env, lambda t: actions[t], 90)
    np.testing.assert_array_equal(rec["press"], actions)
    t = np.arange(90) % 30
    unavailable = np.repeat((t % 10 >= 6)[:, None], 16, axis=1)
    np.testing.assert_array_equal(rec["unavailable"], unavailable)
    # the record of the signal equals the observation shown before the step
    np.testing.assert_array_equal(rec["unavailable"], rec["obs"][:-1, :, UNAVAILABLE] == 1)
    # Deroche-Gamonet's "pressing while unavailable", straight from the records
    seeking = (rec["press"] == DRUG) & rec["unavailable"]
    assert seeking.sum() == ((actions == DRUG) & unavailable).sum() > 0
    assert not (seeking & rec["infusion"]).any()
    # drug_available: drug phase, not unavailable, no timeout running, no priming step
    timeout_shown = rec["obs"][:-1, :, TIMEOUT] == 1
    priming = np.repeat(((np.arange(90) >= 60) & (t == 0))[:, None], 16, axis=1)
    np.testing.assert_array_equal(
        rec["drug_available"], ~rec["unavailable"] & ~timeout_shown & ~priming
    )
    np.testing.assert_array_equal(
        rec["infusion"] & ~rec["priming"], (rec["press"] == DRUG) & rec["drug_available"]
    )
    food_timeout_shown = rec["obs"][:-1, :, FOOD_TIMEOUT] == 1
    np.testing.assert_array_equal(rec["food_available"], ~food_timeout_shown)
    np.testing.assert_array_equal(rec["food"], (rec["press"] == FOOD) & rec["food_available"])
    ends = np.zeros((90, 16), dtype=bool)
    ends[29::30] = True
    np.testing.assert_array_equal(rec["session_end"], ends)


# ------------------------------------------------------------------------------------------
# default protocol and constructor
# ------------------------------------------------------------------------------------------


def test_default_protocol_probes_unavailability_pr_punishment_and_relapse():
    env = AddictionVectorEnv(num_envs=3)
    got = [(p.name, p.length, p.session_length) for p in env.protocol]
    assert got == [
        ("acquisition", 10, 30),
        ("progressive", 1, 600),
        ("punishment", 2, 30),
        ("extinction", 5, 30),
        ("reinstatement", 1, 30),
    ]
    acquisition, progressive, punishment, extinction, reinstatement = env.protocol
    assert (acquisition.available_period, acquisition.unavailable_period) == (10, 5)
    assert progressive.schedule == "PR" and progressive.pr_limit == 60
    assert progressive.unavailable_period == punishment.unavailable_period == 0
    assert punishment.shock_prob == 0.5
    assert not extinction.drug and extinction.context == 1
    assert not reinstatement.drug and reinstatement.priming and reinstatement.context == 1
    # the documented episode lengths: 540 steps + the PR session (298 steps for an agent
    # always pressing the drug lever, pr_limit = 60 for one never pressing it)
    lengths = {}
    for name, action in (("drug", DRUG), ("rest", REST), ("food", FOOD)):
        single = AddictionEnv()
        single.reset(seed=0)
        steps, done, breakpoint, phases = 0, False, None, set()
        while not done:
            _, _, done, _, info = single.step(action)
            steps += 1
            phases.add(info["phase"])
            if info["phase"] == "progressive" and info["session_end"]:
                breakpoint = info["breakpoint"]
        lengths[name] = (steps, breakpoint)
        assert len(phases) == 5
    assert lengths == {"drug": (838, 50), "rest": (600, 0), "food": (600, 0)}


def test_unknown_arguments_raise_value_errors_listing_the_allowed_ones():
    for make, owner in (
        (lambda: AddictionEnv(sesion_length=10), "AddictionEnv"),
        (lambda: AddictionVectorEnv(num_envs=2, sesion_length=10), "AddictionVectorEnv"),
        (lambda: gym.make(ENV_ID, sesion_length=10), "AddictionEnv"),
        (
            lambda: gym.make_vec(
                ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", sesion_length=10
            ),
            "AddictionVectorEnv",
        ),
    ):
        with pytest.raises(ValueError, match="unknown argument 'sesion_length'") as err:
            make()
        message = str(err.value)
        assert owner in message
        for allowed in ("'session_length'", "'pr_limit'", "'cue_on_press'", "'render_mode'"):
            assert allowed in message
        assert "__init__" not in message


def test_arguments_are_keyword_only_but_num_envs():
    env = AddictionEnv(session_length=12, protocol=FR)
    assert env.protocol[0].session_length == 12
    envs = AddictionVectorEnv(3, session_length=12, protocol=FR)
    assert envs.num_envs == 3 and envs.protocol[0].session_length == 12
    with pytest.raises(TypeError, match="positional"):
        AddictionEnv(12)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        AddictionVectorEnv(3, 12)  # type: ignore[misc]


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
        ({"press_cost": -1}, "press_cost"),
        ({"protocol": [{"name": "a", "sessions": 1, "press_cost": -0.5}]}, "press_cost"),
        ({"priming_dose": 0}, "priming_dose"),
        ({"priming_dose": float("nan")}, "priming_dose"),
        ({"priming_dose": float("inf")}, "priming_dose"),
        ({"infusion_delay": 2}, "infusion_delay"),
        ({"protocol": [{"name": "a", "sessions": 1, "infusion_delay": -1}]}, "infusion_delay"),
        ({"cue_prob": -0.1}, "cue_prob"),
        ({"cue_on_press": 1}, "cue_on_press"),
        ({"food_timeout": -1}, "food_timeout"),
        ({"food_timeout": 1.5}, "food_timeout"),
        ({"pr_limit": 0}, "pr_limit"),
        ({"protocol": [{"name": "a", "sessions": 1, "pr_limit": 0}]}, "pr_limit"),
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
