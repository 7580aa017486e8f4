"""Dopamine models and dysregulation knobs of PlasticAgent, over batched populations."""

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
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


SESSIONS = 30


def _value_of_taking(mode: str, lever: str) -> pd.DataFrame:
    """Per agent (rows) and session (columns): the critic's value of the state from which the
    drug (or the food) was taken, averaged over the session's deliveries, in a chamber with
    only that lever (Redish 2004's "value of drug-taking")."""
    only = {"drug": {"food": False}, "food": {"drug": False}}[lever]
    protocol = [{"name": "access", "sessions": SESSIONS, **only}]
    agent = PlasticAgent("plasticgym/Addiction-v0", n_agents=16, seed=4, dopamine=mode,
                         homeostasis=False, env_kwargs={"protocol": protocol},
                         **plastic_preset("plasticgym/Addiction-v0"))  # fmt: skip
    records = agent.learn(30 * SESSIONS, record=True).records.sort_values(["agent", "step"])
    records["value_before"] = records.groupby("agent")["value"].shift(1)
    delivered = records[records["infusion"] | records["food"]]
    return delivered.groupby(["agent", "trial"])["value_before"].mean().unstack()


def test_redish_drug_value_keeps_growing_food_converges_homeostatic_stays_bounded():
    food, td_drug = _value_of_taking("td", "food"), _value_of_taking("td", "drug")
    redish, homeostatic = (
        _value_of_taking("redish", "drug"),
        _value_of_taking("homeostatic", "drug"),
    )

    def late(values):  # per agent: mean of the last 5 sessions
        return values.iloc[:, -5:].mean(axis=1).to_numpy()

    def middle(values):  # sessions 10-14
        return values.iloc[:, 10:15].mean(axis=1).to_numpy()

    # Redish: the value of drug-taking is still growing late in training ...
    mean, low, _ = mean_ci(late(redish) - middle(redish))
    assert low > 1.0, (mean, low)
    assert late(redish).min() > 5 * late(td_drug).max()
    # ... while food's (and, under TD, the drug's) value has converged to the reward itself
    np.testing.assert_allclose(late(food), 1.0, atol=0.05)  # food_reward
    np.testing.assert_allclose(late(td_drug), 0.5, atol=0.05)  # drug_reward
    assert np.abs(late(food) - middle(food)).max() < 0.05
    # homeostatic: bounded, below what even the drug's hedonic reward is worth, no growth
    assert homeostatic.max().max() < 0.5
    assert abs(mean_ci(late(homeostatic) - middle(homeostatic))[0]) < 0.1


def test_average_reward_drug_value_growth_slows_as_the_basal_level_adapts():
    """After Dezfouli et al. (2009): the drug-raised basal reward level ``kappa`` comes to
    compensate the surge, so the value of drug-taking grows ever more slowly."""
    values = _value_of_taking("average_reward", "drug")
    early = (values.iloc[:, 8] - values.iloc[:, 3]).to_numpy()
    late = (values.iloc[:, -1] - values.iloc[:, -6]).to_numpy()
    mean, low, _ = mean_ci(early - late)
    assert low > 0.5, (mean, low)


def test_drug_models_need_drug_events():
    agent = PlasticAgent("plasticgym/ReversalBandit-v0", seed=0, dopamine="redish")
    with pytest.raises(ValueError, match="info key 'infusion'"):
        agent.learn(5)


def test_invalid_dopamine_model_is_named():
    with pytest.raises(ValueError, match=r"dopamine='dopa'.*'redish'"):
        PlasticAgent(ENV, dopamine="dopa")


def test_homeostatic_first_step_starts_from_the_initial_drive():
    """The drive of the first observation comes from the reset info, so the first transition's
    reward is the task's reward plus the real drive reduction (0 when nothing changed)."""
    agent = PlasticAgent("plasticgym/Addiction-v0", n_agents=2, seed=0, dopamine="homeostatic")
    agent.learn(1, record=True)
    row = agent.records.iloc[0]
    assert row["rpe"] == pytest.approx(row["reward"])  # V = 0 and no drive change at step 1


def test_allostatic_setpoint_follows_drug_exposure_and_survives_save_load(tmp_path):
    drug_only = {"protocol": [{"name": "access", "sessions": 10, "food": False}]}
    kwargs = {"n_agents": 8, "seed": 2, "env_kwargs": drug_only, "dopamine": "homeostatic",
              "allostatic_rate": 0.05, **plastic_preset("plasticgym/Addiction-v0")}  # fmt: skip
    fixed = PlasticAgent("plasticgym/Addiction-v0", **kwargs).learn(120, record=True)
    assert torch.equal(
        fixed.dopamine.setpoint_now(fixed.dopamine_state), torch.ones(8)
    )  # allostatic_gain=0: h* stays h*_0
    agent = PlasticAgent("plasticgym/Addiction-v0", allostatic_gain=2.0, **kwargs)
    agent.learn(120, record=True)
    took = agent.records.groupby("agent")["infusion"].sum().to_numpy() > 0
    allostasis = agent.dopamine_state.allostasis.numpy()
    assert took.any() and (allostasis[took] > 0).all() and (allostasis[~took] == 0).all()
    setpoint = agent.dopamine.setpoint_now(agent.dopamine_state)
    np.testing.assert_allclose(setpoint.numpy(), 1.0 + 2.0 * allostasis, rtol=1e-6)
    restored = PlasticAgent.load(agent.save(tmp_path / "agent"))
    assert torch.equal(restored.dopamine_state.allostasis, agent.dopamine_state.allostasis)


def test_box_actions_with_float64_bounds():
    import gymnasium as gym

    class Float64Box(gym.Env):
        observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float64)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.ones(1, np.float32), {}

        def step(self, action):
            return np.ones(1, np.float32), float(-np.abs(action).sum()), False, False, {}

    agent = PlasticAgent(Float64Box(), seed=0).learn(5)
    assert agent.actor_weights.dtype == torch.float32
