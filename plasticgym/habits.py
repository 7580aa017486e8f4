"""Value-free habits, goal-directed action values and the arbitration between them.

A habit is a stimulus-response strength that grows with the repetition of an action in a
situation, whatever the action earned (Miller, Shenhav & Ludvig 2019); a goal-directed
evaluation values an action by the outcomes it has been followed by and what those outcomes are
worth now (Dickinson & Balleine 2002; Daw, Niv & Dayan 2005). Both are small pure functions of
batched tensors (leading axis ``B``: agents).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, Self

import torch
from torch import Tensor

from plasticgym.config import check_number, check_per_agent
from plasticgym.parts import Part
from plasticgym.population import Distribution
from plasticgym.rules import Scalar, dopamine_from_rpe, per_agent


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


def dopamine_reward_model_update(
    r_tm1: Tensor,
    stimuli: Tensor,
    reward: Tensor,
    learning_rate: Scalar,
    gain_positive: Scalar,
    gain_negative: Scalar,
) -> Tensor:
    """Stimulus -> reward model taught by a dopamine-carried model-based prediction error:
    ``R <- R + eta DA(r_t - R . c_t) c_t`` with ``DA(e) = g+ [e]+ + g- [e]-``
    (:func:`~plasticgym.rules.dopamine_from_rpe`, the gains of the agent's model-free RPE;
    no tonic term).

    The striatal prediction-error signal carries model-based as well as model-free
    predictions (Daw et al. 2011), dopamine transients are needed to learn model-based
    associations (Sharpe et al. 2017), and ventral striatal presynaptic dopamine goes with
    model-based control (Deserno et al. 2015): so the agent's dopamine gain scales the
    reward model's error as it scales the TD error. Gains of 1 give
    :func:`reward_model_update`.

    Shapes: ``r_tm1 [B, n_stimuli]``, ``stimuli [B, n_stimuli]``, ``reward [B]``; rate and
    gains float or ``[B]``. Returns ``[B, n_stimuli]``.
    """
    error = reward - (r_tm1 * stimuli).sum(dim=1)
    dopamine = dopamine_from_rpe(error, gain_positive, gain_negative)
    return r_tm1 + (per_agent(learning_rate, error) * dopamine).unsqueeze(-1) * stimuli


def goal_values(outcome_model: Tensor, pre: Tensor, outcome_value: Tensor) -> Tensor:
    """Goal-directed action values ``G_a = sum_c (M_a x)_c U_c``: the expected worth of what each
    action brings about in the situation ``x``, with the outcomes valued as they are now
    (Daw, Niv & Dayan 2005).

    Shapes: ``outcome_model [B, n_actions, n_stimuli, n_pre]``, ``pre [B, n_pre]``,
    ``outcome_value [B, n_stimuli]``; returns ``[B, n_actions]``.
    """
    expected = torch.matmul(outcome_model, pre[:, None, :, None]).squeeze(-1)
    return torch.matmul(expected, outcome_value.unsqueeze(-1)).squeeze(-1)


# ---------------------------------------------------------------------------- agent parts


class HabitState(NamedTuple):
    """Habit strengths ``[B, n_actions, n_pre]`` and the rate-correlation statistics."""

    strength: Tensor
    contingency: RateCorrelation


@dataclasses.dataclass(frozen=True)
class Habit(Part):
    """The value-free habit pathway as an agent part (Discrete actions; Miller, Shenhav &
    Ludvig 2019): ``PlasticAgent(env, habit=Habit(...))``; ``None`` (default): no habits.

    A stimulus-response strength ``H x`` per action grows with the repetition of the action in
    the situation ``x``, whatever the reward (:func:`habit_update`), and an arbiter hands it a
    share of control (:func:`habit_arbitration`) that grows with the habits' spread and
    shrinks with the experienced response-outcome rate correlation
    (:func:`rate_correlation_update`).

    Args:
        learning_rate: ``alpha_H`` (flat name ``habit_lr``), in [0, 1].
        weight: inverse temperature of the habit drive relative to ``beta`` (``habit_weight``),
            >= 0.
        arbiter_threshold: habit spread at which the arbiter hands half of the control to
            habits, >= 0.
        arbiter_gain: steepness of the arbiter's sigmoid, >= 0.
        contingency_weight: ``k``: how much the rate correlation keeps control away from
            habits (Dickinson 1985), >= 0; 0: the arbiter reads habit strength alone.
        contingency_window: steps over which response and outcome rates are measured, >= 1.
        contingency_memory: steps over which their correlation is remembered, >= 1.
        contingency_context: index of a stimulus channel that marks where responses can act
            (e.g. HabitFormation-v0's instrumental context, 0): the statistics learn only from
            actions taken while it is on; None: every step counts.

    All but ``contingency_context`` may differ between agents.
    """

    KIND: ClassVar[str] = "habit"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "learning_rate": {"low": 0.0, "high": 1.0},
        "weight": {"low": 0.0},
        "arbiter_threshold": {"low": 0.0},
        "arbiter_gain": {"low": 0.0},
        "contingency_weight": {"low": 0.0},
        "contingency_window": {"low": 1.0},
        "contingency_memory": {"low": 1.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = tuple(LIMITS)
    FLAT: ClassVar[Mapping[str, str]] = {
        "learning_rate": "habit_lr", "weight": "habit_weight",
        "arbiter_threshold": "arbiter_threshold", "arbiter_gain": "arbiter_gain",
        "contingency_weight": "contingency_weight", "contingency_window": "contingency_window",
        "contingency_memory": "contingency_memory", "contingency_context": "contingency_context",
    }  # fmt: skip
    learning_rate: Any = 0.001
    weight: Any = 1.0
    arbiter_threshold: Any = 0.15
    arbiter_gain: Any = 20.0
    contingency_weight: Any = 0.0
    contingency_window: Any = 10.0
    contingency_memory: Any = 200.0
    contingency_context: int | None = None

    def check(self) -> None:
        if self.contingency_context is not None:
            check_number("contingency_context", self.contingency_context, 0, integer=True)

    def bound(self, values: Mapping[str, float | Tensor]) -> Self:
        bound = super().bound(values)
        weight = torch.as_tensor(bound.contingency_weight)
        object.__setattr__(bound, "reads_contingency", bool((weight > 0).any()))
        return bound

    def init(
        self, n_agents: int, n_actions: int, n_pre: int, n_channels: int, device: torch.device
    ) -> HabitState:
        if self.contingency_context is not None and self.contingency_context >= n_channels:
            raise ValueError(
                f"contingency_context={self.contingency_context} is invalid for this task: its "
                f"observation has {n_channels} stimulus channels (indices 0..{n_channels - 1})"
            )
        strength = torch.zeros(n_agents, n_actions, n_pre, device=device)
        stats = rate_correlation_init(n_agents, n_actions, n_channels, device=device)
        return HabitState(strength, stats)

    @staticmethod
    def strengths(state: HabitState, pre: Tensor) -> Tensor:
        """Habit strengths ``H x`` of every action ``[B, n_actions]`` for ``pre [B, n_pre]``."""
        return torch.matmul(state.strength, pre.unsqueeze(-1)).squeeze(-1)

    def share(self, state: HabitState, habits: Tensor) -> Tensor:
        """The arbiter's share of control given to habits, ``[B]``."""
        reads = getattr(self, "reads_contingency", True)
        contingency = action_outcome_contingency(state.contingency) if reads else None
        return habit_arbitration(
            habit_spread(habits), self.arbiter_threshold, self.arbiter_gain, contingency,
            self.contingency_weight,
        )  # fmt: skip

    def control(self, drive: Tensor, state: HabitState, pre: Tensor) -> Tensor:
        """The policy's drive after arbitration: ``(1 - w_H) D + w_H habit_weight H x``."""
        habits = self.strengths(state, pre)
        share = self.share(state, habits).unsqueeze(1)
        return (1.0 - share) * drive + share * per_agent(self.weight, drive) * habits

    def update(
        self,
        state: HabitState,
        chosen: Tensor,
        pre: Tensor,
        onsets: Tensor,
        channels_tm1: Tensor,
        active: Tensor,
    ) -> HabitState:
        """Habit learning on the action ``chosen [B, n_actions]`` taken in the situation ``pre``
        and the rate correlation of actions with the stimulus ``onsets [B, n_channels]`` they
        were followed by (counted only where ``contingency_context`` of ``channels_tm1`` was
        on, if set)."""
        updated = habit_update(state.strength, chosen, pre, self.learning_rate)
        strength = torch.where(active.view(-1, 1, 1), updated, state.strength)
        stats = rate_correlation_update(
            state.contingency, chosen, onsets, self.contingency_window, self.contingency_memory
        )
        counted = active
        if self.contingency_context is not None:
            counted = active & (channels_tm1[:, self.contingency_context] > 0)
        contingency = RateCorrelation(*(
            torch.where(counted.view((-1,) + (1,) * (new.dim() - 1)), new, old)
            for new, old in zip(stats, state.contingency, strict=True)
        ))  # fmt: skip
        return HabitState(strength, contingency)


class GoalState(NamedTuple):
    """Action -> outcome model ``[B, n_actions, n_channels, n_features]`` and stimulus ->
    reward model ``[B, n_channels]``."""

    outcome_model: Tensor
    reward_model: Tensor


@dataclasses.dataclass(frozen=True)
class GoalDirected(Part):
    """Goal-directed evaluation as an agent part (Discrete actions; Daw, Niv & Dayan 2005):
    ``PlasticAgent(env, goal_directed=GoalDirected(...))``; ``None`` (default): none.

    Each action is valued by the stimuli it has been followed by (:func:`outcome_update`) and
    what those are worth now (:func:`goal_values`), so a devalued outcome lowers the value of
    the action that earns it without that action being taken again.

    Args:
        learning_rate: rate of the action -> outcome and stimulus -> reward models (flat name
            ``outcome_lr``), in [0, 1], per agent.
        weight: weight of the goal-directed values in the dopamine-gated pathway's drive
            (``goal_weight``), >= 0, per agent.
        reward_lr: rate of the stimulus -> reward model alone (``goal_reward_lr``), in [0, 1],
            per agent; None (default): ``learning_rate``. The two models need not share a
            rate: in the two-step task the transitions are fixed and the rewards drift, and
            Daw et al.'s (2011) model-based learner tracks the rewards at a rate near 0.5.
        reward_stimuli: which stimuli the reward model credits with a reward
            (``goal_reward_stimuli``): ``"concurrent"`` (default) those that came with it (a
            food pellet delivered with the reward), ``"preceding"`` those present when the
            action that earned it was taken (the second-stage state of the two-step task,
            whose reward arrives with the return to the first stage; Daw et al. 2011). One
            value for every agent.
        reward_dopamine: whether the reward model's prediction error passes through the
            agent's dopamine gains (``goal_reward_dopamine``; :func:`dopamine_reward_model_update`):
            False (default) a two-factor Rescorla-Wagner rule, no dopamine; True a model-based
            prediction error carried by dopamine (Daw et al. 2011; Deserno et al. 2015), so
            that a lower ``dopamine_gain_positive/negative`` slows model-based learning as
            it slows model-free learning. One value for every agent.
    """

    KIND: ClassVar[str] = "goal"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "learning_rate": {"low": 0.0, "high": 1.0},
        "weight": {"low": 0.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = ("learning_rate", "weight")
    FLAT: ClassVar[Mapping[str, str]] = {"learning_rate": "outcome_lr", "weight": "goal_weight"}
    learning_rate: Any = 0.05
    weight: Any = 1.0
    reward_lr: Any = None
    reward_stimuli: str = "concurrent"
    reward_dopamine: bool = False

    REWARD_STIMULI: ClassVar[tuple[str, ...]] = ("concurrent", "preceding")

    def check(self) -> None:
        if self.reward_stimuli not in self.REWARD_STIMULI:
            raise ValueError(
                f"GoalDirected.reward_stimuli={self.reward_stimuli!r} is invalid: choose one of "
                f"{', '.join(self.REWARD_STIMULI)}"
            )
        if not isinstance(self.reward_dopamine, bool):
            raise ValueError(
                f"GoalDirected.reward_dopamine={self.reward_dopamine!r} is invalid: choose True "
                "(the reward model learns from a dopamine-gated error) or False (no dopamine)"
            )
        if self.reward_lr is not None and not isinstance(self.reward_lr, Distribution):
            try:
                value = check_per_agent(
                    self.flat_name("reward_lr"), self.reward_lr, check_number, low=0.0, high=1.0
                )
            except ValueError as error:
                raise ValueError(f"GoalDirected.reward_lr: {error}") from None
            object.__setattr__(self, "reward_lr", value)

    def per_agent_values(self) -> dict[str, Any]:
        """The per-agent fields by flat name, with ``goal_reward_lr`` when it is set."""
        values = super().per_agent_values()
        if self.reward_lr is not None:
            values[self.flat_name("reward_lr")] = self.reward_lr
        return values

    def bound(self, values: Mapping[str, float | Tensor]) -> Self:
        bound = super().bound(values)
        if self.reward_lr is not None:
            object.__setattr__(bound, "reward_lr", values[self.flat_name("reward_lr")])
        return bound

    @staticmethod
    def init(
        n_agents: int, n_actions: int, n_channels: int, n_features: int, device: torch.device
    ) -> GoalState:
        outcome_model = torch.zeros(n_agents, n_actions, n_channels, n_features, device=device)
        return GoalState(outcome_model, torch.zeros(n_agents, n_channels, device=device))

    @staticmethod
    def outcome_values(state: GoalState, onset_value: Tensor, gamma: Scalar) -> Tensor:
        """What each stimulus channel is worth now, ``U_c = R_c + gamma * V_c`` ``[B,
        n_channels]``: the reward it predicts when it appears plus the discounted value the
        critic gives its onset code alone (``onset_value [B, n_channels]``)."""
        return state.reward_model + per_agent(gamma, onset_value) * onset_value

    @staticmethod
    def values(state: GoalState, features: Tensor, outcome_value: Tensor) -> Tensor:
        """Goal-directed action values ``G = (M x) U`` ``[B, n_actions]``."""
        return goal_values(state.outcome_model, features, outcome_value)

    def drive(self, drive: Tensor, goal: Tensor) -> Tensor:
        """The dopamine-gated drive plus the goal-directed values, ``D + goal_weight G``."""
        return drive + per_agent(self.weight, drive) * goal

    def update(
        self,
        state: GoalState,
        chosen: Tensor,
        features_tm1: Tensor,
        onsets: Tensor,
        channels: Tensor,
        reward: Tensor,
        active: Tensor,
        channels_tm1: Tensor | None = None,
        dopamine_gains: tuple[Scalar, Scalar] | None = None,
    ) -> GoalState:
        """The action taken in ``features_tm1`` learns the stimulus ``onsets`` that followed
        it; the reward model learns the reward that came with the ``channels`` (or, with
        ``reward_stimuli="preceding"``, the reward earned in ``channels_tm1``, the stimuli of
        the step the action was taken in), with ``reward_dopamine`` through the agent's
        ``dopamine_gains`` ``(g+, g-)``."""
        keep = active.view(-1, 1, 1)
        updated = outcome_update(
            state.outcome_model, chosen, features_tm1, onsets, self.learning_rate
        )
        outcome_model = torch.where(keep.unsqueeze(-1), updated, state.outcome_model)
        stimuli = channels
        if self.reward_stimuli == "preceding":
            if channels_tm1 is None:
                raise ValueError('reward_stimuli="preceding" needs channels_tm1')
            stimuli = channels_tm1
        rate = self.learning_rate if self.reward_lr is None else self.reward_lr
        if self.reward_dopamine:
            if dopamine_gains is None:
                raise ValueError("reward_dopamine=True needs dopamine_gains")
            updated = dopamine_reward_model_update(
                state.reward_model, stimuli, reward, rate, *dopamine_gains
            )
        else:
            updated = reward_model_update(state.reward_model, stimuli, reward, rate)
        return GoalState(outcome_model, torch.where(keep[:, 0], updated, state.reward_model))
