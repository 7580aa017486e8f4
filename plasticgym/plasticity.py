"""Plasticity mechanisms as composable ``init/update`` transforms over explicit state.

In the style of optax: a :class:`PlasticityTransform` maps a proposed weight change ``dw`` to a
new one, given the current weights, the step's signals and its own state. Mechanisms are chained
in the order the biology suggests::

    rule = chain(three_factor(lr, trace_decay), synaptic_scaling(...), weight_bounds(0.0, 1.0))
    state = rule.init(weights)
    dw, state = rule.update(torch.zeros_like(weights), state, weights, signals)
    weights = weights + dw

Switching a mechanism off means leaving its transform out of the chain; nothing else changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from plasticgym.homeostasis import (
    drift_integral,
    integral_scaling_dw,
    rate_estimate,
    scaling_dw,
)
from plasticgym.parts import Part
from plasticgym.rules import Scalar, bounded_dw, eligibility_update, three_factor_dw


class PlasticitySignals(NamedTuple):
    """What the synapses of one projection see in one step.

    Attributes:
        pre: presynaptic activity of the step being credited, ``[B, n_pre]``.
        post: postsynaptic Hebbian factor ``f(post)`` of that step, ``[B, n_post]``.
        dopamine: the neuromodulatory third factor delivered now, ``[B]``.
        rate: postsynaptic firing rate, for homeostasis, ``[B, n_post]``.
        active: ``[B]`` bool; False where this step is no transition (the step after an episode
            ended). Inactive agents get ``dw = 0`` and their eligibility traces are cleared.
        events: the task events of the step that the projection's synapse model declares it
            reads (its ``EVENTS``, e.g. ``{"novelty": [B] bool}``), or None when it reads none.
        all_active: optional, ``bool(active.all())`` when the caller knows it (read once per
            step on the CPU instead of once per transform); None: the transforms check.
    """

    pre: Tensor
    post: Tensor
    dopamine: Tensor
    rate: Tensor
    active: Tensor
    events: Mapping[str, Tensor] | None = None
    all_active: bool | None = None


UpdateFn = Callable[[Tensor, Any, Tensor, PlasticitySignals], tuple[Tensor, Any]]


class PlasticityTransform(NamedTuple):
    """A plasticity mechanism: ``init(weights) -> state`` and
    ``update(dw, state, weights, signals) -> (dw, state)``."""

    init: Callable[[Tensor], Any]
    update: UpdateFn


class EligibilityState(NamedTuple):
    """State of :func:`three_factor`: the eligibility trace ``[B, n_post, n_pre]``."""

    trace: Tensor


class ScalingState(NamedTuple):
    """State of :func:`synaptic_scaling`: the running rate estimate ``[B, n_post]``."""

    rate_avg: Tensor


class IntegralScalingState(NamedTuple):
    """State of :func:`integral_synaptic_scaling`: the running rate estimate and the slow
    scaling variable ``z`` (:func:`plasticgym.homeostasis.drift_integral`), both
    ``[B, n_post]``."""

    rate_avg: Tensor
    drift: Tensor


class EmptyState(NamedTuple):
    """State of a stateless transform."""


def _where_active(
    active: Tensor, value: Tensor, otherwise: Tensor | float, all_active: bool | None = None
) -> Tensor:
    """``value`` for active agents, ``otherwise`` for the others (``active [B]`` broadcast over
    ``value [B, ...]``). On the CPU, where checking costs no device sync, a population whose
    agents are all active (almost every step) skips the select; ``all_active`` is that check
    done once by the caller (:attr:`PlasticitySignals.all_active`)."""
    if all_active is None:
        all_active = active.device.type == "cpu" and bool(active.all())
    if all_active:
        return value
    mask = active.view(active.shape + (1,) * (value.dim() - active.dim()))
    return torch.where(mask, value, otherwise)


def three_factor(learning_rate: Scalar, trace_decay: Scalar) -> PlasticityTransform:
    """Eligibility trace x dopamine (see :func:`plasticgym.rules.eligibility_update` and
    :func:`plasticgym.rules.three_factor_dw`).

    Each step first writes the credited step's pre x post coincidence into the trace, then turns
    the trace into a weight change scaled by the dopamine that arrives now:
    ``e_tm1 = decay * e_tm2 + post_tm1 (x) pre_tm1``; ``dw = lr * DA_t * e_tm1``. With dopamine
    equal to the TD error and ``decay = gamma * lambda`` this is TD(lambda) for a critic and the
    actor-critic policy update for an actor (Barto, Sutton & Anderson 1983).
    """

    def init(weights: Tensor) -> EligibilityState:
        return EligibilityState(trace=torch.zeros_like(weights))

    def update(
        dw: Tensor, state: EligibilityState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, EligibilityState]:
        del weights
        trace = eligibility_update(state.trace, signals.post, signals.pre, trace_decay)
        trace = _where_active(signals.active, trace, 0.0, signals.all_active)
        # dw + lr DA e, accumulated into the fresh product (addition commutes exactly)
        return three_factor_dw(trace, signals.dopamine, learning_rate).add_(dw), EligibilityState(
            trace
        )

    return PlasticityTransform(init, update)


def synaptic_scaling(
    target_rate: Scalar, rate_time_constant: Scalar, scaling_rate: Scalar
) -> PlasticityTransform:
    """Homeostatic multiplicative scaling toward ``target_rate`` on a slow rate estimate.

    See :func:`plasticgym.homeostasis.rate_estimate` and :func:`plasticgym.homeostasis.scaling_dw`.
    The scaling acts on the weights as they are after the preceding transforms' changes,
    ``w + dw``, so that the neuron's synapses keep their ratios.
    """

    def init(weights: Tensor) -> ScalingState:
        n_agents, n_post, _ = weights.shape
        target = torch.as_tensor(target_rate, dtype=weights.dtype, device=weights.device)
        rate_avg = target.reshape(-1, 1).expand(n_agents, n_post).clone()
        return ScalingState(rate_avg=rate_avg)

    def update(
        dw: Tensor, state: ScalingState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, ScalingState]:
        all_active = signals.all_active
        new_avg = rate_estimate(state.rate_avg, signals.rate, rate_time_constant)
        rate_avg = _where_active(signals.active, new_avg, state.rate_avg, all_active)
        scaling = scaling_dw(weights + dw, rate_avg, target_rate, scaling_rate)
        scaling = _where_active(signals.active, scaling, 0.0, all_active)
        return scaling.add_(dw), ScalingState(rate_avg)

    return PlasticityTransform(init, update)


def integral_synaptic_scaling(
    target_rate: Scalar, rate_time_constant: Scalar, scaling_rate: Scalar, integral_rate: Scalar
) -> PlasticityTransform:
    """:func:`synaptic_scaling` with a second, slow integral of the rate error added to the
    log scaling factor (:func:`plasticgym.homeostasis.drift_integral`,
    :func:`plasticgym.homeostasis.integral_scaling_dw`): zero steady rate error under a
    constant learning drift of the weights, where the proportional form settles at an offset
    ``drift / scaling_rate``. The integral starts at 0."""

    def init(weights: Tensor) -> IntegralScalingState:
        rate_avg = synaptic_scaling(target_rate, rate_time_constant, scaling_rate).init(weights)
        return IntegralScalingState(rate_avg.rate_avg, torch.zeros_like(rate_avg.rate_avg))

    def update(
        dw: Tensor, state: IntegralScalingState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, IntegralScalingState]:
        all_active = signals.all_active
        new_avg = rate_estimate(state.rate_avg, signals.rate, rate_time_constant)
        rate_avg = _where_active(signals.active, new_avg, state.rate_avg, all_active)
        new_drift = drift_integral(state.drift, rate_avg, target_rate, integral_rate)
        drift = _where_active(signals.active, new_drift, state.drift, all_active)
        scaling = integral_scaling_dw(weights + dw, rate_avg, drift, target_rate, scaling_rate)
        scaling = _where_active(signals.active, scaling, 0.0, all_active)
        return scaling.add_(dw), IntegralScalingState(rate_avg, drift)

    return PlasticityTransform(init, update)


@dataclasses.dataclass(frozen=True)
class SynapticScaling(Part):
    """Homeostatic synaptic scaling of a projection (:func:`synaptic_scaling`; Turrigiano et
    al. 1998), as an agent part: ``PlasticAgent(env, scaling=SynapticScaling(...))``, or
    ``scaling=None`` to switch it off (nothing else changes).

    Args:
        target_rate: the neurons' target rate, > 0, per agent.
        rate_time_constant: steps of the running rate estimate, >= 1, per agent.
        scaling_rate: fraction by which scaling moves the weights per step at a rate error
            equal to the target, in [0, 1), per agent.
        integral_rate: gain of a second, slow integral of the rate error added to the log
            scaling factor (:func:`integral_synaptic_scaling`), >= 0, per agent; 0 (default):
            none, the proportional form :func:`synaptic_scaling` exactly. ``scaling_rate ** 2
            / 4`` is the critically damped choice (no overshoot).
    """

    KIND: ClassVar[str] = "scaling"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "target_rate": {"low": 0.0, "low_open": True},
        "rate_time_constant": {"low": 1.0},
        "scaling_rate": {"low": 0.0, "high": 1.0, "high_open": True},
        "integral_rate": {"low": 0.0, "high": 1.0, "high_open": True},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "target_rate", "rate_time_constant", "scaling_rate", "integral_rate"
    )  # fmt: skip
    FLAT: ClassVar[Mapping[str, str]] = {f: f for f in PER_AGENT}
    target_rate: Any = 0.2
    rate_time_constant: Any = 200.0
    scaling_rate: Any = 1e-3
    integral_rate: Any = 0.0

    def transform(self) -> PlasticityTransform:
        """The scaling transform with this part's (bound) values: the proportional form, or
        with the integral term where ``integral_rate`` is not the number 0."""
        if isinstance(self.integral_rate, float | int) and self.integral_rate == 0:
            return synaptic_scaling(self.target_rate, self.rate_time_constant, self.scaling_rate)
        return integral_synaptic_scaling(self.target_rate, self.rate_time_constant,
                                         self.scaling_rate, self.integral_rate)  # fmt: skip


def weight_bounds(w_min: float, w_max: float) -> PlasticityTransform:
    """Hard bounds (see :func:`plasticgym.rules.bounded_dw`). Put it last in a chain."""
    if not w_min < w_max:
        raise ValueError(f"weight_bounds: need w_min < w_max, got w_min={w_min}, w_max={w_max}")

    def init(weights: Tensor) -> EmptyState:
        del weights
        return EmptyState()

    def update(
        dw: Tensor, state: EmptyState, weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, EmptyState]:
        del signals
        return bounded_dw(weights, dw, w_min, w_max), state

    return PlasticityTransform(init, update)


def chain(*transforms: PlasticityTransform) -> PlasticityTransform:
    """Apply transforms in order; the state is the tuple of their states."""

    def init(weights: Tensor) -> tuple[Any, ...]:
        return tuple(t.init(weights) for t in transforms)

    def update(
        dw: Tensor, state: tuple[Any, ...], weights: Tensor, signals: PlasticitySignals
    ) -> tuple[Tensor, tuple[Any, ...]]:
        new_states = []
        for transform, sub_state in zip(transforms, state, strict=True):
            dw, sub_state = transform.update(dw, sub_state, weights, signals)
            new_states.append(sub_state)
        return dw, tuple(new_states)

    return PlasticityTransform(init, update)
