"""An opt-in compiled step for :class:`~plasticgym.agents.PlasticAgent` (``torch.compile``).

``compile_step(agent)`` replaces the agent's learning step by one fused program: the
encoder, both values, the dopamine model, the critic's and the actor's plasticity chains and the
policy run as a single graph that TorchInductor compiles to C++ (one pass over the synapses per
chain instead of one per operation, and one Python call instead of about a hundred). The step
is traced once to a flat graph of tensors (``make_fx``) and its Inductor program is called
directly with the flat list of tensors: no TorchDynamo frame or guards per step, and the state
a step writes is handed to the next one without being flattened again. The population's
bookkeeping (the finiteness sum of the signals, the episode counters and returns) is in the
graph too. What stays outside: reading the observations (numpy), the task events in
``info``, one uniform draw per agent from the agent's learning generator (the same draw, in
the same order, as the eager step's inverse-CDF sampling) and the checks of
``PopulationAgent._step``.

The maths are those of ``PlasticAgent._learn_step`` (the same functions are called), so the two
paths agree to float32 rounding: the compiled kernels fuse the operations and reduce in another
order, so weights differ from the eager ones by a few ulp per step and are *not* bit-identical;
when a choice lies within that rounding of a sampling threshold the two trajectories part.
With the option on, the same seed gives the same results bit for bit (same machine, torch
version and thread count). The default (eager) step is untouched.

Supported: Discrete actions, every dopamine model and the three-factor synapse, with or
without synaptic scaling, and the default ``actor_post`` factors. Configurations with other
parts (habit, goal-directed, latent causes, topographic map, systems, structure, other synapse
models) or Box actions are refused with an error naming the part.

Needs a C++ compiler (TorchInductor's CPU backend compiles C++): without one,
``compile_step`` raises :class:`CompilerUnavailableError`, or with ``fallback=True`` warns and
leaves the agent eager. The first steps compile (seconds to a minute); the compiled program is
then reused for every step of this agent.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch import Tensor

from plasticgym.agents.base import StepResult
from plasticgym.agents.plastic_actions import hebbian_post
from plasticgym.dopamine import task_events
from plasticgym.encoding import EncoderState
from plasticgym.plasticity import PlasticitySignals
from plasticgym.rules import dopamine_from_rpe
from plasticgym.synapses import ThreeFactor

COMPILER_NAMES = ("g++", "c++", "clang++")
"""C++ compilers TorchInductor can use on the CPU (``$CXX`` first when set)."""

UNSUPPORTED_PARTS = ("sensory_map", "cause_model", "habit", "goal", "systems", "structure")


class CompilerUnavailableError(RuntimeError):
    """No C++ compiler for TorchInductor's CPU code (``compile_step`` without ``fallback``)."""


def find_cpp_compiler() -> str | None:
    """The C++ compiler TorchInductor would find: ``$CXX`` or one of :data:`COMPILER_NAMES` on
    ``PATH``; None if there is none."""
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else []
    for name in [*candidates, *COMPILER_NAMES]:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def unsupported(agent: Any) -> list[str]:
    """What in ``agent``'s configuration the compiled step does not cover (empty: all of it)."""
    problems = []
    if agent.continuous:
        problems.append(f"Box actions ({agent.env.single_action_space})")
    names = {"sensory_map": "topographic_map", "cause_model": "latent_causes",
             "goal": "goal_directed"}  # fmt: skip
    problems += [f"{names.get(p, p)}=..." for p in UNSUPPORTED_PARTS
                 if getattr(agent, p, None) is not None]  # fmt: skip
    if type(agent.config.synapse) is not ThreeFactor:
        problems.append(f"synapse={agent.config.synapse.KIND!r} (only 'three_factor')")
    if agent.device.type != "cpu":
        problems.append(f"device={agent.device} (the compiled step is for the CPU)")
    if agent.config.inverse_temperature_schedule is not None:
        problems.append(
            "inverse_temperature_schedule=... (the graph holds one inverse temperature)"
        )
    return problems


