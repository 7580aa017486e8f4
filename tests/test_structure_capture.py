"""Capture of potentiated spines (StructuralPlasticity's ``capture_ratio``): the maths (golden
values), a marker that training sets and rest never does, competition that falls on the
spines without it whatever their weight, determinism, checkpoints (new and earlier-version
ones), the default left off and clear errors."""

from __future__ import annotations

import math

import pytest
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.checkpoint import load_checkpoint, save_checkpoint
from plasticgym.structure import (
    StructuralPlasticity,
    capture_elimination_probability,
    captured,
    initial_state,
    relative_growth,
    structural_event,
)

ENV = "plasticgym/Reaching-v0"
DAY = 86400.0


def _structure(**kwargs) -> StructuralPlasticity:
    values = {"dt": 60.0, "interval": 600.0, "elimination_rate": 0.5, "stable_weight": 0.005,
              "new_weight": 0.002, "activity_bias": 1.0, "activity_formation": 3.5,
              "competition_rate": 1.0, "capture_ratio": 2.0}  # fmt: skip
    return StructuralPlasticity(**{**values, **kwargs})


def _agent(structure: StructuralPlasticity, seed: int = 0, n_agents: int = 2) -> PlasticAgent:
    env_kwargs = {"n_units": 8, "n_targets": 4,
                  "protocol": [{"name": "training", "trials": 1_000_000}]}  # fmt: skip
    return PlasticAgent(ENV, n_agents=n_agents, seed=seed, env_kwargs=env_kwargs,
                        structure=structure, **plastic_preset(ENV))  # fmt: skip


# --------------------------------------------------------------------------- pure functions


def test_relative_growth_and_capture_golden_values():
    weights = torch.tensor([[[0.2, 0.1, 0.4, 0.3, 0.0]]])
    reference = torch.tensor([[[0.1, 0.1, 0.1, 0.0, 0.1]]])
    spines = torch.tensor([[[True, True, True, True, False]]])
    # growth 2, 1, 4 (reference 0 and no spine: NaN); median 2 -> 1, 0.5, 2
    relative = relative_growth(weights, reference, spines)
    assert relative[0, 0, :3].tolist() == pytest.approx([1.0, 0.5, 2.0])
    assert torch.isnan(relative[0, 0, 3:]).all()
    assert captured(relative, 2.0).tolist() == [[[False, False, True, False, False]]]
    # a common factor (multiplicative scaling) cancels
    assert torch.allclose(relative_growth(3.0 * weights, reference, spines)[..., :3],
                          relative[..., :3])  # fmt: skip


def test_capture_elimination_probability_golden_values():
    weights = torch.tensor([[[0.0, 0.5, 0.0, 0.5]]], dtype=torch.float64)
    consolidated = torch.tensor([[[True, True, False, False]]])
    competition = torch.tensor([[[3.0]]], dtype=torch.float64)
    p = capture_elimination_probability(weights, 2.0, 0.5, competition, consolidated, 0.25,
                                        weight_dependent=True)  # fmt: skip
    expected = [1 - math.exp(-2.0 * 0.25), 1 - math.exp(-2.0 * math.exp(-1.0) * 0.25),
                1 - math.exp(-(2.0 + 3.0) * 0.25),
                1 - math.exp(-(2.0 * math.exp(-1.0) + 3.0) * 0.25)]  # fmt: skip
    assert p.flatten().tolist() == pytest.approx(expected)
    flat = capture_elimination_probability(weights, 2.0, 0.5, competition, consolidated, 0.25,
                                           weight_dependent=False)  # fmt: skip
    assert flat[0, 0, 2] == flat[0, 0, 3] and flat[0, 0, 0] == flat[0, 0, 1]


def _event(weights, reference, exists, consolidated, uniforms, **kwargs):
    state = initial_state(weights, [0], density=0.5)
    state = state._replace(exists=exists, original=exists.clone(), reference=reference,
                           consolidated=consolidated)  # fmt: skip
    return structural_event(weights, state, uniforms, _structure(**kwargs).params(), 1800.0)


