"""What the addiction experiment runs: one config for its six parts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from plasticgym.population import LogUniform, Uniform

_COUNTS = (
    "value_sessions",
    "cost_short",
    "cost_long",
    "punished_sessions",
    "blocking_pretraining",
    "blocking_compound",
    "blocking_test",
    "acquisition_sessions",
    "late_sessions",
    "extinction_sessions",
    "criteria_agents",
    "baseline_days",
    "access_days",
    "late_days",
    "day_length",
    "short_access",
    "long_access",
    "relapse_acquisition",
    "relapse_extinction",
)
"""The fields that count sessions, trials, days, steps or agents: integers >= 1."""


@dataclass(frozen=True)
class Config:
    """What to run. Every population has ``n_agents`` agents (part 4's has
    ``criteria_agents``: its rank statistics need more); population ``i`` of the experiment is
    seeded ``seed + i``. The agents of every population differ in their learning rates
    (``lr_spread``), part 4's also in their drug surge and negative dopamine gain."""

    seed: int = 0
    n_agents: int = 64
    device: str = "cpu"
    # every part: each agent's critic_lr and actor_lr drawn log-uniformly over this factor
    # around the part's value (1.0: every agent the same)
    lr_spread: float = 2.0
    # part 1: value of drug-taking
    value_sessions: int = 30
    # part 2: cost sensitivity
    cost_short: int = 1
    cost_long: int = 20
    punished_sessions: int = 4
    cost_shock_magnitude: float = 3.0
    shock_prob: float = 0.5
    shock_magnitude: float = 2.0
    # part 3: blocking (Pavlovian trials per phase)
    blocking_pretraining: int = 40
    blocking_compound: int = 60
    blocking_test: int = 10
    # part 4: addiction-like criteria
    acquisition_sessions: int = 10
    late_sessions: int = 3
    extinction_sessions: int = 12
    criteria_agents: int = 64
    drug_surge_range: tuple[float, float] = (0.05, 0.5)
    gain_negative_range: tuple[float, float] = (0.25, 1.0)
    # part 5: escalation with long access
    baseline_days: int = 3
    access_days: int = 12
    late_days: int = 3
    day_length: int = 240
    short_access: int = 20
    long_access: int = 120
    allostatic_gain: float = 1.0
    # part 6: relapse after extinction
    relapse_acquisition: int = 10
    relapse_extinction: int = 12
    press_cost: float = 0.1
    priming_dose: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.lr_spread, bool) or not (
            isinstance(self.lr_spread, int | float) and 1.0 <= self.lr_spread < math.inf
        ):
            raise ValueError(f"lr_spread={self.lr_spread!r} is invalid: a number >= 1")
        _check_counts(self)
        _check_punishment(self)
        LogUniform(*self.drug_surge_range)
        Uniform(*self.gain_negative_range)
        _check_access(self)
        _check_relapse(self)

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """32 agents (cheap: a population costs little more than one agent; part 4 keeps its
        64), 20 value sessions, 12 long-acquisition sessions, shorter blocking phases (about 45 s
        on 2 cores)."""
        return cls(
            **{
                "n_agents": 32,
                "value_sessions": 20,
                "cost_long": 12,
                "blocking_pretraining": 30,
                "blocking_compound": 40,
                "blocking_test": 8,
                "baseline_days": 2,
                "access_days": 8,
                "relapse_acquisition": 6,
                "relapse_extinction": 8,
                **overrides,
            }
        )


def _check_counts(config: Config) -> None:
    """The counts, the population sizes and the session windows the analyses take."""
    for name in _COUNTS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
    if config.n_agents < 3 or config.criteria_agents < 3:
        raise ValueError(
            f"n_agents={config.n_agents}, criteria_agents={config.criteria_agents} are invalid: "
            "the statistics need >= 3"
        )
    if config.value_sessions < 15:
        raise ValueError(
            f"value_sessions={config.value_sessions} is invalid: middle and late windows of "
            "5 sessions need >= 15"
        )
    if not config.cost_short < config.cost_long:
        raise ValueError(
            f"cost_short={config.cost_short} and cost_long={config.cost_long}: need short < long"
        )
    if config.late_sessions > config.acquisition_sessions:
        raise ValueError(
            f"late_sessions={config.late_sessions} > acquisition_sessions="
            f"{config.acquisition_sessions}"
        )


def _check_punishment(config: Config) -> None:
    if not 0.0 <= config.shock_prob <= 1.0 or config.shock_magnitude < 0:
        raise ValueError(
            f"shock_prob={config.shock_prob} must be in [0, 1] and shock_magnitude="
            f"{config.shock_magnitude} >= 0"
        )
    if not config.cost_shock_magnitude >= 0:
        raise ValueError(f"cost_shock_magnitude={config.cost_shock_magnitude!r} must be >= 0")


def _check_access(config: Config) -> None:
    if not config.short_access < config.long_access < config.day_length:
        raise ValueError(
            f"short_access={config.short_access}, long_access={config.long_access}, "
            f"day_length={config.day_length}: need short_access < long_access < day_length "
            "(a day has a drug-free period)"
        )
    if config.late_days > config.access_days:
        raise ValueError(f"late_days={config.late_days} > access_days={config.access_days}")
    if not config.allostatic_gain >= 0:
        raise ValueError(f"allostatic_gain={config.allostatic_gain!r} is invalid: >= 0")


def _check_relapse(config: Config) -> None:
    if not 0 <= config.press_cost < math.inf:
        raise ValueError(f"press_cost={config.press_cost!r} is invalid: a number >= 0")
    if not 0 < config.priming_dose < math.inf:
        raise ValueError(f"priming_dose={config.priming_dose!r} is invalid: a number > 0")
