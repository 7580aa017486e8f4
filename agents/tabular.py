"""Tabular temporal-difference baselines, batched over a population of agents.

The field's reference models of reward learning, written as populations of ``B`` independent
agents whose tables carry a leading population axis (``Q[B, S, A]``, ``V[B, S]``, ...). They
share :class:`~plasticgym.agents.base.PopulationAgent`'s API with :class:`PlasticAgent`
(``learn``, ``predict``, ``save``, ``load``, ``records``, per-agent hyperparameters,
TensorBoard, bit-exact checkpoints):

- :class:`QLearningAgent` — Q-learning (Watkins 1989), with Watkins's Q(lambda) traces when
  ``trace_lambda > 0``.
- :class:`SarsaLambdaAgent` — SARSA(lambda) (Rummery & Niranjan 1994; Sutton & Barto 2018,
  section 12.7), the model-free learner of Daw et al. (2011).
- :class:`TDActorCriticAgent` — the actor-critic of Barto, Sutton & Anderson (1983), the
  classical model of dopamine and the basal ganglia (Houk, Adams & Barto 1995; Joel, Niv &
  Ruppin 2002).
- :class:`ModelBasedAgent` — learns transition and reward models and plans by value iteration
  (Sutton & Barto 2018, ch. 8; the model-based learner of Daw et al. 2011).

One step of a population, for all agents at once (``s, a`` the previous state and action,
``r, s'`` what the env returned)::

    delta   =  r + discount * bootstrap(s') - estimate(s, a)   the agent's TD error
    tables  <- tables + learning_rate * delta * eligibility    (model-based: models, planning)
    a'      ~  policy(tables after the update)(s')             learn first, then act

Learning before acting matters in trial-based tasks: in TwoStep-v0 the observation that comes
with the second-stage reward is the next trial's first stage, so the next first-stage choice
can only reflect that reward if the tables are updated before it is sampled. (The classical
on-line SARSA, ``SarsaLambdaAgent(target="sample")``, must act first: its TD error needs the
next action.) ``discount = gamma`` for a continuing transition and ``0`` when the env
terminated. The vector env's autoreset step (after an episode ended) learns nothing and clears
the traces. The tasks are continuing sessions of trials, so values include discounted future
trials; for tasks whose trials are independent one-step choices (ReversalBandit-v0) use
``gamma=0``, otherwise the chosen arm's value grows toward ``r / (1 - gamma)`` and a softmax
learner stops sampling the other arm.

**Choice.** Softmax over ``beta * values`` by default (graded choice probabilities, as in the
models fitted to human and animal choices, e.g. Daw et al. 2011); the action-value learners
also offer ``policy="epsilon_greedy"``. Actions are sampled with the agent's own generators
(no global RNG).

**States.** The tables need a finite state index. A ``Discrete`` observation is its own index
(minus the space's ``start``); ``MultiDiscrete`` values are read as a mixed-radix number
(channel 0 least significant). ``Box`` and ``MultiBinary`` observations are thresholded
channel by channel and the bits read as a binary number, channel 0 the least significant bit:
``state = sum_i [o_i > c_i] 2**i``. For a ``Box`` the threshold ``c_i`` is the midpoint of the
channel's bounds (a stimulus is "on" when above half its range); with one infinite bound it is
the finite bound, with two it is 0; for ``MultiBinary`` a bit is on when non-zero. A space that
would give more than ``max_states`` states (4096 by default, i.e. 12 channels) raises
``ValueError``. To map observations to states differently, subclass the agent and override
:meth:`TabularAgent.make_state_encoder` to return your own :class:`StateEncoder`.

**Actions** must be ``Discrete``; a ``Box`` action space raises ``ValueError`` (for continuous
actions use the Stable-Baselines3 baselines, ``plasticgym.agents.sb3.SB3Agent`` with PPO or
A2C, ``pip install plasticgym[sb3]``).

**Records.** ``rpe`` is the agent's TD error ``delta`` of the row's transition; ``dopamine``
is the same number (these agents have no dopamine gains: dopamine *is* the TD error, the
classical hypothesis of Schultz, Dayan & Montague 1997); ``value`` is the agent's value of
the state the step led to, read before the step's update — the bootstrap value that enters
``delta`` (``max_a Q(s', a)``, ``V(s')``, ``max_a Q_MB(s', a)``; for SARSA ``Q(s', a')`` or
its expectation under the policy). On an episode's last row ``delta`` uses discount 0.
"""

from __future__ import annotations

import dataclasses
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.agents.base import PopulationAgent, StepResult
from plasticgym.config import check_choice, check_number, check_per_agent
from plasticgym.rules import Scalar, per_agent, td_error

__all__ = [
    "ModelBasedAgent",
    "ModelBasedConfig",
    "QLearningAgent",
    "QLearningConfig",
    "SarsaLambdaAgent",
    "SarsaLambdaConfig",
    "StateEncoder",
    "TDActorCriticAgent",
    "TDActorCriticConfig",
    "TabularAgent",
    "box_thresholds",
    "delta_rule",
    "epsilon_greedy_policy",
    "expected_value",
    "is_greedy",
    "one_hot_pairs",
    "q_learning_td_error",
    "sample_actions",
    "softmax_policy",
    "td_table_update",
    "trace_visit",
    "value_iteration",
]

DEFAULT_MAX_STATES = 4096
MAX_MODEL_ENTRIES = 2**26
"""Largest transition model ``B * S * A * (S + 1)`` a :class:`ModelBasedAgent` allocates."""


# --------------------------------------------------------------------------------------------
# Pure functions: the maths, batched over a leading population axis B
# --------------------------------------------------------------------------------------------


def q_learning_td_error(q_sa: Tensor, r_t: Tensor, discount_t: Tensor, q_t: Tensor) -> Tensor:
    """Q-learning TD error (Watkins 1989; Sutton & Barto 2018, eq. 6.8).

    ``delta = r_t + discount_t * max_a q_t[a] - q_sa``, with ``discount_t = gamma`` for a
    continuing transition and 0 at the end of an episode.

    Shapes: ``q_sa, r_t, discount_t [B]``, ``q_t [B, A]`` (action values of the new state).
    """
    return td_error(q_sa, r_t, discount_t, q_t.max(dim=-1).values)


