"""Complementary learning systems: a fast (hippocampus-like) and a slow (cortex-like) learner,
with offline replay from the fast one into the slow one.

McClelland, McNaughton & O'Reilly (1995) propose that new experience is learned quickly by the
hippocampus, which stores it with a high learning rate and is prone to decay and interference,
and that the neocortex learns slowly from the hippocampus's reinstatement of those experiences
during offline periods (sleep, rest), interleaved, so that a memory comes to rely on the cortex
and survives a later hippocampal lesion: the temporal gradient of retrograde amnesia (Kim &
Fanselow 1992; Squire & Alvarez 1995). Kumaran, Hassabis & McClelland (2016) relate the same
replay to the experience replay of deep reinforcement learning.

Here the slow learner is the agent's dopamine-gated actor; the fast learner is a second actor
pathway onto the same action neurons, three-factor like the actor but with a high learning
rate and a passive decay, plus a store of the situations (presynaptic codes) of the most recent
steps. During rest the store replays situations; the fast pathway reinstates its output pattern
for each, and the slow pathway learns that pattern by a slow Hebbian rule. The functions are
pure and batched (leading axis ``B``: agents).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from plasticgym.config import check_number
from plasticgym.parts import Part
from plasticgym.rules import Scalar, per_agent


def fast_update(
    w_tm1: Tensor,
    e_tm1: Tensor,
    pre: Tensor,
    post: Tensor,
    dopamine: Tensor,
    learning_rate: Scalar,
    trace_decay: Scalar,
    decay: Scalar,
    w_max: float,
) -> tuple[Tensor, Tensor]:
    """One step of the fast learner's three-factor rule with passive decay:
    ``e_t = gamma lambda e_tm1 + post (x) pre``,
    ``W_t = clip((1 - d) W_tm1 + eta_f DA_t e_t, 0, w_max)``.

    The eligibility and the dopamine-gated conversion are the actor's (Fremaux & Gerstner
    2016); the high rate ``eta_f`` and the decay ``d`` per step make it the fast, forgetful
    store of McClelland, McNaughton & O'Reilly (1995). Shapes: ``w_tm1, e_tm1 [B, n_post,
    n_pre]``, ``pre [B, n_pre]``, ``post [B, n_post]``, ``dopamine [B]``; the rates float or
    ``[B]``. Returns ``(W_t, e_t)``.
    """
    e_t = per_agent(trace_decay, e_tm1) * e_tm1 + post.unsqueeze(-1) * pre.unsqueeze(1)
    rate = per_agent(learning_rate, e_t) * dopamine.view(-1, 1, 1)
    w_t = (1.0 - per_agent(decay, w_tm1)) * w_tm1 + rate * e_t
    return w_t.clamp(0.0, w_max), e_t


def decayed(w: Tensor, decay: Scalar) -> Tensor:
    """The fast weights after one step without activity: ``W <- (1 - d) W``."""
    return (1.0 - per_agent(decay, w)) * w


def reinstated_pattern(w_fast: Tensor, pre: Tensor) -> Tensor:
    """The fast pathway's output pattern for a replayed situation, centred over the action
    neurons: ``y = relu(W_f x)``, returns ``y - mean_a y`` ``[B, n_post]`` (the preference it
    holds; an equal drive of every action teaches nothing)."""
    rates = torch.relu(torch.matmul(w_fast, pre.unsqueeze(-1)).squeeze(-1))
    return rates - rates.mean(dim=1, keepdim=True)


def replay_update(
    w_slow: Tensor, w_fast: Tensor, pre: Tensor, rate: Scalar, w_max: float
) -> Tensor:
    """Consolidation of one replayed situation into the slow pathway:
    ``W_s <- clip(W_s + eta_c (y - mean_a y) (x) x, 0, w_max)`` with ``y = relu(W_f x)``
    (:func:`reinstated_pattern`).

    The replayed code ``x`` is the presynaptic activity and the fast pathway's reinstated
    output the postsynaptic one: Hebbian learning of the hippocampal reinstatement by the
    cortex at a slow rate ``eta_c`` (McClelland, McNaughton & O'Reilly 1995). What the slow
    pathway gains over a rest is ``eta_c`` times the fast pathway's preference summed over the
    replays, so it grows while the fast store still holds the memory and stops once it has
    decayed (the cortex's gain rate proportional to the hippocampal trace, as in their
    consolidation model). Shapes: ``w_slow, w_fast [B, n_post, n_pre]``, ``pre [B, n_pre]``;
    ``rate`` float or ``[B]``.
    """
    pattern = reinstated_pattern(w_fast, pre)
    change = per_agent(rate, w_slow) * pattern.unsqueeze(-1) * pre.unsqueeze(1)
    return (w_slow + change).clamp(0.0, w_max)


def store_situation(memory: Tensor, written: Tensor, pre: Tensor, active: Tensor) -> Tensor:
    """Write ``pre [B, n_pre]`` into the ring buffer ``memory [B, capacity, n_pre]`` at slot
    ``written mod capacity`` of each active agent (``written [B]``: how many it has stored)."""
    capacity = memory.shape[1]
    slot = (written % capacity).view(-1, 1, 1).expand(-1, 1, memory.shape[2])
    updated = memory.scatter(1, slot, pre.unsqueeze(1))
    return torch.where(active.view(-1, 1, 1), updated, memory)


def sample_situations(
    memory: Tensor, written: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """One situation per agent drawn uniformly from its stored ones; returns the codes
    ``[B, n_pre]`` and whether the agent had any stored (``[B]`` bool)."""
    B, capacity, n_pre = memory.shape
    held = written.clamp(max=capacity)
    draw = torch.rand(B, generator=generator, device=memory.device)
    index = (draw * held.to(draw.dtype)).long().clamp(max=capacity - 1)
    picked = memory.gather(1, index.view(-1, 1, 1).expand(-1, 1, n_pre)).squeeze(1)
    return picked, held > 0


class FastStore(NamedTuple):
    """The fast learner's state: its weights and eligibility ``[B, n_actions, n_pre]``, the
    stored situations ``[B, capacity, n_pre]``, how many each agent has stored ``[B]`` (long)
    and which agents' fast learner is lesioned ``[B]`` (bool)."""

    weights: Tensor
    eligibility: Tensor
    memory: Tensor
    written: Tensor
    lesioned: Tensor


@dataclasses.dataclass(frozen=True)
class ComplementaryLearning(Part):
    """A fast learner beside the actor and replay from it into the actor during rest
    (Discrete actions; McClelland, McNaughton & O'Reilly 1995; Kumaran, Hassabis & McClelland
    2016): ``PlasticAgent(env, systems=ComplementaryLearning(...))``; ``None`` (default):
    the actor alone.

    The fast pathway ``W_f`` reads the actor's input and drives the same action neurons; the
    policy's drive is ``D = relu(W x) + fast_weight relu(W_f x)``. It learns by the actor's
    three-factor rule at ``fast_lr`` and decays by ``fast_decay`` per step
    (:func:`fast_update`), and stores the situation of each of the last ``capacity`` steps.
    During :meth:`PlasticAgent.rest` every step replays ``replays`` stored situations, each
    consolidated into the actor at ``replay_rate`` (:func:`replay_update`); the fast weights
    decay on. :meth:`PlasticAgent.lesion_fast_learner` removes the fast pathway (its weights
    and store are cleared and it learns no more).

    Args:
        fast_lr: ``eta_f`` (flat name ``cls_fast_lr``), >= 0, per agent.
        fast_decay: ``d``, the fast weights' passive decay per step (``cls_fast_decay``), in
            [0, 1], per agent.
        replay_rate: ``eta_c``, the actor's rate of learning from a replay
            (``cls_replay_rate``), >= 0, per agent; 0: no consolidation (the control).
        fast_weight: weight of the fast pathway in the drive (``cls_fast_weight``), >= 0, per
            agent.
        replays: replayed situations per rest step (``cls_replays``), integer >= 0.
        capacity: situations the store holds, the most recent ones (``cls_capacity``),
            integer >= 1.
    """

    KIND: ClassVar[str] = "cls"
    LIMITS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "fast_lr": {"low": 0.0},
        "fast_decay": {"low": 0.0, "high": 1.0},
        "replay_rate": {"low": 0.0},
        "fast_weight": {"low": 0.0},
    }
    PER_AGENT: ClassVar[tuple[str, ...]] = tuple(LIMITS)
    fast_lr: Any = 0.5
    fast_decay: Any = 0.001
    replay_rate: Any = 0.02
    fast_weight: Any = 1.0
    replays: int = 1
    capacity: int = 200

    def check(self) -> None:
        check_number("cls_replays", self.replays, 0, 10_000, integer=True)
        check_number("cls_capacity", self.capacity, 1, 1_000_000, integer=True)

    def init(self, n_agents: int, n_actions: int, n_pre: int, device: torch.device) -> FastStore:
        zeros = torch.zeros(n_agents, n_actions, n_pre, device=device)
        return FastStore(
            zeros, zeros.clone(), torch.zeros(n_agents, self.capacity, n_pre, device=device),
            torch.zeros(n_agents, dtype=torch.long, device=device),
            torch.zeros(n_agents, dtype=torch.bool, device=device),
        )  # fmt: skip

    def drive(self, drive: Tensor, state: FastStore, pre: Tensor) -> Tensor:
        """The actor's drive plus the fast pathway's, ``D + fast_weight relu(W_f x)``."""
        fast = torch.relu(torch.matmul(state.weights, pre.unsqueeze(-1)).squeeze(-1))
        return drive + per_agent(self.fast_weight, drive) * fast

    def update(
        self,
        state: FastStore,
        pre: Tensor,
        post: Tensor,
        dopamine: Tensor,
        active: Tensor,
        trace_decay: Scalar,
        w_max: float,
    ) -> FastStore:
        """One behaving step: the fast pathway learns the transition the actor learns from,
        and the store keeps its situation ``pre`` (neither where lesioned or inactive)."""
        learning = active & ~state.lesioned
        weights, eligibility = fast_update(
            state.weights, state.eligibility, pre, post, dopamine, self.fast_lr, trace_decay,
            self.fast_decay, w_max,
        )  # fmt: skip
        keep = learning.view(-1, 1, 1)
        return state._replace(
            weights=torch.where(keep, weights, state.weights),
            eligibility=torch.where(keep, eligibility, state.eligibility),
            memory=store_situation(state.memory, state.written, pre, learning),
            written=state.written + learning.long(),
        )

    def rest(
        self, state: FastStore, w_slow: Tensor, generator: torch.Generator, w_max: float
    ) -> tuple[FastStore, Tensor]:
        """One rest step: ``replays`` replays into the slow weights ``w_slow``, then the fast
        weights decay. Returns the new state and slow weights."""
        for _ in range(self.replays):
            pre, held = sample_situations(state.memory, state.written, generator)
            consolidated = replay_update(w_slow, state.weights, pre, self.replay_rate, w_max)
            w_slow = torch.where(held.view(-1, 1, 1), consolidated, w_slow)
        return state._replace(weights=decayed(state.weights, self.fast_decay)), w_slow

    @staticmethod
    def lesion(state: FastStore, which: Tensor) -> FastStore:
        """Remove the fast learner of the agents ``which [B]`` (bool): weights, eligibility
        and store cleared, and no learning from now on."""
        keep = ~which.view(-1, 1, 1)
        return FastStore(
            state.weights * keep, state.eligibility * keep, state.memory * keep,
            torch.where(which, torch.zeros_like(state.written), state.written),
            state.lesioned | which,
        )  # fmt: skip


__all__ = [
    "ComplementaryLearning",
    "FastStore",
    "decayed",
    "fast_update",
    "reinstated_pattern",
    "replay_update",
    "sample_situations",
    "store_situation",
]