def compile_step(agent: Any, *, fallback: bool = False) -> bool:
    """Make ``agent`` (a :class:`~plasticgym.agents.PlasticAgent`) learn with the compiled
    step (see the module docstring); returns True when it does.

    Args:
        agent: the agent; its configuration must be supported (:func:`unsupported`).
        fallback: without a C++ compiler, warn and keep the eager step (return False) instead
            of raising :class:`CompilerUnavailableError`.

    Raises:
        ValueError: the agent's configuration has parts the compiled step does not cover.
        CompilerUnavailableError: no C++ compiler and ``fallback=False``.
    """
    from plasticgym.agents.plastic import PlasticAgent

    if not isinstance(agent, PlasticAgent):
        raise TypeError(f"compile_step needs a PlasticAgent, got {type(agent).__name__}")
    problems = unsupported(agent)
    if problems:
        raise ValueError(
            "compile_step does not cover " + ", ".join(problems) + "; supported: Discrete "
            "actions, any dopamine model, synapse='three_factor', with or without scaling "
            "(use the eager step for the rest)"
        )
    if find_cpp_compiler() is None:
        message = (
            "compile_step needs a C++ compiler for TorchInductor's CPU code and found none "
            f"($CXX or one of {list(COMPILER_NAMES)} on PATH); install one (e.g. apt install "
            "g++) or learn with the eager step"
        )
        if not fallback:
            raise CompilerUnavailableError(message)
        warnings.warn(message + "; keeping the eager step", RuntimeWarning, stacklevel=2)
        return False
    agent._learn_step = _CompiledLearnStep(agent)
    return True


def is_compiled(agent: Any) -> bool:
    """Whether ``agent`` learns with the compiled step."""
    return isinstance(agent.__dict__.get("_learn_step"), _CompiledLearnStep)


def _leaf_layout(leaves: list[Tensor]) -> tuple[tuple[Any, ...], ...]:
    """What a compiled program is specialised to in each input: shape, stride, dtype, device."""
    return tuple((t.shape, t.stride(), t.dtype, t.device) for t in leaves)


def _builder(spec: pytree.TreeSpec) -> Callable[[Iterator[Tensor]], Any]:
    """A function that rebuilds the pytree ``spec`` describes from an iterator over its leaves
    (what ``pytree.tree_unflatten`` does, without walking the spec on every step)."""
    if spec.is_leaf():
        return next
    children = [_builder(child) for child in spec.children()]
    if spec.type is namedtuple:
        kind = spec.context
        return lambda leaves: kind(*[child(leaves) for child in children])
    if spec.type in (tuple, list):
        kind = spec.type
        return lambda leaves: kind([child(leaves) for child in children])
    if spec.type is dict:
        keys = list(spec.context)
        return lambda leaves: {k: child(leaves) for k, child in zip(keys, children, strict=True)}
    return lambda leaves: pytree.tree_unflatten([next(leaves) for _ in range(spec.num_leaves)],
                                                spec)  # fmt: skip


class _Program:
    """``fused_step`` for one agent, one ``summarise`` and one layout of its inputs, traced to
    a flat graph of tensors (``make_fx``) and compiled by TorchInductor.

    Called with the flat list of input tensors, it runs the generated C++ kernels directly:
    no TorchDynamo frame, guards or pytree handling per step (that wrapper cost about as much
    as a third of the kernels at 1024 agents). What the graph reads from the agent besides its
    arguments (its parts, hyperparameters, tonic column) is fixed when the agent is built, and
    is bound when the program is traced."""

    def __init__(self, agent: Any, summarise: bool, state: tuple, inputs: tuple) -> None:
        from torch.fx.experimental.proxy_tensor import make_fx

        self.summarise = summarise
        state_leaves, self.state_spec = pytree.tree_flatten(state)
        input_leaves, self.input_spec = pytree.tree_flatten(inputs)
        self.n_state = len(state_leaves)
        leaves = state_leaves + input_leaves
        self.layout = _leaf_layout(leaves)
        specs: list[pytree.TreeSpec] = []

        def flat_step(*flat: Tensor) -> list[Tensor]:
            state_part = pytree.tree_unflatten(list(flat[: self.n_state]), self.state_spec)
            input_part = pytree.tree_unflatten(list(flat[self.n_state :]), self.input_spec)
            out = fused_step(agent, *state_part, *input_part, summarise=summarise)
            out_leaves, out_spec = pytree.tree_flatten(out)
            specs.append(out_spec)
            return out_leaves

        with torch.no_grad():
            graph = make_fx(flat_step)(*leaves)
            self.run = torch._inductor.compile(graph, leaves)
        out_spec = specs[-1]
        self.build_output = _builder(out_spec)
        # where the next step's state lies in the flat outputs, in the order of the inputs:
        # outputs (critic, actor, dopamine_state, rollout = (trace, x, actor_input, rates,
        # post, chosen), ...); inputs (trace, features, actor_input, post, rates, critic,
        # actor, dopamine_state)
        n_learning = sum(child.num_leaves for child in out_spec.children()[:3])
        rollout = [n_learning + i for i in (0, 1, 2, 4, 3)]
        self.next_state = [*rollout, *range(n_learning)]
        same_types = out_spec.children()[:3] == self.state_spec.children()[5:8]
        # None: the layouts are compared on the first step
        self.feeds_itself: bool | None = None if same_types else False

    def __call__(self, leaves: list[Tensor]) -> tuple[Any, list[Tensor] | None]:
        """The step's outputs as ``fused_step`` returns them, and the next step's state
        leaves (None when this program's outputs do not have its inputs' layout)."""
        flat = self.run(*leaves)
        next_state = [flat[i] for i in self.next_state]
        if self.feeds_itself is None:
            self.feeds_itself = _leaf_layout(next_state) == self.layout[: self.n_state]
        return self.build_output(iter(flat)), (next_state if self.feeds_itself else None)