def expected_value(probs: Tensor, q: Tensor) -> Tensor:
    """Value of a state under a policy: ``sum_a pi(a) Q(a)`` — the bootstrap of Expected
    SARSA (van Seijen et al. 2009; Sutton & Barto 2018, eq. 6.9).

    Shapes: ``probs, q [B, A]``; returns ``[B]``.
    """
    return (probs * q).sum(dim=-1)


def softmax_policy(preferences: Tensor, inverse_temperature: Scalar) -> Tensor:
    """Softmax (Boltzmann) choice: ``pi(a) = exp(beta h_a) / sum_b exp(beta h_b)``
    (Luce 1959; Sutton & Barto 2018, eq. 13.2).

    Shapes: ``preferences [B, A]`` (action values or preferences), ``inverse_temperature``
    float or ``[B]``; returns ``[B, A]``.
    """
    return torch.softmax(per_agent(inverse_temperature, preferences) * preferences, dim=-1)


def epsilon_greedy_policy(q: Tensor, epsilon: Scalar) -> Tensor:
    """Epsilon-greedy choice (Sutton & Barto 2018, section 2.2), ties split evenly:
    ``pi(a) = epsilon / A + (1 - epsilon) * [a in argmax Q] / |argmax Q|``.

    Shapes: ``q [B, A]``, ``epsilon`` float or ``[B]``; returns ``[B, A]``.
    """
    best = (q == q.max(dim=-1, keepdim=True).values).to(q.dtype)
    eps = per_agent(epsilon, q)
    return eps / q.shape[-1] + (1.0 - eps) * best / best.sum(dim=-1, keepdim=True)


def sample_actions(probs: Tensor, generator: torch.Generator) -> Tensor:
    """One action per agent by inverse-CDF sampling: ``a = #{k : F_k < u}``, ``u ~ U[0, 1)``,
    ``F`` the cumulative probabilities (one uniform draw per agent from ``generator``).

    Shapes: ``probs [B, A]``; returns ``[B]`` int64.
    """
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device)
    index = (torch.cumsum(probs, dim=-1) < u).sum(dim=-1)
    return index.clamp(max=probs.shape[-1] - 1)


def is_greedy(q: Tensor, actions: Tensor) -> Tensor:
    """Whether each action ties for the maximum of its agent's action values, ``[B]`` bool:
    ``Q(a) == max_b Q(b)`` (Watkins's Q(lambda) cuts the traces after a non-greedy action;
    Sutton & Barto 2018, section 12.10).

    Shapes: ``q [B, A]``, ``actions [B]``.
    """
    chosen = q.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return chosen == q.max(dim=-1).values


def one_hot_pairs(states: Tensor, actions: Tensor, n_states: int, n_actions: int) -> Tensor:
    """Indicator ``x[b, s, a] = [s == states[b] and a == actions[b]]``, ``[B, S, A]`` float."""
    flat = torch.nn.functional.one_hot(states * n_actions + actions, n_states * n_actions)
    return flat.view(-1, n_states, n_actions).to(torch.float32)


def trace_visit(trace: Tensor, visit: Tensor, replacing: bool) -> Tensor:
    """Mark the visited entries of an eligibility trace.

    Accumulating trace: ``e <- e + x`` (Sutton 1988; Sutton & Barto 2018, section 12.7).
    Replacing trace: ``e <- x`` where ``x > 0`` and ``e`` elsewhere (Singh & Sutton 1996).
    ``x`` is the visit indicator (one-hot over states or state-action pairs). The decay
    ``e <- gamma * lambda * e`` is applied separately, after the update.

    Shapes: ``trace`` and ``visit`` alike, ``[B, ...]``.
    """
    if replacing:
        return torch.where(visit > 0, visit, trace)
    return trace + visit


def td_table_update(table: Tensor, trace: Tensor, delta: Tensor, learning_rate: Scalar) -> Tensor:
    """Tabular TD(lambda) update: ``table <- table + alpha * delta * e``
    (Sutton 1988; Sutton & Barto 2018, sections 12.2 and 12.7). With ``lambda = 0`` the trace
    is the visit indicator and this is the one-step rule ``Q(s, a) += alpha * delta``.

    Shapes: ``table`` and ``trace`` alike, ``[B, ...]``; ``delta [B]``; ``learning_rate``
    float or ``[B]``.
    """
    step = per_agent(learning_rate, table) * delta.reshape((-1,) + (1,) * (table.dim() - 1))
    return table + step * trace


def delta_rule(estimate: Tensor, target: Tensor, rate: Scalar) -> Tensor:
    """Delta rule: ``x <- x + eta * (target - x)`` (Widrow & Hoff 1960; Rescorla & Wagner 1972).

    The model learning of :class:`ModelBasedAgent`: the reward model
    ``R(s, a) <- R(s, a) + alpha_R (r - R(s, a))`` and the transition model
    ``T(s, a, .) <- T(s, a, .) + eta (onehot(s') - T(s, a, .))`` (Gläscher, Daw, Dayan &
    O'Doherty 2010), applied to the visited pair of each agent. With ``eta = 1 / (n + 1)``,
    ``n`` the earlier visits of ``(s, a)``, ``T(s, a, .)`` is the empirical frequency of each
    successor (count-based maximum likelihood). Transition rows stay normalised.

    Shapes: ``estimate`` and ``target`` alike, ``[B, ...]``; ``rate`` float or ``[B]``.
    """
    return estimate + per_agent(rate, estimate) * (target - estimate)


