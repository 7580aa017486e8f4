"""Activity-driven formation and competition for the budget (StructuralPlasticity's
``activity_formation`` and ``competition_rate``): the maths (golden values), formation that
rises with the learning signal and not at rest, competition that brings the density back to
the set point, determinism, checkpoints (new and earlier-version ones) and clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.checkpoint import load_checkpoint, save_checkpoint
from plasticgym.structure import (
    StructuralPlasticity,
    activity_formation_probability,
    budget,
    competition_rate_per_neuron,
    initial_state,
    structural_event,
)

ENV = "plasticgym/Reaching-v0"
DAY = 86400.0


def _structure(**kwargs) -> StructuralPlasticity:
    values = {"dt": 60.0, "interval": 600.0, "elimination_rate": 0.5, "stable_weight": 0.005,
              "new_weight": 0.002, "activity_bias": 1.0, "activity_formation": 3.5,
              "competition_rate": 20.0}  # fmt: skip
    return StructuralPlasticity(**{**values, **kwargs})


def _agent(structure: StructuralPlasticity, seed: int = 0, n_agents: int = 2) -> PlasticAgent:
    env_kwargs = {"n_units": 8, "n_targets": 4,
                  "protocol": [{"name": "training", "trials": 1_000_000}]}  # fmt: skip
    return PlasticAgent(ENV, n_agents=n_agents, seed=seed, env_kwargs=env_kwargs,
                        structure=structure, **plastic_preset(ENV))  # fmt: skip


# --------------------------------------------------------------------------- pure functions


def test_activity_formation_probability_golden_values():
    potentiation = torch.tensor([[[0.0, 0.1, 1.0]]])
    p = activity_formation_probability(potentiation, 2.0)
    expected = [0.0, 1 - math.exp(-0.2), 1 - math.exp(-2.0)]
    torch.testing.assert_close(p, torch.tensor([[expected]]))
    assert float(activity_formation_probability(potentiation, 0.0).sum()) == 0.0


def test_competition_rises_with_the_excess_over_the_set_point_only():
    spines = torch.tensor([[30, 40, 44, 60]])  # set point 40
    rate = competition_rate_per_neuron(spines, 40, 0.5, 20.0)
    expected = [0.5, 0.5, 0.5 + 20.0 * 4 / 40, 0.5 + 20.0 * 20 / 40]
    torch.testing.assert_close(rate, torch.tensor([expected], dtype=torch.float64).unsqueeze(-1))
    per_agent = competition_rate_per_neuron(torch.tensor([[44], [44]]), 40,
                                            torch.tensor([[[0.5]], [[1.0]]]),
                                            torch.tensor([[[0.0]], [[10.0]]]))  # fmt: skip
    assert per_agent.flatten().tolist() == pytest.approx([0.5, 2.0])


def _event(potentiation, exists, weights, uniforms, **kwargs):
    state = initial_state(weights, [0], density=0.5)
    state = state._replace(exists=exists, original=exists.clone(), potentiation=potentiation)
    return structural_event(weights, state, uniforms, _structure(**kwargs).params(), 1800.0)


def test_an_event_forms_spines_where_potentiation_arrived_beyond_the_budget():
    weights = torch.tensor([[[0.5, 0.5, 0.0, 0.0]]])
    exists = torch.tensor([[[True, True, False, False]]])  # at the budget of 2: no deficit
    potentiation = torch.tensor([[[0.0, 0.0, 10.0, 0.0]]])  # p = 1 - e^-35 at slot 2, 0 at 3
    uniforms = torch.full((1, 3, 1, 4), 0.5)
    new_w, new = _event(potentiation, exists, weights, uniforms, competition_rate=0.0)
    assert new.exists.tolist() == [[[True, True, True, False]]]
    assert int(new.formed[0]) == 1 and int(new.spines[0]) == 3 > budget(0.5, 4)
    assert float(new_w[0, 0, 2]) == pytest.approx(0.002)
    assert float(new.potentiation.abs().sum()) == 0.0  # the drive restarts at every event
    _, none = _event(torch.zeros(1, 1, 4), exists, weights, uniforms, competition_rate=0.0)
    assert torch.equal(none.exists, exists)


def test_competition_eliminates_the_weakest_spines_of_a_neuron_above_its_set_point():
    # 4 spines on a budget of 2 (excess 100%): hazard (0.5 + 20) e^(-w / 0.005) per day
    weights = torch.tensor([[[0.002, 0.2, 0.002, 0.2]]])
    exists = torch.ones(1, 1, 4, dtype=torch.bool)
    uniforms = torch.full((1, 3, 1, 4), 0.2)
    uniforms[:, 1:] = 0.99  # nothing forms
    kwargs = {"activity_formation": 0.0, "elimination_rate": 2.0}
    _, without = _event(torch.zeros(1, 1, 4), exists, weights, uniforms[:, :2],
                        competition_rate=0.0, **kwargs)  # fmt: skip
    _, with_ = _event(torch.zeros(1, 1, 4), exists, weights, uniforms[:, :2],
                      competition_rate=400.0, **kwargs)  # fmt: skip
    # base: p = 1 - exp(-2 e^-0.4 / 48) = 0.028 < 0.2: kept; with competition
    # p = 1 - exp(-402 e^-0.4 / 48) = 0.996: the two weak spines go, the strong ones stay
    assert without.exists.tolist() == [[[True, True, True, True]]]
    assert with_.exists.tolist() == [[[False, True, False, True]]]


# --------------------------------------------------------------------------- in the agent


def test_formation_rises_with_the_learning_signal_and_not_at_rest():
    driven = _structure(activity_formation=300.0, competition_rate=0.0)
    trained, resting = _agent(driven), _agent(driven)
    limit = budget(0.5, trained.actor.weights.shape[-1])
    trained.learn(9)
    state = trained.structure_state
    assert float(state.potentiation[state.exists].abs().sum()) == 0.0  # empty slots only
    assert float(state.potentiation.sum()) > 0.0
    trained.learn(1)  # the event
    resting.pass_time(600.0)
    assert (trained.structure_state.exists.sum(-1) > limit).any()
    assert int(trained.spine_statistics().formed.sum()) > 0
    assert int(resting.spine_statistics().formed.sum()) == 0  # at the budget: nothing refills
    assert float(resting.structure_state.potentiation.abs().sum()) == 0.0
    off = _agent(_structure(activity_formation=0.0, competition_rate=0.0))
    off.learn(10)
    assert (off.structure_state.exists.sum(-1) <= limit).all()
    assert float(off.structure_state.potentiation.abs().sum()) == 0.0


def test_competition_brings_the_density_back_to_the_set_point():
    """Without a base hazard only competition eliminates: the excess that training formed
    stays without it and is (nearly) gone 4 days later with it."""
    results = {}
    for rate in (0.0, 20.0):
        agent = _agent(_structure(activity_formation=300.0, competition_rate=rate,
                                  elimination_rate=0.0))  # fmt: skip
        agent.learn(60)  # 1 h of training: 6 events of activity-driven formation
        grown = agent.structure_state.exists.sum(-1).double().mean()
        agent.pass_time(4 * DAY)
        results[rate] = (grown, agent.structure_state.exists.sum(-1).double().mean())
    limit = budget(0.5, agent.actor.weights.shape[-1])
    (grown_off, end_off), (grown_on, end_on) = results[0.0], results[20.0]
    assert grown_off > limit + 1 and grown_on > limit + 1
    assert end_off == grown_off
    assert end_on - limit < 0.2 * (grown_on - limit)


def test_same_seed_same_spines_and_checkpoints_continue_bit_for_bit(tmp_path):
    a, b, c = _agent(_structure()), _agent(_structure()), _agent(_structure(), seed=1)
    for agent in (a, b, c):
        agent.learn(25)  # stops between events, with potentiation accumulated
    assert float(a.structure_state.potentiation.sum()) > 0.0
    for x, y in zip(a.structure_state, b.structure_state, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a.structure_state.exists, c.structure_state.exists)
    loaded = PlasticAgent.load(a.save(tmp_path / "driven"))
    assert loaded.config.structure == a.config.structure
    for model in (a, loaded):
        model.learn(25)
        model.pass_time(DAY)
    for x, y in zip(a.structure_state, loaded.structure_state, strict=True):
        assert torch.equal(x, y)
    assert torch.equal(a.actor_weights, loaded.actor_weights)


def test_a_checkpoint_saved_before_the_options_existed_loads_and_continues(tmp_path):
    """An earlier version saved no potentiation and no flat names for the new options."""
    structure = StructuralPlasticity(dt=60.0, interval=600.0, stable_weight=0.005)
    agent = _agent(structure)
    agent.learn(25)
    path = agent.save(tmp_path / "now")
    tensors, meta = load_checkpoint(path)
    old = {k: v for k, v in tensors.items() if not k.endswith(".potentiation")}
    assert len(old) == len(tensors) - 1
    new_names = ("structure_activity_formation", "structure_competition_rate")
    config = {k: v for k, v in meta.pop("config").items() if k not in new_names}
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    earlier = save_checkpoint(tmp_path / "earlier", old, {**meta, "config": config})
    loaded = PlasticAgent.load(earlier)
    assert loaded.config.structure == structure
    for model in (agent, loaded):
        model.learn(25)
        model.pass_time(DAY)
    for x, y in zip(agent.structure_state, loaded.structure_state, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activity_formation": -1.0}, r"structure_activity_formation=-1.0 is invalid"),
        ({"competition_rate": -0.5}, r"structure_competition_rate=-0.5 is invalid"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StructuralPlasticity(**kwargs)
