"""Value-free habits, goal-directed action values and the arbitration between them.

A habit is a stimulus-response strength that grows with the repetition of an action in a
situation, whatever the action earned (Miller, Shenhav & Ludvig 2019); a goal-directed
evaluation values an action by the outcomes it has been followed by and what those outcomes are
worth now (Dickinson & Balleine 2002; Daw, Niv & Dayan 2005). Both are small pure functions of
batched tensors (leading axis ``B``: agents).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from plasticgym.rules import Scalar, per_agent


def habit_update(h_tm1: Tensor, chosen: Tensor, pre: Tensor, learning_rate: Scalar) -> Tensor:
    """Two-factor Hebbian habit learning: ``H <- H + alpha_H (a_t - H x_t) (x) x_t``.

    Miller, Shenhav & Ludvig (2019, eq. 1) move the habit strength of every action in the
    current state toward the action taken, ``H(s, a) <- H(s, a) + alpha_H (a_t(a) - H(s, a))``
    with ``a_t(a) = 1`` for the action taken and 0 otherwise: no reward enters. With a
    presynaptic code ``x`` in place of the state this is the delta rule over synapses ``H``
    (one-hot ``x`` gives the tabular rule back).

    Shapes: ``h_tm1 [B, n_actions, n_pre]``, ``chosen [B, n_actions]`` (one-hot of the action
    taken), ``pre [B, n_pre]``; ``learning_rate`` float or ``[B]``. Returns ``[B, n_actions,
    n_pre]``.
    """
    strength = torch.matmul(h_tm1, pre.unsqueeze(-1)).squeeze(-1)
    rate = per_agent(learning_rate, strength)
    return h_tm1 + (rate * (chosen - strength)).unsqueeze(-1) * pre.unsqueeze(1)


def habit_spread(strength: Tensor) -> Tensor:
    """How strongly habits favour some actions over others: ``mean_a |H_a - mean_b H_b|``.

    Shapes: ``strength [B, n_actions]``; returns ``[B]`` (0 when all actions are equally
    habitual, as before any training).
    """
    return (strength - strength.mean(dim=1, keepdim=True)).abs().mean(dim=1)


def habit_arbitration(
    spread: Tensor,
    threshold: Scalar,
    gain: Scalar,
    contingency: Tensor | None = None,
    contingency_weight: Scalar = 0.0,
) -> Tensor:
    """Share of control given to the habit pathway:
    ``w_H = sigmoid(gain * (spread - threshold - k * contingency))``.

    After Miller, Shenhav & Ludvig's (2019) arbiter: control passes to the habit controller as
    its habit strengths come to favour some actions (``spread``, see :func:`habit_spread`)
    beyond ``threshold``, and stays with the goal-directed controller the more strongly the
    actions are seen to govern their outcomes (``contingency``, e.g.
    :func:`action_outcome_contingency`, weighted by ``k = contingency_weight``; ``k = 0`` reads
    the habits alone). The dopamine-gated pathway keeps ``1 - w_H``.

    Shapes: ``spread [B]``, ``contingency [B]`` or None; ``threshold``, ``gain``,
    ``contingency_weight`` float or ``[B]``. Returns ``[B]`` in (0, 1).
    """
    margin = spread - per_agent(threshold, spread)
    if contingency is not None:
        margin = margin - per_agent(contingency_weight, spread) * contingency
    return torch.sigmoid(per_agent(gain, spread) * margin)


class RateCorrelation(NamedTuple):
    """Running statistics of the response-outcome rate correlation (see
    :func:`rate_correlation_update`): rates over a short window and their means, variances and
    covariances over a longer memory. Shapes ``[B, n_actions]``, ``[B, n_outcomes]`` and
    ``covariance [B, n_actions, n_outcomes]``."""

    action_rate: Tensor
    outcome_rate: Tensor
    action_mean: Tensor
    outcome_mean: Tensor
    action_var: Tensor
    outcome_var: Tensor
    covariance: Tensor


def rate_correlation_init(
    n_agents: int, n_actions: int, n_outcomes: int, device: torch.device | str = "cpu"
) -> RateCorrelation:
    """Statistics before any experience (all zero: no correlation)."""
    actions = torch.zeros(n_agents, n_actions, device=device)
    outcomes = torch.zeros(n_agents, n_outcomes, device=device)
    return RateCorrelation(
        actions, outcomes, actions.clone(), outcomes.clone(), actions.clone(), outcomes.clone(),
        torch.zeros(n_agents, n_actions, n_outcomes, device=device),
    )  # fmt: skip


def rate_correlation_update(
    state: RateCorrelation, chosen: Tensor, outcome: Tensor, window: Scalar, memory: Scalar
) -> RateCorrelation:
    """One step of the experienced response-outcome rate correlation (Dickinson 1985; Perez &
    Dickinson 2020).

    Response and outcome rates are exponential averages over ``window`` steps,
    ``r_a <- r_a + (a_t - r_a) / window`` and ``r_c <- r_c + (c_t - r_c) / window``; their means
    ``m``, variances and covariance are exponential averages over ``memory`` steps,
    ``m <- m + (r - m) / memory``, ``S_ac <- S_ac + ((r_a - m_a)(r_c - m_c) - S_ac) / memory``.
    On a ratio schedule the outcome rate follows the response rate; on an interval schedule it
    is capped by the schedule, and the correlation is weaker at the same rate of outcomes.

    Shapes: ``chosen [B, n_actions]`` (one-hot of the action taken), ``outcome [B,
    n_outcomes]`` (outcome onsets this step); ``window``, ``memory`` float or ``[B]``, >= 1.
    """
    fast, slow = 1.0 / per_agent(window, chosen), 1.0 / per_agent(memory, chosen)
    action_rate = state.action_rate + fast * (chosen - state.action_rate)
    outcome_rate = state.outcome_rate + fast * (outcome - state.outcome_rate)
    action_mean = state.action_mean + slow * (action_rate - state.action_mean)
    outcome_mean = state.outcome_mean + slow * (outcome_rate - state.outcome_mean)
    action_dev, outcome_dev = action_rate - action_mean, outcome_rate - outcome_mean
    co_deviation = action_dev.unsqueeze(-1) * outcome_dev.unsqueeze(1)
    slow_pairs = 1.0 / per_agent(memory, co_deviation)
    return RateCorrelation(
        action_rate, outcome_rate, action_mean, outcome_mean,
        state.action_var + slow * (action_dev.square() - state.action_var),
        state.outcome_var + slow * (outcome_dev.square() - state.outcome_var),
        state.covariance + slow_pairs * (co_deviation - state.covariance),
    )  # fmt: skip


def rate_correlation(state: RateCorrelation, eps: float = 1e-8) -> Tensor:
    """Correlation of every action's rate with every outcome's rate,
    ``rho_ac = S_ac / sqrt(S_aa S_cc + eps)``, ``[B, n_actions, n_outcomes]`` (0 where either
    rate has not varied)."""
    variance = state.action_var.unsqueeze(-1) * state.outcome_var.unsqueeze(1)
    return state.covariance / torch.sqrt(variance + eps)


def action_outcome_contingency(state: RateCorrelation) -> Tensor:
    """How strongly some action governs some outcome: ``max(0, max_{a,c} rho_ac)`` ``[B]``
    (:func:`rate_correlation`), the goal-directed controller's strength in the arbiter."""
    return rate_correlation(state).flatten(1).amax(dim=1).clamp(min=0.0)


