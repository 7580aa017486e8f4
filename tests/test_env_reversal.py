"""Tests of plasticgym/ReversalBandit-v0: reward frequencies, reversal rules, oracle agents.

The oracle is :class:`SpecModel`, the task re-written from its docstring: it replays the
contingency from the choices made and the known initial arm, and never reads the env's
internals; the env's info and exposed model must agree with it trial by trial. Statistics run
many envs at once in the native vector env and compare reward rates with their expectation
within 4 binomial standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs._base import Phase
from plasticgym.envs.reversal import (
    CRITERION,
    FIXED,
    INFO_KEYS,
    NONE,
    ReversalBanditEnv,
    ReversalBanditVectorEnv,
    arm_probabilities,
    reversal_due,
)

ENV_ID = "plasticgym/ReversalBandit-v0"
DEFAULTS = {"p_high": 0.8, "p_low": 0.2, "reversal_rule": "fixed", "reversal_every": 40,
            "criterion": 8}  # fmt: skip


def make_vec(num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(
        ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


class SpecModel:
    """The task as its docstring specifies it, written independently of the env's code.

    It replays the contingency of ``num_envs`` envs that run one episode in lockstep from the
    choices made and the known initial arm: which arm is correct on each trial, when the
    contingency reverses and each arm's reward probability. Nothing is read from the env.
    """

    def __init__(
        self, num_envs: int, initial_arm: int, phases: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        self.phases = [{**DEFAULTS, **kwargs, **p} for p in phases]
        self.arm = np.full(num_envs, initial_arm)
        self.phase, self.in_phase = 0, 0
        self.since = np.zeros(num_envs, dtype=int)
        self.streak = np.zeros(num_envs, dtype=int)
        self.reversals = np.zeros(num_envs, dtype=int)
        self.reversal = np.zeros(num_envs, dtype=bool)

    def probs(self) -> np.ndarray:
        """``[N, 2]``: each arm's reward probability on the coming trial."""
        p = self.phases[self.phase]
        return np.where(np.arange(2) == self.arm[:, None], p["p_high"], p["p_low"])

    def update(self, choice: np.ndarray) -> None:
        """Apply the reversal rule after a trial with these choices, then the phase counter."""
        p = self.phases[self.phase]
        self.since += 1
        self.streak = np.where(choice == self.arm, self.streak + 1, 0)
        if p["reversal_rule"] == "fixed":
            flip = self.since >= p["reversal_every"]
        elif p["reversal_rule"] == "criterion":
            flip = self.streak >= p["criterion"]
        else:
            flip = np.zeros_like(self.reversal)
        self.arm = np.where(flip, 1 - self.arm, self.arm)
        self.since[flip], self.streak[flip] = 0, 0
        self.reversals += flip
        self.reversal = flip
        self.in_phase += 1
        if self.in_phase == p["trials"] and self.phase + 1 < len(self.phases):
            self.phase, self.in_phase = self.phase + 1, 0
            self.since[:], self.streak[:] = 0, 0


Policy = Callable[[SpecModel, np.random.Generator], np.ndarray]


def random_policy(model: SpecModel, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2, size=model.arm.size)


def oracle_policy(model: SpecModel, rng: np.random.Generator) -> np.ndarray:
    """Chooses the arm that the spec says is correct, knowing only its own past choices."""
    del rng
    return model.arm.copy()


def anti_oracle_policy(model: SpecModel, rng: np.random.Generator) -> np.ndarray:
    del rng
    return 1 - model.arm


