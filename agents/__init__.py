"""Plastic agents and baselines (imported as ``plasticgym.agents``)."""

from plasticgym.agents.plastic import PlasticAgent, PlasticAgentConfig

__all__ = ["PlasticAgent", "PlasticAgentConfig"]
