"""Read-outs of a PlasticAgent for analysis: its synapses, rates, beliefs, habits and the
goal-directed values, each for the current observation."""

from __future__ import annotations

import torch
from torch import Tensor

from plasticgym.habits import GoalDirected
from plasticgym.traces import microstimuli


class PlasticReadouts:
    """The inspection methods of :class:`~plasticgym.agents.PlasticAgent` (a mixin: it reads
    the agent's projections and part states)."""

    @property
    def critic_weights(self) -> Tensor:
        """Critic synapses ``[n_agents, 1, n_features]`` (``n_features`` counts every latent
        cause's block of the code, cause-major)."""
        return self.critic.weights

    @property
    def actor_weights(self) -> Tensor:
        """Actor synapses ``[n_agents, n_actions, n_features + 1]`` (last column: tonic input)."""
        return self.actor.weights

    @property
    def rates(self) -> Tensor | None:
        """The actor's firing rates for the current observation, ``[B, n_actions]`` (None
        before the first ``learn``)."""
        return None if self._rollout is None else self._rollout.rates.clone()

    @property
    def actor_input(self) -> Tensor | None:
        """The actor's presynaptic input for the current observation, ``[B, n_features + 1]``:
        the code plus the tonic input (None before the first ``learn``)."""
        return None if self._rollout is None else self._rollout.actor_input.clone()

    def cause_posterior(self) -> Tensor:
        """Each agent's belief in each latent cause for the current observation,
        ``[n_agents, max_causes]`` (0 for causes not formed yet; ones ``[n_agents, 1]``
        without latent causes)."""
        if self.causes is None:
            return torch.ones(self.n_agents, 1, device=self.device)
        return self.causes.posterior.clone()

    def habits(self, actor_input: Tensor) -> Tensor:
        """Habit strengths ``H x`` of every action, ``[B, n_actions]``, for the actor input
        ``[B, n_features + 1]`` (the code plus the tonic input); needs the habit part."""
        if self.habit_state is None:
            raise ValueError("habits() needs the habit pathway (habit=Habit(...) or habit=True)")
        return self.habit.strengths(self.habit_state, actor_input)

    def habit_share(self) -> Tensor | None:
        """The arbiter's share of control given to habits, ``[B]``, for the current observation
        (None before the first ``learn`` or without the habit part)."""
        if self._rollout is None or self.habit is None:
            return None
        return self.habit.share(self.habit_state, self.habits(self._rollout.actor_input))

    def outcome_values(self) -> Tensor:
        """What each stimulus channel is worth now, ``U_c = R_c + gamma * V_c``,
        ``[B, n_channels]`` (:meth:`GoalDirected.outcome_values`): the reward it predicts when
        it appears plus the discounted value the critic gives its onset code alone."""
        centers = self.encoder.centers(self.device)
        onset = microstimuli(torch.ones((), device=self.device), centers, self.encoder.width)
        weights = self.critic.weights.view(self.n_agents, self.encoder.n_channels, -1)
        onset_value = torch.matmul(weights, onset)
        return GoalDirected.outcome_values(self.goal_state, onset_value, self._hyper["gamma"])

    def goal_directed_values(self, features: Tensor) -> Tensor:
        """Goal-directed action values ``G = (M x) U`` (:func:`goal_values`), ``[B, n_actions]``,
        for the presynaptic code ``x`` ``[B, n_features]`` (no tonic input: an action is
        associated with outcomes in the situations the stimuli describe, nowhere else)."""
        return GoalDirected.values(self.goal_state, features, self.outcome_values())
