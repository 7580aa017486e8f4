"""Dopamine models: how a reward-prediction error becomes the signal that reaches synapses.

``"td"`` (Schultz, Dayan & Montague 1997) delivers the TD error itself. The addiction models add
what a drug does to dopamine: a non-compensable surge (Redish 2004), a surge whose long-run
effect is absorbed by a rising basal reward level (Dezfouli et al. 2009), or reward defined as
the reduction of a homeostatic drive over the internal drug level (Keramati & Gutkin 2014).
All functions are pure and batched over agents (shapes ``[B]``).
"""

from __future__ import annotations

from torch import Tensor

from plasticgym.rules import Scalar, per_agent

DOPAMINE_MODELS = ("td", "redish", "average_reward", "homeostatic")


def redish_dopamine(delta: Tensor, surge: Scalar, drug: Tensor) -> Tensor:
    """Non-compensable drug surge (Redish 2004, eq. 2).

    ``DA = max(delta + D, D)`` at a drug delivery, ``delta`` otherwise. Because ``DA >= D > 0``
    on every drug step, no learned prediction can cancel it and the value of drug-taking grows
    without bound.

    Shapes: ``delta [B]``, ``drug [B]`` bool; ``surge`` float or ``[B]``.
    """
    surge_t = per_agent(surge, delta) * drug
    return (delta + surge_t).where(~drug, (delta + surge_t).maximum(surge_t))


def average_reward_delta(
    v_tm1: Tensor, r_t: Tensor, v_t: Tensor, not_terminal_t: Tensor, rho: Tensor
) -> Tensor:
    """Average-reward TD error (Tsitsiklis & Van Roy 1999; Daw & Touretzky 2002).

    ``delta = r_t - rho + V(s_t) - V(s_tm1)``: no discounting; ``rho`` is the running average
    reward. ``not_terminal_t`` (0 at the end of an episode) drops ``V(s_t)``.
    """
    return r_t - rho + not_terminal_t * v_t - v_tm1


def dezfouli_dopamine(delta: Tensor, surge: Scalar, drug: Tensor, kappa: Tensor) -> Tensor:
    """Drug surge against an elevated basal reward level (after Dezfouli et al. 2009).

    ``DA = max(delta + D, D) - kappa`` at a drug delivery and ``delta - kappa`` otherwise, where
    ``kappa`` is the drug-induced elevation of the basal reward level (see
    :func:`basal_level_update`). The surge still cannot be predicted away, but as ``kappa``
    rises with drug exposure it offsets it, so values stay bounded, and natural rewards are
    devalued. (Simplified: one drug, one adaptation variable.)
    """
    return redish_dopamine(delta, surge, drug) - kappa


def running_average(average: Tensor, value: Tensor, rate: Scalar) -> Tensor:
    """Exponential running average: ``a <- a + rate * (x - a)``.

    Used for the average reward ``rho`` (Daw & Touretzky 2002) and the basal-level elevation
    ``kappa <- kappa + rate * (D * drug - kappa)`` (Dezfouli et al. 2009).
    """
    return average + per_agent(rate, average) * (value - average)


def homeostatic_drive(level: Tensor, setpoint: Scalar, n: float, m: float) -> Tensor:
    """Homeostatic drive over one internal variable (Keramati & Gutkin 2014, eq. 1).

    ``D(h) = (|h* - h|^n)^(1/m)`` with ``n > m > 1``: the distance of the internal state from
    its setpoint, convex so that large deviations weigh more.
    """
    return ((per_agent(setpoint, level) - level).abs() ** n) ** (1.0 / m)


def allostatic_setpoint(setpoint: Scalar, allostasis: Tensor, gain: Scalar) -> Tensor:
    """Setpoint displaced by drug exposure: ``h*_t = h*_0 + g * A_t``.

    ``A`` is a slow running average of the internal drug level (:func:`running_average`,
    ``A <- A + eta (h - A)``), so the setpoint rises with the time spent under the drug and
    returns to ``h*_0`` in abstinence: the allostatic shift of the hedonic set point that
    Ahmed & Koob (1998) proposed for the escalation of intake with long access (Koob & Le Moal
    2001). In the homeostatic model (:func:`homeostatic_drive`) a higher setpoint makes more
    drug needed to reduce the drive. ``g = 0`` keeps the setpoint fixed.

    Shapes: ``allostasis [B]``; ``setpoint``, ``gain`` float or ``[B]``. Returns ``[B]``.
    """
    return per_agent(setpoint, allostasis) + per_agent(gain, allostasis) * allostasis


def drive_reduction_reward(drive_tm1: Tensor, drive_t: Tensor, gain: Scalar) -> Tensor:
    """Reward as drive reduction (Keramati & Gutkin 2014, eq. 2): ``r = g * (D(h_tm1) - D(h_t))``.

    Approaching the setpoint is rewarding and overshooting it is punishing, so the value of
    taking a drug stays bounded and depends on the internal state.
    """
    return per_agent(gain, drive_t) * (drive_tm1 - drive_t)
