"""Tests of plasticgym/HabitFormation-v0: schedules, devaluation, extinction, protocol, oracles.

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
from plasticgym.envs._base import Phase
from plasticgym.envs.habit import (
    INFO_KEYS,
    OBS_CHANNELS,
    HabitFormationEnv,
    HabitFormationVectorEnv,
    aversive_step,
    expected_interval_rate,
    expected_ratio_rate,
    schedule_step,
)

ENV_ID = "plasticgym/HabitFormation-v0"
Policy = Callable[[int, np.random.Generator, int], np.ndarray]


def make_vec(num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(
        ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def press_with(prob: float, lever: int = 1) -> Policy:
    """Press ``lever`` with probability ``prob`` per step, else do nothing."""

    def policy(t: int, rng: np.random.Generator, n: int) -> np.ndarray:
        del t
        return np.where(rng.random(n) < prob, lever, 0)

    return policy


def random_policy(t: int, rng: np.random.Generator, n: int) -> np.ndarray:
    del t
    return rng.integers(0, 3, size=n)


def rollout(
    env: gym.vector.VectorEnv,
    policy: Policy,
    steps: int,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """First episode of every env: arrays ``[T, N]`` (reset at row 0) and ``alive`` (rows up to
    and including each env's termination). Runs until every env has terminated or ``steps``."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options=options)
    n = env.num_envs
    rows: dict[str, list[np.ndarray]] = {k: [info[k]] for k in INFO_KEYS}
    rows["obs"], rows["reward"], rows["action"] = [obs], [np.zeros(n)], [np.zeros(n, int)]
    rows["terminated"] = [np.zeros(n, dtype=bool)]
    ended = np.zeros(n, dtype=bool)
    alive = [np.ones(n, dtype=bool)]
    for t in range(steps):
        if ended.all():
            break
        action = policy(t, rng, n)
        obs, reward, terminated, truncated, info = env.step(action)
        assert not truncated.any()
        alive.append(~ended)
        for key in INFO_KEYS:
            rows[key].append(info[key])
        rows["obs"].append(obs)
        rows["reward"].append(reward)
        rows["action"].append(np.asarray(action))
        rows["terminated"].append(terminated)
        ended |= terminated
    out = {key: np.stack(value) for key, value in rows.items()}
    out["alive"] = np.stack(alive)
    return out


def assert_mean_close(values: np.ndarray, expected: float, what: str) -> None:
    """Mean of per-env values within 4 standard errors (plus a hair) of ``expected``."""
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - expected) < 4 * se + 1e-3, (what, values.mean(), expected, se)


def session(length: int, schedule: str, param: float) -> list[dict[str, Any]]:
    return [
        {
            "name": "session",
            "kind": "rewarded",
            "length": length,
            "schedule": schedule,
            "schedule_param": param,
        }
    ]


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------


def test_aversive_step_is_a_bit_queue_delivering_after_the_delay():
    pending = np.zeros(1, dtype=np.int64)
    delivered = []
    for t in range(8):
        aversive, pending = aversive_step(pending, np.array([t in (0, 1, 4)]), delay=3)
        delivered.append(bool(aversive[0]))
    assert [t for t, d in enumerate(delivered) if d] == [3, 4, 7]


def test_schedule_step_golden_values():
    press = np.array([1, 2, 0, 1, 1, 2])
    u = np.array([[0.1, 0.9], [0.9, 0.1], [0.0, 0.0], [0.6, 0.6], [0.9, 0.9], [0.1, 0.1]])
    armed = np.array(
        [
            [False, False],
            [False, False],
            [False, False],
            [True, False],
            [False, False],
            [False, False],
        ]
    )
    interval = np.array([False, False, True, True, True, True])
    prob = np.full(6, 0.5)
    reinforced = np.array([True, True, True, True, True, False])
    pay, armed = schedule_step(press, u, armed, interval, prob, reinforced)
    np.testing.assert_array_equal(
        pay,
        [
            [True, False],
            [False, True],
            [False, False],
            [True, False],
            [False, False],
            [False, False],
        ],
    )
    # RI: env 2 arms both levers without pressing; env 3 collects its armed lever 1; env 5 is
    # not reinforced, so nothing arms.
    np.testing.assert_array_equal(
        armed,
        [
            [False, False],
            [False, False],
            [True, True],
            [False, False],
            [False, False],
            [False, False],
        ],
    )


