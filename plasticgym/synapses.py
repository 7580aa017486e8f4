"""Synapses of one projection: weights plus the state of their plasticity chain.

The weights are ``[B, n_post, n_pre]`` (population first). The plasticity state holds whatever
the chain's transforms keep — eligibility traces (:func:`plasticgym.plasticity.three_factor`),
rate estimates (:func:`plasticgym.plasticity.synaptic_scaling`) — and the bounds are the
chain's :func:`plasticgym.plasticity.weight_bounds` transform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from plasticgym.calcium import (
    SHOUVAL_THETA_D,
    SHOUVAL_THETA_P,
    bcm_three_factor,
    calcium_three_factor,
    check_thresholds,
)
from plasticgym.parts import Part
from plasticgym.plasticity import PlasticitySignals, PlasticityTransform, three_factor
from plasticgym.rules import Scalar


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


# ---------------------------------------------------------------------------- synapse models

SYNAPSE_MODELS: dict[str, type[SynapseModel]] = {}
"""Every synapse model by ``KIND`` (filled by subclassing :class:`SynapseModel`)."""


@dataclasses.dataclass(frozen=True)
class SynapseModel(Part):
    """What a projection's Hebbian term is and how dopamine turns it into a weight change, as
    an agent part (``PlasticAgent(env, synapse=CalciumRule(...))``): the transforms that open
    the projection's plasticity chain (scaling and bounds follow them). Every model is
    dopamine-gated: without dopamine there is no weight change."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.KIND:
            SYNAPSE_MODELS[cls.KIND] = cls

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class ThreeFactor(SynapseModel):
    """The default: eligibility ``e <- decay e + post (x) pre`` and ``dw = lr DA e``
    (:func:`plasticgym.plasticity.three_factor`)."""

    KIND: ClassVar[str] = "three_factor"

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (three_factor(learning_rate, trace_decay),)


@dataclasses.dataclass(frozen=True)
class CalciumRule(SynapseModel):
    """Calcium-controlled Hebbian term (Shouval, Bear & Cooper 2002; thresholds as in Graupner
    & Brunel 2012): ``Ca = k post pre + C_pre pre + C_post post``, ``e <- decay e + Omega(Ca)``
    (depression between ``theta_d`` and ``theta_p``, potentiation above), ``dw = lr DA e``
    (:func:`plasticgym.calcium.calcium_three_factor`). Flat names ``calcium_<field>``.

    Args:
        theta_d, theta_p: depression and potentiation thresholds, ``theta_d < theta_p``.
        coincidence: ``k``, the NMDA-like pre x post calcium, >= 0.
        c_pre, c_post: calcium from presynaptic and postsynaptic activity alone, >= 0.
        depression, potentiation: ``A_d``, ``A_p`` of ``Omega``, >= 0.
    """

    KIND: ClassVar[str] = "calcium"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        name: {"low": 0.0} for name in
        ("theta_d", "theta_p", "coincidence", "c_pre", "c_post", "depression", "potentiation")
    }  # fmt: skip
    theta_d: float = SHOUVAL_THETA_D
    theta_p: float = SHOUVAL_THETA_P
    coincidence: float = 1.0
    c_pre: float = 0.0
    c_post: float = 0.0
    depression: float = 0.25
    potentiation: float = 0.75

    def check(self) -> None:
        check_thresholds(self.theta_d, self.theta_p)

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (calcium_three_factor(
            learning_rate, trace_decay, theta_d=self.theta_d, theta_p=self.theta_p,
            coincidence=self.coincidence, c_pre=self.c_pre, c_post=self.c_post,
            depression=self.depression, potentiation=self.potentiation,
        ),)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class BCMRule(SynapseModel):
    """BCM's sliding threshold as the Hebbian term (Bienenstock, Cooper & Munro 1982):
    ``e <- decay e + post (post - theta_M) (x) pre`` with ``theta_M`` a running average of
    ``post^2``, ``dw = lr DA e`` (:func:`plasticgym.calcium.bcm_three_factor`). Flat names
    ``bcm_<field>``.

    Args:
        threshold_time_constant: steps of the running average ``theta_M``, >= 1.
        initial_threshold: ``theta_M`` before any activity, >= 0.
    """

    KIND: ClassVar[str] = "bcm"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "threshold_time_constant": {"low": 1.0},
        "initial_threshold": {"low": 0.0},
    }
    threshold_time_constant: float = 100.0
    initial_threshold: float = 0.25

    def transforms(
        self, learning_rate: Scalar, trace_decay: Scalar
    ) -> tuple[PlasticityTransform, ...]:
        return (bcm_three_factor(
            learning_rate, trace_decay, self.threshold_time_constant, self.initial_threshold
        ),)  # fmt: skip
