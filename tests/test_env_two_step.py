"""Tests of plasticgym/TwoStep-v0: pure functions, trial structure, and oracle statistics.

The generic API checks (check_env, vector == sync, seeding, checkpoints, invalid actions) are in
test_env_conformance.py. Statistics run over a batch of envs and compare with margins derived
from standard errors, never from one lucky seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import plasticgym.envs  # noqa: F401  (registers the tasks)
from plasticgym.envs._base import box_muller
from plasticgym.envs.two_step import (
    INFO_KEYS,
    TwoStepConfig,
    TwoStepEnv,
    TwoStepVectorEnv,
    drift_reward_probs,
    is_common,
    reflect,
    second_stage_state,
    stay_probabilities,
    transition_table,
)

ENV_ID = "plasticgym/TwoStep-v0"
N_ENVS = 64


def run_vector(policy, n_trials: int = 200, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """Run one episode of ``N_ENVS`` envs; ``policy(env, obs) -> actions``.

    Returns the stacked per-step info arrays, rewards and observations (``[steps, N]``).
    Every env has the same episode length (2 steps per trial), so no autoreset happens.
    """
    env = TwoStepVectorEnv(num_envs=N_ENVS, n_trials=n_trials, **kwargs)
    obs, _ = env.reset(seed=seed)
    infos, rewards, observations = [], [], []
    for step in range(2 * n_trials):
        obs, reward, terminated, truncated, info = env.step(policy(env, obs))
        infos.append(info)
        rewards.append(reward)
        observations.append(obs)
        assert not truncated.any()
        assert terminated.all() == (step == 2 * n_trials - 1)
    stacked = {key: np.stack([i[key] for i in infos]) for key in INFO_KEYS}
    return {"info": stacked, "reward": np.stack(rewards), "obs": np.stack(observations)}


def random_policy(seed: int):
    rng = np.random.default_rng(seed)

    def policy(env: TwoStepVectorEnv, obs: np.ndarray) -> np.ndarray:
        return rng.integers(0, 2, size=env.num_envs)

    return policy


# ------------------------------------------------------------------------------------------
# pure functions
# ------------------------------------------------------------------------------------------


def test_reflect_golden_values():
    x = np.array([0.5, 0.25, 0.75, 0.8, 0.2, 1.3, -0.3])
    expected = np.array([0.5, 0.25, 0.75, 0.7, 0.3, 0.3, 0.7])  # -0.3: 0.25 + 0.55 -> 0.7
    np.testing.assert_allclose(reflect(x, 0.25, 0.75), expected, atol=1e-12)


def test_box_muller_golden_values_and_moments():
    r_is_one = 1.0 - math.exp(-0.5)  # -2 ln(1 - u1) = 1
    z0, z1 = box_muller(np.array([r_is_one, r_is_one, 0.0]), np.array([0.0, 0.25, 0.7]))
    np.testing.assert_allclose(z0, [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(z1, [0.0, 1.0, 0.0], atol=1e-12)
    u = np.random.default_rng(0).random((2, 200_000))
    z = np.concatenate(box_muller(u[0], u[1]))
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.std() - 1.0) < 5 / math.sqrt(2 * z.size)


def test_drift_is_a_reflected_gaussian_step():
    probs = np.full((2, 2, 2), 0.5)
    z = np.array([[[1.0, -1.0], [0.0, 2.0]], [[20.0, -20.0], [0.5, 0.0]]])
    out = drift_reward_probs(probs, z, np.array([0.025, 0.025]), 0.25, 0.75)
    np.testing.assert_allclose(out[0], [[0.525, 0.475], [0.5, 0.55]])
    np.testing.assert_allclose(out[1], [[0.5, 0.5], [0.5125, 0.5]])


def test_transition_table_and_second_stage_state():
    table = transition_table(0.7)
    assert table.shape == (3, 2, 3)
    np.testing.assert_allclose(table.sum(axis=-1), 1.0)
    np.testing.assert_allclose(table[0], [[0.0, 0.7, 0.3], [0.0, 0.3, 0.7]])
    np.testing.assert_allclose(table[1:, :, 0], 1.0)
    a = np.array([0, 1, 0, 1])
    own = np.array([True, True, False, False])
    np.testing.assert_array_equal(second_stage_state(a, own), [1, 2, 2, 1])
    np.testing.assert_array_equal(is_common(own, np.full(4, 0.7)), own)
    np.testing.assert_array_equal(is_common(own, np.full(4, 0.3)), ~own)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"common_prob": 1.5}, "common_prob"),
        ({"drift_sd": -0.1}, "drift_sd"),
        ({"drift_sd": float("nan")}, "drift_sd"),
        ({"bounds": (0.75, 0.25)}, "bounds"),
        ({"bounds": (0.2, 1.2)}, "bounds"),
        ({"bounds": "ab"}, "bounds"),
        ({"initial_reward_probs": [[0.1, 0.5], [0.5, 0.5]]}, "initial_reward_probs"),
        ({"initial_reward_probs": [0.5, 0.5]}, "initial_reward_probs"),
        ({"reward": float("inf")}, "reward"),
        ({"n_trials": 0}, "n_trials"),
        ({"n_trials": 5, "protocol": [{"name": "a", "trials": 5}]}, "n_trials"),
        ({"protocol": [{"name": "a", "trials": 5, "bogus": 1}]}, "bogus"),
        ({"protocol": [{"name": "a", "trials": 5, "common_prob": -1}]}, "common_prob"),
        ({"protocol": [{"name": "a", "trials": 0}]}, "trials"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TwoStepEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        TwoStepVectorEnv(num_envs=2, **kwargs)


def test_unknown_arguments_raise_value_errors_listing_the_allowed_ones():
    for make in (
        lambda **kw: TwoStepEnv(**kw),
        lambda **kw: gym.make(ENV_ID, **kw),
        lambda **kw: TwoStepVectorEnv(num_envs=2, **kw),
        lambda **kw: gym.make_vec(
            ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", **kw
        ),
    ):
        with pytest.raises(ValueError, match=r"unknown argument 'volatility'; allowed") as err:
            make(volatility=1)
        assert "'common_prob'" in str(err.value) and "'render_mode'" in str(err.value)
        with pytest.raises(ValueError, match=r"unknown argument 'drift'; allowed"):
            make(drift=0.1)
    with pytest.raises(ValueError, match=r"TwoStepEnv got an unknown argument 'num_envs'"):
        TwoStepEnv(num_envs=2)


def test_stay_probabilities_golden_values():
    # Session 0: t0 rewarded common -> stay, t1 rewarded rare -> switch, t2 unrewarded common
    # -> stay, t3 unrewarded rare -> switch, t4 rewarded common -> stay (t5 has no successor).
    # Session 1: t0 rewarded common -> stay, t1 rewarded rare -> switch, t2 unrewarded rare ->
    # stay, t3 unrewarded common -> stay, t4 unrewarded rare -> switch.
    first_choice = np.array([[0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 0, 1]])
    common = np.array([[1, 0, 1, 0, 1, 1], [1, 0, 0, 1, 0, 1]], dtype=bool)
    rewarded = np.array([[1, 1, 0, 0, 1, 0], [1, 1, 0, 0, 0, 1]], dtype=bool)
    out = stay_probabilities(first_choice, common, rewarded)
    # Cells [previous reward (0 no, 1 yes), previous transition (0 common, 1 rare)].
    np.testing.assert_array_equal(out.stays, [[[1, 0], [2, 0]], [[1, 1], [1, 0]]])
    np.testing.assert_array_equal(out.trials, [[[1, 1], [2, 1]], [[1, 2], [1, 1]]])
    np.testing.assert_allclose(out.p_stay, [[[1, 0], [1, 0]], [[1, 0.5], [1, 0]]])
    np.testing.assert_allclose(out.reward_effect, [0.0, -0.25])  # ((1+0)-(1+0.5))/2
    np.testing.assert_allclose(out.transition_effect, [1.0, 0.75])  # ((1+1)-(0.5+0))/2
    np.testing.assert_allclose(out.interaction, [0.0, 0.5])  # (1-0)-(1-0.5)
    # One session, an ideal model-based pattern; empty cells give NaN.
    ideal = stay_probabilities([0, 0, 1, 0, 0], [True, False, True, False, True],
                               [True, True, False, False, True])  # fmt: skip
    np.testing.assert_array_equal(ideal.trials, [[1, 1], [1, 1]])
    np.testing.assert_allclose(ideal.p_stay, [[0, 1], [1, 0]])
    assert ideal.interaction == 2.0 and ideal.reward_effect == 0.0
    # Pairs across an episode boundary do not count: here t2 -> t3 is dropped.
    split = stay_probabilities(first_choice[0], common[0], rewarded[0], episode=[0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(split.trials, [[0, 1], [2, 1]])
    np.testing.assert_array_equal(split.stays, [[0, 0], [2, 0]])
    sparse = stay_probabilities([0, 0], [True, True], [True, True])
    assert sparse.p_stay[1, 0] == 1.0 and np.isnan(sparse.p_stay[[0, 0, 1], [0, 1, 1]]).all()
    assert np.isnan(sparse.interaction)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 1, 0], [True, False], [True, True, False]), "same shape"),
        (([0], [True], [True]), "T >= 2"),
        (([0, 2], [True, True], [True, True]), "0 or 1"),
        (([0, 1], [1, 1], [True, True]), "bool"),
        (([0, 1], [True, True], [True, True], [0, 0, 1]), "same shape"),
    ],
)
def test_stay_probabilities_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        stay_probabilities(*args)


# ------------------------------------------------------------------------------------------
# trial structure
# ------------------------------------------------------------------------------------------


def test_default_protocol_and_registration():
    env = gym.make(ENV_ID).unwrapped
    assert isinstance(env, TwoStepEnv)
    assert [(p.name, p.length) for p in env.protocol] == [("task", 200)]
    assert env.protocol[0].common_prob == 0.7 and env.protocol[0].drift_sd == 0.025
    assert env.observation_space == gym.spaces.Discrete(3)
    assert env.action_space == gym.spaces.Discrete(2)
    assert TwoStepConfig().to_json()["bounds"] == [0.25, 0.75]


def test_trial_structure_info_types_and_episode_end():
    env = TwoStepEnv(n_trials=5, initial_reward_probs=[[0.3, 0.4], [0.5, 0.6]])
    obs, info = env.reset(seed=3)
    assert obs == 0 and sorted(info) == sorted(INFO_KEYS)
    assert info == {**info, "trial": 0, "stage": 0, "t_in_trial": 0, "first_choice": -1,
                    "transition": "", "second_state": -1, "second_choice": -1,
                    "rewarded": False, "phase": "task"}  # fmt: skip
    np.testing.assert_array_equal(info["reward_probs"], [[0.3, 0.4], [0.5, 0.6]])
    np.testing.assert_array_equal(env.reward_probs, [[0.3, 0.4], [0.5, 0.6]])
    types = {key: type(value) for key, value in info.items()}
    for trial in range(5):
        a1, a2 = trial % 2, (trial // 2) % 2
        obs, reward, terminated, _, info = env.step(a1)
        assert {key: type(value) for key, value in info.items()} == types
        assert obs in (1, 2) and reward == 0.0 and not terminated
        assert info["trial"] == trial and info["stage"] == info["t_in_trial"] == 0
        assert info["first_choice"] == a1 and info["second_state"] == obs
        assert info["transition"] == ("common" if obs == a1 + 1 else "rare")
        assert info["second_choice"] == -1 and not info["rewarded"]
        state, probs = obs, env.reward_probs
        np.testing.assert_array_equal(info["reward_probs"], probs)
        obs, reward, terminated, _, info = env.step(a2)
        assert obs == 0 and info["stage"] == info["t_in_trial"] == 1
        assert info["trial"] == trial and info["second_state"] == state
        assert info["second_choice"] == a2 and reward == float(info["rewarded"])
        np.testing.assert_array_equal(info["reward_probs"], probs)
        assert terminated == (trial == 4)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_phases_forced_phase_and_model():
    protocol = [{"name": "task", "trials": 3}, {"name": "flip", "trials": 2, "common_prob": 0.2,
                                                "reward": 2.0, "drift_sd": 0.0}]  # fmt: skip
    env = TwoStepEnv(protocol=protocol)
    env.reset(seed=0)
    np.testing.assert_allclose(env.transition_probs, transition_table(0.7))
    phases = []
    for step in range(10):
        _, _, terminated, _, info = env.step(0)
        phases.append(info["phase"])
        assert terminated == (step == 9)
    assert phases == ["task"] * 6 + ["flip"] * 4
    _, info = env.reset(options={"phase": "flip"})
    assert info["phase"] == "flip" and info["trial"] == 0
    model = env.model()
    np.testing.assert_allclose(model.transitions, transition_table(0.2))
    np.testing.assert_allclose(model.expected_reward[1:], 2.0 * env.reward_probs)
    np.testing.assert_allclose(model.expected_reward[0], 0.0)
    before = env.reward_probs
    for step in range(4):
        _, reward, terminated, _, info = env.step(1)
        assert reward in (0.0, 2.0) and terminated == (step == 3)
    np.testing.assert_array_equal(env.reward_probs, before)  # drift_sd = 0 in "flip"


def test_restored_state_is_validated():
    env = TwoStepVectorEnv(num_envs=2, n_trials=4)
    env.reset(seed=0)
    snapshot = env.get_state()
    arrays = dict(snapshot["arrays"])
    arrays["state.reward_probs"] = np.full((2, 2, 2), 0.9)
    with pytest.raises(ValueError, match="reward_probs"):
        env.set_state(dict(snapshot, arrays=arrays))
    arrays = dict(snapshot["arrays"])
    arrays["state.stage"] = np.array([0, 3])
    with pytest.raises(ValueError, match="stage"):
        env.set_state(dict(snapshot, arrays=arrays))


# ------------------------------------------------------------------------------------------
# oracle statistics
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("common_prob", [0.7, 0.85])
def test_transition_frequencies_match_common_prob(common_prob):
    out = run_vector(random_policy(1), common_prob=common_prob)
    info = out["info"]
    first = info["stage"] == 0
    to_own = info["second_state"][first] == info["first_choice"][first] + 1
    n = to_own.size
    se = math.sqrt(common_prob * (1 - common_prob) / n)
    assert abs(to_own.mean() - common_prob) < 4 * se
    common = info["transition"][first] == "common"
    np.testing.assert_array_equal(common, to_own)
    for a in (0, 1):  # both options obey the same structure
        chosen = info["first_choice"][first] == a
        assert abs(to_own[chosen].mean() - common_prob) < 4 * se * math.sqrt(n / chosen.sum())


def test_drift_increments_have_drift_sd_and_stay_in_bounds():
    out = run_vector(random_policy(2), n_trials=400)
    probs = out["info"]["reward_probs"][0::2]  # [trials, N, 2, 2], one per trial
    assert ((probs >= 0.25) & (probs <= 0.75)).all()
    steps = np.diff(probs, axis=0)
    before = probs[:-1]
    inside = (before > 0.25 + 0.15) & (before < 0.75 - 0.15)  # 6 SD from either bound
    increments = steps[inside]
    n = increments.size
    assert n > 10_000
    assert abs(increments.mean()) < 5 * 0.025 / math.sqrt(n)
    assert abs(increments.std() - 0.025) < 5 * 0.025 / math.sqrt(2 * n)
    # Near the bounds the walk reflects: nothing ever leaves, and the bounds are visited.
    assert (probs < 0.27).any() and (probs > 0.73).any()


def test_large_drift_reflects_into_bounds():
    out = run_vector(random_policy(3), n_trials=50, drift_sd=0.4, bounds=(0.1, 0.6))
    probs = out["info"]["reward_probs"]
    assert ((probs >= 0.1) & (probs <= 0.6)).all()
    assert np.unique(probs).size > 1000


def test_rewards_match_reward_probabilities():
    out = run_vector(random_policy(4), n_trials=300)
    info = out["info"]
    second = info["stage"] == 1
    s = info["second_state"][second] - 1
    a = info["second_choice"][second]
    p = info["reward_probs"][second][np.arange(s.size), s, a]
    rewarded = info["rewarded"][second]
    np.testing.assert_array_equal(out["reward"][second], rewarded.astype(float))
    assert (out["reward"][~second] == 0).all()
    se = math.sqrt(np.sum(p * (1 - p)))
    assert abs(rewarded.sum() - p.sum()) < 4 * se
    for low, high in [(0.25, 0.4), (0.4, 0.6), (0.6, 0.75)]:  # calibration within bins
        sel = (p >= low) & (p <= high)
        se_bin = math.sqrt(np.sum(p[sel] * (1 - p[sel])))
        assert abs(rewarded[sel].sum() - p[sel].sum()) < 4 * se_bin


def test_model_based_oracle_earns_more_than_random():
    """The oracle knows the model: first stage -> the option whose common successor holds the
    best second-stage option; second stage -> the better option of the state."""
    table = transition_table(0.7)

    def oracle(env: TwoStepVectorEnv, obs: np.ndarray) -> np.ndarray:
        probs = env.reward_probs  # [N, 2, 2]
        best = probs.max(axis=-1)  # value of each second-stage state, [N, 2]
        q_first = best @ table[0, :, 1:].T  # [N, 2]: Q(0, a) = sum_s' P(s'|a) V(s')
        row = np.clip(obs - 1, 0, 1)
        q_second = probs[np.arange(obs.size), row]
        return np.where(obs == 0, q_first.argmax(-1), q_second.argmax(-1))

    smart = run_vector(oracle, seed=5)["reward"].sum(axis=0)  # per env, 200 trials
    naive = run_vector(random_policy(5), seed=5)["reward"].sum(axis=0)
    diff = smart.mean() - naive.mean()
    se = math.sqrt(smart.var(ddof=1) / smart.size + naive.var(ddof=1) / naive.size)
    assert diff > 6 * se
    # A random chooser earns E[p] = 0.5 per trial: the initial probabilities are uniform in
    # [0.25, 0.75] and the reflected walk is symmetric about 0.5, so E[p_t] = 0.5 at every t.
    se_naive = naive.std(ddof=1) / math.sqrt(naive.size)
    assert abs(naive.mean() - 0.5 * 200) < 4 * se_naive


# ------------------------------------------------------------------------------------------
# stay-probability analysis (Daw et al. 2011): the task's central phenomenon
# ------------------------------------------------------------------------------------------

LAPSE = 0.4
"""Scripted agents follow their stay/switch rule with probability 1 - LAPSE, else choose at
random, so every stay probability is 1 - LAPSE/2 (rule: stay) or LAPSE/2 (rule: switch)."""
StayRule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def model_free_rule(rewarded: np.ndarray, common: np.ndarray) -> np.ndarray:
    """Stay after a reward, switch after none, whatever the transition."""
    del common
    return rewarded


def model_based_rule(rewarded: np.ndarray, common: np.ndarray) -> np.ndarray:
    """Stay after a rewarded common or an unrewarded rare transition, else switch: the choice
    that commonly leads to where the reward was (or away from where it was not)."""
    return rewarded == common


def run_scripted_agent(rule: StayRule, seed: int, n_trials: int = 200) -> dict[str, np.ndarray]:
    """``N_ENVS`` sessions of a scripted agent in the vector env: arrays ``[N_ENVS, n_trials]``
    of the env's ``first_choice``, ``common`` (from ``info["transition"]``) and ``rewarded``.

    The agent sees only observations and rewards: it judges a transition common when the
    second-stage state is its choice's own (it knows ``common_prob = 0.7``), chooses at random
    at the second stage, and applies ``rule`` to its previous trial."""
    env = TwoStepVectorEnv(num_envs=N_ENVS, n_trials=n_trials)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    a1 = rng.integers(0, 2, N_ENVS)
    rows: dict[str, list[np.ndarray]] = {"first_choice": [], "common": [], "rewarded": []}
    for trial in range(n_trials):
        obs, _, _, _, info = env.step(a1)
        seen_common = obs == a1 + 1
        rows["first_choice"].append(info["first_choice"])
        rows["common"].append(info["transition"] == "common")
        _, reward, terminated, _, info = env.step(rng.integers(0, 2, N_ENVS))
        assert terminated.all() == (trial == n_trials - 1)
        rows["rewarded"].append(info["rewarded"])
        stay = rule(reward > 0, seen_common)
        follow = rng.random(N_ENVS) >= LAPSE
        a1 = np.where(follow, np.where(stay, a1, 1 - a1), rng.integers(0, 2, N_ENVS))
    return {key: np.stack(value, axis=1) for key, value in rows.items()}


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """Mean of per-env values and its standard error over envs."""
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def assert_effect(values: np.ndarray, expected: float, what: str) -> None:
    """Mean of per-env effects within 4 standard errors (over envs) of ``expected``; a
    non-zero expected effect must also be present, more than 4 SE away from 0."""
    mean, se = mean_and_se(values)
    assert abs(mean - expected) < 4 * se, (what, mean, expected, se)
    if expected:
        assert abs(mean) > 4 * se and np.sign(mean) == np.sign(expected), (what, mean, se)


@pytest.mark.parametrize(
    ("rule", "reward_effect", "interaction"),
    [
        (model_free_rule, 1 - LAPSE, 0.0),  # p = [[L/2, L/2], [1 - L/2, 1 - L/2]]
        (model_based_rule, 0.0, 2 * (1 - LAPSE)),  # p = [[L/2, 1 - L/2], [1 - L/2, L/2]]
    ],
    ids=["model-free", "model-based"],
)
def test_stay_probabilities_separate_model_free_and_model_based_agents(
    rule, reward_effect, interaction
):
    """Daw et al. (2011): a model-free agent shows a main effect of reward on first-stage
    stays and no reward x transition interaction; a model-based agent shows the interaction
    (and no main effect of reward). Each env is one subject; margins are 4 SE over envs."""
    out = run_scripted_agent(rule, seed=21)
    assert abs(out["common"].mean() - 0.7) < 4 * math.sqrt(0.7 * 0.3 / out["common"].size)
    analysis = stay_probabilities(out["first_choice"], out["common"], out["rewarded"])
    assert analysis.stays.shape == (N_ENVS, 2, 2) and (analysis.trials > 0).all()
    assert analysis.trials.sum() == N_ENVS * 199
    assert_effect(analysis.reward_effect, reward_effect, "reward effect")
    assert_effect(analysis.interaction, interaction, "interaction")
    assert_effect(analysis.transition_effect, 0.0, "transition effect")