def value_iteration(
    q: Tensor, reward_model: Tensor, transitions: Tensor, gamma: Scalar, n_sweeps: int
) -> Tensor:
    """Synchronous value-iteration sweeps on a learned model (Bellman 1957; Sutton & Barto
    2018, eq. 4.10 and ch. 8), warm-started from the previous ``Q``:

    ``Q_{k+1}(s, a) = R(s, a) + gamma * sum_{s' < S} T(s, a, s') max_a' Q_k(s', a')``.

    The last successor column of ``T`` (index ``S``) is the end of the episode, whose value is
    0. For the two-step task this is the model-based value of Daw et al. (2011):
    ``Q_MB(s_0, a) = sum_s' P(s' | s_0, a) max_a' Q(s', a')``.

    Shapes: ``q, reward_model [B, S, A]``, ``transitions [B, S, A, S + 1]``, ``gamma`` float or
    ``[B]``; returns ``[B, S, A]``.
    """
    B, S, A = q.shape
    next_states = transitions[..., :S].reshape(B, S * A, S)
    discount = per_agent(gamma, q)
    for _ in range(n_sweeps):
        v = q.max(dim=-1).values.unsqueeze(-1)  # [B, S, 1]
        q = reward_model + discount * torch.bmm(next_states, v).view(B, S, A)
    return q


# --------------------------------------------------------------------------------------------
# Observations to state indices
# --------------------------------------------------------------------------------------------


class StateEncoder:
    """Maps observations ``[B, *shape]`` to state indices ``[B]`` (see the module docstring).

    Args:
        space: the single-agent observation space.
        max_states: the largest number of states allowed (ValueError beyond it).
        owner: name used in error messages.

    Attributes:
        n_states: number of distinct states (the tables' ``S``).
    """

    def __init__(
        self, space: gym.Space, max_states: int = DEFAULT_MAX_STATES, owner: str = "agent"
    ) -> None:
        self.space = space
        self.shape = tuple(space.shape or ())
        self._thresholds: np.ndarray | None = None
        self._radix: np.ndarray | None = None
        self._offset: np.ndarray | int = 0
        if isinstance(space, gym.spaces.Discrete):
            self.n_states = int(space.n)
            self._offset = int(space.start)
            how = "Discrete states"
        elif isinstance(space, gym.spaces.MultiDiscrete):
            sizes = np.asarray(space.nvec, dtype=np.int64).reshape(-1)
            self._radix = np.concatenate([[1], np.cumprod(sizes)[:-1]]).astype(np.int64)
            self._offset = np.asarray(getattr(space, "start", 0), dtype=np.int64).reshape(-1)
            self.n_states = math.prod(int(n) for n in sizes)
            how = f"states from {sizes.size} MultiDiscrete channels"
        elif isinstance(space, gym.spaces.MultiBinary | gym.spaces.Box):
            n_bits = math.prod(self.shape)
            if isinstance(space, gym.spaces.Box):
                self._thresholds = box_thresholds(space.low, space.high).reshape(-1)
            else:
                self._thresholds = np.zeros(n_bits)
            self.n_states = 2**n_bits
            how = f"states (2**{n_bits} from {n_bits} thresholded channels)"
        else:
            raise ValueError(
                f"{owner} cannot turn observations of {space} into table states; it reads "
                "Discrete, MultiDiscrete, MultiBinary and Box observations (override "
                "make_state_encoder for others)"
            )
        if self.n_states > max_states:
            raise ValueError(
                f"{owner}: the observation space {space} gives {self.n_states} {how}, more "
                f"than max_states={max_states}; raise max_states or override "
                "make_state_encoder to map observations to fewer states"
            )

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """State indices ``[B]`` int64 of observations ``[B, *shape]``."""
        obs = np.asarray(obs)
        if obs.shape[1:] != self.shape:
            raise ValueError(f"observations have shape {obs.shape}; expected (B, *{self.shape})")
        flat = obs.reshape(obs.shape[0], -1)
        if self._thresholds is not None:
            bits = (flat > self._thresholds).astype(np.int64)
            return bits @ (np.int64(1) << np.arange(bits.shape[1], dtype=np.int64))
        if not np.all(np.equal(np.mod(flat, 1), 0)):
            raise ValueError(f"observations of {self.space} must be integers, got {obs!r}")
        values = flat.astype(np.int64) - self._offset
        if self._radix is not None:
            if (values < 0).any() or (values >= np.asarray(self.space.nvec).reshape(-1)).any():
                raise ValueError(f"observations {obs!r} are outside {self.space}")
            return values @ self._radix
        index = values.reshape(-1)
        if (index < 0).any() or (index >= self.n_states).any():
            raise ValueError(f"observations {obs!r} are outside {self.space}")
        return index


