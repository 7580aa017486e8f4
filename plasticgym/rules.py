"""Three-factor plasticity: reward-prediction error, dopamine, eligibility traces, weight updates.

Every function is pure and batched over a leading population axis ``B`` (one entry per agent).
Time-indexed names follow rlax: ``v_tm1`` is the value at t-1, ``r_t`` the reward at t.
"""

from __future__ import annotations

from torch import Tensor

Scalar = float | Tensor
"""A hyperparameter: a Python float shared by all agents, or a tensor ``[B]`` (one per agent)."""


def per_agent(value: Scalar, like: Tensor) -> Scalar:
    """Broadcast a hyperparameter against ``like``: ``[B]`` gets trailing singleton axes.

    A float is returned unchanged (it broadcasts by itself); a tensor ``[B]`` becomes
    ``[B, 1, ..., 1]`` with as many axes as ``like`` has.
    """
    if not isinstance(value, Tensor):
        return value
    return value.to(like.dtype).reshape(value.shape + (1,) * (like.dim() - value.dim()))


def td_error(v_tm1: Tensor, r_t: Tensor, discount_t: Tensor, v_t: Tensor) -> Tensor:
    """Temporal-difference reward-prediction error.

    ``delta_t = r_t + discount_t * v_t - v_tm1``  (Sutton 1988; as the dopamine signal: Schultz,
    Dayan & Montague 1997). ``discount_t`` is ``gamma`` for a continuing transition and 0 when
    ``t`` ends the episode.

    Shapes: all ``[B]``.
    """
    return r_t + discount_t * v_t - v_tm1


def dopamine_from_rpe(
    rpe: Tensor, gain_positive: Scalar = 1.0, gain_negative: Scalar = 1.0
) -> Tensor:
    """Phasic dopamine delivered to synapses for a given reward-prediction error.

    ``DA = g+ * max(delta, 0) + g- * min(delta, 0)``. Separate gains for bursts and dips model a
    blunted or asymmetric dopamine response (blunted RPE signals in ageing: Chowdhury et al.
    2013; asymmetric scaling of positive and negative RPEs across dopamine neurons: Dabney et
    al. 2020). Gains of 1 give ``DA = delta``.

    Shapes: ``rpe [B]``; gains float or ``[B]``.
    """
    bursts, dips = rpe.clamp(min=0), rpe.clamp(max=0)
    if not (isinstance(gain_positive, float) and gain_positive == 1.0):  # (1 x is exact)
        bursts = per_agent(gain_positive, rpe) * bursts
    if not (isinstance(gain_negative, float) and gain_negative == 1.0):
        dips = per_agent(gain_negative, rpe) * dips
    return bursts + dips


def eligibility_update(e_tm1: Tensor, post: Tensor, pre: Tensor, decay: Scalar) -> Tensor:
    """Hebbian eligibility trace: a decaying memory of pre x post coincidences.

    ``e_t = decay * e_tm1 + f(post) (x) g(pre)``, i.e. ``e_ij <- decay * e_ij + post_i * pre_j``
    (Klopf 1982; Izhikevich 2007; review: Gerstner et al. 2018). With ``decay = gamma * lambda`` and
    ``post = 1`` this is the accumulating trace of TD(lambda) (Sutton 1988).

    Shapes: ``e_tm1 [B, n_post, n_pre]``, ``post [B, n_post]``, ``pre [B, n_pre]``;
    ``decay`` float or ``[B]``.
    """
    coincidence = post.unsqueeze(-1) * pre.unsqueeze(-2)
    return coincidence.add_(per_agent(decay, e_tm1) * e_tm1)  # (addition commutes exactly)


def three_factor_dw(eligibility: Tensor, dopamine: Tensor, learning_rate: Scalar) -> Tensor:
    """Three-factor weight change: the eligibility trace turns into plasticity only with dopamine.

    ``dw_ij = lr * DA * e_ij`` (Fremaux & Gerstner 2016; Gerstner et al. 2018).

    Shapes: ``eligibility [B, n_post, n_pre]``, ``dopamine [B]``; ``learning_rate`` float or
    ``[B]``. Returns ``[B, n_post, n_pre]``.
    """
    return per_agent(learning_rate, eligibility) * dopamine.reshape(-1, 1, 1) * eligibility


def bounded_dw(weights: Tensor, dw: Tensor, w_min: float, w_max: float) -> Tensor:
    """Hard weight bounds applied to an update: ``dw' = clip(w + dw, w_min, w_max) - w``.

    Synaptic efficacy is finite and an excitatory synapse cannot change sign (Dale's law); hard
    bounds are the simplest model of both (e.g. Izhikevich 2007 caps weights at 4 mV).

    Shapes: ``weights``, ``dw`` ``[B, n_post, n_pre]``.
    """
    return (weights + dw).clamp_(w_min, w_max).sub_(weights)
