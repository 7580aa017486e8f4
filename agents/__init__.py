"""Plastic agents and baselines (imported as ``plasticgym.agents``).

``SB3Agent`` (the Stable-Baselines3 baselines, optional extra ``plasticgym[sb3]``) is imported
on first use.
"""

import importlib
from typing import Any

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
    "SB3Agent",
    "SarsaLambdaAgent",
    "SarsaLambdaConfig",
    "TDActorCriticAgent",
    "TDActorCriticConfig",
]

_LAZY = {"SB3Agent": "plasticgym.agents.sb3"}


def __getattr__(name: str) -> Any:
    """Import optional agents on first use, so that plasticgym.agents needs none of them."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
