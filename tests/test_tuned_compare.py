"""The tuned comparison (experiments/tuned_compare.py, issue 15): every agent kind gets the same
tuning budget, tuning and held-out seeds are disjoint, the sampler is deterministic, and the
rank table ranks what the records say. The verdicts are computed from the tables: corrupting
the budget or the seeds flips them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plasticgym.experiments import tuned_compare as tc
from plasticgym.experiments.compare import BANDIT, HABIT, RANDOM
from plasticgym.sweep import check_space

pytest.importorskip("sb3_contrib", reason="sb3-contrib is not installed (plasticgym[sb3])")

SMALL = {"n_agents": 2, "tasks": (BANDIT,), "agents": ("plastic", "q_learning", "ppo"),
         "steps": {BANDIT: 90}, "window": 10, "n_configs": 3, "tuning_seeds": (0, 1),
         "eval_seeds": (1000, 1001)}  # fmt: skip


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    config = tc.Config(**SMALL)
    tables = tc.run(config, tmp_path_factory.mktemp("tuned"))
    return config, tables, tc.analyse(tables, config)


# ------------------------------------------------------------------------------ budget


def test_every_kind_gets_the_same_number_of_tuning_trials():
    config = tc.Config(
        **{
            **SMALL,
            "tasks": (BANDIT, HABIT),
            "steps": {BANDIT: 90, HABIT: 90},
            "agents": ("plastic", "q_learning", "ppo", "dqn", "recurrent_ppo"),
        }
    )
    trials, skipped = tc.tuning_trials(config)
    counts = pd.Series([(t.spec["env"], t.spec["agent"]) for t in trials]).value_counts()
    assert set(counts) == {config.n_configs * len(config.tuning_seeds)}  # 3 x 2 = 6 each
    # recurrent_ppo runs on the tasks with memory only
    assert [(row["task"], row["agent_kind"]) for row in skipped] == [(HABIT, "recurrent_ppo")]
    assert (BANDIT, "recurrent_ppo") in counts.index
    for item in trials:
        assert item.spec["n_agents"] == config.n_agents and item.spec["steps"] == 90
        assert item.spec["seed"] in config.tuning_seeds
    points = {(t.spec["env"], t.spec["agent"], t.point) for t in trials}
    assert len(points) == len(counts) * config.n_configs


def test_equal_budget_verdict_counts_the_trials_that_ran(small_run):
    config, tables, result = small_run
    assert result["verdicts"]["equal_budget"], result["lines"]["equal_budget"]
    table = result["table"].set_index("agent_kind")
    for kind in config.agents:
        assert table.loc[kind, "tuning_trials"] == 6 and table.loc[kind, "n_configs"] == 3
        assert table.loc[kind, "tuning_agent_steps"] == 6 * 2 * 90
        assert table.loc[kind, "eval_agents"] == 4  # 2 held-out seeds x 2 agents
    # one tuning trial fewer for PPO: the budget is no longer equal
    trials = tables["trials"]
    drop = trials.index[(trials["stage"] == "tuning") & (trials["agent_kind"] == "ppo")][0]
    corrupted = {**tables, "trials": trials.drop(index=drop)}
    assert not tc.analyse(corrupted, config)["verdicts"]["equal_budget"]
    # one held-out seed fewer for Q-learning: neither
    held = trials.index[(trials["stage"] == "evaluation") & (trials["agent_kind"] == "q_learning")]
    corrupted = {**tables, "trials": trials.drop(index=held[0])}
    assert not tc.analyse(corrupted, config)["verdicts"]["equal_budget"]


# ------------------------------------------------------------------------------ seeds


def test_tuning_and_held_out_seeds_are_disjoint(small_run):
    config, tables, result = small_run
    trials = tables["trials"]
    tuning = set(trials.loc[trials["stage"] == "tuning", "seed"])
    held_out = set(trials.loc[trials["stage"] == "evaluation", "seed"])
    assert tuning == {0, 1} and held_out == {1000, 1001}
    assert result["verdicts"]["seeds_disjoint"]
    assert set(tables["records"]["seed"]) == held_out  # the comparison sees held-out seeds only
    leaked = trials.copy()
    leaked.loc[leaked["stage"] == "evaluation", "seed"] = 0
    assert not tc.analyse({**tables, "trials": leaked}, config)["verdicts"]["seeds_disjoint"]
    with pytest.raises(ValueError, match=r"eval_seeds=\(1, 5\) is invalid: seeds \[1\] are "):
        tc.Config(**{**SMALL, "eval_seeds": (1, 5)})


def test_every_winner_is_the_best_tuning_configuration(small_run):
    _, tables, result = small_run
    tuning = tables["trials"][tables["trials"]["stage"] == "tuning"]
    means = tuning.groupby(["agent_kind", "point"])["objective"].mean()
    table = result["table"].set_index("agent_kind")
    for kind, scores in means.groupby(level="agent_kind"):
        assert table.loc[kind, "winner_point"] == scores.droplevel(0).idxmax()
        assert table.loc[kind, "tuning_objective"] == pytest.approx(scores.max())
    evaluation = tables["trials"][tables["trials"]["stage"] == "evaluation"]
    evaluated = evaluation.groupby("agent_kind")["point"].agg(set)
    assert {kind: {table.loc[kind, "winner_point"]} for kind in evaluated.index} == dict(evaluated)


# ------------------------------------------------------------------------------ sampler


def test_configurations_are_deterministic_and_start_with_the_default():
    first = tc.configurations("ppo", BANDIT, 5, seed=3)
    assert first == tc.configurations("ppo", BANDIT, 5, seed=3)
    assert first != tc.configurations("ppo", BANDIT, 5, seed=4)
    assert first[0] == tc.default_settings("ppo", BANDIT)
    assert tc.configurations("ppo", BANDIT, 3, seed=3) == first[:3]  # a larger budget adds
    # the same space, different kinds: different draws
    q = tc.configurations("q_learning", BANDIT, 4, seed=0)[1:]
    sarsa = tc.configurations("sarsa_lambda", BANDIT, 4, seed=0)[1:]
    assert [c["learning_rate"] for c in q] != [c["learning_rate"] for c in sarsa]
    for config in first[1:]:
        space = tc.SEARCH_SPACES["ppo"]
        assert 1e-4 <= config["learning_rate"] <= 1e-2
        assert config["n_steps"] in space["n_steps"]["choice"]
        assert config["policy_kwargs"] == {"net_arch": [32]}  # what the space leaves out


def test_every_search_space_is_valid_and_every_kind_accepts_its_draws():
    spaces = tc.search_spaces()
    assert set(spaces) == set(tc.TUNED_AGENTS)
    from plasticgym.agents import check_agent_kwargs

    for kind in tc.TUNED_AGENTS:
        check_space(spaces[kind])
        for settings in tc.configurations(kind, BANDIT, 6, seed=0):
            check_agent_kwargs(kind, settings)


# ------------------------------------------------------------------------------ ranks


def _table(rows):
    columns = ("agent_kind", "final_reward", "steps_to_criterion", "reached_fraction")
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows])


def test_rank_table_orders_final_reward_and_speed():
    table = _table([
        (RANDOM, 0.5, math.nan, 0.0),
        ("plastic", 0.8, 300.0, 0.9),
        ("ppo", 0.9, 500.0, 0.6),
        ("dqn", 0.7, math.nan, 0.25),  # undefined median: after every defined one
        ("a2c", 0.8, math.nan, 0.5),
        ("q_learning", math.nan, math.nan, math.nan),  # no records: not ranked
    ])  # fmt: skip
    ranked = tc.rank_kinds(table).set_index("agent_kind")
    assert ranked["final_rank"].to_dict() == pytest.approx(
        {RANDOM: math.nan, "plastic": 2, "ppo": 1, "dqn": 4, "a2c": 2, "q_learning": math.nan},
        nan_ok=True,
    )
    assert ranked.loc[["plastic", "ppo", "a2c", "dqn"], "speed_rank"].tolist() == [1, 2, 3, 4]
    assert set(ranked["n_ranked"]) == {4}


def test_plastic_rank_is_stated_win_or_lose(small_run):
    _, _, result = small_run
    table = result["table"]
    plastic = table[table["agent_kind"] == "plastic"].iloc[0]
    learners = table[(table["agent_kind"] != RANDOM) & table["final_reward"].notna()]
    assert plastic["final_rank"] == 1 + (learners["final_reward"] > plastic["final_reward"]).sum()
    assert result["ranks"]["final_rank"].tolist() == [plastic["final_rank"]]
    line = result["lines"]["plastic_noninferior_ReversalBandit-v0"]
    assert line.startswith("(finding) plastic ranks ")
    assert f"ranks {int(plastic['final_rank'])} of {len(learners)} on final reward" in line
    assert result["verdict_kinds"]["equal_budget"] == "mechanism check"
    assert np.isfinite(table.loc[table["agent_kind"] == RANDOM, "final_reward"]).all()
