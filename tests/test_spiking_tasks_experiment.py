"""The spiking_tasks experiment: its verdicts are computed from the records (corrupting the
records flips each one), and its per-agent scores are what the records say."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from quick_runs import quick_run

from plasticgym.experiments import spiking_tasks
from plasticgym.records import load_records


def _verdicts_after(tmp_path_factory, corrupt) -> dict[str, bool]:
    out, _, _ = quick_run("spiking_tasks", tmp_path_factory)
    fields = json.loads((out / "config.json").read_text())
    config = spiking_tasks.Config(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in fields.items()})  # fmt: skip
    records = {p.stem: load_records(p) for p in (out / "records").glob("*.parquet")}
    corrupt(records)
    return spiking_tasks.analyse(records, config)["verdicts"]


def test_quick_verdicts_pass_and_flip_with_the_records(tmp_path_factory):
    assert all(_verdicts_after(tmp_path_factory, lambda records: None).values())

    def random_choices(records):  # TD agents choose the correct arm half of the time
        rows = records["reversal"]
        td = rows["dopamine_signal"] == "td"
        rows.loc[td, "correct"] = (rows.loc[td, "step"] % 2 == 0).to_numpy()

    verdicts = _verdicts_after(tmp_path_factory, random_choices)
    assert not verdicts["calcium_reversal_above_chance"]
    assert not verdicts["calcium_raw_reward_worse_on_reversal"]
    assert verdicts["calcium_habit_acquired"]

    def raw_reward_as_good(records):  # the control's choices become the TD agents'
        rows = records["reversal"]
        td = rows[rows["dopamine_signal"] == "td"]["correct"].to_numpy()
        rows.loc[rows["dopamine_signal"] == "reward", "correct"] = td

    verdicts = _verdicts_after(tmp_path_factory, raw_reward_as_good)
    assert verdicts["calcium_reversal_above_chance"]
    assert not verdicts["calcium_raw_reward_worse_on_reversal"]

    def never_press(records):
        records["habit"]["action"] = 0

    assert not _verdicts_after(tmp_path_factory, never_press)["calcium_habit_acquired"]

    def biased_rpe(records):
        rows = records["reversal"]
        rows.loc[rows["dopamine_signal"] == "td", "dopamine"] += 0.5

    assert not _verdicts_after(tmp_path_factory, biased_rpe)["rpe_removes_mean_reward"]


def test_scores_golden():
    """Two agents of one condition: agent 0 correct on 3 of 4 trials, 1 of 2 after its first
    reversal; agent 1 presses in both late steps, agent 0 in one."""
    reversal = pd.DataFrame({
        "rule": "calcium", "dopamine_signal": "td", "agent": [0, 0, 0, 0, 1, 1, 1, 1],
        "step": [0, 1, 2, 3] * 2, "reversals": [0, 0, 1, 1, 0, 0, 0, 0],
        "correct": [True, True, False, True, False, False, True, True],
    })  # fmt: skip
    scores = spiking_tasks.reversal_scores(reversal)
    np.testing.assert_allclose(scores["correct"], [0.75, 0.5])
    assert scores["after_reversal"].iloc[0] == 0.5 and np.isnan(scores["after_reversal"].iloc[1])
    habit = reversal.assign(action=[0, 0, 1, 0, 0, 0, 2, 1])
    np.testing.assert_allclose(spiking_tasks.habit_scores(habit)["press"], [0.5, 1.0])
