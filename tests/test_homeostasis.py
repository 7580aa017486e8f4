"""Synaptic scaling: golden values, and the Turrigiano signature in a population of neurons."""

import math

import torch

from plasticgym.homeostasis import rate_estimate, scaling_dw
from plasticgym.plasticity import (
    PlasticitySignals,
    chain,
    synaptic_scaling,
    three_factor,
    weight_bounds,
)


def test_rate_estimate_golden():
    # a_t = a + (r - a) / tau
    out = rate_estimate(torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 1.0]]), 4.0)
    torch.testing.assert_close(out, torch.tensor([[1.5, 0.25]]))


def test_scaling_dw_golden():
    # dw = w * (exp(eta * (r* - a) / r*) - 1)
    w = torch.tensor([[[1.0, 2.0], [4.0, 0.5]]])
    a = torch.tensor([[0.5, 2.0]])
    dw = scaling_dw(w, a, target_rate=1.0, scaling_rate=0.1)
    up, down = math.exp(0.05) - 1.0, math.exp(-0.1) - 1.0
    expected = torch.tensor([[[up, 2 * up], [4 * down, 0.5 * down]]])
    torch.testing.assert_close(dw, expected)


def test_scaling_factor_stays_positive_for_huge_rate_errors():
    w = torch.ones(1, 1, 3)
    dw = scaling_dw(w, torch.tensor([[1000.0]]), target_rate=1.0, scaling_rate=0.9)
    torch.testing.assert_close(w + dw, torch.full_like(w, math.exp(-1.0)))


def _simulate(
    homeostasis: bool, input_gain: float, baseline: int = 500, steps: int = 2500, seed: int = 0
):
    """Neurons with rate relu(W x) driven by noisy inputs, starting at their target rate; after a
    baseline period the input is multiplied by ``input_gain`` (0.1: near-silencing, as by TTX;
    2: doubled, as by bicuculline). Returns the weights when the input changed, the final
    weights, the final rates and the target."""
    generator = torch.Generator().manual_seed(seed)
    n_agents, n_post, n_pre, target = 16, 3, 12, 1.0
    pattern = torch.rand(n_agents, n_pre, generator=generator) + 0.5
    weights = torch.rand(n_agents, n_post, n_pre, generator=generator)
    weights = weights / torch.einsum("bpi,bi->bp", weights, pattern).unsqueeze(-1) * target
    transforms = [three_factor(0.01, 0.0)]
    if homeostasis:
        transforms.append(synaptic_scaling(target, rate_time_constant=20.0, scaling_rate=0.02))
    transforms.append(weight_bounds(0.0, 100.0))
    rule = chain(*transforms)
    state = rule.init(weights)
    before = weights.clone()
    active = torch.ones(n_agents, dtype=torch.bool)
    for step in range(baseline + steps):
        if step == baseline:
            baseline_rate = torch.relu(torch.einsum("bpi,bi->bp", weights, pattern))
            torch.testing.assert_close(baseline_rate, torch.full_like(baseline_rate, target),
                                       rtol=0.05, atol=0.05)  # fmt: skip
            before = weights.clone()
        gain = 1.0 if step < baseline else input_gain
        noise = 1.0 + 0.1 * torch.randn(n_agents, n_pre, generator=generator)
        x = gain * pattern * noise
        rates = torch.relu(torch.einsum("bpi,bi->bp", weights, x))
        # no dopamine: the three-factor rule stays silent, only scaling can act
        signals = PlasticitySignals(x, rates, torch.zeros(n_agents), rates, active)
        dw, state = rule.update(torch.zeros_like(weights), state, weights, signals)
        weights = weights + dw
    final_rate = torch.relu(torch.einsum("bpi,bi->bp", weights, input_gain * pattern))
    return before, weights, final_rate, target


def test_scaling_restores_target_rate_multiplicatively():
    for gain in (0.1, 2.0):
        before, after, rate, target = _simulate(homeostasis=True, input_gain=gain)
        # every neuron is back within 10% of its target rate (it started at gain * target)
        assert torch.all((rate - target).abs() < 0.1 * target), (gain, rate)
        # multiplicative: each neuron's synapses were scaled by one common factor
        ratio = after / before
        spread = ratio.std(dim=-1) / ratio.mean(dim=-1)
        assert torch.all(spread < 1e-3)
        assert torch.all((ratio.mean(dim=-1) > 1) == (gain < 1))
        # rank order of each neuron's synapses kept
        assert torch.equal(before.argsort(dim=-1), after.argsort(dim=-1))


def test_without_scaling_nothing_compensates():
    for gain in (0.1, 2.0):
        before, after, rate, target = _simulate(homeostasis=False, input_gain=gain)
        assert torch.equal(before, after)
        torch.testing.assert_close(rate, torch.full_like(rate, gain * target), rtol=1e-4, atol=1e-4)


def test_scaling_skips_inactive_agents():
    rule = synaptic_scaling(1.0, 1.0, 0.5)
    weights = torch.ones(2, 1, 2)
    state = rule.init(weights)
    signals = PlasticitySignals(
        torch.ones(2, 2),
        torch.ones(2, 1),
        torch.zeros(2),
        torch.full((2, 1), 3.0),
        torch.tensor([True, False]),
    )
    dw, new_state = rule.update(torch.zeros_like(weights), state, weights, signals)
    assert torch.all(dw[0] < 0) and torch.all(dw[1] == 0)
    assert new_state.rate_avg[1, 0] == state.rate_avg[1, 0]