def test_expected_rates():
    assert expected_ratio_rate(0.5, 5.0) == pytest.approx(0.1)
    assert expected_interval_rate(1.0, 8.0) == pytest.approx(1 / 8)
    assert expected_interval_rate(0.0, 8.0) == 0.0
    assert expected_interval_rate(0.25, 8.0) == pytest.approx(0.25 / 8 / (0.25 + 1 / 8 - 0.25 / 8))


# --------------------------------------------------------------------------------------------
# Schedules (oracles)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [1.0, 4.0])
def test_ratio_schedule_pays_each_press_with_probability_one_over_ratio(ratio):
    length = 400
    env = make_vec(128, protocol=session(length, "ratio", ratio))
    out = rollout(env, random_policy, length)
    assert out["terminated"][-1].all() and out["alive"].all()
    press, outcome = out["press"][1:], out["outcome"][1:]
    assert ((outcome == 0) | (outcome == press)).all(), "an outcome is the pressed lever's"
    presses = (press > 0).sum(0)
    paid = ((outcome > 0) & (press > 0)).sum(0)
    assert_mean_close(paid / presses, 1.0 / ratio, "payoff per press")
    assert ((press == 0) <= (outcome == 0)).all(), "no outcome without a press"


def test_ratio_rate_is_proportional_to_press_rate():
    length, ratio = 600, 4.0
    for q in (0.25, 1.0):
        out = rollout(
            make_vec(128, protocol=session(length, "ratio", ratio)), press_with(q), length, seed=1
        )
        rate = (out["outcome"][1:] > 0).mean(0)
        assert_mean_close(rate, expected_ratio_rate(q, ratio), f"ratio rate at q={q}")


def test_interval_schedule_pays_about_once_per_interval_and_faster_pressing_barely_helps():
    length, interval = 800, 8.0
    rates = {}
    for q in (0.25, 1.0):
        out = rollout(
            make_vec(128, protocol=session(length, "interval", interval)),
            press_with(q, lever=2),
            length,
            seed=2,
        )
        outcome = out["outcome"][1:]
        assert set(np.unique(outcome)) <= {0, 2}
        rate = (outcome > 0).mean(0)
        assert_mean_close(rate, expected_interval_rate(q, interval), f"interval rate at q={q}")
        rates[q] = rate.mean()
    assert rates[1.0] == pytest.approx(1 / interval, abs=0.01)
    # Four times the press rate, at most about 1.4 times the outcome rate (exactly 1.375).
    assert rates[1.0] / rates[0.25] < 1.5


def test_interval_armed_outcome_waits_for_a_press():
    """An agent pressing once every 50 steps on RI(2) is paid (almost) every press."""
    length = 400
    env = make_vec(64, protocol=session(length, "interval", 2.0))
    out = rollout(env, lambda t, rng, n: np.full(n, 1 if t % 50 == 49 else 0), length)
    press, outcome = out["press"][1:], out["outcome"][1:]
    paid = (outcome[press > 0] > 0).mean()
    assert paid > 0.99


# --------------------------------------------------------------------------------------------
# Protocol: training, devaluation, extinction
# --------------------------------------------------------------------------------------------

SHORT = {
    "training_reinforcers": 30,
    "devaluation_pairings": 3,
    "pairing_interval": 6,
    "aversive_delay": 2,
    "test_steps": 40,
    "schedule_param": 3.0,
}


