"""An opt-in compiled step for :class:`~plasticgym.agents.PlasticAgent` (``torch.compile``).

``compile_step(agent)`` replaces the agent's learning step by one fused program: the
encoder, both values, the dopamine model, the critic's and the actor's plasticity chains and the
policy run as a single graph that TorchInductor compiles to C++ (one pass over the synapses per
chain instead of one per operation, and one Python call instead of about a hundred). What stays
outside the graph: reading the observations (numpy), the task events in ``info``, one uniform
draw per agent from the agent's learning generator (the same draw, in the same order, as the
eager step's inverse-CDF sampling) and the population's bookkeeping.

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

import itertools
import os
import shutil
import types
import warnings
from typing import Any

import torch
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
    compiled = {summarise: _compile_for_one_agent(summarise) for summarise in (False, True)}
    agent._learn_step = _CompiledLearnStep(agent, compiled)
    return True


_COPIES = itertools.count()


def _compile_for_one_agent(summarise: bool) -> Any:
    """``fused_step`` compiled for one agent and one ``summarise`` (it is always called with
    that value: its guard is dropped with the others).

    Each call gets its own copy of the function's code object, so its compiled program is
    cached apart from every other agent's, and only its tensor guards are kept
    (``torch.compiler.keep_tensor_guards_unsafe``): what else the graph reads from the agent
    (its parts, float hyperparameters, plasticity chains) is fixed when the agent is built,
    and checking it on every step cost more than the step's arithmetic. (The copy is compiled
    as it is: wrapped in a ``functools.partial``, a second agent reused the first agent's
    program, whatever its parts; tested.)"""
    code = fused_step.__code__.replace(co_name=f"fused_step_{next(_COPIES)}")
    function = types.FunctionType(code, fused_step.__globals__, code.co_name)
    options = {"guard_filter_fn": torch.compiler.keep_tensor_guards_unsafe}
    return torch.compile(function, dynamic=False, fullgraph=True, options=options)


def is_compiled(agent: Any) -> bool:
    """Whether ``agent`` learns with the compiled step."""
    return isinstance(agent.__dict__.get("_learn_step"), _CompiledLearnStep)


class _CompiledLearnStep:
    """``PlasticAgent._learn_step`` with the tensor work in one compiled graph."""

    def __init__(self, agent: Any, compiled: dict[bool, Any]) -> None:
        self.agent, self.compiled = agent, compiled

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
        out = self.compiled[agent._logger is not None](
            agent, ro.encoder.trace, ro.features, ro.actor_input, ro.post, ro.rates,
            agent.critic.synapses, agent.actor.synapses, agent.dopamine_state,
            channels, reward, terminated, active, events, uniform,
            summarise=agent._logger is not None,
        )  # fmt: skip
        (critic, actor, agent.dopamine_state, rollout, actions, rpe, dopamine, v_t, summary) = out
        agent.critic = agent.critic._replace(synapses=critic)
        agent.actor = agent.actor._replace(synapses=actor)
        agent._rollout = ro._replace(
            encoder=EncoderState(rollout[0]), features=rollout[1], actor_input=rollout[2],
            rates=rollout[3], post=rollout[4], chosen=rollout[5], channels=channels,
        )  # fmt: skip
        if summary is None:
            summary = {"mean_abs_dw": agent._no_summary, "mean_rate": agent._no_summary}
        else:
            summary = {"mean_abs_dw": summary[0], "mean_rate": summary[1]}
        return StepResult(actions=actions, rpe=rpe, dopamine=dopamine, value=v_t, **summary)


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
    *,
    summarise: bool,
) -> tuple[Any, ...]:
    """One learning step of a supported PlasticAgent, as in ``PlasticAgent._learn_step``
    (sense, values, dopamine, critic and actor plasticity, policy, inverse-CDF choice with the
    given ``uniform [B, 1]`` draw); pure in its tensor arguments, so it compiles to one graph."""
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
    actions = (torch.cumsum(probs, dim=1) < uniform).sum(dim=1).clamp(max=n_actions - 1)
    chosen = torch.zeros_like(probs).scatter_(1, actions.unsqueeze(1), 1.0)
    post = hebbian_post(agent.readout.post, chosen, probs, rates)
    summary = None
    if summarise:
        mean_abs_dw = 0.5 * (dw_critic.abs().mean() + dw_actor.abs().mean())
        summary = (mean_abs_dw, rates.mean())  # (the new rollout's rates, as eager)
    rollout = (encoder.trace, x_t, actor_input, rates, post, chosen)
    return (new_critic.synapses, new_actor.synapses, dopamine_state, rollout, actions, rpe,
            dopamine, v_t, summary)  # fmt: skip
