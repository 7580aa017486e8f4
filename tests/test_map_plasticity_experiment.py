"""The map_plasticity experiment: its measures on hand-made records (golden values), and its
verdicts recomputed from the quick run's records after corrupting them (each flips)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from quick_runs import quick_run

from plasticgym.experiments import map_plasticity as mp
from plasticgym.records import load_records


def test_target_units_and_discrimination_golden():
    config = mp.Config.quick(n_tones=5)  # target 0.5, half spacing 0.125
    maps = pd.DataFrame({
        "agent": [0, 0, 0, 1, 1, 1], "group": "paired", "trial": 0, "unit": [0, 1, 2] * 2,
        "best_frequency": [0.5, 0.62, 0.63, 0.375, 0.9, 0.1],
    })  # fmt: skip
    counts = mp.target_units(maps, config)
    assert counts["target_units"].tolist() == [2, 1]
    trials = pd.DataFrame({
        "agent": [0] * 4 + [1] * 4, "trial": [0, 1, 2, 3] * 2,
        "is_target": [True, True, False, False] * 2,
        "response": [True, False, True, False, True, True, False, False],
    })  # fmt: skip
    d = mp.discrimination(trials, 0, 4)
    assert d.tolist() == [0.5 - 0.5, 1.0 - 0.0]
    assert mp.discrimination(trials, 2, 4).isna().all()  # no target trial: undefined


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out, _, _ = quick_run("map_plasticity", tmp_path_factory)
    fields = json.loads((out / "config.json").read_text())
    config = mp.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    return config, records


def _verdicts(quick, corrupt) -> dict[str, bool]:
    config, saved = quick
    records = {name: table.copy() for name, table in saved.items()}
    corrupt(records, config)
    return mp.analyse(records, config)["verdicts"]


def _group_maps(records, source: str, target: str) -> None:
    """Give group ``target`` the best frequencies of group ``source`` (agent by agent)."""
    maps = records["maps"]
    src = maps[maps["group"] == source].sort_values(["agent", "trial", "unit"])
    dst = maps["group"] == target
    order = maps[dst].sort_values(["agent", "trial", "unit"]).index
    maps.loc[order, "best_frequency"] = src["best_frequency"].to_numpy()


def test_quick_map_verdicts_hold(quick):
    verdicts = mp.analyse(quick[1], quick[0])["verdicts"]
    for name in ("expansion_with_pairing", "no_expansion_unpaired",
                 "no_expansion_without_stimulation", "map_renormalises"):  # fmt: skip
        assert verdicts[name], name


def test_without_pairing_there_is_no_expansion_verdict(quick):
    verdicts = _verdicts(quick, lambda r, c: _group_maps(r, "none", "paired"))
    assert not verdicts["expansion_with_pairing"] and not verdicts["map_renormalises"]
    assert verdicts["no_expansion_without_stimulation"]


def test_an_expanded_unpaired_map_fails_its_control(quick):
    verdicts = _verdicts(quick, lambda r, c: _group_maps(r, "paired", "unpaired"))
    assert not verdicts["no_expansion_unpaired"] and verdicts["expansion_with_pairing"]


def test_a_map_that_stays_expanded_has_not_renormalised(quick):
    def stay_expanded(records, config):
        maps = records["maps"]
        end = config.pairing_trials + config.training_trials
        for group in mp.GROUPS:
            at_pairing = maps[(maps["group"] == group) & (maps["trial"] == config.pairing_trials)]
            late = maps.index[(maps["group"] == group) & (maps["trial"] == end)]
            maps.loc[late, "best_frequency"] = at_pairing["best_frequency"].to_numpy()

    verdicts = _verdicts(quick, stay_expanded)
    assert not verdicts["map_renormalises"] and verdicts["expansion_with_pairing"]


def test_performance_lost_with_the_renormalised_map_fails(quick):
    def forget(records, config):
        trials = records["trials"]
        end = config.pairing_trials + config.training_trials
        late = (trials["group"] == "paired") & (trials["trial"] >= end - config.window)
        rng = np.random.default_rng(0)
        trials.loc[late, "response"] = rng.random(int(late.sum())) < 0.5  # guessing

    verdicts = _verdicts(quick, forget)
    assert not verdicts["performance_stays"]


# --------------------------------------------------------------------------------------------
# The Reed et al. (2011) protocol: pre-pairing with a frozen learner, then training
# --------------------------------------------------------------------------------------------


def test_frozen_learner_holds_actor_and_critic_while_the_map_learns():
    config = mp.Config.quick(n_agents=3, pre_pairing_trials=40, speed_training_trials=10)
    phases, frozen = mp.speed_protocol(config, "pre_paired")
    agent = mp._agent(config, "pre_paired", 3, protocol=phases)
    actor, critic = agent.actor.weights.clone(), agent.critic.weights.clone()
    map_before = agent.map_state.weights.clone()
    agent.learn(frozen, callback=mp.FrozenLearner(agent))
    assert torch.equal(agent.actor.weights, actor) and torch.equal(agent.critic.weights, critic)
    assert not torch.equal(agent.map_state.weights, map_before)  # paired pulses moved the map
    agent.learn(5)
    assert not torch.equal(agent.actor.weights, actor)  # training learns from the naive start
    agent.close()


def test_speed_protocol_phases():
    config = mp.Config.quick(pre_pairing_trials=50, renormalisation_delay=70,
                             speed_training_trials=30)  # fmt: skip
    phases, frozen = mp.speed_protocol(config, "pre_unpaired")
    assert [(p["name"], p["trials"], p["stimulation"]) for p in phases] == [
        ("pre_pairing", 50, "unpaired"), ("training", 30, "none")]  # fmt: skip
    assert frozen == 50
    phases, frozen = mp.speed_protocol(config, "pre_paired_delayed")
    assert [p["name"] for p in phases] == ["pre_pairing", "renormalisation", "training"]
    assert phases[0]["stimulation"] == "paired" and frozen == 120
    control, frozen = mp.speed_protocol(config, "pre_none_delayed")
    assert [(p["name"], p["trials"]) for p in control] == [(p["name"], p["trials"]) for p in phases]
    assert all(p["stimulation"] == "none" for p in control) and frozen == 120


def test_speed_differences_golden_and_agent_mismatch():
    def rows(group, responses, agents=(0, 1)):
        return pd.DataFrame({
            "agent": np.repeat(agents, 4), "trial": [0, 1, 2, 3] * len(agents), "group": group,
            "is_target": [True, False, True, False] * len(agents), "response": responses,
        })  # fmt: skip

    none = rows("pre_none", [True, True, False, False, True, False, True, False])  # 0, 1
    paired = rows("pre_paired", [True, False, True, False, True, True, True, True])  # 1, 0
    diff = mp.speed_differences(pd.concat([none, paired]), "pre_paired", 0, 4)
    assert diff.tolist() == [1.0, -1.0]
    other = rows("pre_paired", [True] * 8, agents=(0, 2))
    with pytest.raises(ValueError, match="different agents"):
        mp.speed_differences(pd.concat([none, other]), "pre_paired", 0, 4)


def _set_speed_responses(records, config, group, mode):
    """Make ``group``'s first ``speed_trials`` training responses perfect or guesses."""
    trials = records["speed_trials"]
    window = (trials["group"] == group) & (trials["trial"] < config.speed_trials)
    if mode == "perfect":
        trials.loc[window, "response"] = trials.loc[window, "is_target"].astype(bool)
    else:
        rng = np.random.default_rng(1)
        trials.loc[window, "response"] = rng.random(int(window.sum())) < 0.5