@pytest.mark.parametrize("schedule", ["ratio", "interval"])
def test_phases_in_order_and_training_ends_at_exactly_training_reinforcers(schedule):
    env = make_vec(64, schedule=schedule, **SHORT)
    out = rollout(env, random_policy, 3000, seed=3)
    names = ["training", "devaluation", "test"]
    for i in range(env.num_envs):
        alive = out["alive"][:, i]
        phase = out["phase"][alive, i]
        assert out["terminated"][alive, i][-1] and not out["terminated"][alive, i][:-1].any()
        index = np.array([names.index(p) for p in phase])
        assert (np.diff(index) >= 0).all() and set(index) == {0, 1, 2}, "phases in order"
        reinforcers = out["reinforcers"][alive, i]
        outcome = out["outcome"][alive, i]
        last_train = np.flatnonzero(index == 0)[-1]
        assert reinforcers[last_train] == SHORT["training_reinforcers"]
        assert outcome[last_train] > 0, "training ends in the step of its last reinforcer"
        assert reinforcers[index == 0].max() == SHORT["training_reinforcers"]
        assert (np.diff(reinforcers) >= 0).all() and reinforcers[-1] == reinforcers[last_train]
        assert (index == 1).sum() == SHORT["devaluation_pairings"] * SHORT["pairing_interval"]
        assert (index == 2).sum() == SHORT["test_steps"]
        assert (out["t_in_phase"][alive, i][index == 2] == np.arange(SHORT["test_steps"])).all()


def test_devalued_outcome_is_aversive_only_through_the_outcome():
    """In devaluation, levers do nothing: agents that press lever 1, lever 2, nothing or at
    random see exactly the same devaluation phase; the aversive consequence follows each
    delivered outcome after ``aversive_delay`` steps and never follows a press."""
    kwargs = {**SHORT, "devalued": 2}
    delay, interval = kwargs["aversive_delay"], kwargs["pairing_interval"]
    steps = kwargs["devaluation_pairings"] * interval
    policies = [press_with(1.0, 0), press_with(1.0, 1), press_with(1.0, 2), random_policy]
    runs = [
        rollout(make_vec(16, **kwargs), policy, steps, seed=4, options={"phase": "devaluation"})
        for policy in policies
    ]
    for out in runs:
        # Row 0 is the reset, rows 1..steps the whole devaluation phase (the test follows).
        assert (out["phase"] == "devaluation").all() and out["alive"].all()
        assert (out["press"] == 0).all(), "no levers in devaluation"
        assert (out["obs"][:-1, :, 0] == 0).all() and (out["obs"][:-1, :, 1] == 1).all()
        assert (out["obs"][-1, :, 0] == 1).all() and (out["obs"][-1, :, 1] == 0).all()
        outcome, aversive, t = out["outcome"], out["aversive"], out["t_in_trial"]
        # Every pairing, the first included, has pairing_interval steps.
        pairing_steps = np.tile(np.arange(interval), kwargs["devaluation_pairings"])
        np.testing.assert_array_equal(t[1:], np.broadcast_to(pairing_steps[:, None], t[1:].shape))
        assert ((outcome == 2).sum(0) == kwargs["devaluation_pairings"]).all()
        np.testing.assert_array_equal(outcome == 2, t == interval - 1 - delay)
        assert set(np.unique(outcome)) == {0, 2}
        np.testing.assert_array_equal(aversive[1:], t[1:] == interval - 1)
        np.testing.assert_array_equal(aversive[delay:], outcome[:-delay] == 2)
        expected = np.where(outcome > 0, 1.0, 0.0) + np.where(aversive, -2.0, 0.0)
        np.testing.assert_array_equal(out["reward"], expected)
        first = (outcome == 2).argmax(0)
        rows = np.arange(steps + 1)[:, None]
        np.testing.assert_array_equal(out["devalued_outcome"], np.where(rows >= first, 2, 0))
        for key in ("obs", "reward", "outcome", "aversive", "trial", "t_in_trial"):
            np.testing.assert_array_equal(out[key], runs[0][key], err_msg=key)
    # Whole episodes: no aversive consequence in training, and every aversive step has the
    # devalued outcome ``delay`` steps before it.
    out = rollout(make_vec(16, **kwargs), random_policy, 3000, seed=4)
    for i in range(16):
        rows = out["alive"][:, i]
        aversive, outcome = out["aversive"][rows, i], out["outcome"][rows, i]
        devalued, phase = out["devalued_outcome"][rows, i], out["phase"][rows, i]
        assert not aversive[phase == "training"].any()
        assert (devalued[phase == "training"] == 0).all()
        hits = np.flatnonzero(aversive)
        assert hits.size == kwargs["devaluation_pairings"]
        assert (outcome[hits - delay] == 2).all() and (devalued[hits - delay] == 2).all()
        assert (phase[hits - delay] == "devaluation").all()