def test_competition_falls_on_unconsolidated_spines_whatever_their_weight():
    # 4 spines on a budget of 2 (excess 100%), no base hazard: only competition eliminates
    weights = torch.tensor([[[0.002, 0.2, 0.002, 0.2]]])
    exists = torch.ones(1, 1, 4, dtype=torch.bool)
    consolidated = torch.tensor([[[True, False, False, False]]])
    uniforms = torch.full((1, 3, 1, 4), 0.2)
    uniforms[:, 1:] = 0.99  # nothing forms
    kwargs = {"activity_formation": 0.0, "elimination_rate": 0.0, "competition_rate": 400.0}
    # weights unchanged since the last event: growth 1 everywhere, nothing newly captured
    _, with_ = _event(weights, weights.clone(), exists, consolidated, uniforms, **kwargs)
    # p = 1 - exp(-400 / 48) = 0.9998 on the three unconsolidated spines, the strong ones too
    assert with_.exists.tolist() == [[[True, False, False, False]]]
    assert with_.consolidated.tolist() == [[[True, False, False, False]]]
    _, without = _event(weights, weights.clone(), exists, consolidated, uniforms,
                        **{**kwargs, "capture_ratio": 0.0})  # fmt: skip
    # without capture the competition is weight-weighted: the weak spines go, the strong stay
    assert without.exists.tolist() == [[[False, True, False, True]]]


def test_an_event_consolidates_spines_that_outgrew_their_neuron():
    reference = torch.tensor([[[0.01, 0.01, 0.01, 0.01]]])
    weights = torch.tensor([[[0.05, 0.012, 0.011, 0.0]]])  # growth 5, 1.2, 1.1; slot 3 empty
    exists = torch.tensor([[[True, True, True, False]]])
    uniforms = torch.full((1, 3, 1, 4), 0.99)  # nothing eliminated, nothing formed
    new_w, new = _event(weights, reference, exists, torch.zeros_like(exists), uniforms)
    assert new.consolidated.tolist() == [[[True, False, False, False]]]  # 5 / 1.2 >= 2
    assert torch.equal(new.reference, new_w)  # the next interval's growth starts here


# --------------------------------------------------------------------------- in the agent


def test_training_consolidates_rest_does_not_and_new_spines_start_without():
    trained, resting = _agent(_structure()), _agent(_structure())
    trained.learn(120)  # 2 h of training: 12 events
    resting.pass_time(2 * 3600.0)
    state = trained.structure_state
    assert int(state.consolidated.sum()) > 0
    assert not (state.consolidated & ~state.exists).any()
    assert not (state.consolidated & (state.age == 0)).any()  # formed at the last event
    assert int(resting.structure_state.consolidated.sum()) == 0
    trained.pass_time(DAY)  # rest keeps the marker of the spines that survive
    after = trained.structure_state
    assert torch.equal(after.consolidated, state.consolidated & after.exists)


def test_default_off_keeps_no_reference_and_consolidates_nothing():
    agent = _agent(_structure(capture_ratio=0.0))
    agent.learn(60)
    state = agent.structure_state
    assert float(state.reference.abs().sum()) == 0.0
    assert int(state.consolidated.sum()) == 0


def test_same_seed_same_spines_and_checkpoints_continue_bit_for_bit(tmp_path):
    a, b = _agent(_structure()), _agent(_structure())
    for agent in (a, b):
        agent.learn(65)
    assert int(a.structure_state.consolidated.sum()) > 0
    for x, y in zip(a.structure_state, b.structure_state, strict=True):
        assert torch.equal(x, y)
    loaded = PlasticAgent.load(a.save(tmp_path / "captured"))
    assert loaded.config.structure == a.config.structure
    for model in (a, loaded):
        model.learn(25)
        model.pass_time(DAY)
    for x, y in zip(a.structure_state, loaded.structure_state, strict=True):
        assert torch.equal(x, y)
    assert torch.equal(a.actor_weights, loaded.actor_weights)


def test_a_checkpoint_saved_before_capture_existed_loads_and_continues(tmp_path):
    """An earlier version saved no reference weights, no marker and no flat capture name."""
    structure = _structure(capture_ratio=0.0)
    agent = _agent(structure)
    agent.learn(25)
    path = agent.save(tmp_path / "now")
    tensors, meta = load_checkpoint(path)
    old = {k: v for k, v in tensors.items() if not k.endswith((".reference", ".consolidated"))}
    assert len(old) == len(tensors) - 2
    config = {k: v for k, v in meta.pop("config").items() if k != "structure_capture_ratio"}
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
    ("value", "message"),
    [
        (-1.0, r"structure_capture_ratio=-1.0 is invalid"),
        (0.5, r"structure_capture_ratio=0.5 is invalid: must be 0 \(off\) or > 1"),
        (1.0, r"structure_capture_ratio=1.0 is invalid: must be 0 \(off\) or > 1"),
    ],
)
def test_bad_capture_ratio_is_a_clear_error(value, message):
    with pytest.raises(ValueError, match=message):
        StructuralPlasticity(capture_ratio=value)


