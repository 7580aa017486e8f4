"""The habit pathway and outcome devaluation (Adams 1982; Miller, Shenhav & Ludvig 2019).

Agents with a goal-directed evaluation (actions valued by the outcomes they bring, outcomes
valued by the dopamine-trained critic and a reward model) press less on the lever whose outcome
was devalued (paired with illness where the levers are absent). With the value-free habit
pathway, control passes to habits as training goes on, and after extended training (500
reinforcers) responding is much less sensitive to devaluation than after moderate training
(100) or than without the habit pathway. As in Miller et al., the agents here have no cached
action values (``actor_lr=0``): the dopamine-gated pathway is the goal-directed evaluation.

Sensitivity per agent: the share of its presses on the devalued lever in late training minus
that share in the extinction test (positive: the agent moved away from the devalued lever).
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent

GOAL_DIRECTED = {"trace_lambda": 0.0, "actor_lr": 0.0, "goal_directed": True, "goal_weight": 3.0}
N_AGENTS = 64


def _devalued_share(presses: pd.Series) -> float:
    presses = presses[presses > 0]
    return float((presses == 1).mean()) if len(presses) else math.nan


def _sensitivity(reinforcers: int, habit: bool) -> tuple[pd.Series, PlasticAgent]:
    env_kwargs = {"training_reinforcers": reinforcers, "devaluation_pairings": 10,
                  "test_steps": 60}  # fmt: skip
    agent = PlasticAgent("plasticgym/HabitFormation-v0", n_agents=N_AGENTS, seed=2,
                         env_kwargs=env_kwargs, habit=habit, **GOAL_DIRECTED)  # fmt: skip
    agent.learn(20_000, record=True,
                callback=lambda a: not bool((a.episodes_completed > 0).all()))  # fmt: skip
    records = agent.records[agent.records["episode"] == 0]
    training = records[records["phase"] == "training"].groupby("agent")["action"]
    test = records[records["phase"] == "test"].groupby("agent")["action"]
    assert (test.size() == 60).all()
    late = training.apply(lambda a: _devalued_share(a.iloc[-200:]))
    return (late - test.apply(_devalued_share)).dropna(), agent


_cache: dict[tuple[int, bool], tuple[pd.Series, PlasticAgent]] = {}


def sensitivity(reinforcers: int, habit: bool) -> tuple[pd.Series, PlasticAgent]:
    if (reinforcers, habit) not in _cache:
        _cache[(reinforcers, habit)] = _sensitivity(reinforcers, habit)
    return _cache[(reinforcers, habit)]


def _se(values: pd.Series) -> float:
    return float(values.std() / math.sqrt(len(values)))


def test_goal_directed_agents_stay_sensitive_to_devaluation_after_extended_training():
    index, _ = sensitivity(500, habit=False)
    assert index.mean() > max(0.1, 4 * _se(index)), index.mean()


def test_habit_pathway_makes_extended_training_insensitive_to_devaluation():
    without, _ = sensitivity(500, habit=False)
    extended, agent = sensitivity(500, habit=True)
    moderate, moderate_agent = sensitivity(100, habit=True)
    # moderate training: still goal-directed; extended: habits have taken over
    assert moderate.mean() > max(0.08, 4 * _se(moderate)), moderate.mean()
    for other in (without, moderate):
        gap = other.mean() - extended.mean()
        assert gap > max(0.08, 4 * math.hypot(_se(other), _se(extended))), (other, extended)
    share = agent.habit_share()
    assert share is not None and share.mean() > moderate_agent.habit_share().mean() + 0.2


def test_without_the_pathways_the_policy_is_the_softmax_of_the_rates():
    agent = PlasticAgent("plasticgym/HabitFormation-v0", n_agents=4, seed=0,
                         env_kwargs={"training_reinforcers": 5}).learn(200)  # fmt: skip
    assert agent.habit_share() is None and agent.habit_state is None and agent.goal_state is None
    actor_input = agent._rollout.actor_input
    rates, probs = agent._policy(actor_input)
    torch.testing.assert_close(probs, torch.softmax(5.0 * rates, dim=1))
    with pytest.raises(ValueError, match="need a Discrete action space"):
        PlasticAgent("plasticgym/Reaching-v0", habit=True)


def test_habit_strength_grows_with_repetition_whatever_the_reward():
    """Two-factor: habits form in extinction too, where no press earns anything."""
    protocol = [{"name": "test", "kind": "extinction", "length": 400}]
    agent = PlasticAgent("plasticgym/HabitFormation-v0", n_agents=8, seed=1, habit=True,
                         habit_lr=0.01, env_kwargs={"protocol": protocol})  # fmt: skip
    agent.learn(300, record=True)
    assert (agent.records["reward"] == 0).all()
    strengths = agent.habits(agent._rollout.actor_input)
    torch.testing.assert_close(strengths.sum(dim=1), torch.ones(8), atol=0.1, rtol=0)
    last = agent.records[agent.records["step"] >= 200].groupby("agent")["action"]
    frequencies = last.apply(lambda a: np.bincount(a, minlength=3) / len(a))
    for agent_index, frequency in frequencies.items():  # strength follows what was repeated
        np.testing.assert_allclose(strengths[agent_index].numpy(), frequency, atol=0.2)


def test_habit_and_goal_state_survive_save_load_continue(tmp_path):
    kwargs = {"n_agents": 4, "seed": 3, "habit": True, "habit_lr": 0.01,
              "contingency_weight": 0.5,
              "env_kwargs": {"training_reinforcers": 10, "devaluation_pairings": 2,
                             "test_steps": 10}, **GOAL_DIRECTED}  # fmt: skip
    reference = PlasticAgent("plasticgym/HabitFormation-v0", **kwargs)
    interrupted = PlasticAgent("plasticgym/HabitFormation-v0", **kwargs).learn(70)
    restored = PlasticAgent.load(interrupted.save(tmp_path / "agent"))
    restored.learn(50, record=True)
    reference.learn(70)
    reference.learn(50, record=True)
    pd.testing.assert_frame_equal(restored.records, reference.records)
    for part in ("habit_state", "goal_state"):
        for name, value in getattr(restored, part)._asdict().items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, getattr(getattr(reference, part), name)), name
    habits, goal = restored.habit_state, restored.goal_state
    assert habits.strength.abs().sum() > 0 and goal.outcome_model.abs().sum() > 0
    for name, value in habits.contingency._asdict().items():
        assert torch.equal(value, getattr(reference.habit_state.contingency, name)), name
    assert habits.contingency.covariance.abs().sum() > 0


def test_contingency_context_counts_only_actions_taken_where_responses_can_act():
    """With ``contingency_context=0`` (the instrumental context) the rate correlation learns in
    training and not in the devaluation context, where the outcome comes whatever the agent
    does; with None it learns in both."""
    protocol = [{"name": "devaluation", "kind": "devaluation", "length": 4},
                {"name": "training", "kind": "train", "length": 10}]  # fmt: skip
    kwargs = {"n_agents": 4, "seed": 0, "habit": True, "contingency_weight": 0.5,
              "env_kwargs": {"protocol": protocol}}  # fmt: skip
    gated = PlasticAgent("plasticgym/HabitFormation-v0", contingency_context=0, **kwargs)
    every_step = PlasticAgent("plasticgym/HabitFormation-v0", **kwargs)
    for agent in (gated, every_step):
        agent.learn(19)  # the four pairings, the first step of training still to come
    assert all(value.abs().sum() == 0 for value in gated.habit_state.contingency)
    assert every_step.habit_state.contingency.covariance.abs().sum() > 0
    gated.learn(40)
    assert gated.habit_state.contingency.covariance.abs().sum() > 0
    with pytest.raises(ValueError, match=r"contingency_context=5 .* 5 stimulus channels"):
        PlasticAgent("plasticgym/HabitFormation-v0", habit=True, contingency_context=5)
    for bad in (-1, 0.5, True):
        with pytest.raises(ValueError, match="contingency_context"):
            PlasticAgent("plasticgym/HabitFormation-v0", habit=True, contingency_context=bad)


def test_two_step_reward_model_credits_the_second_stage_state_with_preceding(tmp_path):
    """On TwoStep-v0 the reward arrives with the first-stage state: by default the goal part's
    reward model credits that state and never the second-stage ones; with
    goal_reward_stimuli='preceding' it credits the second-stage states (each agent at its own
    goal_reward_lr; rate 0: nothing learned), and the options survive save/load."""
    kwargs = dict(n_agents=3, seed=0, env_kwargs={"n_trials": 100}, goal_directed=True)
    default = PlasticAgent("plasticgym/TwoStep-v0", **kwargs)
    default.learn(200)
    assert (default.goal_state.reward_model[:, 1:] == 0).all()
    assert (default.goal_state.reward_model[:, 0] > 0).all()
    agent = PlasticAgent("plasticgym/TwoStep-v0", **kwargs, goal_reward_stimuli="preceding",
                         goal_reward_lr=(0.5, 0.3, 0.0))  # fmt: skip
    agent.learn(200)
    learned = agent.goal_state.reward_model
    assert (learned[:2, 1:].sum(dim=1) > 0.1).all() and (learned[:, 0].abs() < 1e-6).all()
    assert (learned[2] == 0).all()
    agent.save(tmp_path / "planner")
    loaded = PlasticAgent.load(tmp_path / "planner", env="plasticgym/TwoStep-v0")
    assert loaded.config.goal_directed.reward_stimuli == "preceding"
    assert tuple(loaded.config.goal_directed.reward_lr) == (0.5, 0.3, 0.0)


def test_goal_reward_dopamine_scales_the_reward_model_by_the_agents_gains(tmp_path):
    """goal_reward_dopamine=True: with gains of 1 the agents are bit-identical to the option off
    (the gate is then the identity); with a gain of 0 the reward model learns
    nothing (off: it learns); the option survives save/load and is off by default."""
    kwargs = dict(n_agents=3, seed=0, env_kwargs={"n_trials": 60}, goal_directed=True,
                  goal_reward_stimuli="preceding", goal_reward_lr=0.5)  # fmt: skip
    plain = PlasticAgent("plasticgym/TwoStep-v0", **kwargs)
    assert plain.config.goal_directed.reward_dopamine is False
    plain.learn(120, record=True)
    unit = PlasticAgent("plasticgym/TwoStep-v0", **kwargs, goal_reward_dopamine=True)
    unit.learn(120, record=True)
    assert torch.equal(unit.goal_state.reward_model, plain.goal_state.reward_model)
    assert unit.records["action"].tolist() == plain.records["action"].tolist()
    gains = {"dopamine_gain_positive": (1.0, 0.0, 1.0), "dopamine_gain_negative": (1.0, 0.0, 0.0)}
    low = PlasticAgent("plasticgym/TwoStep-v0", **kwargs, goal_reward_dopamine=True, **gains)
    low.learn(120)
    learned = low.goal_state.reward_model[:, 1:]
    assert (learned[0].abs().sum() > 0.1) and (learned[1] == 0).all()  # no dopamine, no learning
    assert (learned[2] >= 0).all() and learned[2].sum() > 0.1  # no dips: nothing unlearned
    ungated = PlasticAgent("plasticgym/TwoStep-v0", **kwargs, **gains)
    ungated.learn(120)
    assert ungated.goal_state.reward_model[1, 1:].abs().sum() > 0.1  # off: gains not read
    low.save(tmp_path / "gated")
    loaded = PlasticAgent.load(tmp_path / "gated", env="plasticgym/TwoStep-v0")
    assert loaded.config.goal_directed.reward_dopamine is True