def test_extinction_test_delivers_nothing_but_counts_presses():
    env = make_vec(32, **SHORT)
    out = rollout(env, random_policy, 3000, seed=5)
    test = (out["phase"] == "test") & out["alive"]
    assert test.sum() == 32 * SHORT["test_steps"]
    assert (out["outcome"][test] == 0).all()
    assert (out["reward"][test] == 0).all()
    assert not out["aversive"][test].any()
    assert (out["obs"][test][:, 2:] == 0).all() and (out["obs"][test][:, 0] == 1).all()
    np.testing.assert_array_equal(out["press"][test], out["action"][test])


def test_devalued_outcome_stays_aversive_in_a_later_rewarded_phase():
    protocol = [
        {"name": "training", "kind": "train", "length": 10},
        {"name": "devaluation", "kind": "devaluation", "length": 2},
        {"name": "rewarded", "kind": "rewarded", "length": 300},
    ]
    env = make_vec(
        32,
        protocol=protocol,
        schedule_param=2.0,
        aversive_delay=3,
        pairing_interval=6,
        outcome_value=0.5,
        aversive_value=-1.5,
    )
    out = rollout(env, random_policy, 3000, seed=6)
    for i in range(32):
        rows = out["alive"][:, i]
        outcome, aversive = out["outcome"][rows, i], out["aversive"][rows, i]
        reward, phase = out["reward"][rows, i], out["phase"][rows, i]
        rewarded = np.flatnonzero(phase == "rewarded")
        due = np.zeros_like(aversive)
        devalued_from = np.flatnonzero(phase == "devaluation")[0]
        ones = np.flatnonzero(outcome == 1)
        due_at = ones[ones >= devalued_from] + 3
        due[due_at[due_at < due.size]] = True  # later ones fall after the episode's end
        np.testing.assert_array_equal(aversive, due)
        np.testing.assert_array_equal(reward, 0.5 * (outcome > 0) - 1.5 * aversive)
        assert (outcome[rewarded] == 2).any() and (outcome[rewarded] == 1).any()


def test_reset_into_a_phase_and_the_non_devalued_control():
    env = HabitFormationEnv(**SHORT)
    obs, info = env.reset(seed=0, options={"phase": "devaluation"})
    assert info["phase"] == "devaluation" and info["t_in_phase"] == 0 and info["trial"] == 0
    np.testing.assert_array_equal(obs, [0, 1, 0, 0, 0])
    obs, info = env.reset(options={"phase": "test"})
    np.testing.assert_array_equal(obs, [1, 0, 0, 0, 0])
    assert info["phase"] == "test" and info["t_in_phase"] == 0
    total, t_in_phase, terminated = 0.0, [], False
    while not terminated:
        obs, reward, terminated, _, info = env.step(1)
        total += reward
        t_in_phase.append(info["t_in_phase"])
        assert info["devalued_outcome"] == 0 and info["press"] == 1 and info["phase"] == "test"
    # The reset is not a step: the test entered by reset has its full length, steps 0..L-1.
    assert total == 0.0 and t_in_phase == list(range(SHORT["test_steps"]))