def box_thresholds(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per-channel thresholds of a Box: the midpoint ``(low + high) / 2`` of finite bounds; the
    finite bound when the other is infinite; 0 when both are."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    finite_low, finite_high = np.isfinite(low), np.isfinite(high)
    with np.errstate(invalid="ignore"):
        mid = np.where(finite_low & finite_high, (low + high) / 2.0, 0.0)
    mid = np.where(finite_low & ~finite_high, low, mid)
    return np.where(~finite_low & finite_high, high, mid)


def discrete_action_count(space: gym.Space, owner: str) -> int:
    """The number of actions of a Discrete space; a clear ValueError for anything else."""
    if isinstance(space, gym.spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(f"{owner} needs a Discrete action space starting at 0, got {space}")
        return int(space.n)
    hint = ""
    if isinstance(space, gym.spaces.Box):
        hint = (
            " (continuous actions): tabular agents choose among a finite set of actions; for "
            "continuous control use PlasticAgent (node perturbation) or the Stable-Baselines3 "
            "baselines, plasticgym.agents.sb3.SB3Agent with algo='PPO' or 'A2C' (pip install "
            "plasticgym[sb3])"
        )
    raise ValueError(f"{owner} needs a Discrete action space, got {space}{hint}")


# --------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------

POLICIES = ("softmax", "epsilon_greedy")
TRACES = ("accumulating", "replacing")
SARSA_TARGETS = ("sample", "expected")
TRANSITION_LEARNING = ("counts", "delta")


class _ConfigMixin:
    """Validation helpers and ``from_kwargs`` shared by the tabular configs."""

    AGENT: ClassVar[str] = "TabularAgent"
    max_states: int
    log_interval: int

    def _per_agent(self, field: str, low: float, high: float = math.inf, **kwargs: Any) -> None:
        value = check_per_agent(
            field, getattr(self, field), check_number, low=low, high=high, **kwargs
        )
        object.__setattr__(self, field, value)

    def _check_common(self) -> None:
        check_number("max_states", self.max_states, 1, 2**20, integer=True)
        check_number("log_interval", self.log_interval, 1, integer=True)
        self._per_agent("gamma", 0.0, 1.0, high_open=True)
        self._per_agent("inverse_temperature", 0.0)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> Any:
        """Build a config, rejecting unknown names with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(
                f"unknown hyperparameter(s) {unknown} for {cls.AGENT}; known: {sorted(known)}"
            )
        return cls(**kwargs)


@dataclass(frozen=True)
class QLearningConfig(_ConfigMixin):
    """Hyperparameters of :class:`QLearningAgent`; validated on construction.

    Attributes:
        learning_rate: ``alpha`` of the Q update, in (0, 1].
        gamma: discount factor, in [0, 1).
        trace_lambda: Watkins's Q(lambda) trace parameter, in [0, 1]; 0 is one-step
            Q-learning (Watkins 1989). Traces decay by ``gamma * lambda`` after a greedy action
            and are cut after a non-greedy one.
        trace: ``"replacing"`` or ``"accumulating"`` eligibility traces.
        policy: ``"softmax"`` over ``beta * Q`` or ``"epsilon_greedy"`` (ties split evenly).
        inverse_temperature: ``beta`` of the softmax, >= 0.
        epsilon: exploration probability of epsilon-greedy, in [0, 1].
        max_states: largest state table allowed, an integer in [1, 2**20].
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may be given once per agent, as ``n_agents`` numbers.
    """

    AGENT: ClassVar[str] = "QLearningAgent"
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "learning_rate", "gamma", "trace_lambda", "inverse_temperature", "epsilon",
    )  # fmt: skip

    learning_rate: float = 0.2
    gamma: float = 0.9
    trace_lambda: float = 0.0
    trace: str = "replacing"
    policy: str = "softmax"
    inverse_temperature: float = 5.0
    epsilon: float = 0.1
    max_states: int = DEFAULT_MAX_STATES
    log_interval: int = 100

    def __post_init__(self) -> None:
        self._per_agent("learning_rate", 0.0, 1.0, low_open=True)
        self._per_agent("trace_lambda", 0.0, 1.0)
        check_choice("trace", self.trace, TRACES)
        check_choice("policy", self.policy, POLICIES)
        self._per_agent("epsilon", 0.0, 1.0)
        self._check_common()


@dataclass(frozen=True)
class SarsaLambdaConfig(_ConfigMixin):
    """Hyperparameters of :class:`SarsaLambdaAgent`; validated on construction.

    Attributes:
        learning_rate: ``alpha`` of the Q update, in (0, 1].
        gamma: discount factor, in [0, 1).
        trace_lambda: trace parameter, in [0, 1]; traces decay by ``gamma * lambda``.
        trace: ``"accumulating"`` or ``"replacing"`` eligibility traces over ``(s, a)``.
        target: ``"expected"`` bootstraps on ``sum_a' pi(a'|s') Q(s', a')`` and samples the
            next action after the update (learn, then act); ``"sample"`` is the classical
            on-line SARSA(lambda), bootstrapping on the next action ``Q(s', a')``, which must
            therefore be chosen before the update (see :class:`SarsaLambdaAgent`).
        policy: ``"softmax"`` over ``beta * Q`` or ``"epsilon_greedy"`` (ties split evenly).
        inverse_temperature: ``beta`` of the softmax, >= 0.
        epsilon: exploration probability of epsilon-greedy, in [0, 1].
        max_states: largest state table allowed, an integer in [1, 2**20].
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may be given once per agent, as ``n_agents`` numbers.
    """

    AGENT: ClassVar[str] = "SarsaLambdaAgent"
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "learning_rate", "gamma", "trace_lambda", "inverse_temperature", "epsilon",
    )  # fmt: skip

    learning_rate: float = 0.2
    gamma: float = 0.9
    trace_lambda: float = 0.9
    trace: str = "accumulating"
    target: str = "expected"
    policy: str = "softmax"
    inverse_temperature: float = 5.0
    epsilon: float = 0.1
    max_states: int = DEFAULT_MAX_STATES
    log_interval: int = 100

    def __post_init__(self) -> None:
        self._per_agent("learning_rate", 0.0, 1.0, low_open=True)
        self._per_agent("trace_lambda", 0.0, 1.0)
        check_choice("trace", self.trace, TRACES)
        check_choice("target", self.target, SARSA_TARGETS)
        check_choice("policy", self.policy, POLICIES)
        self._per_agent("epsilon", 0.0, 1.0)
        self._check_common()


@dataclass(frozen=True)
class TDActorCriticConfig(_ConfigMixin):
    """Hyperparameters of :class:`TDActorCriticAgent`; validated on construction.

    Attributes:
        critic_lr: ``alpha_c`` of the state values, in (0, 1].
        actor_lr: ``alpha_a`` of the action preferences, >= 0 (0: a fixed policy).
        gamma: discount factor, in [0, 1).
        trace_lambda: trace parameter of critic and actor, in [0, 1]; 0 is the one-step
            actor-critic. Traces decay by ``gamma * lambda``.
        trace: ``"accumulating"`` or ``"replacing"`` eligibility traces.
        inverse_temperature: ``beta`` of the softmax over the preferences, >= 0.
        max_states: largest state table allowed, an integer in [1, 2**20].
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may be given once per agent, as ``n_agents`` numbers.
    """

    AGENT: ClassVar[str] = "TDActorCriticAgent"
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "critic_lr", "actor_lr", "gamma", "trace_lambda", "inverse_temperature",
    )  # fmt: skip

    critic_lr: float = 0.2
    actor_lr: float = 0.5
    gamma: float = 0.9
    trace_lambda: float = 0.0
    trace: str = "accumulating"
    inverse_temperature: float = 5.0
    max_states: int = DEFAULT_MAX_STATES
    log_interval: int = 100

    def __post_init__(self) -> None:
        self._per_agent("critic_lr", 0.0, 1.0, low_open=True)
        self._per_agent("actor_lr", 0.0)
        self._per_agent("trace_lambda", 0.0, 1.0)
        check_choice("trace", self.trace, TRACES)
        self._check_common()


@dataclass(frozen=True)
class ModelBasedConfig(_ConfigMixin):
    """Hyperparameters of :class:`ModelBasedAgent`; validated on construction.

    Attributes:
        reward_lr: ``alpha_R`` of the delta-rule reward model, in (0, 1].
        transition_learning: ``"counts"`` (``T`` is the empirical successor frequency of each
            pair) or ``"delta"`` (``T`` moves toward each observed successor by
            ``transition_lr``, forgetting old transitions).
        transition_lr: ``eta`` of the delta-rule transition model, in (0, 1].
        gamma: discount factor of planning, in [0, 1).
        n_sweeps: value-iteration sweeps per step (warm-started), an integer in [1, 1000].
        inverse_temperature: ``beta`` of the softmax over ``Q_MB``, >= 0.
        max_states: largest state table allowed, an integer in [1, 2**20].
        log_interval: steps between TensorBoard writes, >= 1.

    The fields in ``PER_AGENT`` may be given once per agent, as ``n_agents`` numbers.
    """

    AGENT: ClassVar[str] = "ModelBasedAgent"
    PER_AGENT: ClassVar[tuple[str, ...]] = (
        "reward_lr", "transition_lr", "gamma", "inverse_temperature",
    )  # fmt: skip

    reward_lr: float = 0.3
    transition_learning: str = "counts"
    transition_lr: float = 0.1
    gamma: float = 0.9
    n_sweeps: int = 3
    inverse_temperature: float = 5.0
    max_states: int = DEFAULT_MAX_STATES
    log_interval: int = 100

    def __post_init__(self) -> None:
        self._per_agent("reward_lr", 0.0, 1.0, low_open=True)
        check_choice("transition_learning", self.transition_learning, TRANSITION_LEARNING)
        self._per_agent("transition_lr", 0.0, 1.0, low_open=True)
        check_number("n_sweeps", self.n_sweeps, 1, 1000, integer=True)
        self._check_common()


# --------------------------------------------------------------------------------------------
# Agents
# --------------------------------------------------------------------------------------------


class TraceRollout(NamedTuple):
    """Between two steps: the current state and action and the eligibility traces."""

    state: Tensor  # [B] int64
    action: Tensor  # [B] int64
    trace: Tensor  # [B, S, A] after decay


class ActorCriticRollout(NamedTuple):
    """Between two steps: state, action and the critic's and actor's eligibility traces."""

    state: Tensor  # [B] int64
    action: Tensor  # [B] int64
    critic_trace: Tensor  # [B, S]
    actor_trace: Tensor  # [B, S, A]


class ModelRollout(NamedTuple):
    """Between two steps: the current state and action."""

    state: Tensor  # [B] int64
    action: Tensor  # [B] int64


class TabularAgent(PopulationAgent):
    """Shared machinery of the tabular agents: spaces, state encoding, acting, checkpoints.

    Subclasses name their config and implement :meth:`_build_tables`, :meth:`_tables`,
    :meth:`_set_tables`, :meth:`_policy`, :meth:`_new_rollout` and :meth:`_learn_step`.
    Constructor: ``Agent(env, *, n_agents=1, seed=None, env_kwargs=None, tensorboard_log=None,
    verbose=0, device="cpu", **hyperparameters)`` (see :class:`PopulationAgent`).
    """

    _rollout: Any

    # ------------------------------------------------------------------ hooks of subclasses

    @abstractmethod
    def _build_tables(self) -> None:
        """Allocate the tables ``[B, S, ...]`` at their initial values."""

    @abstractmethod
    def _tables(self) -> dict[str, Tensor]:
        """The learned tables, by name (checkpointed)."""

    @abstractmethod
    def _set_tables(self, tables: dict[str, Tensor]) -> None:
        """Restore what :meth:`_tables` returned."""

    @abstractmethod
    def _policy(self, states: Tensor) -> Tensor:
        """Action probabilities ``[B, A]`` in ``states [B]`` under the current tables."""

    @abstractmethod
    def _new_rollout(self, states: Tensor, actions: Tensor) -> Any:
        """The rollout at the start of an episode (traces zero)."""

    # ------------------------------------------------------------------ shared

    def make_state_encoder(self, space: gym.Space) -> StateEncoder:
        """The map from observations to table states; override it for another encoding."""
        return StateEncoder(space, self.config.max_states, type(self).__name__)

    def _build(self) -> None:
        owner = type(self).__name__
        self.n_actions = discrete_action_count(self.env.single_action_space, owner)
        self.state_encoder = self.make_state_encoder(self.env.single_observation_space)
        self.n_states = int(self.state_encoder.n_states)
        self._agents = torch.arange(self.n_agents, device=self.device)
        self._build_tables()
        self._rollout = None

    def _initialise(self, generator: torch.Generator) -> None:
        """Tables start at zero (models: uniform); nothing is drawn."""

    def states(self, obs: np.ndarray) -> Tensor:
        """Table state indices ``[B]`` of a batch of observations ``[B, *shape]``."""
        return torch.as_tensor(self.state_encoder(np.asarray(obs)), device=self.device)

    def _begin(self, obs: np.ndarray) -> Tensor:
        states = self.states(obs)
        actions = sample_actions(self._policy(states), self._learn_generator)
        self._rollout = self._new_rollout(states, actions.clone())
        return actions

    def _model_state(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(self._tables())
        if self._rollout is not None:
            state["rollout"] = self._rollout
        return state

    def _empty_rollout_state(self) -> dict[str, Any]:
        B = self.n_agents
        zeros = torch.zeros(B, dtype=torch.long, device=self.device)
        return {"rollout": self._new_rollout(zeros, zeros.clone())}

    def _load_model_state(self, state: dict[str, Any], has_rollout: bool) -> None:
        self._set_tables({k: v for k, v in state.items() if k != "rollout"})
        self._rollout = state["rollout"] if has_rollout else None

    def _zeros(self, *shape: int) -> Tensor:
        return torch.zeros(self.n_agents, *shape, device=self.device)

    def _discount(self, terminated: Tensor) -> Scalar:
        """``gamma`` for continuing transitions, 0 where the env terminated, ``[B]``."""
        return self._hyper["gamma"] * (~terminated).to(torch.float32)

    def _trace_decay(self, terminated: Tensor, active: Tensor) -> Tensor:
        """``gamma * lambda``, 0 at an episode's end (traces do not cross episodes), ``[B]``."""
        keep = (~terminated & active).to(torch.float32)
        return self._hyper["gamma"] * self._hyper["trace_lambda"] * keep

    @staticmethod
    def _decayed(trace: Tensor, decay: Tensor) -> Tensor:
        return trace * decay.reshape((-1,) + (1,) * (trace.dim() - 1))

    def _result(
        self, actions: Tensor, rpe: Tensor, value: Tensor, mean_abs_dw: Tensor
    ) -> StepResult:
        nan = torch.full((), math.nan, device=self.device)
        return StepResult(actions, rpe, rpe.clone(), value, mean_abs_dw, nan)

    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, None]:
        """Actions for observations (Stable-Baselines3's signature; tabular agents have no
        recurrent state, so ``state`` and ``episode_start`` are ignored and None returned).

        ``observation`` is one observation (every agent answers it) or a batch
        ``[n_agents, ...]``. ``deterministic`` takes the most probable action (the first on
        ties); otherwise actions are sampled from the policy with the predict generator, so
        predicting does not change what ``learn`` does.

        Returns:
            ``(actions, None)``: actions ``[n_agents]`` (shape ``()`` for a single agent given a
            single observation).
        """
        shape = self.state_encoder.shape
        obs = np.asarray(observation)
        single = obs.shape == shape
        if single:
            obs = np.repeat(obs[None], self.n_agents, axis=0)
        elif obs.shape != (self.n_agents, *shape):
            raise ValueError(
                f"observation has shape {obs.shape}; expected {shape} (one observation) or "
                f"{(self.n_agents, *shape)} (one per agent)"
            )
        with torch.no_grad():
            probs = self._policy(self.states(obs))
            if deterministic:
                actions = probs.argmax(dim=-1)
            else:
                actions = sample_actions(probs, self._predict_generator)
        actions_np = actions.cpu().numpy()
        if single and self.n_agents == 1:
            actions_np = actions_np.reshape(())
        return actions_np, None


class _ActionValueAgent(TabularAgent):
    """Q[B, S, A] with softmax or epsilon-greedy choice and a (s, a) eligibility trace."""

    def _build_tables(self) -> None:
        self.q = self._zeros(self.n_states, self.n_actions)
        self._replacing = self.config.trace == "replacing"

    @property
    def q_values(self) -> Tensor:
        """Action values ``Q[n_agents, n_states, n_actions]``."""
        return self.q

    def _tables(self) -> dict[str, Tensor]:
        return {"q": self.q}

    def _set_tables(self, tables: dict[str, Tensor]) -> None:
        self.q = tables["q"]

    def _policy_of(self, q: Tensor) -> Tensor:
        """Action probabilities ``[B, A]`` from action values ``[B, A]``."""
        if self.config.policy == "softmax":
            return softmax_policy(q, self._hyper["inverse_temperature"])
        return epsilon_greedy_policy(q, self._hyper["epsilon"])

    def _policy(self, states: Tensor) -> Tensor:
        return self._policy_of(self.q[self._agents, states])

    def _new_rollout(self, states: Tensor, actions: Tensor) -> TraceRollout:
        return TraceRollout(states, actions, self._zeros(self.n_states, self.n_actions))

    def _marked_trace(self, ro: TraceRollout, active: Tensor) -> Tensor:
        """The trace with the previous pair marked; zero for inactive agents."""
        keep = active.to(torch.float32).view(-1, 1, 1)
        visit = one_hot_pairs(ro.state, ro.action, self.n_states, self.n_actions) * keep
        return trace_visit(ro.trace * keep, visit, self._replacing)


class QLearningAgent(_ActionValueAgent):
    """A population of Q-learners (Watkins 1989; Watkins & Dayan 1992).

    One step (``s, a`` previous state and action; all agents at once)::

        delta  = r + discount * max_a' Q(s', a') - Q(s, a)
        e(s, a) <- 1 (replacing) or e(s, a) + 1 (accumulating)
        Q      <- Q + alpha * delta * e
        a'     ~ softmax(beta * Q(s', .))  or  epsilon-greedy(Q(s', .))
        e      <- gamma * lambda * e if a' is greedy in Q(s', .), else 0

    With ``trace_lambda = 0`` (default) this is one-step Q-learning; with ``trace_lambda > 0``
    it is Watkins's Q(lambda) (Watkins 1989; Sutton & Barto 2018, section 12.10), whose traces
    are cut after a non-greedy action so that credit only flows along greedy paths. The next
    action is chosen after the update, from the updated ``Q`` (learn, then act); "greedy" is
    judged in that same ``Q``.

    Records: ``rpe = dopamine = delta``, ``value = max_a' Q(s', a')`` before the update.
    Hyperparameters: :class:`QLearningConfig`.
    """

    config_class: ClassVar[type] = QLearningConfig

    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        ro: TraceRollout = self._rollout
        next_states = self.states(obs)
        b = self._agents
        q_next = self.q[b, next_states]
        value = q_next.max(dim=-1).values
        q_sa = self.q[b, ro.state, ro.action]
        delta = q_learning_td_error(q_sa, reward, self._discount(terminated), q_next)
        delta = delta * active
        trace = self._marked_trace(ro, active)
        q = td_table_update(self.q, trace, delta, self._hyper["learning_rate"])
        q_new_next = q[b, next_states]
        actions = sample_actions(self._policy_of(q_new_next), generator)
        greedy = is_greedy(q_new_next, actions).to(torch.float32)
        trace = self._decayed(trace, self._trace_decay(terminated, active) * greedy)
        change = q - self.q
        self.q = q
        self._rollout = TraceRollout(next_states, actions.clone(), trace)
        return self._result(actions, delta, value, change.abs().mean())


class SarsaLambdaAgent(_ActionValueAgent):
    """A population of SARSA(lambda) learners (Rummery & Niranjan 1994; Sutton & Barto 2018,
    section 12.7) — the model-free learner of the two-step task (Daw et al. 2011).

    One step (``s, a`` previous state and action; all agents at once)::

        e(s, a) <- e(s, a) + 1 (accumulating) or 1 (replacing)
        delta   = r + discount * Q_next - Q(s, a)
        Q       <- Q + alpha * delta * e
        e       <- gamma * lambda * e

    The eligibility trace spans the steps of an episode, so a reward at the second stage of a
    two-step trial also updates the first-stage choice (by ``alpha * gamma * lambda * delta``):
    that is how the reward reaches the next first-stage decision, which a one-step learner
    cannot do (SCIENCE.md section 3).

    ``target="expected"`` (default): ``Q_next = sum_a' pi(a'|s') Q(s', a')`` under the current
    policy (Expected SARSA(lambda); van Seijen et al. 2009), and ``a'`` is sampled after the
    update. ``target="sample"``: ``Q_next = Q(s', a')`` with ``a'`` sampled *before* the
    update, from the not yet updated ``Q`` — the classical on-line SARSA(lambda). In a task
    where the reward arrives together with the next decision's state (TwoStep-v0: the
    observation returned with the second-stage reward is the next trial's first stage), that
    next choice then cannot yet reflect the reward; the default avoids this.

    Records: ``rpe = dopamine = delta``, ``value = Q_next`` (before the update).
    Hyperparameters: :class:`SarsaLambdaConfig`.
    """

    config_class: ClassVar[type] = SarsaLambdaConfig

    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        ro: TraceRollout = self._rollout
        next_states = self.states(obs)
        b = self._agents
        q_next = self.q[b, next_states]
        probs = self._policy_of(q_next)
        sample_first = self.config.target == "sample"
        if sample_first:
            actions = sample_actions(probs, generator)
            value = q_next.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        else:
            value = expected_value(probs, q_next)
        q_sa = self.q[b, ro.state, ro.action]
        delta = td_error(q_sa, reward, self._discount(terminated), value) * active
        trace = self._marked_trace(ro, active)
        q = td_table_update(self.q, trace, delta, self._hyper["learning_rate"])
        if not sample_first:
            actions = sample_actions(self._policy_of(q[b, next_states]), generator)
        trace = self._decayed(trace, self._trace_decay(terminated, active))
        change = q - self.q
        self.q = q
        self._rollout = TraceRollout(next_states, actions.clone(), trace)
        return self._result(actions, delta, value, change.abs().mean())


class TDActorCriticAgent(TabularAgent):
    """A population of tabular actor-critics (Barto, Sutton & Anderson 1983; Sutton & Barto
    2018, section 13.5) — the classical model of dopamine in the basal ganglia: the critic's
    TD error is the phasic dopamine signal that trains both the critic (ventral striatum) and
    the actor (dorsal striatum) (Houk, Adams & Barto 1995; Joel, Niv & Ruppin 2002).

    One step (``s, a`` previous state and action; all agents at once)::

        delta   = r + discount * V(s') - V(s)
        e_V(s) += 1,  e_P(s, a) += 1          (or set to 1 with replacing traces)
        V       <- V + alpha_c * delta * e_V
        P       <- P + alpha_a * delta * e_P
        a'      ~ softmax(beta * P(s', .))
        e_V, e_P <- gamma * lambda * e

    With ``trace_lambda = 0`` (default) this is ``V(s) += alpha_c delta``,
    ``P(s, a) += alpha_a delta``; with ``trace_lambda > 0`` earlier states and choices of the
    episode share the credit, as with the eligibilities of Barto et al. (1983).

    Records: ``rpe = dopamine = delta``, ``value = V(s')`` before the update.
    Hyperparameters: :class:`TDActorCriticConfig`.
    """

    config_class: ClassVar[type] = TDActorCriticConfig

    def _build_tables(self) -> None:
        self.v = self._zeros(self.n_states)
        self.p = self._zeros(self.n_states, self.n_actions)
        self._replacing = self.config.trace == "replacing"

    @property
    def state_values(self) -> Tensor:
        """The critic's state values ``V[n_agents, n_states]``."""
        return self.v

    @property
    def preferences(self) -> Tensor:
        """The actor's action preferences ``P[n_agents, n_states, n_actions]``."""
        return self.p

    def _tables(self) -> dict[str, Tensor]:
        return {"v": self.v, "p": self.p}

    def _set_tables(self, tables: dict[str, Tensor]) -> None:
        self.v, self.p = tables["v"], tables["p"]

    def _policy(self, states: Tensor) -> Tensor:
        return softmax_policy(self.p[self._agents, states], self._hyper["inverse_temperature"])

    def _new_rollout(self, states: Tensor, actions: Tensor) -> ActorCriticRollout:
        return ActorCriticRollout(
            states,
            actions,
            self._zeros(self.n_states),
            self._zeros(self.n_states, self.n_actions),
        )

    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        ro: ActorCriticRollout = self._rollout
        next_states = self.states(obs)
        b = self._agents
        value = self.v[b, next_states]
        delta = td_error(self.v[b, ro.state], reward, self._discount(terminated), value)
        delta = delta * active
        keep = active.to(torch.float32)
        state_visit = torch.nn.functional.one_hot(ro.state, self.n_states).to(torch.float32)
        pair_visit = one_hot_pairs(ro.state, ro.action, self.n_states, self.n_actions)
        critic_trace = trace_visit(
            ro.critic_trace * keep.view(-1, 1), state_visit * keep.view(-1, 1), self._replacing
        )
        actor_trace = trace_visit(
            ro.actor_trace * keep.view(-1, 1, 1), pair_visit * keep.view(-1, 1, 1), self._replacing
        )
        h = self._hyper
        v = td_table_update(self.v, critic_trace, delta, h["critic_lr"])
        p = td_table_update(self.p, actor_trace, delta, h["actor_lr"])
        probs = softmax_policy(p[b, next_states], h["inverse_temperature"])
        actions = sample_actions(probs, generator)
        decay = self._trace_decay(terminated, active)
        mean_abs_dw = 0.5 * ((v - self.v).abs().mean() + (p - self.p).abs().mean())
        self.v, self.p = v, p
        self._rollout = ActorCriticRollout(
            next_states, actions.clone(), self._decayed(critic_trace, decay),
            self._decayed(actor_trace, decay),
        )  # fmt: skip
        return self._result(actions, delta, value, mean_abs_dw)


class ModelBasedAgent(TabularAgent):
    """A population of model-based planners (Sutton & Barto 2018, ch. 8; the model-based
    learner of the two-step task, Daw et al. 2011; Gläscher et al. 2010).

    Each agent learns a transition model ``T[S, A, S + 1]`` (the last column: the episode
    ended) and a reward model ``R[S, A]`` from its own experience, and plans by a few sweeps
    of value iteration per step to action values ``Q_MB``. One step (``s, a`` previous state
    and action)::

        delta    = r + discount * max_a' Q_MB(s', a') - Q_MB(s, a)   model-based TD error
        R(s, a)  <- R(s, a) + alpha_R (r - R(s, a))
        T(s, a, .) <- T(s, a, .) + eta (onehot(s' or end) - T(s, a, .))
                  eta = 1 / (n(s, a) + 1) (counts) or transition_lr (delta)
        Q_MB     <- n_sweeps of Q_MB(s, a) = R(s, a) + gamma sum_s' T(s, a, s') max_a' Q_MB(s', a')
        a'       ~ softmax(beta * Q_MB(s', .))

    ``T`` starts uniform over every successor and the episode's end, ``R`` and ``Q_MB`` at 0.
    Because a reward after a *rare* transition raises the value of the second-stage state,
    and the model knows that the *other* first-stage option leads there commonly, this agent
    switches after rare rewarded trials: the reward x transition interaction of Daw et al.
    (2011). The transition model has ``B * S * A * (S + 1)`` entries; more than
    ``MAX_MODEL_ENTRIES`` raises ``ValueError``.

    Records: ``rpe = dopamine = delta`` (the TD error of ``Q_MB`` before the step's learning),
    ``value = max_a' Q_MB(s', a')`` before the update.
    Hyperparameters: :class:`ModelBasedConfig`.
    """

    config_class: ClassVar[type] = ModelBasedConfig

    def _build_tables(self) -> None:
        S, A, B = self.n_states, self.n_actions, self.n_agents
        entries = B * S * A * (S + 1)
        if entries > MAX_MODEL_ENTRIES:
            raise ValueError(
                f"ModelBasedAgent: a transition model of {B} agents x {S} states x {A} actions "
                f"x {S + 1} successors has {entries:,} entries, more than {MAX_MODEL_ENTRIES:,}; "
                "use fewer agents or override make_state_encoder to map observations to fewer "
                "states"
            )
        self.q = self._zeros(S, A)
        self.r = self._zeros(S, A)
        self.t = torch.full((B, S, A, S + 1), 1.0 / (S + 1), device=self.device)
        self.counts = torch.zeros(B, S, A, dtype=torch.long, device=self.device)

    @property
    def q_values(self) -> Tensor:
        """Planned action values ``Q_MB[n_agents, n_states, n_actions]``."""
        return self.q

    @property
    def reward_model(self) -> Tensor:
        """Learned expected rewards ``R[n_agents, n_states, n_actions]``."""
        return self.r

    @property
    def transition_model(self) -> Tensor:
        """Learned ``T[n_agents, n_states, n_actions, n_states + 1]`` (last: episode end)."""
        return self.t

    def _tables(self) -> dict[str, Tensor]:
        return {"q": self.q, "reward_model": self.r, "transitions": self.t, "counts": self.counts}

    def _set_tables(self, tables: dict[str, Tensor]) -> None:
        self.q, self.r = tables["q"], tables["reward_model"]
        self.t, self.counts = tables["transitions"], tables["counts"]

    def _policy(self, states: Tensor) -> Tensor:
        return softmax_policy(self.q[self._agents, states], self._hyper["inverse_temperature"])

    def _new_rollout(self, states: Tensor, actions: Tensor) -> ModelRollout:
        return ModelRollout(states, actions)

    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        ro: ModelRollout = self._rollout
        next_states = self.states(obs)
        b = self._agents
        h = self._hyper
        value = self.q[b, next_states].max(dim=-1).values
        q_sa = self.q[b, ro.state, ro.action]
        delta = td_error(q_sa, reward, self._discount(terminated), value) * active
        keep = active.to(torch.float32)
        s, a = ro.state, ro.action
        r_old, t_old = self.r[b, s, a], self.t[b, s, a]
        r_new = delta_rule(r_old, reward, h["reward_lr"] * keep)
        if self.config.transition_learning == "counts":
            rate: Scalar = 1.0 / (self.counts[b, s, a] + 1).to(torch.float32)
        else:
            rate = h["transition_lr"]
        successor = torch.where(terminated, self.n_states, next_states)
        target = torch.nn.functional.one_hot(successor, self.n_states + 1).to(torch.float32)
        t_new = delta_rule(t_old, target, rate * keep)
        # only the visited pair of each agent changes: write its rows in place
        self.r[b, s, a] = r_new
        self.t[b, s, a] = t_new
        self.counts[b, s, a] += active.long()
        mean_abs_dw = 0.5 * (
            (r_new - r_old).abs().sum() / self.r.numel()
            + (t_new - t_old).abs().sum() / self.t.numel()
        )
        self.q = value_iteration(self.q, self.r, self.t, h["gamma"], self.config.n_sweeps)
        probs = softmax_policy(self.q[b, next_states], h["inverse_temperature"])
        actions = sample_actions(probs, generator)
        self._rollout = ModelRollout(next_states, actions.clone())
        return self._result(actions, delta, value, mean_abs_dw)
