"""Synapses of one projection: weights plus the state of their plasticity chain.

The weights are ``[B, n_post, n_pre]`` (population first). The plasticity state holds whatever
the chain's transforms keep — eligibility traces (:func:`plasticgym.plasticity.three_factor`),
rate estimates (:func:`plasticgym.plasticity.synaptic_scaling`) — and the bounds are the
chain's :func:`plasticgym.plasticity.weight_bounds` transform.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from plasticgym.plasticity import PlasticitySignals, PlasticityTransform


class Synapses(NamedTuple):
    """Weights ``[B, n_post, n_pre]`` and the state of the rule that changes them."""

    weights: Tensor
    state: Any


def uniform_weights(
    shape: tuple[int, ...],
    low: float,
    high: float,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Weights drawn uniformly in ``[low, high)`` from an explicit generator (no global RNG)."""
    if not low <= high:
        raise ValueError(f"uniform_weights: need low <= high, got low={low}, high={high}")
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def init_synapses(rule: PlasticityTransform, weights: Tensor) -> Synapses:
    """Synapses with the given initial weights and the rule's initial state."""
    return Synapses(weights, rule.init(weights))


def update_synapses(
    rule: PlasticityTransform, synapses: Synapses, signals: PlasticitySignals
) -> tuple[Synapses, Tensor]:
    """One plasticity step: run the chain from ``dw = 0`` and apply its result.

    Returns the new synapses and the weight change ``dw`` that was applied.
    """
    dw, state = rule.update(
        torch.zeros_like(synapses.weights), synapses.state, synapses.weights, signals
    )
    return Synapses(synapses.weights + dw, state), dw


class Projection(NamedTuple):
    """One projection of an agent: its synapses and the plasticity chain that changes them.

    ``drive(pre)`` is the postsynaptic input ``W x`` ``[B, n_post]``; ``learn(signals)`` runs one
    plasticity step (:func:`update_synapses`) and returns the new projection and the ``dw`` that
    was applied.
    """

    rule: PlasticityTransform
    synapses: Synapses

    @classmethod
    def create(cls, rule: PlasticityTransform, weights: Tensor) -> Projection:
        """A projection with the given initial weights and the rule's initial state."""
        return cls(rule, init_synapses(rule, weights))

    @property
    def weights(self) -> Tensor:
        """``[B, n_post, n_pre]``."""
        return self.synapses.weights

    def drive(self, pre: Tensor) -> Tensor:
        """``W x`` for presynaptic activity ``pre [B, n_pre]``; returns ``[B, n_post]``."""
        return torch.matmul(self.synapses.weights, pre.unsqueeze(-1)).squeeze(-1)

    def learn(self, signals: PlasticitySignals) -> tuple[Projection, Tensor]:
        synapses, dw = update_synapses(self.rule, self.synapses, signals)
        return self._replace(synapses=synapses), dw

    def with_weights(self, weights: Tensor) -> Projection:
        """The same projection with other weights (its plasticity state kept)."""
        return self._replace(synapses=self.synapses._replace(weights=weights))