# ------------------------------------------------- stabilisation (``consolidated_hazard``)


def test_consolidated_hazard_golden_values():
    weights = torch.tensor([[[0.0, 0.5, 0.0, 0.5]]], dtype=torch.float64)
    consolidated = torch.tensor([[[True, True, False, False]]])
    competition = torch.tensor([[[3.0]]], dtype=torch.float64)
    p = capture_elimination_probability(weights, 2.0, 0.5, competition, consolidated, 0.25,
                                        weight_dependent=True, consolidated_hazard=0.1)  # fmt: skip
    expected = [1 - math.exp(-0.1 * 2.0 * 0.25), 1 - math.exp(-0.1 * 2.0 * math.exp(-1.0) * 0.25),
                1 - math.exp(-(2.0 + 3.0) * 0.25),
                1 - math.exp(-(2.0 * math.exp(-1.0) + 3.0) * 0.25)]  # fmt: skip
    assert p.flatten().tolist() == pytest.approx(expected)
    never = capture_elimination_probability(
        weights, 2.0, 0.5, competition, consolidated, 0.25, weight_dependent=False,
        consolidated_hazard=0.0,
    )  # fmt: skip
    assert never[0, 0, :2].tolist() == [0.0, 0.0]


def test_an_event_spares_stabilised_spines_from_the_base_hazard():
    # four equal weak spines at the budget (no competition), a base hazard that kills all
    weights = torch.full((1, 1, 4), 0.002)
    exists = torch.ones(1, 1, 4, dtype=torch.bool)
    consolidated = torch.tensor([[[True, True, False, False]]])
    uniforms = torch.full((1, 3, 1, 4), 0.5)
    uniforms[:, 1:] = 0.99  # nothing forms
    kwargs = {"activity_formation": 0.0, "elimination_rate": 400.0, "density": 1.0}
    _, stable = _event(weights, weights.clone(), exists, consolidated, uniforms,
                       consolidated_hazard=0.0, **kwargs)  # fmt: skip
    assert stable.exists.tolist() == [[[True, True, False, False]]]
    _, off = _event(weights, weights.clone(), exists, consolidated, uniforms, **kwargs)
    assert off.exists.tolist() == [[[False, False, False, False]]]


def test_stabilisation_changes_nothing_at_rest_and_keeps_marked_spines_in_training():
    resting = [_agent(_structure(consolidated_hazard=h)) for h in (0.1, 1.0)]
    for agent in resting:
        agent.pass_time(2 * DAY)
    for x, y in zip(resting[0].structure_state, resting[1].structure_state, strict=True):
        assert torch.equal(x, y)
    stable = _agent(_structure(consolidated_hazard=0.0), n_agents=4)
    stable.learn(360)  # 6 h of training
    before = stable.structure_state.consolidated.clone()
    assert int(before.sum()) > 0
    stable.pass_time(4 * DAY)
    after = stable.structure_state
    assert torch.equal(after.consolidated, before)  # h = 0: no marked spine is ever lost


def test_stabilisation_round_trips_a_checkpoint(tmp_path):
    agent = _agent(_structure(consolidated_hazard=0.1))
    agent.learn(65)
    loaded = PlasticAgent.load(agent.save(tmp_path / "stable"))
    assert loaded.config.structure == agent.config.structure
    for model in (agent, loaded):
        model.learn(25)
        model.pass_time(DAY)
    for x, y in zip(agent.structure_state, loaded.structure_state, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"consolidated_hazard": 0.1},
         r"structure_consolidated_hazard=0.1 needs capture \(structure_capture_ratio > 1\)"),
        ({"consolidated_hazard": 1.5, "capture_ratio": 2.0},
         r"structure_consolidated_hazard=1.5 is invalid: must be a number in \[0.0, 1.0\]"),
        ({"consolidated_hazard": -0.1, "capture_ratio": 2.0},
         r"structure_consolidated_hazard=-0.1 is invalid"),
    ],
)  # fmt: skip
def test_bad_consolidated_hazard_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StructuralPlasticity(**kwargs)
