"""Synaptic scaling: golden values, and the Turrigiano signature in a population of neurons."""

import math

import pytest
import torch

from plasticgym.homeostasis import drift_integral, integral_scaling_dw, rate_estimate, scaling_dw
from plasticgym.plasticity import (
    IntegralScalingState,
    PlasticitySignals,
    ScalingState,
    SynapticScaling,
    chain,
    integral_synaptic_scaling,
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


def test_drift_integral_golden():
    # z_t = clamp(z + eta_I (r* - a) / r*, -1, 1)
    z = drift_integral(torch.tensor([[0.1, 0.0, 0.99]]), torch.tensor([[0.5, 3.0, 0.0]]),
                       target_rate=1.0, integral_rate=0.2)  # fmt: skip
    torch.testing.assert_close(z, torch.tensor([[0.2, -0.4, 1.0]]))


def test_integral_scaling_dw_golden_and_zero_integral_is_proportional():
    w = torch.tensor([[[1.0, 2.0], [4.0, 0.5]]])
    a = torch.tensor([[0.5, 2.0]])
    z = torch.tensor([[0.01, -0.02]])
    dw = integral_scaling_dw(w, a, z, target_rate=1.0, scaling_rate=0.1)
    up, down = math.exp(0.05 + 0.01) - 1.0, math.exp(-0.1 - 0.02) - 1.0
    torch.testing.assert_close(dw, torch.tensor([[[up, 2 * up], [4 * down, 0.5 * down]]]))
    same = integral_scaling_dw(w, a, torch.zeros_like(z), target_rate=1.0, scaling_rate=0.1)
    assert torch.equal(same, scaling_dw(w, a, target_rate=1.0, scaling_rate=0.1))


def test_default_part_keeps_the_proportional_transform():
    weights = torch.ones(2, 1, 3)
    assert isinstance(SynapticScaling().transform().init(weights), ScalingState)
    state = SynapticScaling(integral_rate=1e-4).transform().init(weights)
    assert isinstance(state, IntegralScalingState) and torch.equal(state.drift, torch.zeros(2, 1))
    with pytest.raises(ValueError, match="integral_rate"):
        SynapticScaling(integral_rate=-1.0)


def _drifting_neuron(integral_rate: float, steps: int = 3000, drift: float = 1e-2) -> float:
    """One neuron, rate = w x with x = 1, whose weight grows by a constant log drift per step
    (a stand-in for learning) against the scaling; returns the final rate / target."""
    target, eta = 0.2, 0.05
    rule = chain(integral_synaptic_scaling(target, 10.0, eta, integral_rate))
    weights = torch.full((1, 1, 1), target)
    state = rule.init(weights)
    active = torch.ones(1, dtype=torch.bool)
    x = torch.ones(1, 1)
    for _ in range(steps):
        rate = torch.einsum("bpi,bi->bp", weights, x)
        signals = PlasticitySignals(x, rate, torch.zeros(1), rate, active)
        dw, state = rule.update(weights * math.expm1(drift), state, weights, signals)
        weights = weights + dw
    return float(torch.einsum("bpi,bi->bp", weights, x)) / target


def test_proportional_scaling_settles_off_target_under_drift_and_the_integral_does_not():
    # mechanism check of the equations: offset ~ drift / eta = 0.2 for the proportional form,
    # none with the second integral (critically damped, eta_I = eta^2 / 4)
    proportional = _drifting_neuron(0.0)
    assert abs(proportional - 1 - 0.2) < 0.03, proportional
    integral = _drifting_neuron(0.05**2 / 4)
    assert abs(integral - 1) < 0.01, integral
