"""How PlasticAgent's actor neurons become actions, and the inputs ``predict`` accepts.

Discrete actions (Barto, Sutton & Anderson 1983): ``a ~ pi`` by inverse-CDF sampling, and the
actor's Hebbian post factor is ``onehot(a)``, with ``actor_post="centered"``
``onehot(a) - pi`` (the softmax policy gradient; Williams 1992), or with ``actor_post="rate"``
``onehot(a) * rates``, the firing rate of the neuron whose action was taken (a rate-based
Hebbian term, :func:`hebbian_post`). Box actions (node
perturbation: Fiete & Seung 2006; Legenstein et al. 2010; a Gaussian policy as in Williams
1992): ``a = clip(rates + sigma * xi, low, high)`` and the post factor is the perturbation
``a - rates``, so ``dw = lr * DA * (a - rates) (x) x``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.encoding import EncoderState, MicrostimulusEncoder
from plasticgym.rules import Scalar, per_agent


class ActionReadout(NamedTuple):
    """The actor's readout for one action space: Box (``continuous``, bounds ``[n]``) or
    Discrete, the number of actor neurons and the Hebbian post factor (``post``, one of
    :data:`POST_FACTORS`; Box actions always use the perturbation)."""

    continuous: bool
    n_actions: int
    low: Tensor | None
    high: Tensor | None
    post: str

    @classmethod
    def for_space(cls, space: gym.Space, post: str, device: torch.device) -> ActionReadout:
        """One actor neuron per discrete action or per dimension of a 1-d bounded Box."""
        if post not in POST_FACTORS:
            raise ValueError(f"actor_post={post!r} is invalid: choose one of {list(POST_FACTORS)}")
        if isinstance(space, gym.spaces.Box) and post == "rate":
            raise ValueError(
                f"actor_post='rate' needs a Discrete action space (a Box action's post factor "
                f"is its perturbation, node perturbation), got {space}"
            )
        if isinstance(space, gym.spaces.Box):
            finite = np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
            if len(space.shape) != 1 or not finite:
                raise ValueError(f"PlasticAgent needs a 1-d bounded Box of rates, got {space}")
            bounds = {"dtype": torch.float32, "device": device}
            low = torch.as_tensor(space.low, **bounds)
            return cls(True, int(space.shape[0]), low, torch.as_tensor(space.high, **bounds),
                       post)  # fmt: skip
        if isinstance(space, gym.spaces.Discrete):
            return cls(False, int(space.n), None, None, post)
        raise ValueError(f"PlasticAgent needs a Discrete or a 1-d Box action space, got {space}")

    def select(
        self, rates: Tensor, probs: Tensor, sigma: Scalar, generator: torch.Generator
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Actions while learning, the post factor and the one-hot of the chosen action
        (zeros for Box actions)."""
        if self.continuous:
            actions = self.perturb(rates, sigma, generator)
            return actions, actions - rates, torch.zeros_like(rates)
        actions = sample(probs, generator)
        # one_hot(actions) without one_hot's range check (sample's actions are in range)
        chosen = torch.zeros_like(probs).scatter_(1, actions.unsqueeze(1), 1.0)
        return actions, hebbian_post(self.post, chosen, probs, rates), chosen

    def act(
        self,
        rates: Tensor,
        probs: Tensor,
        sigma: Scalar,
        deterministic: bool,
        generator: torch.Generator,
    ) -> Tensor:
        """Actions for ``predict``: the clipped rates or the most probable action when
        ``deterministic``, else as in learning."""
        if self.continuous and deterministic:
            return torch.clamp(rates, self.low, self.high)
        if self.continuous:
            return self.perturb(rates, sigma, generator)
        return probs.argmax(dim=1) if deterministic else sample(probs, generator)

    def perturb(self, rates: Tensor, sigma: Scalar, generator: torch.Generator) -> Tensor:
        """Exploratory output for Box actions: ``clip(rates + sigma * xi, low, high)``."""
        noise = torch.randn(rates.shape, generator=generator, device=rates.device)
        return torch.clamp(rates + per_agent(sigma, rates) * noise, self.low, self.high)


POST_FACTORS = ("chosen", "centered", "rate")
"""The actor's Hebbian post factors for Discrete actions (``actor_post``)."""


