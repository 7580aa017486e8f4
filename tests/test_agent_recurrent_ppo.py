"""SB3Agent with sb3-contrib's RecurrentPPO (registry name ``recurrent_ppo``): the LSTM baseline
for the tasks with memory. Skipped when sb3-contrib is missing."""

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("sb3_contrib", reason="sb3-contrib is not installed (plasticgym[sb3])")

from plasticgym.agents import SB3Agent, make_agent
from plasticgym.agents.sb3 import check_algo

BANDIT = "plasticgym/ReversalBandit-v0"
SMALL = {"n_steps": 16, "batch_size": 16, "n_epochs": 1,
         "policy_kwargs": {"net_arch": [8], "lstm_hidden_size": 8}}  # fmt: skip
ONES = np.ones((2, 1), dtype=np.float32)


def _agent(seed=0):
    return make_agent("recurrent_ppo", BANDIT, n_agents=2, seed=seed,
                      env_kwargs={"n_trials": 20}, **SMALL)  # fmt: skip


def test_learns_records_and_is_deterministic():
    agent = _agent().learn(40, record=True)
    assert agent.algo == "RecurrentPPO" and check_algo("recurrentppo") == "RecurrentPPO"
    assert agent.num_timesteps == 48  # whole rollouts of n_steps=16
    rows = agent.records
    assert rows.groupby("agent")["step"].max().tolist() == [47, 47]
    assert rows[["rpe", "value"]].isna().all().all()  # no per-step critic replay (documented)
    assert type(agent.models[0].policy).__name__ == "RecurrentActorCriticPolicy"
    pd.testing.assert_frame_equal(rows, _agent().learn(40, record=True).records)
    assert not rows["action"].equals(_agent(seed=1).learn(40, record=True).records["action"])


def test_predict_carries_each_agents_lstm_state():
    agent = _agent().learn(16)
    actions, states = agent.predict(ONES, deterministic=True)
    assert actions.shape == (2,) and len(states) == 2
    hidden = states[0][0]
    _, later = agent.predict(ONES, states, np.array([False, False]), deterministic=True)
    assert not np.array_equal(later[0][0], hidden)  # the state moved on
    _, reset = agent.predict(ONES, states, np.array([True, True]), deterministic=True)
    np.testing.assert_array_equal(reset[0][0], hidden)  # a new episode starts from zeros
    with pytest.raises(ValueError, match="one per agent"):
        agent.predict(ONES, states[:1])


def test_save_and_load_round_trip(tmp_path):
    agent = _agent().learn(32, record=True)
    loaded = SB3Agent.load(agent.save(tmp_path / "rppo"))
    assert loaded.algo == "RecurrentPPO" and loaded.algo_kwargs == agent.algo_kwargs
    for old, new in zip(agent.models, loaded.models, strict=True):
        for key, tensor in old.policy.state_dict().items():
            assert torch.equal(tensor, new.policy.state_dict()[key]), key
    np.testing.assert_array_equal(loaded.predict(ONES, deterministic=True)[0],
                                  agent.predict(ONES, deterministic=True)[0])  # fmt: skip
    loaded.learn(16, record=True)
    assert loaded.num_timesteps == 48


def test_sb3_agents_leave_the_callers_policy_kwargs_alone():
    # SB3's A2C adds its RMSprop settings to the policy_kwargs it is given; before the fix they
    # leaked into the caller's dict (compare's shared network settings gave PPO and DQN A2C's
    # optimizer once an A2C agent had been built)
    kwargs = {"n_steps": 8, "policy_kwargs": {"net_arch": [8]}}
    agent = make_agent("a2c", BANDIT, n_agents=2, seed=0, **kwargs)
    assert kwargs["policy_kwargs"] == {"net_arch": [8]}
    assert agent.algo_kwargs["policy_kwargs"] == {"net_arch": [8]}
    assert type(agent.models[1].policy.optimizer).__name__ == "RMSprop"
    agent.close()


def test_save_load_learn_continues_exactly_with_the_lstm_states(tmp_path):
    agent = _agent().learn(32, record=True)
    assert any(m._last_lstm_states.pi[0].abs().sum() > 0 for m in agent.models)
    loaded = SB3Agent.load(agent.save(tmp_path / "rppo"))
    for old, new in zip(agent.models, loaded.models, strict=True):
        for part in ("pi", "vf"):
            for k in (0, 1):  # hidden, cell
                assert torch.equal(getattr(old._last_lstm_states, part)[k],
                                   getattr(new._last_lstm_states, part)[k])  # fmt: skip
    loaded.learn(32, record=True)
    agent.learn(32, record=True)
    later = agent.records[agent.records["step"] >= 32].reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded.records, later, check_exact=True)
    for old, new in zip(agent.models, loaded.models, strict=True):
        for key, tensor in old.policy.state_dict().items():
            assert torch.equal(tensor, new.policy.state_dict()[key]), key
