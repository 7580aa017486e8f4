"""Tabular TD baselines: golden values of the maths, a scalar reference replay of every agent,
learning on ReversalBandit-v0, the two-step stay-probability signatures, determinism,
checkpoints, every Discrete task, and validation."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents.tabular import (
    ModelBasedAgent,
    QLearningAgent,
    SarsaLambdaAgent,
    StateEncoder,
    TabularAgent,
    TDActorCriticAgent,
    delta_rule,
    epsilon_greedy_policy,
    expected_value,
    is_greedy,
    one_hot_pairs,
    q_learning_td_error,
    sample_actions,
    softmax_policy,
    td_table_update,
    trace_visit,
    value_iteration,
)
from plasticgym.docs import task_ids

AGENTS = [QLearningAgent, SarsaLambdaAgent, TDActorCriticAgent, ModelBasedAgent]
TWO_STEP = "plasticgym/TwoStep-v0"
BANDIT = "plasticgym/ReversalBandit-v0"


def t(values: Any) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


# --------------------------------------------------------------------------------------------
# Golden values of the pure functions, computed by hand
# --------------------------------------------------------------------------------------------


def test_q_learning_td_error_golden():
    # agent 0: 1 + 0.9 * max(0.2, 0.6) - 0.5 = 1.04; agent 1 ends its episode: 0 + 0 - 1 = -1
    delta = q_learning_td_error(t([0.5, 1.0]), t([1.0, 0.0]), t([0.9, 0.0]), t([[0.2, 0.6],
                                [3.0, 4.0]]))  # fmt: skip
    torch.testing.assert_close(delta, t([1.04, -1.0]))


def test_expected_value_golden():
    # 0.25 * 2 + 0.75 * 4 = 3.5
    torch.testing.assert_close(expected_value(t([[0.25, 0.75]]), t([[2.0, 4.0]])), t([3.5]))


def test_softmax_policy_golden_with_per_agent_beta():
    q = t([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    # beta 1: e^0 : e^ln3 = 1 : 3; beta 0: uniform
    torch.testing.assert_close(softmax_policy(q, t([1.0, 0.0])), t([[0.25, 0.75], [0.5, 0.5]]))
    torch.testing.assert_close(softmax_policy(q, 2.0)[0], t([0.1, 0.9]))  # 1 : 9


def test_epsilon_greedy_policy_golden_splits_ties():
    # eps / 3 = 0.1 each, the remaining 0.7 split between the two tied maxima
    torch.testing.assert_close(epsilon_greedy_policy(t([[1.0, 2.0, 2.0]]), 0.3),
                               t([[0.1, 0.45, 0.45]]))  # fmt: skip
    torch.testing.assert_close(epsilon_greedy_policy(t([[5.0, 1.0]]), t([0.0])), t([[1.0, 0.0]]))


def test_sample_actions_is_inverse_cdf_of_one_uniform_per_agent():
    probs = t([[0.2, 0.8], [0.2, 0.8], [1.0, 0.0], [0.0, 1.0]])
    u = torch.rand(4, generator=torch.Generator().manual_seed(5))
    actions = sample_actions(probs, torch.Generator().manual_seed(5))
    expected = [int(u[0] >= 0.2), int(u[1] >= 0.2), 0, 1]
    assert actions.tolist() == expected


def test_is_greedy_counts_ties_as_greedy():
    assert is_greedy(t([[1.0, 2.0], [3.0, 3.0]]), torch.tensor([0, 1])).tolist() == [False, True]


def test_one_hot_pairs():
    x = one_hot_pairs(torch.tensor([1, 0]), torch.tensor([2, 0]), 2, 3)
    assert x.shape == (2, 2, 3)
    assert x[0, 1, 2] == 1 and x[1, 0, 0] == 1 and x.sum() == 2


def test_trace_visit_accumulating_and_replacing():
    e, x = t([[0.5, 0.3]]), t([[1.0, 0.0]])
    torch.testing.assert_close(trace_visit(e, x, replacing=False), t([[1.5, 0.3]]))
    torch.testing.assert_close(trace_visit(e, x, replacing=True), t([[1.0, 0.3]]))


def test_td_table_update_golden_with_per_agent_rates():
    table = t([[[1.0, 2.0]], [[1.0, 2.0]]])
    trace = t([[[1.0, 0.5]], [[1.0, 0.5]]])
    # agent 0: lr 0.1, delta 2 -> + [0.2, 0.1]; agent 1: lr 0.5, delta -1 -> + [-0.5, -0.25]
    out = td_table_update(table, trace, t([2.0, -1.0]), t([0.1, 0.5]))
    torch.testing.assert_close(out, t([[[1.2, 2.1]], [[0.5, 1.75]]]))


def test_delta_rule_golden_and_counts_give_frequencies():
    torch.testing.assert_close(delta_rule(t([0.5]), t([1.0]), 0.2), t([0.6]))  # 0.5 + 0.2 * 0.5
    row = torch.full((1, 3), 1.0 / 3.0)
    for n, successor in enumerate([0, 0, 1]):  # rate 1 / (n + 1): running frequency
        target = torch.nn.functional.one_hot(torch.tensor([successor]), 3).float()
        row = delta_rule(row, target, t([1.0 / (n + 1)]))
    torch.testing.assert_close(row, t([[2.0 / 3.0, 1.0 / 3.0, 0.0]]))


def test_value_iteration_golden():
    # A chain 0 -> 1 -> end with one action, R = [0, 1], gamma 0.5:
    # sweep 1 from Q = 0: Q = [0, 1]; sweep 2: Q(0) = 0 + 0.5 * 1 = 0.5.
    transitions = t([[[[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]]])  # [1, S=2, A=1, S+1]
    reward = t([[[0.0], [1.0]]])
    q = torch.zeros(1, 2, 1)
    torch.testing.assert_close(value_iteration(q, reward, transitions, 0.5, 1), t([[[0.0], [1.0]]]))
    torch.testing.assert_close(value_iteration(q, reward, transitions, 0.5, 2), t([[[0.5], [1.0]]]))
    # Two-step: Q_MB(0, a) = 0.7 max Q(own state) + 0.3 max Q(other) (gamma 1, Daw et al. 2011)
    T = torch.zeros(1, 3, 2, 4)
    T[0, 0, 0, 1], T[0, 0, 0, 2] = 0.7, 0.3
    T[0, 0, 1, 2], T[0, 0, 1, 1] = 0.7, 0.3
    T[0, 1:, :, 3] = 1.0
    R = t([[[0.0, 0.0], [0.2, 0.8], [0.6, 0.4]]])
    q = value_iteration(torch.zeros(1, 3, 2), R, T, 1.0, 2)
    torch.testing.assert_close(q[0, 0], t([0.7 * 0.8 + 0.3 * 0.6, 0.7 * 0.6 + 0.3 * 0.8]))


def test_state_encoder_thresholds_bits_and_indices():
    box = StateEncoder(gym.spaces.Box(0.0, 1.0, (3,)))
    assert box.n_states == 8
    # bits [0, 1, 1] at the midpoint 0.5, channel 0 least significant: 2 + 4 = 6
    assert box(np.array([[0.2, 0.7, 0.9], [0.5, 0.0, 0.0]])).tolist() == [6, 0]
    shifted = StateEncoder(
        gym.spaces.Box(np.array([-1.0, 0.0]), np.array([3.0, np.inf]), dtype=np.float64)
    )
    assert shifted(np.array([[1.5, 0.1], [0.5, 0.0]])).tolist() == [3, 0]  # thresholds 1 and 0
    assert StateEncoder(gym.spaces.MultiBinary(2))(np.array([[0, 1], [1, 1]])).tolist() == [2, 3]
    discrete = StateEncoder(gym.spaces.Discrete(3, start=1))
    assert discrete.n_states == 3 and discrete(np.array([1, 3])).tolist() == [0, 2]
    multi = StateEncoder(gym.spaces.MultiDiscrete([3, 2]))
    assert multi.n_states == 6 and multi(np.array([[2, 1]])).tolist() == [5]  # 2 + 1 * 3
    with pytest.raises(ValueError, match=r"4096 .*max_states=100"):
        StateEncoder(gym.spaces.Box(0.0, 1.0, (12,)), max_states=100)
    with pytest.raises(ValueError, match="8192 states"):
        StateEncoder(gym.spaces.Box(0.0, 1.0, (13,)))
    with pytest.raises(ValueError, match="outside"):
        discrete(np.array([4]))
    with pytest.raises(ValueError, match="cannot turn observations"):
        StateEncoder(gym.spaces.Text(5))


# --------------------------------------------------------------------------------------------
# Every agent against a scalar reference implementation, replayed from its records
# --------------------------------------------------------------------------------------------


def _two_step_rows(records: pd.DataFrame, agent: int) -> tuple[list, list, list, list]:
    """States, actions, rewards and next states of one agent's TwoStep transitions."""
    rows = records[records["agent"] == agent].sort_values("step")
    stage = rows["stage"].to_numpy()
    second = rows["second_state"].to_numpy()
    states = np.where(stage == 0, 0, second).tolist()
    next_states = np.where(stage == 0, second, 0).tolist()
    return states, rows["action"].tolist(), rows["reward"].tolist(), next_states