def hebbian_post(kind: str, chosen: Tensor, probs: Tensor, rates: Tensor) -> Tensor:
    """The actor's Hebbian postsynaptic factor ``f(post)`` for a Discrete choice, ``[B, n]``.

    ``chosen = onehot(a)``, ``probs = pi``, ``rates = r = relu(W [x, 1])`` (all ``[B, n]``):

    - ``"chosen"``: ``f = onehot(a)``, an efference copy of the choice (Barto 1995; Suri &
      Schultz 1999). It does not depend on the rates, so ``dw = lr DA e`` has no rate ->
      plasticity feedback.
    - ``"centered"``: ``f = onehot(a) - pi``, the softmax policy gradient (Williams 1992).
    - ``"rate"``: ``f_i = [a = i] r_i``: the neuron whose action was taken fires at its rate
      (a rectified-linear function of its drive, bounded through ``w <= w_max``), the others
      are silenced by the competition that chose the action (winner-take-all). The Hebbian
      term ``f (x) x`` then grows with the weights, ``r_a = w_a . [x, 1]``, so a positive
      average of ``DA e`` gives ``dw_a ~ w_a``: exponential growth, the Hebbian instability
      (positive feedback) that needs a homeostatic counterweight (Abbott & Nelson 2000;
      Turrigiano 2008; on how slow that counterweight may be: Zenke, Gerstner & Ganguli 2017).
    """
    if kind == "chosen":
        return chosen
    if kind == "centered":
        return chosen - probs
    if kind == "rate":
        return chosen * rates
    raise ValueError(f"actor_post={kind!r} is invalid: choose one of {list(POST_FACTORS)}")


def annealed_inverse_temperature(
    beta: Scalar, beta_final: float, episodes: Tensor, first: int, last: int
) -> Tensor:
    """The softmax's inverse temperature after ``episodes [B]`` completed episodes, rising
    linearly from ``beta`` (per agent or one number) to ``beta_final`` between episodes
    ``first`` and ``last``: ``beta_n = beta + (beta_final - beta) clip((n - first) / (last -
    first), 0, 1)``, ``[B]``. Exploration that falls with practice, as in the annealed softmax
    of RL (Sutton & Barto 2018, sec. 2.8; Kaelbling, Littman & Moore 1996, sec. 6.1) and in
    Doya's (2002) proposal that a neuromodulator (noradrenaline) sets the inverse temperature
    as experience accumulates."""
    progress = ((episodes.to(torch.float32) - first) / (last - first)).clamp(0.0, 1.0)
    return beta + (beta_final - beta) * progress


def sample(probs: Tensor, generator: torch.Generator) -> Tensor:
    """Inverse-CDF sampling from ``probs [B, n]``, one uniform draw per agent."""
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device)
    index = (torch.cumsum(probs, dim=1) < u).sum(dim=1)
    return index.clamp(max=probs.shape[1] - 1)


def batched_observation(
    observation: np.ndarray, space: gym.Space, n_agents: int
) -> tuple[np.ndarray, bool]:
    """``[n_agents, ...]`` observations from one observation (every agent answers it) or one
    per agent, and whether a single one was given (a Dict or Tuple observation is single when
    the space contains it, else a batch as a vector env gives it)."""
    if isinstance(space, gym.spaces.Dict | gym.spaces.Tuple):
        if not space.contains(observation):
            return observation, False
        batch = gym.vector.utils.create_empty_array(space, n_agents)
        return gym.vector.utils.concatenate(space, [observation] * n_agents, batch), True
    obs = np.asarray(observation)
    shape = tuple(space.shape or ())
    if obs.shape == shape:
        return np.repeat(obs[None], n_agents, axis=0), True
    if obs.shape != (n_agents, *shape):
        raise ValueError(
            f"observation has shape {obs.shape}; expected {shape} (one observation) or "
            f"{(n_agents, *shape)} (one per agent)"
        )
    return obs, False


def predict_traces(
    state: np.ndarray | None, encoder: MicrostimulusEncoder, n_agents: int, device: torch.device
) -> EncoderState:
    """The presynaptic traces ``predict`` starts from: none, or those it returned last."""
    if state is None:
        return encoder.init(n_agents, device)
    trace = torch.as_tensor(np.asarray(state, dtype=np.float32), device=device)
    if trace.shape != (n_agents, encoder.n_channels):
        raise ValueError(
            f"state has shape {tuple(trace.shape)}; expected ({n_agents}, {encoder.n_channels})"
        )
    return EncoderState(trace)


def episode_starts(episode_start: Any, n_agents: int, device: torch.device) -> Tensor:
    """``[n_agents]`` bool from ``predict``'s ``episode_start`` (None: no agent starts)."""
    if episode_start is None:
        return torch.zeros(n_agents, dtype=torch.bool, device=device)
    flags = np.asarray(episode_start)
    if flags.size not in (1, n_agents) or flags.dtype.kind not in "biuf":
        raise ValueError(
            f"episode_start must be a bool or {n_agents} bools (one per agent), got {flags!r}"
        )
    start = torch.as_tensor(flags.astype(bool).reshape(-1), device=device)
    return start.expand(n_agents)


__all__ = [
    "POST_FACTORS",
    "ActionReadout",
    "batched_observation",
    "episode_starts",
    "hebbian_post",
    "predict_traces",
    "sample",
]
