"""Distributions of individual differences: a hyperparameter drawn once per agent.

Pass one of these instead of a number for any per-agent hyperparameter; the agent samples
``n_agents`` values with a generator derived from its seed, validates them like numbers, and
keeps the concrete values (``agent.individual_parameters``, checkpoints)::

    PlasticAgent(env, n_agents=64, seed=0, critic_lr=LogUniform(0.02, 0.2),
                 dopamine_gain_positive=Normal(1.0, 0.2, low=0.0))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class Distribution:
    """Base class: ``sample(n, rng)`` returns ``n`` floats."""

    def sample(self, n: int, rng: np.random.Generator) -> list[float]:
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform on ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"Uniform needs finite low <= high, got {self.low}, {self.high}")

    def sample(self, n: int, rng: np.random.Generator) -> list[float]:
        return rng.uniform(self.low, self.high, n).tolist()


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Log-uniform on ``[low, high]`` (``0 < low <= high``): uniform in orders of magnitude."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (0 < self.low <= self.high and math.isfinite(self.high)):
            raise ValueError(f"LogUniform needs 0 < low <= high, got {self.low}, {self.high}")

    def sample(self, n: int, rng: np.random.Generator) -> list[float]:
        return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n)).tolist()


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal ``N(mean, sd^2)``, clipped to ``[low, high]`` (defaults: unbounded)."""

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and math.isfinite(self.sd) and self.sd >= 0):
            raise ValueError(f"Normal needs a finite mean and sd >= 0, got {self.mean}, {self.sd}")
        if not self.low <= self.high:
            raise ValueError(f"Normal needs low <= high, got {self.low}, {self.high}")

    def sample(self, n: int, rng: np.random.Generator) -> list[float]:
        return np.clip(rng.normal(self.mean, self.sd, n), self.low, self.high).tolist()


def sample_individual_differences(hyperparameters: dict, n_agents: int, seed: int) -> dict:
    """Replace every :class:`Distribution` value by ``n_agents`` samples (a tuple).

    One generator seeded with ``seed`` draws the parameters in sorted name order, so the
    values depend only on the seed, the population size and which parameters vary.
    """
    rng = np.random.default_rng(seed)
    resolved = dict(hyperparameters)
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        if isinstance(value, Distribution):
            resolved[name] = tuple(value.sample(n_agents, rng))
    return resolved
