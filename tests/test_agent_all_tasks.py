"""Every batched agent on every registered task: learn, record, predict, save and load."""

import numpy as np
import pytest

from plasticgym.agents import (
    ModelBasedAgent,
    PlasticAgent,
    QLearningAgent,
    SarsaLambdaAgent,
    TDActorCriticAgent,
)
from plasticgym.docs import task_ids

AGENTS = (PlasticAgent, QLearningAgent, SarsaLambdaAgent, TDActorCriticAgent, ModelBasedAgent)
BOX_ACTIONS = {"plasticgym/Reaching-v0"}


@pytest.mark.parametrize("env_id", task_ids())
def test_plastic_agent_runs_on_every_task(env_id, tmp_path):
    agent = PlasticAgent(env_id, n_agents=3, seed=0).learn(60, record=True)
    records = agent.records
    assert {"trial", "phase", "t_in_trial", "rpe", "dopamine"} <= set(records.columns)
    assert np.isfinite(records["rpe"]).all() and len(records) > 0
    obs = agent.env.single_observation_space.sample()
    actions, _ = agent.predict(np.stack([obs] * 3))
    assert len(actions) == 3
    loaded = PlasticAgent.load(agent.save(tmp_path / "agent"))
    loaded.learn(5)
    assert loaded.num_timesteps == 65


@pytest.mark.parametrize("agent_cls", AGENTS[1:])
def test_tabular_agents_reject_box_actions_clearly(agent_cls):
    for env_id in BOX_ACTIONS:
        with pytest.raises(ValueError, match="Box"):
            agent_cls(env_id, n_agents=2, seed=0)
