"""Presynaptic temporal codes: stimulus traces and microstimuli.

Delayed reward needs the presynaptic side to carry a memory of the cue: the cue spawns a trace
that decays, and a bank of units tuned to the trace's height ("microstimuli") tiles the time
since the cue, each unit weaker and broader the later it peaks (Ludvig, Sutton & Kehoe 2008).
"""

from __future__ import annotations

import torch
from torch import Tensor


def stimulus_trace(trace_tm1: Tensor, x_t: Tensor, decay: Tensor | float) -> Tensor:
    """Memory trace of stimuli, restarted by their presence and decaying exponentially.

    ``y_t = max(x_t, decay * y_tm1)`` (Ludvig, Sutton & Kehoe 2008, eq. 1: the trace is set by
    stimulus onset and decays by a fixed factor per step; holding it at ``x_t`` while the stimulus
    is on generalises this to stimuli longer than one step). A vector of decays gives traces with
    several time constants, ``tau_k = -1 / ln(decay_k)`` steps.

    Shapes: ``trace_tm1 [B, n, K]``, ``x_t [B, n]``, ``decay`` float or ``[K]``; returns
    ``[B, n, K]``.
    """
    if not isinstance(decay, float):  # (a float multiplies as the same float32 number)
        decay = torch.as_tensor(decay, dtype=trace_tm1.dtype, device=trace_tm1.device)
    return torch.maximum(x_t.unsqueeze(-1), decay * trace_tm1)


def microstimuli(trace: Tensor, centers: Tensor, width: float) -> Tensor:
    """Microstimulus code of a stimulus trace (Ludvig, Sutton & Kehoe 2008, eq. 2, simplified).

    ``m_i = y * exp(-(y - c_i)^2 / (2 * width^2))`` (Ludvig et al.'s Gaussian without its
    ``1 / sqrt(2 pi)`` normalisation; the centres are the caller's): unit ``i`` responds when
    the trace height
    ``y`` is near its centre ``c_i``, so successive units fire at successively later times after
    the stimulus, with amplitude falling and tuning widening in time.

    Shapes: ``trace [...]``, ``centers [M]``; returns ``[..., M]``.
    """
    y = trace.unsqueeze(-1)
    # Exponents below -60 (a factor < 1e-26) are clamped: exp() takes a slow path for very
    # negative arguments on some CPUs, and the result is zero to any precision that matters.
    # (in place on one fresh tensor: the same operations as
    # y * exp(clamp(-((y - c) ** 2) / (2 width^2), min=-60)), without a temporary per step)
    unit = (y - centers).pow_(2).neg_().div_(2.0 * width**2).clamp_(min=-60.0)
    return unit.exp_().mul_(y)