class _CompiledLearnStep:
    """``PlasticAgent._learn_step`` with the tensor work in one compiled graph.

    The learning state (rollout, synapses, dopamine state) that a step writes is what the
    next step reads: its flat list of tensors is kept, and flattened anew (its layout
    checked, a program compiled for a new layout) only when the agent holds other state
    objects than the ones this step wrote (the first step, a new episode start, a state
    set from outside)."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.programs: dict[tuple, _Program] = {}
        self.program: _Program | None = None
        self.written: tuple = ()  # the state objects the last step gave the agent
        self.state_leaves: list[Tensor] = []

    def _state(self) -> tuple:
        agent = self.agent
        ro = agent._rollout
        return (ro.encoder.trace, ro.features, ro.actor_input, ro.post, ro.rates,
                agent.critic.synapses, agent.actor.synapses, agent.dopamine_state)  # fmt: skip

    def _written_by_us(self, summarise: bool) -> bool:
        agent, written = self.agent, self.written
        return (
            bool(written)
            and self.program is not None
            and self.program.summarise is summarise
            and agent._rollout is written[0]
            and agent.critic.synapses is written[1]
            and agent.actor.synapses is written[2]
            and agent.dopamine_state is written[3]
        )

    def _select_program(self, summarise: bool, inputs: tuple) -> None:
        """Flatten the agent's state and find (or compile) the program for its layout."""
        state = self._state()
        state_leaves, state_spec = pytree.tree_flatten(state)
        input_leaves, input_spec = pytree.tree_flatten(inputs)
        key = (summarise, state_spec, input_spec, _leaf_layout(state_leaves + input_leaves))
        if key not in self.programs:
            self.programs[key] = _Program(self.agent, summarise, state, inputs)
        self.program, self.state_leaves = self.programs[key], state_leaves

    def __call__(
        self,
        obs: Any,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        agent = self.agent
        ro = agent._rollout
        assert ro is not None
        channels, agent.observation_stats = agent._read(obs)
        events = task_events(agent.dopamine, agent._step_info, agent.device, terminated)
        B = agent.n_agents
        # the eager step's sample() draws exactly this, after the plasticity (which draws
        # nothing from this generator in the supported configurations)
        uniform = torch.rand(B, 1, generator=generator, device=agent.device)
        summarise = agent._logger is not None
        progress = agent._progress
        inputs = (channels, reward, terminated, active, events, uniform, progress.episode,
                  progress.autoreset, progress.episode_return)  # fmt: skip
        if not self._written_by_us(summarise):
            self._select_program(summarise, inputs)
        program = self.program
        assert program is not None
        out, next_state = program([*self.state_leaves, channels, reward, terminated, active,
                                   *events.values(), uniform, progress.episode,
                                   progress.autoreset, progress.episode_return])  # fmt: skip
        (critic, actor, agent.dopamine_state, rollout, actions, rpe, dopamine, v_t, summary,
         bookkeeping) = out  # fmt: skip
        agent.critic = agent.critic._replace(synapses=critic)
        agent.actor = agent.actor._replace(synapses=actor)
        agent._rollout = ro._replace(
            encoder=EncoderState(rollout[0]), features=rollout[1], actor_input=rollout[2],
            rates=rollout[3], post=rollout[4], chosen=rollout[5], channels=channels,
        )  # fmt: skip
        if next_state is None:
            self.written = ()
        else:
            self.written = (agent._rollout, critic, actor, agent.dopamine_state)
            self.state_leaves = next_state
        if summary is None:
            summary = {"mean_abs_dw": agent._no_summary, "mean_rate": agent._no_summary}
        else:
            summary = {"mean_abs_dw": summary[0], "mean_rate": summary[1]}
        return StepResult(actions=actions, rpe=rpe, dopamine=dopamine, value=v_t, **summary,
                          bookkeeping=bookkeeping)  # fmt: skip


def fused_step(
    agent: Any,
    trace: Tensor,
    features_tm1: Tensor,
    actor_input_tm1: Tensor,
    post_tm1: Tensor,
    rates_tm1: Tensor,
    critic: Any,
    actor: Any,
    dopamine_state: Any,
    channels: Tensor,
    reward: Tensor,
    terminated: Tensor,
    active: Tensor,
    events: dict[str, Tensor],
    uniform: Tensor,
    episode: Tensor,
    autoreset: Tensor,
    episode_return: Tensor,
    *,
    summarise: bool,
) -> tuple[Any, ...]:
    """One learning step of a supported PlasticAgent, as in ``PlasticAgent._learn_step``
    (sense, values, dopamine, critic and actor plasticity, policy, inverse-CDF choice with the
    given ``uniform [B, 1]`` draw), then the population's bookkeeping of
    ``PopulationAgent._step`` (the finiteness sum of the signals, the next episode counters
    and returns from ``episode``, ``autoreset`` and ``episode_return``); pure in its tensor
    arguments, so it compiles to one graph."""
    h = agent._hyper
    x_t, encoder = agent.encoder.encode(EncoderState(trace), channels, reward, ~active)
    critic_w = critic.weights
    v_tm1 = torch.bmm(critic_w, features_tm1.unsqueeze(-1)).view(-1)
    v_t = torch.bmm(critic_w, x_t.unsqueeze(-1)).view(-1)
    discount = h["gamma"] * (~terminated).to(v_t.dtype)
    rpe, signal, dopamine_state = agent.dopamine.update(
        dopamine_state, v_tm1, reward, discount, v_t, events, active
    )
    dopamine = dopamine_from_rpe(signal, h["dopamine_gain_positive"], h["dopamine_gain_negative"])
    dopamine = (dopamine + h["dopamine_tonic"]) * active
    new_critic, dw_critic = agent.critic._replace(synapses=critic).learn(PlasticitySignals(
        pre=features_tm1, post=agent._critic_post, dopamine=dopamine,
        rate=v_tm1.unsqueeze(1), active=active, all_active=False,
    ))  # fmt: skip
    new_actor, dw_actor = agent.actor._replace(synapses=actor).learn(PlasticitySignals(
        pre=actor_input_tm1, post=post_tm1, dopamine=dopamine, rate=rates_tm1, active=active,
        all_active=False,  # (a select in the fused loop costs little; one graph for every step)
    ))  # fmt: skip
    actor_input = torch.cat([x_t, agent._tonic_column], dim=1)
    rates = torch.relu(torch.bmm(new_actor.weights, actor_input.unsqueeze(-1)).squeeze(-1))
    beta = agent._column(h["inverse_temperature"])
    probs = torch.softmax(beta * rates, dim=1)
    n_actions = probs.shape[1]
    actions = (running_sum(probs) < uniform).sum(dim=1).clamp(max=n_actions - 1)
    chosen = torch.zeros_like(probs).scatter_(1, actions.unsqueeze(1), 1.0)
    post = hebbian_post(agent.readout.post, chosen, probs, rates)
    summary = None
    if summarise:
        mean_abs_dw = 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean())
        summary = (mean_abs_dw, rates.mean())  # (the new rollout's rates, as eager)
    rollout = (encoder.trace, x_t, actor_input, rates, post, chosen)
    # the population's bookkeeping, as PopulationAgent._step computes it after the step
    signal_sum = torch.stack([rpe, dopamine, v_t]).sum()
    next_episode = episode + autoreset  # (long + bool)
    next_return = torch.where(active, episode_return + reward, reward * 0)
    return (new_critic.synapses, new_actor.synapses, dopamine_state, rollout, actions, rpe,
            dopamine, v_t, summary, (signal_sum, next_episode, next_return))  # fmt: skip


RUNNING_SUM_MAX_ACTIONS = 8
"""Up to this many actions :func:`running_sum` adds the probabilities in the graph (more:
``torch.cumsum``, a call out of the compiled kernels)."""


def running_sum(probs: Tensor) -> Tensor:
    """``torch.cumsum(probs, dim=1)`` of float32 ``probs [B, n]`` as the CPU computes it, bit
    for bit: a left-to-right running sum in float64, each partial sum rounded to float32
    (ATen's CPU cumsum accumulates float32 in double). Written out for a few actions, so
    TorchInductor fuses it into the step's kernel instead of calling ATen's cumsum."""
    n = probs.shape[1]
    if n > RUNNING_SUM_MAX_ACTIONS or probs.dtype != torch.float32:
        return torch.cumsum(probs, dim=1)
    total = probs[:, 0].double()
    partial = [probs[:, 0]]
    for k in range(1, n):
        total = total + probs[:, k].double()
        partial.append(total.float())
    return torch.stack(partial, dim=1)
