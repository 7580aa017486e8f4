"""PlasticAgent with latent causes: extinction forms a new cause, a drug-like state brings the
old one back, checkpoints keep the causes, bad settings are refused."""

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.envs.addiction import OBS_CHANNELS

ADDICTION = "plasticgym/Addiction-v0"
AGENT = {**plastic_preset(ADDICTION), "homeostasis": False}
LEVEL_AND_CONTEXT = (OBS_CHANNELS.index("drug_level"), len(OBS_CHANNELS), len(OBS_CHANNELS) + 1)


def _protocol(acquisition=4, extinction=4, priming=True):
    common = {"food": False, "press_cost": 0.1}
    return [
        {"name": "acquisition", "sessions": acquisition, **common},
        {"name": "extinction", "sessions": extinction, "drug": False, **common},
        {"name": "test", "sessions": 1, "drug": False, "priming": priming, "priming_dose": 5.0,
         **common},
    ]  # fmt: skip


def _agent(n_agents=16, seed=5, protocol=None, **kwargs):
    return PlasticAgent(
        ADDICTION, n_agents=n_agents, seed=seed, env_kwargs={"protocol": protocol or _protocol()},
        **{**AGENT, "latent_causes": 2, "cause_channels": LEVEL_AND_CONTEXT, **kwargs},
    )  # fmt: skip


def _run_episode(agent):
    agent.learn(20_000, record=True, callback=lambda a: not bool((a.episodes_completed > 0).all()))
    records = agent.records
    return records[records["episode"] == 0]


def test_extinction_forms_a_second_cause_and_priming_brings_the_first_back():
    agent = _agent()
    rows = _run_episode(agent)
    assert bool(agent.causes.used.all()), "every agent formed its extinction cause"
    share = rows.groupby("phase", observed=True)["cause"].mean()
    assert share["acquisition"] == 0.0  # no cause formed while acquiring
    assert share["extinction"] > 0.9  # extinction is learned in the new cause
    test = rows[rows["phase"] == "test"]
    early = test[test["t_in_trial"].between(1, 5)]
    assert early["cause"].mean() < 0.5, "the priming dose's drug level recalls acquisition"
    posterior = agent.cause_posterior()
    torch.testing.assert_close(posterior.sum(dim=1), torch.ones(16))


def test_one_cause_agents_have_no_cause_column_and_a_certain_posterior():
    agent = _agent(n_agents=2, latent_causes=1, protocol=_protocol(1, 1))
    rows = _run_episode(agent)
    assert "cause" not in rows
    assert agent.cause_posterior().tolist() == [[1.0], [1.0]]
    assert agent.critic_weights.shape[-1] == agent.encoder.n_features


def test_each_cause_has_its_own_synapses_and_predict_runs_with_them():
    agent = _agent(n_agents=3, protocol=_protocol(1, 1))
    n = agent.encoder.n_features
    assert agent.critic_weights.shape == (3, 1, 2 * n)
    assert agent.actor_weights.shape == (3, 3, 2 * n + 1)
    agent.learn(50)
    actions, _ = agent.predict(np.zeros((3, len(OBS_CHANNELS) + 2), dtype=np.float32))
    assert actions.shape == (3,)


def test_predict_acts_with_the_synapses_of_the_cause_believed_in():
    """Cause 0's actor block drives action 1 and cause 1's drives action 2: a certain belief in
    one cause or the other decides what ``predict`` does for the same observation."""
    agent = _agent(n_agents=2, protocol=_protocol(1, 1)).learn(5)
    n = agent.encoder.n_features
    weights = torch.zeros_like(agent.actor.weights)
    weights[:, 1, :n], weights[:, 2, n : 2 * n] = 5.0, 5.0
    agent.actor = agent.actor.with_weights(weights)
    observation = np.ones(len(OBS_CHANNELS) + 2, dtype=np.float32)
    for belief, expected in (
        ([[1.0, 0.0], [0.0, 1.0]], [1, 2]),
        ([[0.0, 1.0], [1.0, 0.0]], [2, 1]),
    ):
        agent.causes = agent.causes._replace(posterior=torch.tensor(belief))
        actions, _ = agent.predict(observation, deterministic=True)
        assert actions.tolist() == expected


def test_save_load_continue_keeps_the_causes(tmp_path):
    reference = _agent(n_agents=4, protocol=_protocol(2, 2))
    interrupted = _agent(n_agents=4, protocol=_protocol(2, 2))
    interrupted.learn(75, record=True)  # inside extinction: the second cause has formed
    assert bool(interrupted.causes.used[:, 1].any())
    path = interrupted.save(tmp_path / "causes")
    restored = PlasticAgent.load(path)
    restored.learn(60, record=True)
    reference.learn(75, record=True)
    reference.learn(60, record=True)
    tail = reference.records[reference.records["step"] >= 75].reset_index(drop=True)
    mine = restored.records.astype({"phase": str})
    pd.testing.assert_frame_equal(mine, tail.astype({"phase": str}))
    for mine, theirs in zip(restored.causes, reference.causes, strict=True):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"latent_causes": 0}, "latent_causes"),
        ({"latent_causes": 17}, "latent_causes"),
        ({"latent_causes": 2.5}, "latent_causes"),
        ({"cause_split_threshold": 0.0}, "cause_split_threshold"),
        ({"cause_error_rate": 1.5}, "cause_error_rate"),
        ({"cause_summary_rate": 0.0}, "cause_summary_rate"),
        ({"cause_learning_rate": float("nan")}, "cause_learning_rate"),
        ({"cause_min_variance": -1.0}, "cause_min_variance"),
        ({"cause_channels": (0, 0)}, "cause_channels"),
        ({"cause_channels": ()}, "cause_channels"),
        ({"cause_channels": "01"}, "cause_channels"),
        ({"cause_channels": (0, -1)}, "cause_channels"),
        ({"cause_channels": (0, 9)}, "cause_channels"),  # Addiction-v0 has 9 channels
        ({"goal_directed": True}, "goal_directed"),
    ],
)
def test_invalid_latent_cause_settings_are_refused_by_name(kwargs, field):
    with pytest.raises(ValueError, match=field):
        _agent(n_agents=2, **kwargs)