def test_speed_verdicts_follow_the_first_training_trials(quick):
    fast = _verdicts(quick, lambda r, c: _set_speed_responses(r, c, "pre_paired", "perfect"))
    assert fast["expansion_speeds_learning"]
    slow = _verdicts(quick, lambda r, c: _set_speed_responses(r, c, "pre_paired", "guess"))
    assert not slow["expansion_speeds_learning"]
    controls = (("pre_unpaired", "no_speedup_unpaired"),
                ("pre_paired_delayed", "no_speedup_after_renormalisation"),
                ("pre_paired_delayed", "no_speedup_after_renormalisation_matched"))  # fmt: skip
    for group, verdict in controls:
        flipped = _verdicts(quick, lambda r, c, g=group: _set_speed_responses(r, c, g, "perfect"))
        assert not flipped[verdict], verdict


def test_response_overlaps_of_the_set_point_map():
    config = mp.Config.quick(n_agents=3)
    agent = mp._agent(config, "pre_none", 4, protocol=mp.speed_protocol(config, "pre_none")[0])
    overlaps = mp.response_overlaps(agent, config, "pre_none")
    agent.close()
    assert overlaps["agent"].tolist() == [0, 1, 2]
    assert (overlaps["own"] > overlaps["neighbour_overlap"]).all()
    assert ((overlaps["neighbour_cosine"] > 0) & (overlaps["neighbour_cosine"] < 1)).all()


def test_records_without_the_reed_tables_are_a_clear_error(quick):
    config, saved = quick
    records = {k: v for k, v in saved.items() if not k.startswith("speed_")}
    with pytest.raises(ValueError, match=r"lack \['speed_maps', 'speed_trials'\]"):
        mp.analyse(records, config)
