"""Structural plasticity: the maths (golden values), the budget, determinism, switching it off,
checkpoints that continue bit for bit, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plasticgym.agents import PlasticAgent, PlasticAgentConfig
from plasticgym.structure import (
    StructuralPlasticity,
    budget,
    capped_formations,
    elimination_probability,
    expected_formations,
    formation_probability,
    initial_state,
    pass_time,
    structural_event,
    structure_seeds,
)

ENV = "plasticgym/Pavlovian-v0"


def _agent(structure=None, n_agents=3, seed=0, **kwargs) -> PlasticAgent:
    if structure is None:
        structure = StructuralPlasticity(dt=600.0, interval=1800.0, elimination_rate=20.0,
                                         stable_weight=0.02, activity_bias=1.0)  # fmt: skip
    return PlasticAgent(ENV, n_agents=n_agents, seed=seed, structure=structure,
                        actor_init_scale=0.1, **kwargs)  # fmt: skip


# --------------------------------------------------------------------------- pure functions


def test_elimination_probability_golden_values():
    w = torch.tensor([[[0.0, 0.1]]])
    p = elimination_probability(w, 2.0, 0.1, 0.5, weight_dependent=True)
    expected = [1 - math.exp(-2.0 * 0.5), 1 - math.exp(-2.0 * math.exp(-1.0) * 0.5)]
    torch.testing.assert_close(p, torch.tensor([[expected]]))
    flat = elimination_probability(w, 2.0, 0.1, 0.5, weight_dependent=False)
    torch.testing.assert_close(flat, torch.full((1, 1, 2), 1 - math.exp(-1.0)))


def test_formation_is_the_deficit_refilled_toward_active_inputs():
    deficit = torch.tensor([[4.0, 0.0]])
    expected = expected_formations(deficit, 24.0, 1.0 / 24.0)
    torch.testing.assert_close(expected, torch.tensor([[4.0 * (1 - math.exp(-1.0)), 0.0]]))
    empty = torch.tensor([[[1.0, 1.0, 0.0, 1.0]]])
    activity = torch.tensor([[3.0, 1.0, 0.0, 0.0]])  # mean 1: relative 3, 1, 0, 0
    p = formation_probability(empty, activity, torch.tensor([[1.0]]), 1.0)
    # preferences 1 + [3, 1, 0, 0] = [4, 2, 1, 1] on the empty slots [4, 2, 0, 1]: sum 7
    torch.testing.assert_close(p, torch.tensor([[[4 / 7, 2 / 7, 0.0, 1 / 7]]]))
    silent = formation_probability(empty, torch.zeros(1, 4), torch.tensor([[1.5]]), 1.0)
    torch.testing.assert_close(silent, torch.tensor([[[0.5, 0.5, 0.0, 0.5]]]))


def test_capped_formations_keep_the_smallest_priorities_within_the_deficit():
    candidates = torch.tensor([[[True, True, False, True]]])
    priority = torch.tensor([[[0.3, 0.1, 0.0, 0.2]]])
    kept = capped_formations(candidates, priority, torch.tensor([[2.0]]))
    assert kept.tolist() == [[[False, True, False, True]]]
    assert budget(0.5, 81) == 40 and budget(0.001, 10) == 1


def test_an_event_eliminates_weak_spines_and_refills_the_budget_with_small_ones():
    weights = torch.tensor([[[0.0, 1.0, 0.0, 0.0]]])
    state = initial_state(weights, [0], density=0.5)
    exists = torch.tensor([[[True, True, False, False]]])
    state = state._replace(exists=exists, original=exists.clone())
    params = StructuralPlasticity(elimination_rate=1e6, stable_weight=0.01, formation_rate=1e6,
                                  new_weight=0.05).params()  # fmt: skip
    uniforms = torch.tensor([[[[0.5, 0.5, 0.5, 0.5]], [[0.2, 0.9, 0.1, 0.3]]]])
    new_w, new = structural_event(weights, state, uniforms, params, 3600.0)
    # slot 0 (w = 0) is eliminated, slot 1 (w = 1: hazard 1e6 e^-100) kept; the deficit of 1
    # is spread over the empty slots 0, 2, 3 (p = 1/3 each): all three are candidates, and the
    # cap keeps the one with the smallest u / p, slot 2, at the new weight
    assert new.exists.tolist() == [[[False, True, True, False]]]
    assert int(new.formed[0]) == 1 and int(new.eliminated[0]) == 1 and int(new.new_alive[0]) == 1
    assert new_w[new.exists & ~new.original].tolist() == [torch.tensor(0.05).item()]
    assert float(new_w[0, 0, 1]) == 1.0 and float(new_w[~new.exists].abs().sum()) == 0.0
    assert float(new.age[0, 0, 1]) == 3600.0 and float(new.clock) == 3600.0


# --------------------------------------------------------------------------- in the agent


def test_the_budget_is_never_exceeded_and_absent_slots_hold_no_synapse():
    agent = _agent()
    limit = budget(0.5, agent.actor.weights.shape[-1])
    assert (agent.structure_state.exists.sum(-1) == limit).all()
    for _ in range(4):
        agent.learn(30)
        agent.pass_time(6 * 3600.0)
        state = agent.structure_state
        assert (state.exists.sum(-1) <= limit).all()
        assert float(agent.actor.weights[~state.exists].abs().sum()) == 0.0
    stats = agent.spine_statistics()
    assert (stats.formed > 0).all() and (stats.eliminated > 0).all()
    assert np.array_equal(stats.spines, state.exists.sum(dim=(1, 2)).numpy())


def test_no_creation_or_elimination_when_the_rates_are_zero():
    structure = StructuralPlasticity(dt=600.0, interval=1800.0, elimination_rate=0.0,
                                     formation_rate=0.0)  # fmt: skip
    agent = _agent(structure)
    before = agent.structure_state.exists.clone()
    agent.learn(60)
    agent.pass_time(5 * 86400.0)
    stats = agent.spine_statistics()
    assert torch.equal(agent.structure_state.exists, before)
    assert (stats.formed == 0).all() and (stats.eliminated == 0).all()


def test_same_seed_same_spines_bit_for_bit_and_other_seeds_differ():
    a, b, c = _agent(seed=4), _agent(seed=4), _agent(seed=5)
    for agent in (a, b, c):
        agent.learn(40)
        agent.pass_time(86400.0)
    assert torch.equal(a.structure_state.exists, b.structure_state.exists)
    assert torch.equal(a.structure_state.generator, b.structure_state.generator)
    assert torch.equal(a.actor_weights, b.actor_weights)
    assert not torch.equal(a.structure_state.exists, c.structure_state.exists)
    seeds = structure_seeds(7, 3)
    assert len(set(seeds)) == 3 and seeds == structure_seeds(7, 3)


def test_agents_differ_in_their_slots_and_their_parameters():
    from plasticgym.population import Uniform

    structure = StructuralPlasticity(dt=600.0, interval=1800.0, elimination_rate=Uniform(1, 3))
    agent = _agent(structure, n_agents=4)
    exists = agent.structure_state.exists
    assert not torch.equal(exists[0], exists[1])
    rates = agent.individual_parameters["structure_elimination_rate"]
    assert rates.nunique() == 4 and rates.between(1, 3).all()


def test_checkpoint_round_trip_continues_bit_for_bit(tmp_path):
    agent = _agent()
    agent.learn(25)  # stops between events (dt 600 s, events every 1800 s)
    loaded = PlasticAgent.load(agent.save(tmp_path / "spines"))
    assert torch.equal(loaded.structure_state.generator, agent.structure_state.generator)
    for model in (agent, loaded):
        model.learn(40)
        model.pass_time(2 * 86400.0)
    for a, b in zip(agent.structure_state, loaded.structure_state, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(agent.actor_weights, loaded.actor_weights)
    assert loaded.config.structure == agent.config.structure


def test_switched_off_the_agent_is_unchanged_bit_for_bit():
    plain = PlasticAgent(ENV, n_agents=2, seed=3)
    off = PlasticAgent(ENV, n_agents=2, seed=3, structure=None)
    plain.learn(60)
    off.learn(60)
    assert torch.equal(plain.actor_weights, off.actor_weights)
    assert len(plain.actor.synapses.state) == 3  # three-factor, scaling, bounds: nothing added
    assert "structure" not in PlasticAgentConfig().to_flat()  # earlier checkpoints stay identical
    with pytest.raises(ValueError, match="no structural plasticity"):
        plain.pass_time(10.0)


def test_flat_keywords_mean_the_same_part():
    part = StructuralPlasticity(dt=2.0, elimination_rate=0.3)
    a = PlasticAgentConfig.from_kwargs(structure=part)
    b = PlasticAgentConfig.from_kwargs(structure=True, structure_dt=2.0,
                                       structure_elimination_rate=0.3)  # fmt: skip
    assert a == b and a.structure == part
    assert PlasticAgentConfig.from_kwargs(**a.to_flat()) == a


def test_records_carry_the_turnover_statistics():
    agent = _agent()
    agent.learn(12, record=True)
    records = agent.records
    for column in ("spine_density", "spines_formed", "spines_eliminated",
                   "new_spines_surviving"):  # fmt: skip
        assert column in records
    assert records["spine_density"].between(0.0, 0.5).all()
    last = records[records["step"] == records["step"].max()].sort_values("agent")
    assert last["spines_formed"].tolist() == agent.spine_statistics().formed.tolist()


def test_pass_time_counts_the_time_already_elapsed():
    agent = _agent(StructuralPlasticity(dt=600.0, interval=1800.0))
    agent.learn(2)  # 1200 s since the start: the first event is 600 s away
    agent.pass_time(600.0)
    state = agent.structure_state
    assert float(state.clock) == 1800.0 and float(state.elapsed) == 0.0
    _, state = pass_time(agent.actor.weights, state, agent.structure.params(), 4000.0)
    assert float(state.clock) == 5400.0 and float(state.elapsed) == 400.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dt": 0.0}, r"StructuralPlasticity.dt: structure_dt=0.0 is invalid"),
        ({"density": 1.5}, r"StructuralPlasticity.density: structure_density=1.5"),
        ({"elimination_rate": -1.0}, r"structure_elimination_rate=-1.0 is invalid"),
        ({"stable_weight": 0.0}, r"structure_stable_weight=0.0 is invalid"),
        ({"dt": 10.0, "interval": 5.0}, r"must be at least one step, structure_dt=10.0"),
        ({"weight_dependent": "yes"}, r"structure_weight_dependent='yes' is invalid"),
        ({"formation_rate": (1.0, -2.0)}, r"structure_formation_rate"),
    ],
)
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StructuralPlasticity(**kwargs)


def test_parts_that_would_write_into_empty_slots_are_refused():
    """Replay (systems) and a new cause's copied synapses would put weights into slots that
    hold no spine, so these combinations are refused."""
    from plasticgym.latent_causes import CauseInference
    from plasticgym.systems import ComplementaryLearning

    structure = StructuralPlasticity()
    for other in ({"systems": ComplementaryLearning()}, {"latent_causes": CauseInference()}):
        with pytest.raises(ValueError, match="structure needs systems=None and latent_causes=1"):
            PlasticAgentConfig(structure=structure, **other)


def test_a_new_spine_outside_the_weight_bounds_is_refused():
    with pytest.raises(ValueError, match=r"structure_new_weight=3.0 is invalid: .* \[0, "
                                         r"actor_weight_max=2.0\]"):  # fmt: skip
        PlasticAgentConfig(structure=StructuralPlasticity(new_weight=3.0))
    with pytest.raises(ValueError, match="seconds=-1"):
        _agent().pass_time(-1.0)
