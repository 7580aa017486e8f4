"""Individual differences: per-agent values and distributions sampled with the agent's seed."""

import numpy as np
import pytest

from plasticgym.agents import PlasticAgent
from plasticgym.population import LogUniform, Normal, Uniform, sample_individual_differences

ENV = "plasticgym/Pavlovian-v0"


def test_distributions_sample_within_bounds_and_reproducibly():
    drawn = sample_individual_differences(
        {"a": Uniform(0.1, 0.2), "b": LogUniform(0.01, 1.0), "c": Normal(1, 5, low=0, high=2),
         "d": 0.5}, 500, seed=3)  # fmt: skip
    assert drawn["d"] == 0.5
    assert all(0.1 <= v <= 0.2 for v in drawn["a"]) and len(drawn["a"]) == 500
    assert all(0.01 <= v <= 1.0 for v in drawn["b"])
    assert np.median(np.log10(drawn["b"])) == pytest.approx(-1.0, abs=0.2)
    assert min(drawn["c"]) == 0 and max(drawn["c"]) == 2
    assert sample_individual_differences({"a": Uniform(0.1, 0.2)}, 5, seed=3) == \
        sample_individual_differences({"a": Uniform(0.1, 0.2)}, 5, seed=3)  # fmt: skip


def test_invalid_distributions():
    with pytest.raises(ValueError, match="LogUniform"):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="Uniform"):
        Uniform(1.0, 0.0)


def test_agent_samples_validates_records_and_checkpoints_values(tmp_path):
    agent = PlasticAgent(ENV, n_agents=5, seed=9, critic_lr=LogUniform(0.05, 0.2),
                         trace_lambda=[0.1, 0.2, 0.3, 0.4, 0.5])  # fmt: skip
    table = agent.individual_parameters
    assert list(table.index) == [0, 1, 2, 3, 4]
    assert table["critic_lr"].between(0.05, 0.2).all() and table["critic_lr"].nunique() == 5
    assert table["trace_lambda"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    same = PlasticAgent(ENV, n_agents=5, seed=9, critic_lr=LogUniform(0.05, 0.2))
    assert same.individual_parameters["critic_lr"].tolist() == table["critic_lr"].tolist()
    records = agent.learn(20, record=True).records
    assert records.groupby("agent")["critic_lr"].first().tolist() == table["critic_lr"].tolist()
    assert "gamma" not in records  # shared hyperparameters stay out of the records
    loaded = PlasticAgent.load(agent.save(tmp_path / "a"))
    assert loaded.individual_parameters.equals(table)
    with pytest.raises(ValueError, match=r"critic_lr\[\d\]"):
        PlasticAgent(ENV, n_agents=3, seed=0, critic_lr=Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="has 2 values but n_agents=3"):
        PlasticAgent(ENV, n_agents=3, critic_lr=[0.1, 0.2])