def phase_rows(out: dict[str, np.ndarray], i: int, name: str) -> dict[str, np.ndarray]:
    """The steps (reset row excluded) of env ``i`` in phase ``name``."""
    rows = out["alive"][:, i] & (out["phase"][:, i] == name)
    rows[0] = False
    keys = ("t_in_trial", "t_in_phase", "outcome", "aversive", "reward", "terminated")
    return {key: out[key][rows, i] for key in keys}


@pytest.mark.parametrize("schedule", ["ratio", "interval"])
def test_a_phase_entered_by_reset_has_the_length_and_timing_of_a_transition(schedule):
    """The non-devalued control (reset into the test) has exactly the devalued group's test,
    and a devaluation phase entered by reset has the same pairings as one after training."""
    n = 16
    kwargs = {**SHORT, "schedule": schedule}
    full = rollout(make_vec(n, **kwargs), random_policy, 3000, seed=9)
    control = rollout(make_vec(n, **kwargs), random_policy, 3000, seed=9, options={"phase": "test"})
    deval = rollout(
        make_vec(n, **kwargs), random_policy, 3000, seed=9, options={"phase": "devaluation"}
    )
    steps = np.arange(SHORT["test_steps"])
    for i in range(n):
        tests = [phase_rows(out, i, "test") for out in (full, control, deval)]
        for test in tests:
            np.testing.assert_array_equal(test["t_in_phase"], steps)
            assert test["terminated"][-1] and not test["terminated"][:-1].any()
        pairings = [phase_rows(out, i, "devaluation") for out in (full, deval)]
        for key in ("t_in_trial", "t_in_phase", "outcome", "aversive", "reward"):
            np.testing.assert_array_equal(pairings[0][key], pairings[1][key], err_msg=key)
        length = SHORT["devaluation_pairings"] * SHORT["pairing_interval"]
        assert pairings[0]["t_in_phase"].size == length


def test_context_cue_shows_the_phase_the_next_action_meets():
    """The last step of a phase already shows the next phase's context, so the first test
    press is chosen in the instrumental context and the first pairing step in the devaluation
    context; the reset shows its phase's context."""
    n = 16
    out = rollout(make_vec(n, **SHORT), random_policy, 3000, seed=10)
    context = out["obs"][..., :2]
    for i in range(n):
        rows = np.flatnonzero(out["alive"][:, i])
        phase = out["phase"][rows, i]
        last_training = rows[np.flatnonzero(phase == "training")[-1]]
        last_deval = rows[np.flatnonzero(phase == "devaluation")[-1]]
        np.testing.assert_array_equal(context[last_training - 1, i], [1, 0])
        np.testing.assert_array_equal(context[last_training, i], [0, 1])  # devaluation next
        np.testing.assert_array_equal(context[last_deval - 1, i], [0, 1])
        np.testing.assert_array_equal(context[last_deval, i], [1, 0])  # the test next
        assert out["phase"][last_deval + 1, i] == "test"
        np.testing.assert_array_equal(context[rows[-1], i], [1, 0])  # the end: still the test
    for phase, expected in [("devaluation", [0, 1]), ("test", [1, 0])]:
        obs, _ = make_vec(2, **SHORT).reset(seed=0, options={"phase": phase})
        np.testing.assert_array_equal(obs[:, :2], [expected, expected])


