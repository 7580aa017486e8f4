"""SpikingAgent: API, determinism, save -> load -> continue, config errors, no dopamine no
weight change (every rule), and learning above chance over a population."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from plasticgym.agents import AGENTS, SpikingAgent, SpikingAgentConfig, make_agent
from plasticgym.agents.spiking import RULES, actor_update

BANDIT = "plasticgym/ReversalBandit-v0"
HABIT = "plasticgym/HabitFormation-v0"
SHORT = {"n_trials": 60, "reversal_every": 20}
SMALL = {"substeps": 5, "neurons_per_action": 3, "n_microstimuli": 3}
"""A small, fast model for the API tests."""


def _agent(**kwargs):
    kwargs = {"n_agents": 2, "seed": 0, "env_kwargs": SHORT, **SMALL, **kwargs}
    return SpikingAgent(BANDIT, **kwargs)


def test_config_defaults_resolve_per_rule_and_neuron():
    cfg = SpikingAgentConfig()
    assert (cfg.neuron, cfg.rule, cfg.dopamine, cfg.substeps) == ("lif", "calcium", "td", 20)
    assert cfg.actor_lr == 3.2 and cfg.tau_eligibility_ms == 25.0
    assert SpikingAgentConfig(rule="mstdp").tau_eligibility_ms == math.inf
    assert SpikingAgentConfig(rule="izhikevich").tau_eligibility_ms == 1000.0
    assert SpikingAgentConfig(neuron="izhikevich").background_current == 0.0
    assert SpikingAgentConfig(actor_lr=[0.1, 0.2]).actor_lr == (0.1, 0.2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"neuron": "hh"}, r"neuron='hh' is invalid: must be one of \['lif', 'izhikevich'\]"),
        ({"rule": "bcm"}, r"rule='bcm' is invalid: must be one of"),
        ({"dopamine": "rpe"}, r"dopamine='rpe' is invalid: must be one of .*'reward'.*'td'"),
        ({"substeps": 0}, r"substeps=0 is invalid"),
        ({"substeps": 2.5}, r"substeps=2.5 is invalid"),
        ({"neurons_per_action": 0}, r"neurons_per_action=0 is invalid"),
        ({"input_rate_hz": 0.0}, r"input_rate_hz=0.0 is invalid"),
        ({"noise_current": -1.0}, r"noise_current=-1.0 is invalid"),
        ({"theta_d": 1.3, "theta_p": 1.0}, r"theta_d=1.3, theta_p=1.0 are invalid"),
        ({"rule": "mstdp", "tau_eligibility_ms": 25.0}, r"invalid for rule='mstdp'"),
        ({"tau_eligibility_ms": 0.0}, r"tau_eligibility_ms=0.0 is invalid"),
        ({"gamma": 1.0}, r"gamma=1.0 is invalid"),
        ({"actor_lr": -0.1}, r"actor_lr=-0.1 is invalid"),
        ({"actor_lr": [0.1, -1.0]}, r"actor_lr\[1\]=-1.0 is invalid"),
        ({"init_scale": 30.0}, r"init_scale=30.0 is invalid"),
        ({"reward_resets_traces": 1}, r"reward_resets_traces=1 is invalid"),
        ({"learning_rate": 0.1}, r"unknown hyperparameter\(s\) \['learning_rate'\] for Spiking"),
    ],
)
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpikingAgentConfig.from_kwargs(**kwargs)


def test_box_actions_and_wrong_population_sizes_are_refused():
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        SpikingAgent("plasticgym/Reaching-v0", n_agents=1, seed=0)
    with pytest.raises(ValueError, match="actor_lr has 3 values but n_agents=2"):
        _agent(actor_lr=[0.1, 0.2, 0.3])


def test_api_learn_records_predict_and_registry():
    agent = make_agent("spiking", BANDIT, n_agents=3, seed=1, env_kwargs=SHORT, **SMALL)
    assert "spiking" in AGENTS and isinstance(agent, SpikingAgent)
    agent.learn(30, record=True)
    records = agent.records
    assert len(records) == 3 * 30
    assert {"agent", "step", "action", "reward", "rpe", "dopamine", "value", "spikes",
            "correct"} <= set(records.columns)  # fmt: skip
    assert set(records["action"]) <= {0, 1}
    # dopamine is the critic's TD error (the RPE)
    np.testing.assert_array_equal(records["dopamine"], records["rpe"])
    actions, state = agent.predict(np.ones(1, dtype=np.float32))
    assert actions.shape == (3,) and state.shape == (3, 1)
    actions, _ = agent.predict(np.ones((3, 1), dtype=np.float32), state=state,
                               deterministic=True)  # fmt: skip
    assert set(actions.tolist()) <= {0, 1}
    single = _agent(n_agents=1)
    action, _ = single.predict(np.ones(1, dtype=np.float32))
    assert np.shape(action) == ()


def test_raw_reward_control_delivers_the_reward():
    agent = _agent(dopamine="reward").learn(30, record=True)
    records = agent.records
    np.testing.assert_array_equal(records["dopamine"], records["reward"])
    assert not np.array_equal(records["rpe"], records["reward"])  # the critic still learns


def test_predict_does_not_change_learning():
    a, b = _agent(), _agent()
    a.learn(10)
    b.learn(10)
    b.predict(np.ones(1, dtype=np.float32))
    a.learn(10, record=True)
    b.learn(10, record=True)
    assert torch.equal(a.weights, b.weights)
    pd.testing.assert_frame_equal(a.records, b.records)


@pytest.mark.parametrize(("rule", "neuron"), [*((r, "lif") for r in RULES),
                                              ("calcium", "izhikevich")])  # fmt: skip
def test_same_seed_is_bit_identical_and_another_seed_differs(rule, neuron):
    runs = [_agent(rule=rule, neuron=neuron, seed=s).learn(25, record=True) for s in (3, 3, 4)]
    assert torch.equal(runs[0].weights, runs[1].weights)
    pd.testing.assert_frame_equal(runs[0].records, runs[1].records)
    assert not torch.equal(runs[0].weights, runs[2].weights)


@pytest.mark.parametrize(("rule", "neuron"), [("calcium", "lif"), ("izhikevich", "izhikevich"),
                                              ("mstdpet", "lif")])  # fmt: skip
def test_save_load_continue_is_bit_identical(rule, neuron, tmp_path):
    agent = _agent(rule=rule, neuron=neuron, actor_lr=[0.5, 1.0]).learn(20)
    path = agent.save(tmp_path / "agent")
    agent.learn(25, record=True)
    loaded = SpikingAgent.load(path).learn(25, record=True)
    assert loaded.config == agent.config
    assert torch.equal(loaded.weights, agent.weights)
    assert torch.equal(loaded.critic.weights, agent.critic.weights)
    assert torch.equal(loaded._rollout.eligibility, agent._rollout.eligibility)
    pd.testing.assert_frame_equal(loaded.records, agent.records)


def test_altered_checkpoint_weights_are_refused(tmp_path):
    """A checkpoint whose digest was stripped and actor weights set outside ``[0, w_max]``
    (the hostile file of tests/test_reliability.py) is refused."""
    import json

    from safetensors.torch import save_file

    from plasticgym.checkpoint import METADATA_KEY, CheckpointError, load_checkpoint

    tensors, meta = load_checkpoint(_agent().learn(5).save(tmp_path / "agent"))
    tensors["model.actor.weights"][0, 0, 0] = 100.0
    path = tmp_path / "hostile.safetensors"
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match=r"actor.weights holds values .* outside the bounds"):
        SpikingAgent.load(path)


@pytest.mark.parametrize("rule", RULES)
def test_no_dopamine_no_weight_change(rule):
    """Every rule builds eligibility from the spikes, but with the raw reward as dopamine on a
    task that never pays, no weight moves; the same agent with a paying task does change."""
    never = {"n_trials": 60, "p_high": 0.0, "p_low": 0.0}
    agent = _agent(rule=rule, dopamine="reward", env_kwargs=never)
    before = agent.weights.clone()
    agent.learn(30)
    assert torch.equal(agent.weights, before)
    assert float(agent._rollout.eligibility.abs().sum()) > 0  # there was something to convert
    paying = _agent(rule=rule, dopamine="reward", env_kwargs={"n_trials": 60, "p_low": 1.0,
                                                              "p_high": 1.0})  # fmt: skip
    start = paying.weights.clone()
    paying.learn(30)
    assert not torch.equal(paying.weights, start)


def test_actor_update_golden_and_bounds():
    w = torch.tensor([[[1.0, 19.5, 0.2]]])
    e = torch.tensor([[[0.5, 1.0, -1.0]]])
    dw = actor_update(w, e, torch.tensor([2.0]), 0.5, 20.0)
    torch.testing.assert_close(dw, torch.tensor([[[0.5, 0.5, -0.2]]]))  # clipped at 20 and 0
    assert torch.equal(actor_update(w, e, torch.zeros(1), 0.5, 20.0), torch.zeros_like(w))


def test_tensorboard_run_logs_the_mean_rate(tmp_path):
    agent = _agent(tensorboard_log=tmp_path, log_interval=5).learn(12)
    agent.close()
    assert agent.run_dir is not None and any(agent.run_dir.glob("events.out.tfevents.*"))


def _fraction_correct(agent_records: pd.DataFrame, last: int) -> np.ndarray:
    late = agent_records[agent_records["step"] >= agent_records["step"].max() - last + 1]
    return late.groupby("agent")["correct"].mean().to_numpy()


def test_learns_the_bandit_above_chance_over_agents():
    """16 agents, 150 trials without reversal (p = 0.8 vs 0.2): the fraction of correct choices
    in the last 75 trials is above chance (0.5) by a margin of 0.15, with the 95% CI over
    agents above 0.6."""
    agent = SpikingAgent(
        BANDIT, n_agents=16, seed=0, env_kwargs={"n_trials": 150, "reversal_rule": "none"}
    )
    correct = _fraction_correct(agent.learn(150, record=True).records, 75)
    mean = correct.mean()
    low = mean - stats.t.ppf(0.975, correct.size - 1) * stats.sem(correct)
    assert mean > 0.65 and low > 0.6, (mean, low)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_and_is_deterministic():
    runs = [_agent(device="cuda", seed=5).learn(15, record=True) for _ in range(2)]
    assert runs[0].weights.device.type == "cuda"
    assert torch.equal(runs[0].weights, runs[1].weights)
