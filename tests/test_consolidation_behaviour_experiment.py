"""consolidation_behaviour: the quick run learns and every verdict holds (as at the quick
seeds 0, 1 and 2), strong training is the weak session with a 10x reward and long training
the old 1 h at reward 1, the novelty exposure is the env's novelty phase, and the verdicts are
computed from the records (changing the records flips them)."""

from __future__ import annotations

import numpy as np
import pytest

from plasticgym.experiments import consolidation_behaviour as experiment


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    config = experiment.Config.quick()
    records = experiment.run(config, tmp_path_factory.mktemp("consolidation"))
    return config, records


def test_quick_run_learns_and_every_verdict_holds(quick):
    config, records = quick
    result = experiment.analyse(records, config)
    verdicts = result["verdicts"]
    assert set(verdicts) == set(experiment.KIND)
    assert all(verdicts.values()), result["lines"]
    choices = records["choices"]
    assert choices.groupby("group")["agent"].count().eq(config.n_agents).all()
    assert choices["actor_lr"].nunique() == len(choices)  # individual differences, not clones


def test_verdicts_flip_when_the_records_change(quick):
    config, records = quick
    changed = {name: table.copy() for name, table in records.items()}
    choices = changed["choices"]
    strong = choices["group"] == "strong"
    choices.loc[strong, "after_delay"] = 0.5 + 0.02 * np.sin(np.arange(strong.sum()))
    weak = choices["group"] == "weak"
    choices.loc[weak, "after_delay"] = 0.95
    verdicts = experiment.analyse(changed, config)["verdicts"]
    assert not verdicts["strong_memory_lasts"] and not verdicts["blocker_abolishes_memory"]
    assert not verdicts["weak_memory_lost"]
    long = choices["group"] == "long_training"
    choices.loc[long, "after_delay"] = 0.9
    assert not experiment.analyse(changed, config)["verdicts"]["long_training_not_kept"]


def test_strong_training_is_the_weak_session_with_a_larger_reward(quick):
    config, records = quick
    assert config.strong_trials == config.weak_trials and config.strong_reward == 10.0
    strong = experiment.protocol(config, config.strong_trials, False, config.strong_reward)
    assert strong == [{"name": "training", "trials": 20, "reward_magnitude": 10.0}]
    assert experiment.protocol(config, config.long_trials, False) == [
        {"name": "training", "trials": 120}]  # fmt: skip
    # strong training tags the trained neuron past the trigger, long training does not
    table = experiment.analyse(records, config)["table"]
    tags = table[table["quantity"].str.startswith("LTP tags right after training")]
    tags = tags.set_index("group")["mean"]
    trigger = config.tag_threshold * 41
    assert tags["strong"] > trigger > tags["long_training"] > tags["weak"]


def test_the_novelty_exposure_is_the_envs_novelty_phase(quick):
    config, records = quick
    phases = experiment.protocol(config, config.weak_trials, novelty=True)
    assert phases[1] == {"name": "novelty", "trials": 30, "novelty": True}
    assert experiment.protocol(config, config.weak_trials, novelty=False) == phases[:1]
    assert experiment.populations(config)[:3] == [
        (("weak",), None), (("weak_novelty_near", "weak_novelty_near_blocked"), 0.5),
        (("weak_novelty_far",), 4.0)]  # fmt: skip
    protein = records["timecourse"].groupby(["group", "time_h"])["protein"].mean()
    near = protein["weak_novelty_near"]
    assert near[near.index <= 0.5].max() == 0 and near[0.75] > 0.5  # made in the exposure
    assert protein["weak"].max() == 0 and protein["weak_novelty_near_blocked"].max() == 0