def _softmax(x: np.ndarray, beta: float) -> np.ndarray:
    z = np.exp(beta * (x - x.max()))
    return z / z.sum()


REFERENCE = {"gamma": 0.9, "inverse_temperature": 3.0}


def _reference_replay(agent: TabularAgent, records: pd.DataFrame, i: int) -> dict[str, Any]:
    """Replay agent ``i``'s transitions with a plain float64 implementation of its rule."""
    cfg = agent.config
    S, A = agent.n_states, agent.n_actions
    gamma, beta = cfg.gamma, cfg.inverse_temperature
    states, actions, rewards, next_states = _two_step_rows(records, i)
    pending = int(agent._rollout.action[i])
    next_actions = [*actions[1:], pending]
    q, e = np.zeros((S, A)), np.zeros((S, A))
    v, ev = np.zeros(S), np.zeros(S)
    R, T, n = np.zeros((S, A)), np.full((S, A, S + 1), 1.0 / (S + 1)), np.zeros((S, A))
    rpe, value = [], []
    for s, a, r, s2, a2 in zip(states, actions, rewards, next_states, next_actions, strict=True):
        if isinstance(agent, QLearningAgent):
            value.append(q[s2].max())
            rpe.append(r + gamma * q[s2].max() - q[s, a])
            e[s, a] = 1.0  # replacing
            q += cfg.learning_rate * rpe[-1] * e
            e = gamma * cfg.trace_lambda * e if q[s2, a2] == q[s2].max() else 0.0 * e
        elif isinstance(agent, SarsaLambdaAgent):
            if cfg.target == "sample":
                value.append(q[s2, a2])
            else:
                value.append(_softmax(q[s2], beta) @ q[s2])
            rpe.append(r + gamma * value[-1] - q[s, a])
            e[s, a] += 1.0  # accumulating
            q += cfg.learning_rate * rpe[-1] * e
            e *= gamma * cfg.trace_lambda
        elif isinstance(agent, TDActorCriticAgent):
            value.append(v[s2])
            rpe.append(r + gamma * v[s2] - v[s])
            ev[s] += 1.0
            e[s, a] += 1.0
            v += cfg.critic_lr * rpe[-1] * ev
            q += cfg.actor_lr * rpe[-1] * e  # preferences
            ev *= gamma * cfg.trace_lambda
            e *= gamma * cfg.trace_lambda
        else:
            value.append(q[s2].max())
            rpe.append(r + gamma * q[s2].max() - q[s, a])
            R[s, a] += cfg.reward_lr * (r - R[s, a])
            T[s, a] += (np.eye(S + 1)[s2] - T[s, a]) / (n[s, a] + 1)
            n[s, a] += 1
            for _ in range(cfg.n_sweeps):
                q = R + gamma * T[..., :S] @ q.max(axis=1)
    return {"rpe": rpe, "value": value, "q": q, "v": v, "R": R, "T": T}


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (QLearningAgent, {"trace_lambda": 0.8, "learning_rate": 0.3}),
        (SarsaLambdaAgent, {"trace_lambda": 0.8, "learning_rate": 0.3}),
        (SarsaLambdaAgent, {"trace_lambda": 0.8, "learning_rate": 0.3, "target": "sample"}),
        (TDActorCriticAgent, {"trace_lambda": 0.7, "critic_lr": 0.3, "actor_lr": 0.4}),
        (ModelBasedAgent, {"reward_lr": 0.4, "n_sweeps": 2}),
    ],
)
def test_agent_matches_a_scalar_reference(cls, kwargs):
    agent = cls(TWO_STEP, n_agents=3, seed=2, **REFERENCE, **kwargs).learn(120, record=True)
    records = agent.records
    assert (records["dopamine"] == records["rpe"]).all()
    for i in range(agent.n_agents):
        ref = _reference_replay(agent, records, i)
        rows = records[records["agent"] == i].sort_values("step")
        np.testing.assert_allclose(rows["rpe"], ref["rpe"], atol=1e-5)
        np.testing.assert_allclose(rows["value"], ref["value"], atol=1e-5)
        if isinstance(agent, TDActorCriticAgent):
            np.testing.assert_allclose(agent.state_values[i], ref["v"], atol=1e-5)
            np.testing.assert_allclose(agent.preferences[i], ref["q"], atol=1e-5)
        else:
            np.testing.assert_allclose(agent.q_values[i], ref["q"], atol=1e-5)
        if isinstance(agent, ModelBasedAgent):
            np.testing.assert_allclose(agent.reward_model[i], ref["R"], atol=1e-6)
            np.testing.assert_allclose(agent.transition_model[i], ref["T"], atol=1e-6)


