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
