"""The compare experiment: every agent kind on every task in one table (quick config), verdicts
computed from the records, steps-to-criterion by hand, determinism and validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from plasticgym.agents import make_agent
from plasticgym.docs import task_ids
from plasticgym.experiments import compare

BANDIT, REACHING = compare.BANDIT, compare.REACHING


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick config run once: (config, tables, result, figure paths)."""
    config = compare.Config.quick()
    out = tmp_path_factory.mktemp("compare")
    tables = compare.run(config, out)
    result = compare.analyse(tables, config)
    return config, tables, result, compare.plot(tables, result, out)


def test_quick_run_gives_one_table_verdicts_and_a_figure(quick):
    config, tables, result, paths = quick
    kinds = (compare.RANDOM, *config.agents)
    timing, table = tables["timing"], result["table"]
    combos = [(task, kind) for task in config.tasks for kind in kinds]
    assert list(zip(timing["task"], timing["agent_kind"], strict=True)) == combos
    assert list(zip(table["task"], table["agent_kind"], strict=True)) == combos
    skipped = timing[timing["status"] == "skipped"]
    assert ("plasticgym/Reaching-v0", "q_learning") in set(
        zip(skipped["task"], skipped["agent_kind"], strict=True)
    )
    assert (
        "needs a Discrete action space" in result["skipped"]["plasticgym/Reaching-v0 / q_learning"]
    )

    done = table[table["status"] == "done"]
    assert len(done) >= len(combos) - 2  # q_learning on reaching (+ ppo if SB3 is missing)
    numbers = ["final_reward", "final_ci_low", "final_ci_high", "mean_reward", "chance",
               "criterion", "reached_fraction", "wall_s", "agent_steps_per_s"]  # fmt: skip
    assert np.isfinite(done[numbers].to_numpy(dtype=float)).all(), done
    assert (done["final_ci_low"] <= done["final_reward"]).all()
    assert (done["agent_steps_per_s"] > 0).all() and done["reached_fraction"].between(0, 1).all()
    records = tables["records"]
    for row in done.itertuples():
        own = records[(records["task"] == row.task) & (records["agent_kind"] == row.agent_kind)]
        assert own["agent"].nunique() == row.n_agents
        assert own["step"].max() < config.steps[row.task]
    # the criterion is half-way from chance to the best learner's final reward
    for _, rows in done.groupby("task"):
        chance = rows.loc[rows["agent_kind"] == compare.RANDOM, "final_reward"].item()
        best = rows.loc[rows["agent_kind"] != compare.RANDOM, "final_reward"].max()
        assert rows["criterion"].iloc[0] == pytest.approx(chance + 0.5 * (best - chance))

    verdicts = result["verdicts"]
    assert set(verdicts) == {"plastic_above_chance_ReversalBandit-v0",
                             "plastic_above_chance_Reaching-v0", "every_agent_ran"}  # fmt: skip
    assert all(isinstance(v, bool) for v in verdicts.values())
    assert verdicts["every_agent_ran"]
    assert set(result["lines"]) == set(verdicts)
    assert [p.name for p in paths] == ["compare_learning_curves.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plastic_above_chance_Reaching-v0" in compare.format_table(result)


def _with_plastic_rewards(tables, value):
    records = tables["records"].copy()
    records.loc[records["agent_kind"] == "plastic", "reward"] = value
    return {**tables, "records": records}


def test_verdicts_are_computed_from_the_records(quick):
    config, tables, _, _ = quick
    silent = compare.analyse(_with_plastic_rewards(tables, 0.0), config)["verdicts"]
    assert not silent["plastic_above_chance_ReversalBandit-v0"]  # chance is 0.5 per trial
    perfect = compare.analyse(_with_plastic_rewards(tables, 1.0), config)["verdicts"]
    assert perfect["plastic_above_chance_ReversalBandit-v0"]
    assert perfect["plastic_above_chance_Reaching-v0"]
    records = tables["records"]
    lost = records[~((records["agent_kind"] == "q_learning") & (records["agent"] == 3))]
    result = compare.analyse({**tables, "records": lost}, config)
    assert not result["verdicts"]["every_agent_ran"]
    assert "missing: q_learning on ReversalBandit-v0" in result["lines"]["every_agent_ran"]
    # a bare records table: no timings, and the skipped combination counts as missing
    bare = compare.analyse(records, config)
    assert bare["table"]["wall_s"].isna().all() and not bare["verdicts"]["every_agent_ran"]


def _two_step_trials(n_agents: int, win_stay: bool, seed: int) -> pd.DataFrame:
    """Second-stage rows of agents that repeat a rewarded choice and switch after an omission
    (``win_stay``), or choose at random."""
    rng = np.random.default_rng(seed)
    rows = []
    for agent in range(n_agents):
        choice = 0
        for trial in range(120):
            rewarded = bool(rng.random() < 0.5)
            rows.append({"agent": agent, "step": 2 * trial + 1, "episode": 0, "stage": 1,
                         "first_choice": choice, "rewarded": rewarded,
                         "transition": "common" if rng.random() < 0.7 else "rare"})  # fmt: skip
            stay = rewarded if win_stay else rng.random() < 0.5
            choice = choice if stay else 1 - choice
    return pd.DataFrame(rows).assign(agent_kind="plastic")


def test_two_step_verdict_is_the_reward_effect_on_staying():
    config = compare.Config.quick(tasks=(compare.TWO_STEP,), agents=("plastic",), n_agents=4,
                                  steps={compare.TWO_STEP: 120}, window=20)  # fmt: skip
    tables = compare.run(config)
    trials = tables["two_step_trials"]
    assert set(trials["agent_kind"]) == {"plastic"} and (trials["stage"] == 1).all()
    assert len(trials) == 4 * 60  # one second-stage row per trial, two steps a trial
    result = compare.analyse(tables, config)
    name = "plastic_reward_effect_TwoStep-v0"
    assert set(result["verdicts"]) == {name, "every_agent_ran"}
    row = result["table"].set_index("agent_kind").loc["plastic"]
    assert row["stay_ci_low"] <= row["stay_reward_effect"] <= row["stay_ci_high"]
    assert "b_reward" in result["lines"][name]
    # computed from the trials: win-stay agents pass, agents choosing at random do not
    win_stay = compare.analyse({**tables, "two_step_trials": _two_step_trials(8, True, 0)},
                               config)  # fmt: skip
    assert win_stay["verdicts"][name]
    random = compare.analyse({**tables, "two_step_trials": _two_step_trials(8, False, 1)},
                             config)  # fmt: skip
    assert not random["verdicts"][name]
    # without the trials (a bare records table) the reward rate is judged, as on other tasks
    assert (
        "plastic_above_chance_TwoStep-v0" in compare.analyse(tables["records"], config)["verdicts"]
    )


def test_steps_to_criterion_golden():
    steps = np.array([0, 1, 2, 4, 5, 6, 8, 9])
    rewards = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    # bins of 2 rows end at steps 1, 4, 6, 9 with means 0, 1, .5, 1
    assert compare.steps_to_criterion(steps, rewards, 0.5, 2, hold=2) == 4
    assert compare.steps_to_criterion(steps, rewards, 0.5, 2, hold=3) == 4
    assert math.isnan(compare.steps_to_criterion(steps, rewards, 0.5, 2, hold=4))  # 3 bins left
    assert compare.steps_to_criterion(steps, rewards, 0.0, 2, hold=2) == 1  # the first bin
    # criterion 1 is met by bins 2 and 4 but lost in bin 3: only the last bin keeps it
    assert math.isnan(compare.steps_to_criterion(steps, rewards, 1.0, 2, hold=2))
    assert compare.steps_to_criterion(steps, rewards, 1.0, 2, hold=1) == 9
    assert compare.steps_to_criterion(steps[::-1], rewards[::-1], 0.5, 2, hold=2) == 4  # any order
    # a partial last bin is dropped: bins of 3 rows end at steps 2, 6 with means 1/3, 2/3
    assert compare.steps_to_criterion(steps, rewards, 0.6, 3, hold=1) == 6
    assert math.isnan(compare.steps_to_criterion(steps, rewards, 1.5, 2, hold=1))  # never
    assert math.isnan(compare.steps_to_criterion(steps, rewards, math.nan, 2, hold=1))
    assert math.isnan(compare.steps_to_criterion(steps, rewards, 0.0, 9, hold=1))  # no full bin


def test_random_policy_rarely_reaches_the_criterion():
    """The criterion must be kept: a uniform-random policy on the bandit, whose bins average
    0.5, almost never keeps a criterion halfway to 0.7 for the last three bins (the old
    first-crossing rule let most random agents "reach" it)."""
    generator = np.random.default_rng(0)
    reached = [
        compare.steps_to_criterion(np.arange(2000), generator.binomial(1, 0.5, 2000), 0.6, 100)
        for _ in range(200)
    ]
    assert np.isfinite(reached).mean() < 0.02


def test_random_baseline_rows_are_transitions_like_an_agents():
    """Autoreset steps give no rows, for the random policy as for the agents."""
    short = {"n_trials": 5}
    random = compare.random_records(BANDIT, 2, 14, seed=0, env_kwargs=short)
    agent = make_agent("q_learning", BANDIT, n_agents=2, seed=0, env_kwargs=short).learn(
        14, record=True
    )
    columns = ["agent", "step", "episode"]
    expected = agent.records[columns].sort_values(["agent", "step"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(random[columns], expected, check_dtype=False)
    assert 5 not in set(random["step"]) and set(random["reward"]) <= {0.0, 1.0}


def test_same_seed_same_records_other_seed_differs():
    def records(seed):
        config = compare.Config.quick(tasks=(BANDIT,), agents=("q_learning",), seed=seed,
                                      n_agents=3, steps={BANDIT: 60}, window=10)  # fmt: skip
        return compare.run(config)["records"]

    first = records(0)
    pd.testing.assert_frame_equal(first, records(0))
    assert not first["reward"].equals(records(1)["reward"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agents": ("plastic", "sarsa")}, "unknown agent kind 'sarsa'"),
        ({"agents": ("random",)}, "unknown agent kind 'random'"),
        ({"tasks": ("plasticgym/Nope-v0",)}, "unknown task"),
        ({"tasks": (compare.TWO_STEP,)}, r"steps\['plasticgym/TwoStep-v0'\]=None"),
        ({"n_agents": 1}, "n_agents=1 is invalid"),
        ({"window": 1000}, "need an int >= window"),
    ],
)
def test_invalid_config_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        compare.Config.quick(**overrides)


def test_the_full_config_covers_every_agent_and_task():
    kinds = compare.agent_kinds()
    assert set(compare.Config().agents) == set(kinds) - set(compare.COMPARED_ELSEWHERE)
    assert set(compare.COMPARED_ELSEWHERE) <= set(kinds)
    assert set(compare.Config().tasks) == set(task_ids())  # a new task needs its settings here
    name, hyperparameters = compare.agent_settings("plastic_no_homeostasis", BANDIT)
    assert name == "plastic" and hyperparameters["homeostasis"] is False
    assert hyperparameters["gamma"] == 0.0  # the task's preset
    assert compare.agent_settings("q_learning", BANDIT) == ("q_learning", {"gamma": 0.0})
    assert compare.agent_settings("model_based", compare.TWO_STEP) == (
        "model_based",
        {"gamma": 0.9},
    )