# --------------------------------------------------------------------------------------------
# Learning: ReversalBandit-v0
# --------------------------------------------------------------------------------------------

# The bandit's trials are independent one-step decisions, so gamma = 0 (with gamma > 0 the
# chosen arm's value grows toward r / (1 - gamma) and a softmax agent stops sampling the other).
BANDIT_AGENTS = [
    (QLearningAgent, {}),
    (QLearningAgent, {"policy": "epsilon_greedy"}),
    (SarsaLambdaAgent, {"target": "sample"}),  # with gamma = 0 "expected" equals Q-learning
    (TDActorCriticAgent, {}),
    (ModelBasedAgent, {}),
]


@pytest.mark.parametrize(("cls", "kwargs"), BANDIT_AGENTS)
def test_learns_reversal_bandit_and_tracks_reversals(cls, kwargs):
    n_agents, steps = 32, 320  # 8 blocks of 40 trials, p_high 0.8, p_low 0.2
    agent = cls(BANDIT, n_agents=n_agents, seed=3, gamma=0.0, **kwargs)
    records = agent.learn(steps, record=True).records
    late = records[records["step"] >= steps // 2].groupby("agent")["reward"].mean()
    se = late.std() / math.sqrt(n_agents)
    chance = 0.5  # (p_high + p_low) / 2
    assert late.mean() > chance + max(0.05, 4 * se), (late.mean(), se)
    position = records["trial"] % 40
    after = records["trial"] >= 40
    early = records[after & (position < 5)].groupby("agent")["correct"].mean()
    settled = records[after & (position >= 30)].groupby("agent")["correct"].mean()
    # right after a reversal the agents persevere on the old arm; by the block's end they
    # have switched to the new correct arm
    assert settled.mean() > 0.75, settled.mean()
    gap = settled - early
    assert gap.mean() > max(0.3, 4 * gap.std() / math.sqrt(n_agents)), gap.mean()


# --------------------------------------------------------------------------------------------
# Learning: the two-step task (Daw et al. 2011)
# --------------------------------------------------------------------------------------------


def stay_probabilities(records: pd.DataFrame) -> pd.DataFrame:
    """Per agent: P(repeat the first-stage choice) by the previous trial's reward x transition.

    Uses the second-stage rows (one per trial: ``first_choice``, ``transition``, ``rewarded``)
    and pairs of consecutive trials of the same episode. Columns: ``rewarded/common``,
    ``rewarded/rare``, ``unrewarded/common``, ``unrewarded/rare``, then ``reward`` (main effect:
    the mean over transitions of rewarded minus unrewarded) and ``interaction``
    ((rewarded - unrewarded) after common minus after rare).
    """
    trials = records[records["stage"] == 1].sort_values(["agent", "step"])
    out = {}
    for agent, rows in trials.groupby("agent"):
        choice = rows["first_choice"].to_numpy()
        common = (rows["transition"] == "common").to_numpy()
        rewarded = rows["rewarded"].to_numpy().astype(bool)
        episode = rows["episode"].to_numpy()
        pair = episode[1:] == episode[:-1]
        stay = (choice[1:] == choice[:-1])[pair]
        prev_rewarded, prev_common = rewarded[:-1][pair], common[:-1][pair]
        cells = {}
        for r_name, r in (("rewarded", True), ("unrewarded", False)):
            for c_name, c in (("common", True), ("rare", False)):
                cells[f"{r_name}/{c_name}"] = stay[(prev_rewarded == r) & (prev_common == c)].mean()
        out[agent] = cells
    table = pd.DataFrame.from_dict(out, orient="index")
    table["reward"] = 0.5 * (
        table["rewarded/common"] + table["rewarded/rare"]
        - table["unrewarded/common"] - table["unrewarded/rare"]
    )  # fmt: skip
    table["interaction"] = (table["rewarded/common"] - table["rewarded/rare"]) - (
        table["unrewarded/common"] - table["unrewarded/rare"]
    )
    return table


MODEL_FREE = {"inverse_temperature": 3.0, "trace_lambda": 0.9}
TWO_STEP_AGENTS = {
    "q_lambda": (QLearningAgent, {**MODEL_FREE, "learning_rate": 0.5}),
    "sarsa_lambda": (SarsaLambdaAgent, {**MODEL_FREE, "learning_rate": 0.5}),
    "actor_critic": (TDActorCriticAgent, {**MODEL_FREE, "critic_lr": 0.5, "actor_lr": 0.5}),
    "q_learning_td0": (QLearningAgent, {"inverse_temperature": 3.0, "learning_rate": 0.5}),
    "model_based": (ModelBasedAgent, {"inverse_temperature": 3.0, "reward_lr": 0.5}),
}
N_TWO_STEP = 128
_stay_cache: dict[str, pd.DataFrame] = {}


def _two_step_effects(name: str) -> tuple[pd.Series, pd.Series]:
    """Mean and standard error over agents of the stay table (cached per agent kind)."""
    if name not in _stay_cache:
        cls, kwargs = TWO_STEP_AGENTS[name]
        agent = cls(TWO_STEP, n_agents=N_TWO_STEP, seed=11, **kwargs)
        _stay_cache[name] = stay_probabilities(agent.learn(400, record=True).records)
    table = _stay_cache[name]
    return table.mean(), table.std() / math.sqrt(len(table))


@pytest.mark.parametrize("name", ["q_lambda", "sarsa_lambda", "actor_critic"])
def test_two_step_model_free_reward_main_effect_without_interaction(name):
    mean, se = _two_step_effects(name)
    assert mean["reward"] > max(0.08, 5 * se["reward"]), (mean, se)
    assert abs(mean["interaction"]) < min(0.1, 0.4 * mean["reward"]), (mean, se)


def test_two_step_model_based_reward_by_transition_interaction():
    mean, se = _two_step_effects("model_based")
    assert mean["interaction"] > max(0.1, 5 * se["interaction"]), (mean, se)
    assert abs(mean["reward"]) < 0.3 * mean["interaction"], (mean, se)
    # the model-based signature: after a rare transition an unrewarded trial is followed by
    # more stays than a rewarded one
    assert mean["unrewarded/rare"] > mean["rewarded/rare"]


def test_two_step_one_step_learner_barely_shows_the_reward_effect():
    """SCIENCE.md section 3: without a trace spanning both stages the reward only updates the
    second-stage value, so Q-learning's first-stage stays barely depend on the last reward."""
    td0, se0 = _two_step_effects("q_learning_td0")
    traced, _ = _two_step_effects("q_lambda")
    assert td0["reward"] < 0.05
    assert traced["reward"] > td0["reward"] + 5 * se0["reward"]


# --------------------------------------------------------------------------------------------
# Determinism, checkpoints, API
# --------------------------------------------------------------------------------------------

SHORT_TWO_STEP = {"n_trials": 6}  # episodes of 12 steps


def _agent(cls: type, **kwargs: Any) -> TabularAgent:
    defaults = {"n_agents": 4, "seed": 7, "env_kwargs": SHORT_TWO_STEP}
    return cls(TWO_STEP, **{**defaults, **kwargs})


@pytest.mark.parametrize("cls", AGENTS)
def test_same_seed_bit_identical_and_other_seed_differs(cls):
    a = _agent(cls).learn(60, record=True)
    b = _agent(cls).learn(60, record=True)
    c = _agent(cls, seed=8).learn(60, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    for name, table in a._tables().items():
        assert torch.equal(table, b._tables()[name])
    assert not a.records["action"].equals(c.records["action"])
    assert {"rpe", "dopamine", "value", "first_choice", "transition"} <= set(a.records.columns)


def _stop_when_an_episode_ends(agent: TabularAgent) -> bool:
    return not bool((agent.episodes_completed > 0).any())


@pytest.mark.parametrize("cls", AGENTS)
def test_save_load_continue_equals_uninterrupted(tmp_path, cls):
    kwargs = {"trace_lambda": 0.8} if cls is not ModelBasedAgent else {}
    reference = _agent(cls, **kwargs)
    interrupted = _agent(cls, **kwargs)
    # stop right after an episode ended, so an autoreset is pending in the checkpoint
    interrupted.learn(100, record=True, callback=_stop_when_an_episode_ends)
    split = interrupted.num_timesteps
    assert split < 100
    interrupted.learn(5, record=True)  # traces are non-zero mid-episode
    split += 5
    path = interrupted.save(tmp_path / "agent")
    interrupted.predict(0)  # predicting does not disturb learning
    restored = cls.load(path)
    restored.learn(60, record=True)
    reference.learn(split, record=True)
    reference.learn(60, record=True)
    tail = reference.records[reference.records["step"] >= split].reset_index(drop=True)
    pd.testing.assert_frame_equal(restored.records, tail)
    for name, table in reference._tables().items():
        assert torch.equal(restored._tables()[name], table), name
    assert restored.num_timesteps == reference.num_timesteps


def _discrete_tasks() -> list[str]:
    tasks = []
    for env_id in task_ids():
        env = gym.make(env_id)
        if isinstance(env.action_space, gym.spaces.Discrete):
            tasks.append(env_id)
        env.close()
    return tasks


@pytest.mark.parametrize("env_id", _discrete_tasks())
def test_every_discrete_task_learns_predicts_saves_and_loads(tmp_path, env_id):
    for cls in AGENTS:
        agent = cls(env_id, n_agents=2, seed=1).learn(25, record=True)
        records = agent.records
        assert len(records) > 0 and np.isfinite(records[["rpe", "value"]].to_numpy()).all()
        space = agent.env.single_observation_space
        obs = space.sample()
        actions, state = agent.predict(obs)
        assert actions.shape == (2,) and state is None
        batch = np.stack([space.sample(), space.sample()])
        greedy, _ = agent.predict(batch, deterministic=True)
        assert greedy.shape == (2,) and set(greedy.tolist()) <= set(range(agent.n_actions))
        loaded = cls.load(agent.save(tmp_path / cls.__name__))
        assert loaded.n_states == agent.n_states
        loaded.learn(5)
        assert loaded.num_timesteps == 30


def test_box_actions_raise_a_clear_error():
    env_id = "plasticgym/Reaching-v0"
    for cls in AGENTS:
        with pytest.raises(ValueError, match=r"Discrete action space, got Box.*Stable-Baselines3"):
            cls(env_id, n_agents=1, seed=0)


def test_tensorboard_run_and_package_exports(tmp_path):
    import plasticgym.agents

    assert plasticgym.agents.SarsaLambdaAgent is SarsaLambdaAgent
    agent = ModelBasedAgent(TWO_STEP, n_agents=2, seed=0, tensorboard_log=tmp_path, log_interval=5)
    agent.learn(20).save(tmp_path / "mb")
    assert agent.run_dir is not None and any(agent.run_dir.glob("events.out.tfevents.*"))


def test_too_many_states_raise_a_clear_error():
    with pytest.raises(ValueError, match=r"256 states.*max_states=100"):
        QLearningAgent("plasticgym/SkillLearning-v0", max_states=100)


def test_predict_single_agent_shapes_and_errors():
    agent = QLearningAgent(TWO_STEP, seed=0).learn(20)
    action, state = agent.predict(0, deterministic=True)
    assert action.shape == () and state is None
    assert int(action) == int(agent.q_values[0, 0].argmax())
    with pytest.raises(ValueError, match="expected"):
        agent.predict(np.zeros((3,), dtype=np.int64))
    with pytest.raises(ValueError, match="outside"):
        agent.predict(7)


def test_per_agent_hyperparameters_and_their_checkpoint(tmp_path):
    agent = QLearningAgent(BANDIT, n_agents=3, seed=0, gamma=0.0, learning_rate=[0.1, 0.5, 0.9])
    np.testing.assert_allclose(agent.individual_parameters["learning_rate"], [0.1, 0.5, 0.9])
    # one rewarded pull from Q = 0 moves Q by exactly the agent's learning rate
    records = agent.learn(1, record=True).records
    chosen = torch.as_tensor(records["action"].to_numpy().copy())
    first = agent.q_values[torch.arange(3), 1, chosen]
    np.testing.assert_allclose(first, records["reward"].to_numpy() * [0.1, 0.5, 0.9], rtol=1e-6)
    loaded = QLearningAgent.load(agent.save(tmp_path / "q"))
    assert loaded.config.learning_rate == (0.1, 0.5, 0.9)


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (QLearningAgent, "learning_rate", 0.0),
        (QLearningAgent, "gamma", 1.0),
        (QLearningAgent, "epsilon", -0.1),
        (QLearningAgent, "policy", "greedy"),
        (QLearningAgent, "max_states", 0),
        (SarsaLambdaAgent, "trace_lambda", 1.5),
        (SarsaLambdaAgent, "trace", "dutch"),
        (SarsaLambdaAgent, "target", "max"),
        (TDActorCriticAgent, "actor_lr", -1.0),
        (TDActorCriticAgent, "inverse_temperature", -1.0),
        (ModelBasedAgent, "n_sweeps", 0),
        (ModelBasedAgent, "transition_learning", "bayes"),
        (ModelBasedAgent, "transition_lr", 2.0),
        (ModelBasedAgent, "reward_lr", math.nan),
    ],
)
def test_invalid_hyperparameters_name_the_field(cls, field, value):
    with pytest.raises(ValueError, match=rf"^{field}="):
        cls(TWO_STEP, **{field: value})


def test_invalid_per_agent_and_unknown_hyperparameters():
    with pytest.raises(ValueError, match=r"learning_rate\[1\]=-1"):
        QLearningAgent(TWO_STEP, n_agents=2, learning_rate=[0.1, -1])
    with pytest.raises(ValueError, match="learning_rate has 3 values but n_agents=2"):
        QLearningAgent(TWO_STEP, n_agents=2, learning_rate=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['alpha'\] for QLearning"):
        QLearningAgent(TWO_STEP, alpha=0.1)
