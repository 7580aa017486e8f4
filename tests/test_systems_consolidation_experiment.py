"""systems_consolidation: a small run's mechanism checks hold, and its verdicts are computed
from the records (changing the records flips them)."""

from __future__ import annotations

import numpy as np
import pytest

from plasticgym.experiments import systems_consolidation as experiment


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    config = experiment.Config.quick(n_agents=6, delays=(0, 300, 3000), test_trials=40)
    return config, experiment.run(config, tmp_path_factory.mktemp("systems"))


def test_small_run_shows_the_gradient_and_its_control(small):
    config, records = small
    result = experiment.analyse(records, config)
    verdicts = result["verdicts"]
    assert set(verdicts) == set(experiment.KIND)
    assert all(verdicts.values()), result["lines"]
    tests = records["tests"]
    assert tests.groupby(["condition", "group", "delay"])["agent"].count().eq(6).all()
    first = tests.drop_duplicates("agent")
    assert first["fast_lr"].nunique() == len(first)  # individual differences, not clones
    assert (first.loc[first["condition"] == "no_replay", "replay_rate"] == 0).all()


def test_verdicts_flip_when_the_records_change(small):
    config, records = small
    tests = records["tests"].copy()
    late = (tests["condition"] == "replay") & (tests["group"] == "lesion_3000")
    late &= tests["delay"] == 3000
    tests.loc[late, "choices"] = 0.6 + 0.02 * np.sin(np.arange(late.sum()))
    verdicts = experiment.analyse({"tests": tests}, config)["verdicts"]
    assert not verdicts["late_lesion_spared"] and not verdicts["gradient_needs_replay"]
    assert verdicts["early_lesion_impairs"] and verdicts["no_replay_late_lesion_impairs"]

    swapped = records["tests"].copy()
    swapped["condition"] = swapped["condition"].map({"replay": "no_replay", "no_replay": "replay"})
    verdicts = experiment.analyse({"tests": swapped}, config)["verdicts"]
    assert not verdicts["temporal_gradient"] and not verdicts["late_lesion_spared"]
    assert not verdicts["no_replay_late_lesion_impairs"]


def test_bad_delays_are_clear_errors():
    with pytest.raises(ValueError, match="delays"):
        experiment.Config(delays=(300, 0))
