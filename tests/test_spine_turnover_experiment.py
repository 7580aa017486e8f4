"""spine_turnover: the spine log follows every lifetime, the quick run's mechanism checks hold,
and its verdicts are computed from the records (changing the records flips them)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from quick_runs import quick_run

from plasticgym.experiments import spine_turnover as experiment
from plasticgym.records import load_records
from plasticgym.structure import StructuralPlasticity

DAY = experiment.DAY


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out, _, _ = quick_run("spine_turnover", tmp_path_factory)
    fields = json.loads((out / "config.json").read_text())
    config = experiment.Config(**fields)
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    return config, records


def _changed(records):
    return {name: table.copy() for name, table in records.items()}


def test_the_spine_log_accounts_for_every_formation_and_elimination():
    from plasticgym.agents import PlasticAgent

    structure = StructuralPlasticity(dt=600.0, interval=1800.0, elimination_rate=20.0,
                                     stable_weight=0.02)  # fmt: skip
    agent = PlasticAgent("plasticgym/Pavlovian-v0", n_agents=2, seed=1, structure=structure)
    log, time = experiment.SpineLog(agent), 0.0
    for _ in range(12):
        agent.learn(3)
        time += 1800.0
        log.poll(agent, time)
        agent.pass_time(1800.0)
        time += 1800.0
        log.poll(agent, time)
    spines = log.table()
    stats = agent.spine_statistics()
    born_later = spines[spines["born"] > 0].groupby("agent").size()
    died = spines[spines["died"].notna()].groupby("agent").size()
    assert born_later.tolist() == stats.formed.tolist()
    assert died.tolist() == stats.eliminated.tolist()
    alive = spines[spines["died"].isna()].groupby("agent").size()
    assert alive.tolist() == stats.spines.tolist()
    agent.learn(1)  # between events: the log refuses to read
    with pytest.raises(RuntimeError, match="right after an event"):
        log.poll(agent, time + 600.0)


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="session_minutes must be a positive multiple"):
        experiment.Config(session_minutes=20.0)
    with pytest.raises(ValueError, match="spread"):
        experiment.Config(spread=1.5)


def test_quick_run_mechanism_checks_hold_and_agents_differ(quick):
    config, records = quick
    result = experiment.analyse(records, config)
    verdicts = result["verdicts"]
    assert set(verdicts) == set(experiment.KIND)
    # The marker's two checks are not asserted here: at the quick size (16 agents, two
    # sessions, independent populations) they fail at seeds 0, 1, 2 (their effect, ~0.015 of
    # the training-day spines and ~0.002 of the pre-existing ones agent by agent, is below
    # the Welch interval's resolution; docs/experiments.md); they flip with the records below.
    unresolved = {"marker_keeps_new_spines", "marker_shifts_removal_to_preexisting"}
    mechanism = [name for name, kind in experiment.KIND.items()
                 if kind == "mechanism check" and name not in unresolved]  # fmt: skip
    assert all(verdicts[name] for name in mechanism), result["lines"]
    assert verdicts["reaching_learned"], result["lines"]
    agents = records["agents"]
    assert set(agents["group"]) == set(experiment.GROUPS)
    trained = agents[agents["group"] == "trained"]
    assert trained["actor_lr"].nunique() == config.n_agents  # individual differences
    assert trained["structure_elimination_rate"].nunique() == config.n_agents


def test_verdicts_flip_when_the_records_change(quick):
    config, records = quick
    start, end = config.training_start, config.end

    changed = _changed(records)
    spines = changed["spines"]
    untrained = spines["group"] == "untrained"
    young = untrained & (spines["born"] > start - DAY) & (spines["born"] <= start)
    old = untrained & (spines["born"] <= 0) & ~(spines["died"] <= start)
    spines.loc[young, "died"] = np.nan  # every young spine survives, every old one dies
    spines.loc[old, "died"] = start + 1800.0
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert not verdicts["persistence_rises_with_age"]

    changed = _changed(records)
    timeline = changed["timeline"]
    last = (timeline["group"] == "trained") & np.isclose(timeline["time_d"], end / DAY)
    timeline.loc[last, "density"] += 0.1
    assert not experiment.analyse(changed, config)["verdicts"]["density_constant"]

    changed = _changed(records)
    trials = changed["trials"]
    trials["angular_error"] = trials.groupby(["group", "agent"])["angular_error"].transform(
        lambda errors: errors.to_numpy()[::-1]
    )
    assert not experiment.analyse(changed, config)["verdicts"]["reaching_learned"]

    changed = _changed(records)
    spines = changed["spines"]
    cohort = ((spines["group"] == "trained_constant") & (spines["born"] > start)
              & (spines["born"] <= config.training_end))  # fmt: skip
    spines.loc[cohort, "died"] = np.nan
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert not verdicts["no_keeping_without_weight_dependence"]

    changed = _changed(records)
    spines = changed["spines"]
    in_baseline = (spines["born"] > config.settle_days * DAY) & (spines["born"] <= start)
    died_in_baseline = (spines["died"] > config.settle_days * DAY) & (spines["died"] <= start)
    spines.loc[died_in_baseline, "died"] = np.nan
    changed["spines"] = spines[~in_baseline]
    assert not experiment.analyse(changed, config)["verdicts"]["baseline_turnover_few_percent"]


def test_the_findings_are_read_from_the_records(quick):
    """A failing finding is no constant: records in which the trained agents keep every spine
    formed during training, form many early and lose their pre-existing ones pass them."""
    config, records = quick
    start = config.training_start
    changed = _changed(records)
    spines = changed["spines"]
    trained = spines["group"] == "trained"
    cohort = trained & (spines["born"] > start) & (spines["born"] <= config.training_end)
    spines.loc[cohort, "died"] = np.nan
    present = trained & (spines["born"] <= start) & ~(spines["died"] <= start)
    spines.loc[present, "died"] = config.end - 1800.0
    extra = pd.DataFrame({"agent": np.repeat(np.arange(config.n_agents), 50), "neuron": 0,
                          "slot": 0, "born": start + 1800.0, "died": np.nan, "weight": 0.1,
                          "group": "trained"})  # fmt: skip
    changed["spines"] = pd.concat([spines, extra], ignore_index=True)
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert verdicts["training_spines_kept"] and verdicts["training_forms_spines"]
    assert verdicts["preexisting_spines_removed"]
    assert verdicts["marker_shifts_removal_to_preexisting"]
    assert verdicts["marker_keeps_new_spines"]


def test_the_marker_control_is_read_from_its_records(quick):
    """The control fails when the trained agents without the marker lose every
    pre-existing spine (more than the trained agents with it can) and keep every spine formed
    during training."""
    config, records = quick
    changed = _changed(records)
    spines = changed["spines"]
    control = spines["group"] == "trained_unmarked"
    present = control & (spines["born"] <= config.training_start)
    present &= ~(spines["died"] <= config.training_start)
    spines.loc[present, "died"] = config.end - 1800.0
    cohort = control & (spines["born"] > config.training_start)
    spines.loc[cohort & (spines["born"] <= config.training_end), "died"] = np.nan
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert not verdicts["marker_shifts_removal_to_preexisting"]
    assert not verdicts["marker_keeps_new_spines"]
