"""Dopamine models and dysregulation knobs of PlasticAgent, over batched populations."""

import numpy as np
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.rpe_transfer import mean_ci

ENV = "plasticgym/Pavlovian-v0"
DRUG = {"cs_us_interval": 4, "iti": (10, 20), "n_trials": 80, "us": "drug", "reward": 0.5}


def _late_responses(agent):
    records = agent.records
    late = records[(records["episode"] == 0) & (records["trial"] >= 50)]
    at_us = late[late["us"]].groupby("agent")["dopamine"].mean()
    at_cs = late[late["cs"]].groupby("agent")["dopamine"].mean()
    return at_us.to_numpy(), at_cs.to_numpy()


def test_redish_surge_is_never_predicted_away_while_td_learns_it():
    results = {}
    for mode in ("td", "redish"):
        agent = PlasticAgent(ENV, n_agents=16, seed=1, env_kwargs=DRUG, dopamine=mode,
                             drug_surge=0.3)  # fmt: skip
        agent.learn(1800, record=True)
        results[mode] = _late_responses(agent)
    td_us, td_cs = results["td"]
    redish_us, redish_cs = results["redish"]
    assert np.abs(td_us).max() < 0.1  # TD predicts the drug reward away
    assert redish_us.min() >= 0.3 - 1e-6  # dopamine >= D at every drug delivery (Redish 2004)
    # and the value it teaches keeps the cue response above what the reward alone supports
    assert mean_ci(redish_cs - td_cs)[1] > 0.1


def test_lower_dopamine_gain_slows_learning():
    cue = {}
    for gain in (1.0, 0.3):
        agent = PlasticAgent(
            ENV,
            n_agents=16,
            seed=2,
            dopamine_gain_positive=gain,
            dopamine_gain_negative=gain,
            env_kwargs={"cs_us_interval": 4, "iti": (10, 20), "n_trials": 40},
        )
        agent.learn(700, record=True)
        records = agent.records
        early = records[(records["trial"] >= 10) & (records["trial"] < 30) & records["cs"]]
        cue[gain] = early.groupby("agent")["rpe"].mean().to_numpy()
    mean, low, _ = mean_ci(cue[1.0] - cue[0.3])
    assert low > 0.1, (mean, low)


def test_drug_models_need_drug_events():
    agent = PlasticAgent("plasticgym/ReversalBandit-v0", seed=0, dopamine="redish")
    with pytest.raises(ValueError, match="info key 'infusion'"):
        agent.learn(5)


def test_invalid_dopamine_model_is_named():
    with pytest.raises(ValueError, match=r"dopamine='dopa'.*'redish'"):
        PlasticAgent(ENV, dopamine="dopa")
