"""Composition of plasticity transforms."""

import pytest
import torch

from plasticgym.plasticity import (
    PlasticitySignals,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)


def _signals(dopamine, active=None):
    B = dopamine.shape[0]
    active = torch.ones(B, dtype=torch.bool) if active is None else active
    return PlasticitySignals(
        pre=torch.tensor([[1.0, 0.5]] * B),
        post=torch.tensor([[2.0]] * B),
        dopamine=dopamine,
        rate=torch.ones(B, 1),
        active=active,
    )


def test_three_factor_golden_and_state():
    rule = three_factor(learning_rate=0.1, trace_decay=0.5)
    w = torch.zeros(1, 1, 2)
    state = rule.init(w)
    dw, state = rule.update(torch.zeros_like(w), state, w, _signals(torch.tensor([0.0])))
    torch.testing.assert_close(dw, torch.zeros_like(w))  # no dopamine, no plasticity
    torch.testing.assert_close(state.trace, torch.tensor([[[2.0, 1.0]]]))
    dw, state = rule.update(torch.zeros_like(w), state, w, _signals(torch.tensor([1.0])))
    # trace = 0.5 * [2, 1] + [2, 1] = [3, 1.5]; dw = 0.1 * 1 * trace
    torch.testing.assert_close(state.trace, torch.tensor([[[3.0, 1.5]]]))
    torch.testing.assert_close(dw, torch.tensor([[[0.3, 0.15]]]))


def test_inactive_step_clears_trace_and_changes_nothing():
    rule = three_factor(0.1, 0.9)
    w = torch.zeros(2, 1, 2)
    state = rule.init(w)
    _, state = rule.update(torch.zeros_like(w), state, w, _signals(torch.zeros(2)))
    active = torch.tensor([True, False])
    dw, state = rule.update(torch.zeros_like(w), state, w, _signals(torch.ones(2), active))
    assert torch.all(state.trace[1] == 0) and torch.all(dw[1] == 0)
    assert torch.all(dw[0] > 0)


def test_chain_order_bounds_last():
    rule = chain(three_factor(1.0, 0.0), weight_bounds(0.0, 1.0))
    w = torch.full((1, 1, 2), 0.5)
    state = rule.init(w)
    dw, _ = rule.update(torch.zeros_like(w), state, w, _signals(torch.tensor([1.0])))
    torch.testing.assert_close(w + dw, torch.tensor([[[1.0, 1.0]]]))


def test_scaling_transform_only_adds_the_scaling_term():
    """Chained after the rule, scaling adds exactly its own multiplicative term; with the rate on
    target it adds nothing, so removing it from the chain changes nothing else."""
    g = torch.Generator().manual_seed(1)
    w = torch.rand(3, 2, 2, generator=g)
    pre, post, dopamine = (
        torch.rand(3, 2, generator=g),
        torch.rand(3, 2, generator=g),
        torch.randn(3, generator=g),
    )
    active = torch.ones(3, dtype=torch.bool)
    plain = chain(three_factor(0.1, 0.5), weight_bounds(0.0, 10.0))
    scaled = chain(
        three_factor(0.1, 0.5), synaptic_scaling(0.7, 10.0, 0.2), weight_bounds(0.0, 10.0)
    )
    on_target = PlasticitySignals(pre, post, dopamine, torch.full((3, 2), 0.7), active)
    dw_plain, _ = plain.update(torch.zeros_like(w), plain.init(w), w, on_target)
    dw_scaled, _ = scaled.update(torch.zeros_like(w), scaled.init(w), w, on_target)
    torch.testing.assert_close(dw_plain, dw_scaled)
    off_target = on_target._replace(rate=torch.full((3, 2), 1.4))
    dw_plain, _ = plain.update(torch.zeros_like(w), plain.init(w), w, off_target)
    dw_scaled, state = scaled.update(torch.zeros_like(w), scaled.init(w), w, off_target)
    rate_avg = state[1].rate_avg  # 0.7 + (1.4 - 0.7) / 10
    factor = torch.exp(0.2 * (0.7 - rate_avg) / 0.7).unsqueeze(-1)
    torch.testing.assert_close(w + dw_scaled, (w + dw_plain) * factor)


def test_weight_bounds_validates():
    with pytest.raises(ValueError, match="w_min < w_max"):
        weight_bounds(1.0, 0.0)
