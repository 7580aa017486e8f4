"""Plastic agents and baselines (imported as ``plasticgym.agents``).

``SB3Agent`` (the Stable-Baselines3 baselines, optional extra ``plasticgym[sb3]``) is imported
on first use.

:data:`AGENTS` names every agent for the command line and sweeps (``plasticgym agents`` lists
them); :func:`make_agent` builds one by name::

    agent = make_agent("q_learning", "plasticgym/ReversalBandit-v0", n_agents=8, seed=0,
                       learning_rate=0.1)
"""

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from plasticgym.agents.plastic import PlasticAgent, PlasticAgentConfig
from plasticgym.agents.presets import PLASTIC_PRESETS, plastic_preset
from plasticgym.agents.spiking import SpikingAgent, SpikingAgentConfig
from plasticgym.agents.tabular import (
    ModelBasedAgent,
    ModelBasedConfig,
    QLearningAgent,
    QLearningConfig,
    SarsaLambdaAgent,
    SarsaLambdaConfig,
    TDActorCriticAgent,
    TDActorCriticConfig,
)
from plasticgym.extras import require_extra

__all__ = [
    "AGENTS",
    "PLASTIC_PRESETS",
    "AgentEntry",
    "ModelBasedAgent",
    "ModelBasedConfig",
    "PlasticAgent",
    "PlasticAgentConfig",
    "QLearningAgent",
    "QLearningConfig",
    "SB3Agent",
    "SarsaLambdaAgent",
    "SarsaLambdaConfig",
    "SpikingAgent",
    "SpikingAgentConfig",
    "TDActorCriticAgent",
    "TDActorCriticConfig",
    "agent_class",
    "check_agent_kwargs",
    "make_agent",
    "plastic_preset",
]

_LAZY = {"SB3Agent": "plasticgym.agents.sb3"}


def __getattr__(name: str) -> Any:
    """Import optional agents on first use, so that plasticgym.agents needs none of them."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AgentEntry(NamedTuple):
    """An agent of the registry: ``target`` is ``"module:Class"`` (imported on first use),
    ``fixed`` the constructor arguments the name fixes, ``extra`` the pip extra it needs."""

    target: str
    description: str
    fixed: Mapping[str, Any] = {}
    extra: str | None = None


_SB3 = "plasticgym.agents.sb3:SB3Agent"

AGENTS: dict[str, AgentEntry] = {
    "plastic": AgentEntry(
        "plasticgym.agents.plastic:PlasticAgent",
        "three-factor actor-critic: Hebbian eligibility x dopamine (its RPE), homeostatic scaling",
    ),
    "q_learning": AgentEntry(
        "plasticgym.agents.tabular:QLearningAgent",
        "tabular Q-learning (Watkins 1989); Watkins's Q(lambda) with trace_lambda > 0",
    ),
    "sarsa_lambda": AgentEntry(
        "plasticgym.agents.tabular:SarsaLambdaAgent",
        "tabular SARSA(lambda) (Rummery & Niranjan 1994), the model-free learner of Daw 2011",
    ),
    "td_actor_critic": AgentEntry(
        "plasticgym.agents.tabular:TDActorCriticAgent",
        "tabular TD actor-critic (Barto, Sutton & Anderson 1983), the classical dopamine model",
    ),
    "model_based": AgentEntry(
        "plasticgym.agents.tabular:ModelBasedAgent",
        "learned transition and reward models + value iteration (Daw et al. 2011)",
    ),
    "ppo": AgentEntry(
        _SB3, "Stable-Baselines3 PPO, one model per agent (extra: sb3)", {"algo": "PPO"}, "sb3"
    ),
    "a2c": AgentEntry(
        _SB3, "Stable-Baselines3 A2C, one model per agent (extra: sb3)", {"algo": "A2C"}, "sb3"
    ),
    "dqn": AgentEntry(
        _SB3, "Stable-Baselines3 DQN, one model per agent (extra: sb3)", {"algo": "DQN"}, "sb3"
    ),
    "spiking": AgentEntry(
        "plasticgym.agents.spiking:SpikingAgent",
        "spiking actor (LIF/Izhikevich) with reward-modulated STDP or calcium, rate TD critic",
    ),
    "recurrent_ppo": AgentEntry(
        _SB3,
        "sb3-contrib RecurrentPPO (LSTM actor and critic), one model per agent (extra: sb3)",
        {"algo": "RecurrentPPO"},
        "sb3",
    ),
}
"""Agent names of the command line and of sweep configs."""

_EXTRA_MODULES = {"sb3": "stable_baselines3"}
_AGENT_MODULES = {"recurrent_ppo": ("stable_baselines3", "sb3_contrib")}
"""Modules an agent needs beyond its extra's main one (installed by the same extra)."""


def _entry(name: str) -> AgentEntry:
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(AGENTS)}")
    return AGENTS[name]


def agent_class(name: str) -> type:
    """The class registered as ``name``; raises ``ValueError`` for an unknown name and
    :class:`~plasticgym.extras.MissingExtraError` when its optional dependency is missing."""
    entry = _entry(name)
    if entry.extra is not None:
        for module in _AGENT_MODULES.get(name, (_EXTRA_MODULES[entry.extra],)):
            require_extra(module, entry.extra, f"agent {name!r}")
    module, _, attribute = entry.target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def make_agent(name: str, env: Any, **kwargs: Any) -> Any:
    """Build the agent registered as ``name`` on ``env``: ``make_agent("ppo", env, n_agents=4)``
    is ``SB3Agent(env, algo="PPO", n_agents=4)``. Keyword arguments are the class's own
    (``n_agents``, ``seed``, ``env_kwargs``, ``tensorboard_log``, ``device``, hyperparameters)."""
    entry = _entry(name)
    fixed = sorted(set(kwargs) & set(entry.fixed))
    if fixed:
        raise ValueError(f"agent {name!r} fixes {dict(entry.fixed)}; do not pass {fixed}")
    return agent_class(name)(env, **entry.fixed, **kwargs)


def check_agent_kwargs(name: str, hyperparameters: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` (naming the hyperparameter) unless the agent ``name`` accepts
    ``hyperparameters``, without building it or its env."""
    cls = agent_class(name)
    config_class = getattr(cls, "config_class", None)
    if config_class is not None:  # a PopulationAgent: its config validates every value
        config_class.from_kwargs(**hyperparameters)
        return
    from plasticgym.agents.sb3 import _checked_algo_kwargs  # names only: SB3 checks values

    _checked_algo_kwargs(AGENTS[name].fixed["algo"], hyperparameters)
