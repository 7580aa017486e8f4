"""Plastic agents and baselines (imported as ``plasticgym.agents``)."""

from plasticgym.agents.plastic import PlasticAgent, PlasticAgentConfig
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

__all__ = [
    "ModelBasedAgent",
    "ModelBasedConfig",
    "PlasticAgent",
    "PlasticAgentConfig",
    "QLearningAgent",
    "QLearningConfig",
    "SarsaLambdaAgent",
    "SarsaLambdaConfig",
    "TDActorCriticAgent",
    "TDActorCriticConfig",
]
