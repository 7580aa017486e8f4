"""The Schultz signature over a batched population, judged with confidence intervals over agents."""

import numpy as np
import pytest

from plasticgym.experiments import rpe_transfer
from plasticgym.experiments.rpe_transfer import RpeTransferConfig, analyse, per_agent_responses

CONFIG = RpeTransferConfig(n_agents=24, seed=3, training_trials=120, probe_trials=40)


@pytest.fixture(scope="module")
def session():
    agent, records = rpe_transfer.run(CONFIG)
    return agent, records


def test_dopamine_moves_from_reward_to_cue(session):
    _, records = session
    result = analyse(records, CONFIG)
    assert result["n_agents"] == 24
    failed = [name for name, ok in result["verdicts"].items() if not ok]
    assert not failed, (failed, result)
    r = result["responses"]
    # early: at the reward, not yet at the cue
    assert r["early_us"]["ci_low"] > 0.7 and r["early_cs"]["ci_high"] < 0.3
    # trained: at the cue; a predicted reward evokes (almost) nothing
    assert r["late_cs"]["ci_low"] > 0.4 and abs(r["late_us"]["mean"]) < 0.1
    # omission dips below zero; an unpredicted reward still gets the full response
    assert r["omission"]["ci_high"] < -0.3
    assert r["free"]["ci_low"] > 0.8


def test_omission_dip_is_at_the_expected_reward_time_only(session):
    _, records = session
    probe = records[records["phase"] == "probe"]
    trials = probe.loc[probe["omitted"], ["agent", "trial"]].drop_duplicates()
    omitted = probe.merge(trials, on=["agent", "trial"])
    by_time = omitted.groupby(["agent", "t_in_trial"])["dopamine"].mean().unstack()
    K = CONFIG.cs_us_interval
    at_due = by_time[K]
    before = by_time[list(range(1, K))].mean(axis=1)  # between cue and due time
    assert (at_due < before - 0.2).all()  # every agent dips at the due time
    assert before.abs().max() < 0.1


def test_verdicts_are_computed_from_the_records(session):
    _, records = session
    flipped = records.copy()
    flipped["dopamine"] = -flipped["dopamine"]
    verdicts = analyse(flipped, CONFIG)["verdicts"]
    # every directional signature fails on sign-flipped dopamine ("near zero" is sign-blind)
    directional = {k: v for k, v in verdicts.items() if k != "predicted_reward_near_zero"}
    assert not any(directional.values()), verdicts
    shifted = records.copy()
    shifted.loc[shifted["us"], "dopamine"] += 0.5
    assert not analyse(shifted, CONFIG)["verdicts"]["predicted_reward_near_zero"]


def test_each_agent_contributes(session):
    _, records = session
    responses = per_agent_responses(records, CONFIG)
    assert len(responses) == 24 and np.isfinite(responses.to_numpy()).all()