def rollout(
    env: gym.vector.VectorEnv,
    policy: Policy,
    trials: int,
    *,
    initial_arm: int,
    phases: list[dict[str, Any]] | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> dict[str, np.ndarray]:
    """Exactly ``trials`` steps of one episode per env: arrays ``[trials, N]`` of the step
    outputs (the reset is not included) and of the :class:`SpecModel`'s view of each trial
    (``spec_arm``, ``spec_probs``, ``spec_reversal``, ``spec_reversals``, and ``model_probs``:
    the env's exposed model read before the trial). ``env`` must have been made with
    ``initial_arm``, the ``phases`` (default: one of ``trials`` trials) and ``kwargs``."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    model = SpecModel(
        env.num_envs, initial_arm, phases or [{"name": "reversal", "trials": trials}], **kwargs
    )
    keys = (*INFO_KEYS, "reward", "action", "done", "model_probs")
    keys += ("spec_arm", "spec_probs", "spec_reversal", "spec_reversals")
    rows: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for _ in range(trials):
        rows["spec_arm"].append(model.arm.copy())
        rows["spec_probs"].append(model.probs())
        rows["spec_reversal"].append(model.reversal.copy())
        rows["spec_reversals"].append(model.reversals.copy())
        rows["model_probs"].append(env.unwrapped.reward_probabilities.copy())
        action = policy(model, rng)
        _, reward, terminated, truncated, info = env.step(action)
        model.update(action)
        for key in INFO_KEYS:
            rows[key].append(info[key])
        rows["reward"].append(reward)
        rows["action"].append(np.asarray(action))
        rows["done"].append(terminated | truncated)
    out = {key: np.stack(value) for key, value in rows.items()}
    assert out["done"][-1].all() and not out["done"][:-1].any(), "one episode of `trials` steps"
    return out


def assert_matches_spec(out: dict[str, np.ndarray]) -> None:
    """The env's info and exposed model agree, trial by trial, with the spec's replay."""
    np.testing.assert_array_equal(out["correct_arm"], out["spec_arm"])
    np.testing.assert_array_equal(out["correct"], out["action"] == out["spec_arm"])
    np.testing.assert_array_equal(out["reversal"], out["spec_reversal"])
    np.testing.assert_array_equal(out["reversals"], out["spec_reversals"])
    np.testing.assert_array_equal(out["reward_probs"], out["spec_probs"])
    np.testing.assert_array_equal(out["model_probs"], out["spec_probs"])


def assert_rate_close(rewards: np.ndarray, p: float, what: str) -> None:
    """The rate of 0/1 ``rewards`` (independent Bernoulli(p) draws under the spec) lies within 4
    standard errors ``sqrt(p (1 - p) / n)`` of ``p``."""
    n = rewards.size
    assert n > 0 and 0.0 < p < 1.0
    se = np.sqrt(p * (1.0 - p) / n)
    assert abs(rewards.mean() - p) <= 4 * se, (what, rewards.mean(), p, se)


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
    p_high, p_low, n, trials = 0.75, 0.3, 128, 300
    kwargs = {"p_high": p_high, "p_low": p_low, "reversal_every": 17}
    env = make_vec(n, n_trials=trials, initial_arm=0, **kwargs)
    out = rollout(env, random_policy, trials, initial_arm=0, seed=1, **kwargs)
    assert_matches_spec(out)
    reward, correct = out["reward"], out["action"] == out["spec_arm"]
    assert set(np.unique(reward)) == {0.0, 1.0}
    assert_rate_close(reward[correct], p_high, "reward frequency of the correct arm")
    assert_rate_close(reward[~correct], p_low, "reward frequency of the other arm")


@pytest.mark.parametrize("every", [1, 7, 25])
def test_fixed_rule_reverses_exactly_every_n_trials(every):
    trials = 100
    env = make_vec(8, reversal_every=every, n_trials=trials, initial_arm=1)
    out = rollout(env, random_policy, trials, initial_arm=1, reversal_every=every)
    assert_matches_spec(out)
    t = np.arange(trials)[:, None]
    np.testing.assert_array_equal(out["trial"], np.broadcast_to(t, out["trial"].shape))
    starts = np.broadcast_to((t % every == 0) & (t > 0), (trials, 8))
    np.testing.assert_array_equal(out["reversal"], starts)
    np.testing.assert_array_equal(out["reversals"], np.broadcast_to(t // every, (trials, 8)))
    np.testing.assert_array_equal(
        out["correct_arm"], np.broadcast_to((1 + t // every) % 2, (trials, 8))
    )
    changed = out["correct_arm"][1:] != out["correct_arm"][:-1]
    np.testing.assert_array_equal(changed, out["reversal"][1:])


@pytest.mark.parametrize("policy", [random_policy, oracle_policy])
def test_criterion_rule_reverses_after_criterion_consecutive_correct_choices(policy):
    trials, criterion = 200, 5
    kwargs = {"reversal_rule": "criterion", "criterion": criterion}
    env = make_vec(16, n_trials=trials, initial_arm=0, **kwargs)
    out = rollout(env, policy, trials, initial_arm=0, seed=2, **kwargs)
    assert_matches_spec(out)
    changed = out["correct_arm"][1:] != out["correct_arm"][:-1]
    np.testing.assert_array_equal(changed, out["reversal"][1:])
    if policy is oracle_policy:
        # the spec's oracle is always right, so the contingency flips every `criterion` trials
        assert out["correct"].all()
        t = np.arange(trials)[:, None]
        starts = np.broadcast_to((t % criterion == 0) & (t > 0), (trials, 16))
        np.testing.assert_array_equal(out["reversal"], starts)
    else:
        assert out["reversal"].sum() > 0


def test_oracle_agent_earns_p_high_and_anti_oracle_p_low():
    p_high, p_low, trials = 0.8, 0.2, 300
    kwargs = {"p_high": p_high, "p_low": p_low, "reversal_every": 13}
    env = make_vec(128, n_trials=trials, initial_arm=1, **kwargs)
    out = rollout(env, oracle_policy, trials, initial_arm=1, seed=3, **kwargs)
    assert out["correct"].all()
    assert_rate_close(out["reward"], p_high, "oracle reward rate")
    anti = rollout(env, anti_oracle_policy, trials, initial_arm=1, seed=4, **kwargs)
    assert not anti["correct"].any()
    assert_rate_close(anti["reward"], p_low, "anti-oracle reward rate")


def test_exposed_model_follows_the_spec_through_phases_and_reversals():
    phases = [
        {"name": "acquisition", "trials": 12, "reversal_rule": "none", "p_high": 0.9},
        {"name": "criterion", "trials": 40, "reversal_rule": "criterion", "criterion": 3},
        {"name": "fixed", "trials": 20, "reversal_every": 6, "p_low": 0.0},
    ]
    env = make_vec(32, protocol=phases, initial_arm=0)
    out = rollout(env, random_policy, 72, initial_arm=0, phases=phases, seed=6)
    assert_matches_spec(out)
    assert out["reversal"][12:52].sum() > 0 and out["reversal"][53:].sum() == 32 * 3
    single = ReversalBanditEnv(protocol=phases, initial_arm=0)
    single.reset(seed=0)
    model = SpecModel(1, 0, phases)
    rng = np.random.default_rng(0)
    for _ in range(72):
        np.testing.assert_array_equal(single.reward_probabilities, model.probs()[0])
        action = int(rng.integers(2))
        single.step(action)
        model.update(np.array([action]))


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
    out = rollout(env, oracle_policy, 100, initial_arm=1, phases=protocol, seed=5, p_high=0.7,
                  p_low=0.3)  # fmt: skip
    assert_matches_spec(out)
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
    # initial_arm=None: each arm with probability 1/2, independently per env
    arms = make_vec(1024, n_trials=2).reset(seed=1)[1]["correct_arm"]
    assert set(np.unique(arms)) == {0, 1}
    assert abs(arms.mean() - 0.5) <= 4 * np.sqrt(0.25 / arms.size), arms.mean()


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
        "novelty": np.bool_,
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
        ({"protocol": [Phase("a", 5, {"p_high": 5.0})]}, "p_high"),
        ({"protocol": [Phase("a", 5, {"p_hi": 0.9})]}, "p_hi"),
        ({"p_hgh": 0.9}, r"unknown argument 'p_hgh'; allowed arguments are \(.*'p_high'"),
        ({"n_trial": 9, "p_high": 0.9}, r"unknown argument 'n_trial'.*'n_trials'.*'protocol'"),
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
    # a Phase without parameters takes the constructor's arguments
    (bare,) = ReversalBanditEnv(p_high=0.9, criterion=3, protocol=[Phase("x", 5)]).protocol
    assert (bare.length, bare.p_high, bare.p_low, bare.criterion) == (5, 0.9, 0.2, 3)
    vector = ReversalBanditVectorEnv(2, protocol=env.protocol)
    assert vector.protocol == env.protocol


# --------------------------------------------------------------------------------------------
# Novelty phases (behavioural tagging)
# --------------------------------------------------------------------------------------------

NOVELTY_PROTOCOL = [
    {"name": "training", "trials": 4, "p_high": 1.0, "p_low": 0.0, "reversal_every": 2},
    {"name": "open field", "trials": 3, "novelty": True, "p_high": 1.0, "reversal_every": 1},
    {"name": "test", "trials": 2, "p_high": 1.0, "p_low": 0.0, "reversal_rule": "none"},
]


def test_a_novelty_phase_has_no_cue_no_reward_no_reversal_and_the_novelty_event():
    env = ReversalBanditEnv(protocol=NOVELTY_PROTOCOL, initial_arm=0)
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [1.0] and info["novelty"] is False
    seen = []
    for _ in range(9):
        arm = env.reward_probabilities.argmax()  # the paying arm, where one pays
        next_obs, reward, terminated, _, info = env.step(int(arm))
        seen.append((obs.item(), reward, info["novelty"], info["phase"], info["reversal"],
                     info["reward_probs"].tolist(), info["correct_arm"]))  # fmt: skip
        obs = next_obs
    # the cue is on before each training and test trial, off before each novelty trial
    assert [s[0] for s in seen] == [1, 1, 1, 1, 0, 0, 0, 1, 1]
    assert [s[2] for s in seen] == [False] * 4 + [True] * 3 + [False] * 2
    assert [s[1] for s in seen] == [1, 1, 1, 1, 0, 0, 0, 1, 1]  # nothing pays in novelty
    assert all(s[5] == [0.0, 0.0] for s in seen[4:7])
    # training reverses after every 2 trials; novelty (rule "fixed", every 1) never does
    assert [s[6] for s in seen] == [0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert terminated


def test_novelty_is_declared_as_data_and_old_protocols_are_written_as_before():
    env = ReversalBanditEnv(protocol=NOVELTY_PROTOCOL)
    training, field, _ = env.protocol
    assert field.novelty is True and "novelty" not in training.params
    written = env.config.to_json()["protocol"]
    assert written[1]["novelty"] is True and "novelty" not in written[0]
    assert ReversalBanditEnv(protocol=env.protocol).protocol == env.protocol
    plain = ReversalBanditEnv(protocol=[{"name": "a", "trials": 3, "novelty": False}])
    assert "novelty" not in plain.config.to_json()["protocol"][0]
    assert env.unwrapped.dynamics.novelty.tolist() == [False, True, False]
    assert env.unwrapped.dynamics.p_high.tolist() == [1.0, 0.0, 1.0]  # the exposed model
    with pytest.raises(ValueError, match=r"protocol\[0\].*novelty=1 is invalid"):
        ReversalBanditEnv(protocol=[{"name": "a", "trials": 3, "novelty": 1}])


def test_a_novelty_protocol_is_deterministic_and_the_vector_env_equals_single_envs():
    n, steps = 5, 14  # past the end of the episode (9 trials): autoreset included

    def run_vector(env: gym.vector.VectorEnv, seed: int) -> list[tuple]:
        rng = np.random.default_rng(3)
        obs, info = env.reset(seed=seed)
        out = [(obs.copy(), info["novelty"].copy())]
        for _ in range(steps):
            obs, reward, terminated, _, info = env.step(rng.integers(0, 2, n))
            out.append((obs.copy(), reward.copy(), terminated.copy(), info["novelty"].copy(),
                        info["phase"].copy(), info["reward_probs"].copy()))  # fmt: skip
        return out

    def make_sync() -> gym.vector.VectorEnv:
        return gym.vector.SyncVectorEnv(
            [lambda: ReversalBanditEnv(protocol=NOVELTY_PROTOCOL) for _ in range(n)],
            autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP,
        )

    native = run_vector(make_vec(n, protocol=NOVELTY_PROTOCOL), seed=7)
    again = run_vector(make_vec(n, protocol=NOVELTY_PROTOCOL), seed=7)
    sync = run_vector(make_sync(), seed=7)
    for a, b, c in zip(native, again, sync, strict=True):
        for x, y, z in zip(a, b, c, strict=True):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)
    assert any(step[3].any() for step in native[1:])  # the novelty event did occur


def test_reward_magnitude_scales_a_phases_reward_and_defaults_to_one():
    protocol = [
        {"name": "weak", "trials": 3, "p_high": 1.0, "p_low": 0.0, "reversal_rule": "none"},
        {"name": "strong", "trials": 3, "p_high": 1.0, "p_low": 0.0, "reversal_rule": "none",
         "reward_magnitude": 10.0},
    ]  # fmt: skip
    env = ReversalBanditEnv(protocol=protocol, initial_arm=0)
    env.reset(seed=0)
    rewards = [env.step(arm)[1] for arm in (0, 1, 0, 0, 1, 0)]
    assert rewards == [1.0, 0.0, 1.0, 10.0, 0.0, 10.0]
    weak, strong = env.protocol
    assert "reward_magnitude" not in weak.params and strong.params["reward_magnitude"] == 10.0
    written = env.config.to_json()["protocol"]
    assert "reward_magnitude" not in written[0] and written[1]["reward_magnitude"] == 10.0
    assert ReversalBanditEnv(protocol=env.protocol).protocol == env.protocol
    plain = ReversalBanditEnv(protocol=[{"name": "a", "trials": 3, "reward_magnitude": 1}])
    assert "reward_magnitude" not in plain.protocol[0].params
    assert env.unwrapped.dynamics.magnitude.tolist() == [1.0, 10.0]
    for bad in (0.0, -1.0, float("inf"), True, "2"):
        with pytest.raises(ValueError, match=r"protocol\[0\].*reward_magnitude=.* is invalid"):
            ReversalBanditEnv(protocol=[{"name": "a", "trials": 3, "reward_magnitude": bad}])
