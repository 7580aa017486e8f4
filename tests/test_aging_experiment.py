"""aging: cohorts differ as defined, a small run learns, its verdicts are computed from the
records (changing the records flips them), and the measures are what they say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from plasticgym.experiments import aging as experiment


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    config = experiment.Config.quick(n_agents=8, training_trials=80, rest_steps=300,
                                     test_trials=30, two_step_steps=300)  # fmt: skip
    return config, experiment.run(config, tmp_path_factory.mktemp("aging"))


def test_cohorts_sample_their_factors_inside_their_ranges():
    config = experiment.Config.quick(n_agents=50)
    agents = experiment.sample_cohorts(config, np.random.default_rng(0))
    for cohort, ranges in experiment.COHORTS.items():
        rows = agents[agents["cohort"] == cohort]
        assert len(rows) == 50
        for factor, (low, high) in ranges.items():
            assert rows[factor].between(low, high).all() and rows[factor].nunique() == 50
    assert agents["actor_lr"].nunique() == len(agents)


def test_trials_to_criterion_golden_values():
    curves = pd.DataFrame({
        "agent": [0] * 6 + [1] * 6, "trial": list(range(6)) * 2,
        "correct": [0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1],
    })  # fmt: skip
    result = experiment.trials_to_criterion(curves, window=2, criterion=1.0)
    assert result.tolist() == [3.0, 6.0]  # agent 0: trials 2-3 correct; agent 1: never (6)


def test_small_run_learns_and_the_old_learn_slower(small):
    config, records = small
    result = experiment.analyse(records, config)
    assert set(result["verdicts"]) == set(experiment.KIND)
    measures = result["measures"]
    assert len(measures) == 8 * len(config.cohorts)
    assert measures.groupby("cohort")["learning"].mean()["young"] > 0.6


def test_verdicts_flip_when_the_records_change(small):
    config, records = small
    agents = records["agents"]
    young = set(agents.loc[agents["cohort"] == "young", "agent"])
    old = set(agents.loc[agents["cohort"] == "old", "agent"])
    curves = records["curves"].copy()
    curves.loc[curves["agent"].isin(young), "correct"] = 0.0
    curves.loc[curves["agent"].isin(old), "correct"] = 1.0
    retention = records["retention"].copy()
    retention.loc[retention["agent"].isin(young), "after_rest"] = 0.5
    changed = {**records, "curves": curves, "retention": retention}
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert not verdicts["old_learns_slower"] and not verdicts["old_consolidates_less"]
    assert not verdicts["control_replica_matches_young"]


def test_bad_cohorts_are_clear_errors():
    with pytest.raises(ValueError, match="cohorts"):
        experiment.Config(cohorts=("young", "old"))
    with pytest.raises(ValueError, match=r"two_step_agent='tabular' is invalid: choose one of "
                                         r"plastic, plastic_planner, plastic_planner_dopamine, "
                                         r"model_based"):  # fmt: skip
        experiment.Config(two_step_agent="tabular")


def test_the_plastic_two_step_player_records_every_agents_own_trials():
    """two_step_agent='plastic': PlasticAgents with goals and habits play the task, and the
    model-based index is computed per agent from its own choices."""
    from plasticgym.experiments.two_step import stay_regressions, stay_trials

    config = experiment.Config.quick(n_agents=2, two_step_steps=80, two_step_agent="plastic")
    assert experiment.Config.quick().two_step_agent == "model_based"
    agents = experiment.sample_cohorts(config, np.random.default_rng(0))
    trials = experiment._two_step(config, agents, 3)
    assert set(trials["agent"]) == set(agents["agent"])
    assert (trials.groupby("agent").size() == config.two_step_steps).all()
    fits = stay_regressions(stay_trials(trials.assign(kind="plastic")), l2=0.1)
    assert len(fits) == len(agents) and np.isfinite(fits.to_numpy()).all()


def test_model_based_share_golden_values():
    share = experiment.model_based_share([0.4, 0.0, -0.2, 0.3, 0.0], [0.0, 0.2, 0.2, -0.1, 0.0])
    np.testing.assert_allclose(share[:4], [0.0, 1.0, 0.5, -0.25])
    assert np.isnan(share[4])  # no reward effect, no interaction: undefined


def test_the_planner_credits_the_second_stage_and_scales_its_choice_gain(monkeypatch):
    """two_step_agent='plastic_planner': the goal part's reward model credits the second-stage
    state at reward_lr x plasticity, and gain multiplies the inverse temperature; 'plastic'
    keeps the earlier configuration."""
    built = {}
    original = experiment.PlasticAgent

    def capture(*args, **kwargs):
        built.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(experiment, "PlasticAgent", capture)
    config = experiment.Config.quick(n_agents=2, two_step_steps=40,
                                     two_step_agent="plastic_planner")  # fmt: skip
    agents = experiment.sample_cohorts(config, np.random.default_rng(0))
    trials = experiment._two_step(config, agents, 3)
    goal = built["goal_directed"]
    assert goal.reward_stimuli == "preceding"
    np.testing.assert_allclose(goal.reward_lr, agents["reward_lr"] * agents["plasticity"])
    np.testing.assert_allclose(built["inverse_temperature"], 5.0 * agents["gain"])
    assert trials["habit_share"].between(0, 1).all()
    built.clear()
    experiment._two_step(dataclasses.replace(config, two_step_agent="plastic"), agents, 3)
    assert built["goal_directed"].reward_lr is None
    assert built["goal_directed"].reward_stimuli == "concurrent"
    assert "inverse_temperature" not in built
    assert goal.reward_dopamine is False
    built.clear()
    gated = dataclasses.replace(config, two_step_agent="plastic_planner_dopamine")
    experiment._two_step(gated, agents, 3)
    goal = built["goal_directed"]
    assert goal.reward_dopamine is True and goal.reward_stimuli == "preceding"
    np.testing.assert_allclose(goal.reward_lr, agents["reward_lr"] * agents["plasticity"])
    np.testing.assert_allclose(built["dopamine_gain_positive"], agents["gain"])
    kinds = experiment.verdict_kinds(gated)
    assert kinds["ldopa_restores_model_based"] == kinds["old_less_model_based"] == "mechanism check"
    assert kinds["ldopa_raises_model_based_share"] == "finding"
    assert experiment.verdict_kinds(config)["old_less_model_based"] == "finding"


def test_share_restoration_needs_equivalence_and_a_deficit_larger_than_the_margin():
    """ldopa_restores_share_to_young: TOST of old_ldopa - young share inside +-share_margin,
    and young - old above the margin (no restoration claimed for a deficit inside it)."""
    config = experiment.Config.quick()
    rng = np.random.default_rng(0)

    def verdict(young: float, old: float, ldopa: float) -> bool:
        shares = {"young": young, "old": old, "old_ldopa": ldopa}
        table = pd.DataFrame({
            "cohort": np.repeat(list(shares), 200),
            "model_based_share": np.concatenate([m + 0.05 * rng.standard_normal(200)
                                                 for m in shares.values()]),
        })  # fmt: skip
        verdicts, lines = {}, {}
        experiment.restored_share(table, config, [], verdicts, lines, "(finding)")
        assert "deficit young - old" in lines["ldopa_restores_share_to_young"]
        return verdicts["ldopa_restores_share_to_young"]

    assert verdict(0.3, 0.1, 0.3)  # deficit 0.2 > 0.1, old_ldopa at young
    assert not verdict(0.3, 0.1, 0.15)  # not equivalent
    assert not verdict(0.3, 0.25, 0.3)  # equivalent, but the deficit (0.05) is inside the margin


def test_young_model_based_and_share_verdicts_read_the_regression(small):
    """young_model_based and old_shifts_to_model_free flip when the young cohort's choices
    lose their reward x transition structure."""
    config, records = small
    verdicts = experiment.analyse(records, config)["verdicts"]
    assert verdicts["young_model_based"]  # the tabular learner plans (8 agents, 150 trials)
    agents = records["agents"]
    young = agents.loc[agents["cohort"] == "young", "agent"]
    trials = records["two_step"].copy()
    at_young = trials["agent"].isin(young)
    rng = np.random.default_rng(0)
    trials.loc[at_young, "first_choice"] = rng.integers(0, 2, int(at_young.sum()))
    changed = experiment.analyse({**records, "two_step": trials}, config)["verdicts"]
    assert not changed["young_model_based"] and not changed["old_shifts_to_model_free"]


def test_agents_for_power_golden_values():
    # (1.95996 + 0.84162)^2 * (0.1^2 + 0.1^2) / 0.1^2 = 15.70 -> 16
    assert experiment.agents_for_power(0.1, 0.1, 0.1) == 16
    # TOST: (1.64485 + 0.84162)^2 * 0.02 / (0.05 - 0.03)^2 = 309.1 -> 310
    assert experiment.agents_for_power(-0.03, 0.1, 0.1, margin=0.05) == 310
    assert experiment.agents_for_power(0.06, 0.1, 0.1, margin=0.05) == float("inf")
    assert experiment.agents_for_power(-0.01, 0.1, 0.1) == float("inf")