def test_trials_are_inter_reinforcer_intervals():
    env = make_vec(16, **SHORT)
    out = rollout(env, random_policy, 3000, seed=7)
    for i in range(16):
        # The reset row carries the labels of the first step (trial 0, step 0 of the phase).
        for key in ("trial", "t_in_trial", "t_in_phase", "phase"):
            assert out[key][0, i] == out[key][1, i] and (key == "phase" or out[key][0, i] == 0)
        rows = out["alive"][:, i]
        rows[0] = False  # steps only
        trial, t = out["trial"][rows, i], out["t_in_trial"][rows, i]
        outcome, phase = out["outcome"][rows, i], out["phase"][rows, i]
        ends = (outcome > 0) & (phase == "training")
        ends |= (phase == "devaluation") & (t == SHORT["pairing_interval"] - 1)
        ends[:-1] |= phase[:-1] != phase[1:]
        np.testing.assert_array_equal(np.diff(trial), ends[:-1].astype(int))
        np.testing.assert_array_equal(t[1:], np.where(ends[:-1], 0, t[:-1] + 1))


def test_observation_channels_follow_the_info():
    env = make_vec(8, **SHORT)
    out = rollout(env, random_policy, 3000, seed=8)
    alive = out["alive"]
    obs = out["obs"][alive]
    assert obs.shape[1] == len(OBS_CHANNELS) and obs.dtype == np.float32
    # The context is the phase of the next step (the own phase at the episode's last step).
    has_next = np.zeros_like(alive)
    has_next[:-1] = alive[1:] & alive[:-1]
    next_phase = np.where(has_next, np.roll(out["phase"], -1, axis=0), out["phase"])
    deval = next_phase[alive] == "devaluation"
    np.testing.assert_array_equal(obs[:, 0], ~deval)
    np.testing.assert_array_equal(obs[:, 1], deval)
    np.testing.assert_array_equal(obs[:, 2], out["outcome"][alive] == 1)
    np.testing.assert_array_equal(obs[:, 3], out["outcome"][alive] == 2)
    np.testing.assert_array_equal(obs[:, 4], out["aversive"][alive])


def test_info_types_are_fixed():
    env = make_vec(3, **SHORT)
    _, info = env.reset(seed=0)
    _, *_, step_info = env.step(np.array([1, 2, 0]))
    expected = {
        "trial": np.int64,
        "t_in_trial": np.int64,
        "t_in_phase": np.int64,
        "press": np.int64,
        "outcome": np.int64,
        "devalued_outcome": np.int64,
        "reinforcers": np.int64,
        "aversive": np.bool_,
        "phase": np.object_,
    }
    for source in (info, step_info):
        assert set(INFO_KEYS) <= set(source)
        for key, dtype in expected.items():
            assert source[key].dtype == dtype, key
    single = HabitFormationEnv(**SHORT)
    _, info = single.reset(seed=0)
    assert isinstance(info["phase"], str) and isinstance(info["aversive"], bool)
    assert all(isinstance(info[k], int) for k in expected if k not in ("phase", "aversive"))


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"schedule": "fixed"}, "schedule"),
        ({"schedule_param": 0.5}, "schedule_param"),
        ({"training_reinforcers": 0}, "training_reinforcers"),
        ({"devalued": 3}, "devalued"),
        ({"devalued": True}, "devalued"),
        ({"levers": 0}, "levers"),
        ({"levers": 3}, "levers"),
        ({"levers": 1.5}, "levers"),
        ({"outcome_value": float("nan")}, "outcome_value"),
        ({"aversive_value": 1.0}, "aversive_value"),
        ({"aversive_delay": 0}, "aversive_delay"),
        ({"aversive_delay": 3, "pairing_interval": 4}, "pairing_interval"),
        ({"devaluation_pairings": 0}, "devaluation_pairings"),
        ({"test_steps": 1}, "test_steps"),
        ({"protocol": []}, "protocol"),
        ({"protocol": "training"}, "protocol"),
        ({"protocol": [{"name": "a", "length": 5}]}, "kind"),
        ({"protocol": [{"name": "a", "kind": "sleep", "length": 5}]}, "kind"),
        ({"protocol": [{"name": "a", "kind": "train", "length": 5, "bogus": 1}]}, "bogus"),
        ({"protocol": [{"name": "a", "kind": "train"}]}, "length"),
        ({"protocol": [{"name": "a", "kind": "extinction", "length": 1}]}, "length"),
        ({"protocol": [{"name": "a", "kind": "train", "length": 5, "schedule": "x"}]}, "schedule"),
        ({"protocol": [{"name": "a", "kind": "train", "length": 5}] * 2}, "unique"),
        (
            {"protocol": [{"name": "a", "kind": "train", "length": 5}], "training_reinforcers": 10},
            "training_reinforcers",
        ),
        ({"protocol": [Phase("a", 5, {"kind": "sleep"})]}, "kind"),
        ({"protocol": [Phase("a", 5, {"schedule_param": 2.0})]}, "kind"),
        ({"protocol": [Phase("a", 5, {"kind": "train", "schedule_param": 0.5})]}, "schedule_param"),
        ({"protocol": [Phase("a", 5, {"kind": "train", "bogus": 1})]}, "bogus"),
        ({"render_mode": "human"}, "render_mode"),
        ({"bogus": 1}, r"unknown argument 'bogus'; allowed arguments are .*'schedule_param'"),
        ({"schedul": "ratio"}, r"unknown argument 'schedul'; allowed arguments are"),
    ],
)
def test_invalid_arguments_raise_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HabitFormationEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        make_vec(2, **kwargs)


