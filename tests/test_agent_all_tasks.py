"""PlasticAgent on every registered task: learn, record, predict, save and load (the tabular
agents have the same smoke test in test_agent_tabular.py)."""

import numpy as np
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.docs import task_ids


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
