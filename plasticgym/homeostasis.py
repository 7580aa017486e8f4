"""Homeostatic synaptic scaling (Turrigiano et al. 1998).

A neuron keeps a slow running estimate of its own firing rate and multiplies all its excitatory
synapses by a common factor that moves the estimate toward a target rate. Because the factor is
shared by all synapses of a neuron, scaling preserves their rank order and ratios.
"""

from __future__ import annotations

import torch
from torch import Tensor

from plasticgym.rules import Scalar, per_agent


def rate_estimate(rate_avg_tm1: Tensor, rate_t: Tensor, time_constant: Scalar) -> Tensor:
    """Slow running estimate of a neuron's firing rate (an exponential moving average).

    ``a_t = a_tm1 + (r_t - a_tm1) / tau`` with ``tau`` in steps (van Rossum, Bi & Turrigiano
    2000, eq. 3; the calcium-like sensor of Turrigiano 2008).

    Shapes: ``rate_avg_tm1``, ``rate_t`` ``[B, n_post]``; ``time_constant`` float or ``[B]``.
    """
    return rate_avg_tm1 + (rate_t - rate_avg_tm1) / per_agent(time_constant, rate_avg_tm1)


def scaling_dw(
    weights: Tensor, rate_avg: Tensor, target_rate: Scalar, scaling_rate: Scalar
) -> Tensor:
    """Multiplicative synaptic scaling toward a target rate (simplified van Rossum et al.).

    ``w_ij <- w_ij * exp(eta * (r* - a_i) / r*)``, i.e.
    ``dw_ij = w_ij * (exp(eta * (r* - a_i) / r*) - 1)``. To first order this is
    ``dw = eta * w * (r* - a) / r*``, the proportional term of van Rossum, Bi & Turrigiano
    (2000, eq. 2; their integral term is left out, and the rate error is normalised by the
    target). The exponential keeps the factor positive, and its exponent is clamped to
    ``[-1, 1]`` per step, so a huge rate error shrinks weights by at most ``e`` per step and
    never flips or zeroes them. Every synapse of neuron ``i`` is multiplied by the same factor:
    scaled up when the neuron fires below target (activity blockade with TTX), down when above
    (bicuculline) (Turrigiano et al. 1998). An input that is completely silent cannot be
    rescued by scaling: there is nothing to multiply.

    Shapes: ``weights [B, n_post, n_pre]``, ``rate_avg [B, n_post]``; ``target_rate`` and
    ``scaling_rate`` float or ``[B]``. Returns ``[B, n_post, n_pre]``.
    """
    target = per_agent(target_rate, rate_avg)
    log_factor = per_agent(scaling_rate, rate_avg) * (target - rate_avg) / target
    return torch.expm1(log_factor.clamp(-1.0, 1.0)).unsqueeze(-1) * weights


def drift_integral(
    drift_tm1: Tensor, rate_avg: Tensor, target_rate: Scalar, integral_rate: Scalar
) -> Tensor:
    """A slow scaling variable that integrates the neuron's rate error.

    ``z_t = z_tm1 + eta_I (r* - a_t) / r*``, clamped to ``[-1, 1]`` (anti-windup: the weight
    bounds can stop the weights from following it). ``z`` is added to the log scaling factor
    of every step (:func:`integral_scaling_dw`), so the weights' log follows
    ``d log w / dt = eta (r* - a) / r* + z``: ``log w`` already integrates the rate error
    once (the integral control of O'Leary & Wyllie 2011 and O'Leary et al. 2014, a calcium
    sensor driving a conductance), which holds a neuron at its target against a step
    disturbance but not against a constant learning drift ``d`` of ``log w`` (a ramp), where
    it settles at ``(a - r*) / r* = d / eta``. The second integral ``z`` learns ``-d``, so the
    steady rate error under a constant drift is zero (a type-2 loop), on the loop's slow time
    scale: linearised, ``x'' + eta x' + eta_I x = d'`` for the rate error ``x``, critically
    damped at ``eta_I = eta ** 2 / 4`` with settling ``exp(-eta t / 2)``; no integral gain
    settles faster than ``2 / eta`` steps without ringing (the compensatory processes on
    several time scales of Zenke & Gerstner 2017).

    Shapes: ``drift_tm1``, ``rate_avg`` ``[B, n_post]``; ``target_rate``, ``integral_rate``
    float or ``[B]``.
    """
    target = per_agent(target_rate, rate_avg)
    error = (target - rate_avg) / target
    return (drift_tm1 + per_agent(integral_rate, rate_avg) * error).clamp(-1.0, 1.0)


def integral_scaling_dw(
    weights: Tensor, rate_avg: Tensor, drift: Tensor, target_rate: Scalar, scaling_rate: Scalar
) -> Tensor:
    """Multiplicative scaling with the proportional and the integral term.

    ``dw_ij = w_ij * (exp(clamp(eta (r* - a_i) / r* + z_i, -1, 1)) - 1)``: :func:`scaling_dw`
    with the slow variable ``z`` of :func:`drift_integral` added to the log factor (one factor
    per neuron, so the neuron's synapses keep their ratios). With ``z = 0`` it is
    :func:`scaling_dw`.

    Shapes: ``weights [B, n_post, n_pre]``, ``rate_avg``, ``drift`` ``[B, n_post]``;
    ``target_rate``, ``scaling_rate`` float or ``[B]``. Returns ``[B, n_post, n_pre]``.
    """
    target = per_agent(target_rate, rate_avg)
    log_factor = per_agent(scaling_rate, rate_avg) * (target - rate_avg) / target + drift
    return torch.expm1(log_factor.clamp(-1.0, 1.0)).unsqueeze(-1) * weights
