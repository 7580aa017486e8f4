"""The topographic map (plasticgym.maps): golden values of its maths, the part's validation, and
the map as PlasticAgent's front end (expansion only with the neuromodulator, renormalisation,
dopamine gating, flat keywords, checkpoints, determinism, clear errors)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from plasticgym.agents import PlasticAgent, PlasticAgentConfig
from plasticgym.maps import (
    TopographicMap,
    best_frequencies,
    map_plasticity_step,
    map_response,
    modulated_instar_dw,
    neighbourhood,
    renormalise,
    set_point_weights,
    thalamic_input,
)
from plasticgym.population import Uniform

TONE = "plasticgym/ToneDiscrimination-v0"
SMALL = {"n_units": 12, "n_inputs": 12}


# --------------------------------------------------------------------------------------------
# Golden values of the maths
# --------------------------------------------------------------------------------------------


def test_thalamic_input_golden():
    x = thalamic_input(torch.tensor([0.5]), torch.tensor([0.0, 0.5, 1.0]), 0.5)
    e = math.exp(-0.5)
    torch.testing.assert_close(x, torch.tensor([[e, 1.0, e]]) / (1 + 2 * e))


def test_set_point_is_an_ordered_uniform_map_on_the_simplex():
    centers = torch.linspace(0, 1, 21)
    w0 = set_point_weights(5, centers, 0.05)
    torch.testing.assert_close(w0.sum(1), torch.ones(5))
    assert w0.argmax(1).tolist() == [0, 5, 10, 15, 20]  # unit j peaks at p_j = j / 4
    bf = best_frequencies(w0.unsqueeze(0), centers, 0.05, n_probe=101)
    torch.testing.assert_close(bf[0], torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))


def test_neighbourhood_golden():
    e = math.exp(-0.5)
    expected = torch.tensor([[1, e, e**4], [e, 1, e], [e**4, e, 1]], dtype=torch.float32)
    torch.testing.assert_close(neighbourhood(3, 1.0), expected)


def test_map_response_golden():
    weights = torch.tensor([[[0.8, 0.2], [0.2, 0.8]]])
    thalamus = torch.tensor([[1.0, 0.0]])  # drives u = (0.8, 0.2)
    y = map_response(weights, thalamus, 2.0, torch.eye(2))
    a0, a1 = math.exp(1.6), math.exp(0.4)
    torch.testing.assert_close(y, torch.tensor([[1.0, a1 / a0]]))
    spread = map_response(weights, thalamus, 0.0, torch.ones(2, 2))  # beta = 0: all alike
    torch.testing.assert_close(spread, torch.ones(1, 2))


def test_modulated_instar_golden_and_gated_by_the_modulator():
    weights = torch.tensor([[[0.5, 0.5], [0.5, 0.5]]])
    response, thalamus = torch.tensor([[1.0, 0.5]]), torch.tensor([[1.0, 0.0]])
    dw = modulated_instar_dw(weights, response, thalamus, torch.tensor([2.0]), 0.1)
    torch.testing.assert_close(dw, torch.tensor([[[0.1, -0.1], [0.05, -0.05]]]))
    torch.testing.assert_close(dw.sum(-1), torch.zeros(1, 2))  # rows stay on the simplex
    none = modulated_instar_dw(weights, response, thalamus, torch.tensor([0.0]), 0.1)
    assert torch.equal(none, torch.zeros_like(weights))


def test_renormalise_golden():
    w = torch.tensor([[[1.0, 0.0]]])
    torch.testing.assert_close(renormalise(w, torch.tensor([[0.5, 0.5]]), 0.1),
                               torch.tensor([[[0.95, 0.05]]]))  # fmt: skip


@pytest.mark.parametrize("per_agent", [False, True])
def test_fused_step_equals_instar_plus_renormalisation(per_agent):
    g = torch.Generator().manual_seed(0)
    n_agents, n_units, n_inputs = 3, 4, 5
    w = torch.rand(n_agents, n_units, n_inputs, generator=g)
    w = w / w.sum(-1, keepdim=True)
    y, x = torch.rand(n_agents, n_units, generator=g), torch.rand(n_agents, n_inputs, generator=g)
    x = x / x.sum(-1, keepdim=True)
    m = torch.tensor([1.0, 0.0, 0.5])
    w0 = set_point_weights(n_units, torch.linspace(0, 1, n_inputs), 0.2)
    lr = torch.tensor([0.1, 0.2, 0.3]) if per_agent else 0.2
    rho = torch.tensor([0.01, 0.02, 0.0]) if per_agent else 0.01
    expected = renormalise(w, w0, rho) + modulated_instar_dw(w, y, x, m, lr)  # both from W
    torch.testing.assert_close(map_plasticity_step(w, y, x, m, lr, w0, rho), expected)


# --------------------------------------------------------------------------------------------
# The part
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_units": 1}, r"TopographicMap.n_units: map_n_units=1 is invalid"),
        ({"learning_rate": -0.1}, r"map_learning_rate"),
        ({"renormalisation_rate": 2.0}, r"map_renormalisation_rate"),
        ({"input_width": 0.0}, r"map_input_width"),
        ({"modulator": "serotonin"}, r"modulator.*'stimulation', 'dopamine'"),
    ],
)  # fmt: skip
def test_invalid_map_parameters_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TopographicMap(**kwargs)


def test_flat_keywords_mean_the_same_map_and_round_trip():
    nested = PlasticAgentConfig.from_kwargs(topographic_map=TopographicMap(n_units=10))
    flat = PlasticAgentConfig.from_kwargs(topographic_map=True, map_n_units=10)
    assert nested == flat and flat.topographic_map.n_units == 10
    assert PlasticAgentConfig.from_kwargs(**flat.to_flat()) == flat
    off = PlasticAgentConfig.from_kwargs().to_flat()
    assert not any(k == "topographic_map" or k.startswith("map_") for k in off)


# --------------------------------------------------------------------------------------------
# The map as the agent's front end
# --------------------------------------------------------------------------------------------


def _agent(stimulation="paired", n_agents=4, seed=0, trials=400, **map_kwargs):
    env_kwargs = {"n_tones": 5, "stimulation": stimulation, "n_trials": trials}
    return PlasticAgent(TONE, n_agents=n_agents, seed=seed, gamma=0.0, n_microstimuli=1,
                        env_kwargs=env_kwargs,
                        topographic_map=TopographicMap(**{**SMALL, **map_kwargs}))  # fmt: skip


def _target_units(agent, spacing=0.25):
    topo = agent.sensory_map
    bf = best_frequencies(agent.map_state.weights, topo.centers("cpu"), topo.input_width)
    return ((bf - 0.5).abs() <= spacing / 2 + 1e-6).sum(1).float()


def test_the_map_replaces_the_code_of_its_channel():
    agent = _agent()
    assert agent.n_features == 12 and agent.encoder.n_channels == 0
    assert agent.critic.weights.shape == (4, 1, 12)
    actions, state = agent.predict(np.array([0.5], dtype=np.float32))
    assert actions.shape == (4,) and state.shape == (4, 0)


def test_paired_stimulation_expands_the_target_and_nothing_changes_without_it():
    paired, none = _agent("paired", renormalisation_rate=0.0), _agent("none")
    before = _target_units(paired)
    paired.learn(300)
    none.learn(300)
    assert (_target_units(paired) > before).all(), (_target_units(paired), before)
    w0 = none.sensory_map.set_point("cpu")
    assert torch.equal(none.map_state.weights, w0.expand_as(none.map_state.weights))


def test_the_map_renormalises_after_pairing():
    agent = _agent(renormalisation_rate=0.05, trials=10_000)
    agent.learn(300)
    expanded = agent.map_state.weights.clone()
    agent.env.close()
    w0 = agent.sensory_map.set_point("cpu")
    topo = agent.sensory_map
    active = torch.ones(4, dtype=torch.bool)
    state = agent.map_state
    for _ in range(200):  # no pulse: only the homeostatic return acts
        state = topo.learn(state, state.response, state.thalamus, torch.zeros(4), w0, active)
    assert (expanded - w0).abs().max() > 0.01
    assert (state.weights - w0).abs().max() < 1e-4


def test_dopamine_gates_the_map_when_it_is_the_modulator():
    agent = _agent("none", modulator="dopamine")
    agent.learn(200, record=True)
    w0 = agent.sensory_map.set_point("cpu")
    assert (agent.map_state.weights - w0).abs().max() > 1e-3  # learned without any pulse
    silent = _agent("none", modulator="dopamine", learning_rate=0.0)
    silent.learn(50)
    torch.testing.assert_close(silent.map_state.weights, w0.expand(4, -1, -1))


def test_per_agent_map_parameters_are_sampled_and_recorded():
    agent = _agent(learning_rate=Uniform(0.05, 0.15), n_agents=6)
    rates = agent.individual_parameters["map_learning_rate"].to_numpy()
    assert len(set(rates)) == 6 and ((rates >= 0.05) & (rates <= 0.15)).all()
    records = agent.learn(20, record=True).records
    assert "map_learning_rate" in records


def test_same_seed_same_map_and_records():
    a, b = _agent(seed=3), _agent(seed=3)
    a.learn(120, record=True)
    b.learn(120, record=True)
    assert torch.equal(a.map_state.weights, b.map_state.weights)
    pd.testing.assert_frame_equal(a.records, b.records)


def test_checkpoint_continues_the_map_exactly(tmp_path):
    reference = _agent(seed=5)
    reference.learn(80)
    path = reference.save(tmp_path / "map.safetensors")
    restored = PlasticAgent.load(path)
    assert restored.config == reference.config
    assert torch.equal(restored.map_state.weights, reference.map_state.weights)
    reference.learn(60, record=True)
    restored.learn(60, record=True)
    pd.testing.assert_frame_equal(restored.records, reference.records)
    assert torch.equal(restored.map_state.weights, reference.map_state.weights)


def test_map_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"map_channel=1 is invalid.*1 stimulus channel"):
        PlasticAgent(TONE, topographic_map=TopographicMap(channel=1))
    with pytest.raises(ValueError, match=r"topographic_map needs goal_directed=False"):
        PlasticAgent(TONE, topographic_map=TopographicMap(), goal_directed=True)
    bandit = PlasticAgent("plasticgym/ReversalBandit-v0", topographic_map=TopographicMap())
    with pytest.raises(ValueError, match=r"needs the env's info key 'stimulation'.*correct_arm"):
        bandit.learn(2)
