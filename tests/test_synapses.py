"""Synapse state and initialisers."""

import pytest
import torch

from plasticgym.plasticity import PlasticitySignals, chain, three_factor, weight_bounds
from plasticgym.synapses import Synapses, init_synapses, uniform_weights, update_synapses


def test_uniform_weights_use_the_given_generator_only():
    a = uniform_weights((2, 3, 4), 0.5, 1.0, generator=torch.Generator().manual_seed(3))
    b = uniform_weights((2, 3, 4), 0.5, 1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert a.min() >= 0.5 and a.max() < 1.0
    with pytest.raises(ValueError, match="low <= high"):
        uniform_weights((1,), 1.0, 0.0, generator=torch.Generator())


def test_update_synapses_applies_the_chain():
    rule = chain(three_factor(0.5, 0.0), weight_bounds(0.0, 1.0))
    synapses = init_synapses(rule, torch.full((1, 1, 2), 0.8))
    assert isinstance(synapses, Synapses)
    signals = PlasticitySignals(
        torch.tensor([[1.0, 0.2]]), torch.tensor([[1.0]]), torch.tensor([1.0]),
        torch.ones(1, 1), torch.ones(1, dtype=torch.bool),
    )  # fmt: skip
    new, dw = update_synapses(rule, synapses, signals)
    # dw = 0.5 * 1 * [1, 0.2] = [0.5, 0.1], then bounded at 1: w = [1.0, 0.9]
    torch.testing.assert_close(new.weights, torch.tensor([[[1.0, 0.9]]]))
    torch.testing.assert_close(dw, torch.tensor([[[0.2, 0.1]]]))
    torch.testing.assert_close(new.state[0].trace, torch.tensor([[[1.0, 0.2]]]))