def outcome_update(
    m_tm1: Tensor, chosen: Tensor, pre: Tensor, outcome: Tensor, learning_rate: Scalar
) -> Tensor:
    """Action -> outcome association in a situation:
    ``M_a <- M_a + eta [a_tm1 = a] (c_t - M_a x_tm1) (x) x_tm1``.

    The action taken at ``t-1`` in the situation coded by ``x_tm1`` learns which stimuli
    ``c_t`` followed it: a Hebbian association between action, situation and outcome,
    normalised as a delta rule so that ``M_a x`` estimates ``E[c_t | a_tm1 = a, x_tm1 = x]``
    (the action-outcome contingency of Daw, Niv & Dayan 2005 and Miller, Shenhav & Ludvig
    2019). Only the action taken learns; what followed an action in one situation (an outcome
    delivered while the levers are absent) is not credited to it in another.

    Shapes: ``m_tm1 [B, n_actions, n_stimuli, n_pre]``, ``chosen [B, n_actions]`` one-hot,
    ``pre [B, n_pre]``, ``outcome [B, n_stimuli]``; returns ``m_tm1``'s shape.
    """
    predicted = torch.matmul(m_tm1, pre[:, None, :, None]).squeeze(-1)
    error = chosen.unsqueeze(-1) * (outcome.unsqueeze(1) - predicted)
    rate = per_agent(learning_rate, m_tm1)
    return m_tm1 + rate * error.unsqueeze(-1) * pre[:, None, None, :]


def reward_model_update(
    r_tm1: Tensor, stimuli: Tensor, reward: Tensor, learning_rate: Scalar
) -> Tensor:
    """Stimulus -> reward model: ``R <- R + eta (r_t - R . c_t) c_t`` (Rescorla & Wagner 1972).

    Shapes: ``r_tm1 [B, n_stimuli]``, ``stimuli [B, n_stimuli]``, ``reward [B]``; returns
    ``[B, n_stimuli]``.
    """
    error = reward - (r_tm1 * stimuli).sum(dim=1)
    return r_tm1 + (per_agent(learning_rate, error) * error).unsqueeze(-1) * stimuli


def goal_values(outcome_model: Tensor, pre: Tensor, outcome_value: Tensor) -> Tensor:
    """Goal-directed action values ``G_a = sum_c (M_a x)_c U_c``: the expected worth of what each
    action brings about in the situation ``x``, with the outcomes valued as they are now
    (Daw, Niv & Dayan 2005).

    Shapes: ``outcome_model [B, n_actions, n_stimuli, n_pre]``, ``pre [B, n_pre]``,
    ``outcome_value [B, n_stimuli]``; returns ``[B, n_actions]``.
    """
    expected = torch.matmul(outcome_model, pre[:, None, :, None]).squeeze(-1)
    return torch.matmul(expected, outcome_value.unsqueeze(-1)).squeeze(-1)