def test_single_lever_task_pays_lever_1_and_refuses_lever_2():
    """``levers=1``: actions {0, 1}; the same schedule as lever 1 of the two-lever task, step for
    step (same uniforms), and devaluing outcome 2 (never earned) is the non-devalued control."""
    kwargs = {"schedule": "interval", "schedule_param": 4.0, "training_reinforcers": 20}
    single, double = make_vec(8, levers=1, **kwargs), make_vec(8, **kwargs)
    assert single.single_action_space == gym.spaces.Discrete(2)
    one, two = (rollout(env, press_with(0.7), 400, seed=3) for env in (single, double))
    for key in ("press", "outcome", "phase", "reinforcers"):
        np.testing.assert_array_equal(one[key], two[key])
    assert (one["outcome"] == 1).any() and not (one["outcome"] == 2).any()
    with pytest.raises(ValueError, match=r"action.*2"):
        single.step(np.full(8, 2))
    control = rollout(make_vec(8, levers=1, devalued=2, **kwargs), press_with(0.7), 400, seed=3)
    assert control["aversive"].any() and control["terminated"].any(axis=0).all()
    assert set(np.unique(control["devalued_outcome"])) == {0, 2}
    np.testing.assert_array_equal(
        control["outcome"][control["phase"] == "training"],
        one["outcome"][one["phase"] == "training"],
    )
    single.close()
    double.close()


def test_unknown_arguments_list_the_allowed_ones():
    with pytest.raises(ValueError, match=r"HabitFormationEnv.*'num_envs'.*'render_mode'") as err:
        gym.make(ENV_ID, num_envs=2)
    assert "'test_steps'" in str(err.value) and "make_config" not in str(err.value)
    with pytest.raises(ValueError, match=r"HabitFormationVectorEnv.*'bogus'.*'num_envs'") as err:
        HabitFormationVectorEnv(num_envs=2, bogus=1)
    assert "'protocol'" in str(err.value)


def test_default_protocol_and_phase_instances():
    env = HabitFormationEnv()
    assert [(p.name, p.kind, p.length) for p in env.protocol] == [
        ("training", "train", 100),
        ("devaluation", "devaluation", 5),
        ("test", "extinction", 200),
    ]
    again = HabitFormationEnv(protocol=env.protocol)
    assert again.protocol == env.protocol
    assert env.observation_space.low.min() >= 0 and np.isfinite(env.observation_space.high).all()
