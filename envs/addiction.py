"""An operant chamber for drug versus natural (food) reward, run as a protocol of sessions.

Self-administration, escalation with long access, addiction-like criteria (signalled
unavailability, progressive ratio, punishment), extinction and relapse (cue, priming, context)
are phases of one protocol. The dynamics (:class:`AddictionDynamics`) are written once over
arrays of ``N`` envs and run by :class:`AddictionEnv` (one env) and :class:`AddictionVectorEnv`
(``num_envs`` envs). Schedules and pharmacokinetics are small pure functions
(:func:`progressive_ratio`, :func:`ratio_requirement`, :func:`pr_session_over`,
:func:`drug_level_update`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.config import check_bool, check_choice, check_int, check_probability, check_real
from plasticgym.envs._base import (
    BoolArray,
    FloatArray,
    IntArray,
    Phase,
    StepOutput,
    TaskConfig,
    TaskDynamics,
    TaskEnv,
    TaskVectorEnv,
    Validator,
    advance_phase,
    parse_protocol,
    phase_table,
)

__all__ = [
    "ACTIONS",
    "OBS_CHANNELS",
    "TEST_KWARGS",
    "AddictionConfig",
    "AddictionDynamics",
    "AddictionEnv",
    "AddictionVectorEnv",
    "ChamberState",
    "drug_level_update",
    "in_available_period",
    "level_signal",
    "pr_session_over",
    "progressive_ratio",
    "ratio_requirement",
]

ACTIONS = ("rest", "drug lever", "food lever")
REST, DRUG, FOOD = 0, 1, 2
OBS_CHANNELS = (
    "drug_level",
    "drug_cue",
    "timeout",
    "unavailable",
    "food",
    "shock",
    "food_timeout",
)
"""Names of the fixed observation channels; the context one-hot follows them."""
SCHEDULES = ("FR", "PR")
PR_MAX_N = 150
"""The progressive-ratio formula is evaluated at ``min(n, PR_MAX_N)`` (ratio ~5e13, never met)."""

TEST_KWARGS: dict[str, Any] = {
    "session_length": 6,
    "protocol": [
        {"name": "acquisition", "sessions": 2, "timeout": 1},
        {"name": "progressive", "sessions": 1, "schedule": "PR", "timeout": 0, "pr_limit": 3},
        {
            "name": "punishment",
            "sessions": 1,
            "shock_prob": 0.5,
            "available_period": 2,
            "unavailable_period": 2,
            "food_timeout": 0,
        },
        {"name": "extinction", "sessions": 1, "drug": False, "context": 1, "cue_on_press": True},
        {"name": "reinstatement", "sessions": 1, "drug": False, "priming": True, "cue_prob": 0.3},
    ],
}
"""A short configuration (episodes of at most 36 steps) for the conformance tests."""


# --------------------------------------------------------------------------------------------
# Schedules and pharmacokinetics: pure functions
# --------------------------------------------------------------------------------------------


def progressive_ratio(n: IntArray) -> IntArray:
    """Responses required for the ``n``-th infusion (``n >= 1``) of a session on the
    progressive-ratio schedule of Richardson & Roberts (1996):

    ``ratio_n = round(5 e^(0.2 n)) - 5`` = 1, 2, 4, 6, 9, 12, 15, 20, 25, 32, ...

    (rounding half up; ``n`` is capped at ``PR_MAX_N`` to stay inside int64).
    """
    capped = np.minimum(np.asarray(n, dtype=np.float64), PR_MAX_N)
    return (np.floor(5.0 * np.exp(0.2 * capped) + 0.5) - 5.0).astype(np.int64)


def ratio_requirement(n: IntArray, progressive: BoolArray, ratio: IntArray) -> IntArray:
    """Responses required for the ``n``-th infusion: :func:`progressive_ratio` where
    ``progressive``, else the fixed ratio ``ratio`` (FR)."""
    return np.where(progressive, progressive_ratio(n), ratio).astype(np.int64)


def drug_level_update(
    level: FloatArray, infusion: BoolArray | FloatArray, dose: float, decay: float
) -> FloatArray:
    """One step of first-order (one-compartment) pharmacokinetics:

    ``level_t = decay * level_{t-1} + dose * infusion_t``

    (exponential elimination with half-life ``ln 2 / -ln(decay)`` steps; cf. the satiety
    threshold model of Tsibulsky & Norman 1999). ``infusion`` is a bool array (one infusion
    of ``dose`` or none) or a float array of the amounts infused, in units of ``dose``. With
    at most one infusion of at most ``dose`` per step the level never exceeds
    ``dose / (1 - decay)``; with amounts up to ``a * dose`` it never exceeds
    ``a * dose / (1 - decay)`` (larger priming doses, ``priming_dose > 1``).
    """
    return decay * level + dose * infusion


def level_signal(level: FloatArray, dose: float, decay: float) -> FloatArray:
    """The drug level as a fraction of the self-administration ceiling ``dose / (1 - decay)``:
    ``level * (1 - decay) / dose``, clipped to [0, 1] (a priming dose larger than ``dose`` can
    push the level above that ceiling)."""
    return np.clip(level * (1.0 - decay) / dose, 0.0, 1.0)


def in_available_period(t: IntArray, available: IntArray, unavailable: IntArray) -> BoolArray:
    """Step ``t`` of a session lies in a drug-available period: sessions cycle through
    ``available`` steps with the drug, then ``unavailable`` signalled steps without it
    (Deroche-Gamonet et al. 2004); always True when ``unavailable == 0``."""
    return (unavailable == 0) | (np.mod(t, available + unavailable) < available)


def pr_session_over(idle: IntArray, progressive: BoolArray, pr_limit: IntArray) -> BoolArray:
    """The progressive-ratio session end rule of Richardson & Roberts (1996): a session on the
    progressive ratio ends once ``pr_limit`` steps have passed without a completed ratio
    (their "1 h without an infusion"), ``idle`` being the steps since the session began or
    since its last completed ratio. Never on a fixed ratio."""
    return progressive & (idle >= pr_limit)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _nonnegative(name: str, value: Any) -> float:
    return check_real(name, value, 0.0)


def _optional_steps(name: str, value: Any) -> int | None:
    return None if value is None else check_int(name, value, 0)


def phase_validators(n_contexts: int) -> dict[str, Validator]:
    """Validators of the per-phase parameters (``context`` must be below ``n_contexts``)."""
    return {
        "session_length": lambda k, v: check_int(k, v, 1),
        "drug": check_bool,
        "food": check_bool,
        "schedule": lambda k, v: check_choice(k, v, SCHEDULES),
        "ratio": lambda k, v: check_int(k, v, 1),
        "timeout": lambda k, v: check_int(k, v, 0),
        "food_timeout": _optional_steps,
        "available_period": lambda k, v: check_int(k, v, 1),
        "unavailable_period": lambda k, v: check_int(k, v, 0),
        "pr_limit": lambda k, v: check_int(k, v, 1),
        "shock_prob": check_probability,
        "shock_magnitude": _nonnegative,
        "press_cost": _nonnegative,
        "infusion_delay": lambda k, v: check_int(k, v, 0, 1),
        "cue_prob": check_probability,
        "cue_on_press": check_bool,
        "priming": check_bool,
        "priming_dose": lambda k, v: check_real(k, v, 0.0, low_open=True),
        "context": lambda k, v: check_int(k, v, 0, n_contexts - 1),
        "drug_reward": check_real,
        "food_reward": check_real,
    }


DEFAULT_PROTOCOL: tuple[dict[str, Any], ...] = (
    {"name": "acquisition", "sessions": 10, "unavailable_period": 5},
    {
        "name": "progressive",
        "sessions": 1,
        "schedule": "PR",
        "session_length": 600,
        "unavailable_period": 0,
    },
    {"name": "punishment", "sessions": 2, "shock_prob": 0.5, "unavailable_period": 0},
    {"name": "extinction", "sessions": 5, "drug": False, "context": 1},
    {"name": "reinstatement", "sessions": 1, "drug": False, "context": 1, "priming": True},
)
"""Acquisition with signalled unavailable periods -> progressive-ratio probe -> punishment
probe -> extinction (context B) -> priming reinstatement (see :class:`AddictionEnv`)."""


@dataclass(frozen=True)
class AddictionConfig(TaskConfig):
    """Validated arguments of the operant chamber (see :class:`AddictionEnv`).

    The per-phase parameters given here are the defaults of every protocol phase, except
    where a phase sets its own value. ``food_timeout=None`` means "the phase's ``timeout``":
    in the resolved phases it is always an int.
    """

    session_length: int = 30
    drug: bool = True
    food: bool = True
    schedule: str = "FR"
    ratio: int = 1
    timeout: int = 2
    food_timeout: int | None = None
    available_period: int = 10
    unavailable_period: int = 0
    pr_limit: int = 60
    shock_prob: float = 0.0
    shock_magnitude: float = 1.0
    press_cost: float = 0.0
    infusion_delay: int = 0
    cue_prob: float = 0.0
    cue_on_press: bool = False
    priming: bool = False
    priming_dose: float = 1.0
    context: int = 0
    drug_reward: float = 0.5
    food_reward: float = 1.0
    dose: float = 1.0
    decay: float = 0.9
    n_contexts: int = 2
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "sessions"

    def __post_init__(self) -> None:
        n_contexts = check_int("n_contexts", self.n_contexts, 1)
        self._store(n_contexts=n_contexts, dose=check_real("dose", self.dose, 0.0, low_open=True))
        decay = check_real("decay", self.decay, 0.0, 1.0)
        if decay >= 1.0:
            raise ValueError(f"decay must be a finite number in [0.0, 1.0), got {self.decay!r}")
        self._store(decay=decay)
        validators = phase_validators(n_contexts)
        defaults = {key: check(key, getattr(self, key)) for key, check in validators.items()}
        self._store(**defaults)
        protocol = DEFAULT_PROTOCOL if self.protocol is None else self.protocol
        phases = parse_protocol(
            protocol, length_key="sessions", defaults=defaults, validators=validators
        )
        self._store(protocol=tuple(_resolve_food_timeout(p) for p in phases))


def _resolve_food_timeout(phase: Phase) -> Phase:
    """The phase with ``food_timeout=None`` replaced by its ``timeout``."""
    if phase.params.get("food_timeout") is not None:
        return phase
    return Phase(phase.name, phase.length, {**phase.params, "food_timeout": phase.timeout})


# --------------------------------------------------------------------------------------------
# Dynamics
# --------------------------------------------------------------------------------------------


class ChamberState(NamedTuple):
    """Per-env state (fields ``[N]``) before the env's next step.

    ``trial`` counts sessions since the episode began, ``session`` since the phase began,
    ``t_in_trial`` is the index of the next step within its session; ``level`` is the drug
    level, ``timeout_left`` / ``food_timeout_left`` the remaining steps of the drug-lever /
    food-lever timeout, ``presses`` the effective drug-lever presses toward the next
    completed ratio, ``completions`` the ratios completed in this session (self-administered
    infusions; in a drug-free phase with ``cue_on_press``, response-contingent cues) and
    ``idle`` the steps since the session began or since its last completed ratio;
    ``pending`` is 1 when a completed ratio's infusion is due at the next step
    (``infusion_delay=1``).
    """

    phase: IntArray
    trial: IntArray
    session: IntArray
    t_in_trial: IntArray
    level: FloatArray
    timeout_left: IntArray
    food_timeout_left: IntArray
    presses: IntArray
    completions: IntArray
    idle: IntArray
    pending: IntArray


class Gate(NamedTuple):
    """What the chamber allows at the next step of each env (``[N]`` each): a priming
    infusion, a signalled unavailable period, drug-lever presses counting toward an infusion
    (``drug_available``) or toward a response-contingent cue (``cue_available``), an
    effective food lever, and the ratio requirement of the next completion."""

    priming: BoolArray
    unavailable: BoolArray
    drug_available: BoolArray
    cue_available: BoolArray
    food_available: BoolArray
    requirement: IntArray


class AddictionDynamics(TaskDynamics):
    """The operant chamber over arrays of ``N`` envs (see :class:`AddictionEnv` for the spec).

    Exposed model: ``protocol`` (the resolved phases) and one table ``[P]`` per phase
    parameter (``session_length``, ``drug``, ``food``, ``progressive``, ``ratio``, ...).
    """

    config_class = AddictionConfig
    n_start_uniforms = 0
    n_step_uniforms = 2

    def __init__(self, config: AddictionConfig) -> None:
        self.config = config
        self.protocol = config.protocol
        self._phase_names = np.array(self.phase_names, dtype=object)
        table = self._table
        self.lengths = table("length", np.int64)
        self.session_length = table("session_length", np.int64)
        self.drug = table("drug", np.bool_)
        self.food = table("food", np.bool_)
        self.progressive = np.array([p.schedule == "PR" for p in self.protocol], dtype=np.bool_)
        self.ratio = table("ratio", np.int64)
        self.timeout = table("timeout", np.int64)
        self.food_timeout = table("food_timeout", np.int64)
        self.available_period = table("available_period", np.int64)
        self.unavailable_period = table("unavailable_period", np.int64)
        self.pr_limit = table("pr_limit", np.int64)
        self.shock_prob = table("shock_prob")
        self.shock_magnitude = table("shock_magnitude")
        self.press_cost = table("press_cost")
        self.infusion_delay = table("infusion_delay", np.int64)
        self.cue_prob = table("cue_prob")
        self.cue_on_press = table("cue_on_press", np.bool_)
        self.priming = table("priming", np.bool_)
        self.priming_dose = table("priming_dose")
        self.context = table("context", np.int64)
        self.drug_reward = table("drug_reward")
        self.food_reward = table("food_reward")
        n_obs = len(OBS_CHANNELS) + config.n_contexts
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_obs,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(ACTIONS))

    def _table(self, key: str, dtype: Any = np.float64) -> npt.NDArray[Any]:
        return phase_table(self.protocol, key, dtype)

    def empty_state(self, n: int) -> ChamberState:
        """A placeholder state for ``n`` envs."""
        z = np.zeros(n, dtype=np.int64)
        return ChamberState(
            z, z.copy(), z.copy(), z.copy(), np.zeros(n), z.copy(), z.copy(), z.copy(), z.copy(),
            z.copy(), z,
        )  # fmt: skip

    def gate(self, state: ChamberState) -> Gate:
        """Priming, signalled unavailability, lever effectiveness and the ratio requirement of
        each env's next step.

        The drug lever is *armed* outside signalled unavailable periods, timeouts and priming
        steps; armed, it works toward an infusion in a drug phase (``drug_available``) and
        toward a response-contingent cue in a drug-free phase with ``cue_on_press``
        (``cue_available``). The food lever works in a food phase outside its timeout.
        """
        p, t = state.phase, state.t_in_trial
        priming = self.priming[p] & (t == 0)
        unavailable = ~in_available_period(t, self.available_period[p], self.unavailable_period[p])
        armed = ~unavailable & (state.timeout_left == 0) & ~priming
        drug_available = self.drug[p] & armed
        cue_available = ~self.drug[p] & self.cue_on_press[p] & armed
        food_available = self.food[p] & (state.food_timeout_left == 0)
        requirement = ratio_requirement(state.completions + 1, self.progressive[p], self.ratio[p])
        return Gate(
            priming, unavailable, drug_available, cue_available, food_available, requirement
        )

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[ChamberState, StepOutput]:
        """Session 0 of phase ``start_phase``, before its first step (no uniforms used)."""
        del u
        m = start_phase.size
        state = self.empty_state(m)._replace(phase=start_phase.astype(np.int64))
        gate = self.gate(state)
        false = np.zeros(m, dtype=np.bool_)
        keys = ("infusion", "priming", "food", "shock", "cue", "session_end")
        events = {k: false.copy() for k in keys}
        zeros = np.zeros(m, dtype=np.int64)
        info = self._info(state, gate, zeros, events, zeros.copy(), state.level.copy())
        obs = self._obs(state, events)
        return state, StepOutput(obs, np.zeros(m), false.copy(), false.copy(), info)

    def step(
        self, state: ChamberState, actions: np.ndarray, u: FloatArray
    ) -> tuple[ChamberState, StepOutput]:
        """One step: lever press, schedule, infusion or cue, shock, food, drug level, clock."""
        cfg, p, t = self.config, state.phase, state.t_in_trial
        gate = self.gate(state)
        press = np.asarray(actions, dtype=np.int64)
        effective = (press == DRUG) & (gate.drug_available | gate.cue_available)
        presses = state.presses + effective
        completed = effective & (presses >= gate.requirement)
        earned = completed & gate.drug_available
        completions = state.completions + completed
        delayed = self.infusion_delay[p] > 0
        infusion = (earned & ~delayed) | (state.pending > 0) | gate.priming
        shock = earned & (u[:, 0] < self.shock_prob[p])
        food = (press == FOOD) & gate.food_available
        cue = completed | (u[:, 1] < self.cue_prob[p])
        # amounts in units of dose: priming_dose for a priming infusion, 1 for an earned one
        amount = np.where(gate.priming, self.priming_dose[p], 1.0) * infusion
        level = drug_level_update(state.level, amount, cfg.dose, cfg.decay)
        timeout_left = np.where(completed, self.timeout[p], np.maximum(state.timeout_left - 1, 0))
        food_timeout_left = np.where(
            food, self.food_timeout[p], np.maximum(state.food_timeout_left - 1, 0)
        )
        reward = (
            self.drug_reward[p] * infusion
            + self.food_reward[p] * food
            - self.shock_magnitude[p] * shock
            - self.press_cost[p] * (press != REST)
        )
        breakpoint = np.where(
            completions > 0,
            ratio_requirement(completions, self.progressive[p], self.ratio[p]),
            0,
        )
        idle = np.where(completed, 0, state.idle + 1)
        ended = (t + 1 >= self.session_length[p]) | pr_session_over(
            idle, self.progressive[p], self.pr_limit[p]
        )
        phase, session, terminated = advance_phase(p, state.session, ended, self.lengths)
        fresh = ended & ~terminated
        new = ChamberState(
            phase=phase,
            trial=state.trial + fresh,
            session=session,
            t_in_trial=np.where(ended, 0, t + 1).astype(np.int64),
            level=np.where(fresh, 0.0, level),
            timeout_left=np.where(fresh, 0, timeout_left).astype(np.int64),
            food_timeout_left=np.where(fresh, 0, food_timeout_left).astype(np.int64),
            presses=np.where(fresh | completed, 0, presses).astype(np.int64),
            completions=np.where(fresh, 0, completions).astype(np.int64),
            idle=np.where(ended, 0, idle).astype(np.int64),
            pending=(earned & delayed & ~ended).astype(np.int64),
        )
        events = {"infusion": infusion, "priming": gate.priming, "food": food, "shock": shock}
        events.update(cue=cue, session_end=ended)
        info = self._info(state, gate, press, events, breakpoint.astype(np.int64), level)
        obs = self._obs(new, events)
        return new, StepOutput(obs, reward, terminated, np.zeros_like(terminated), info)

    def check_state(self, state: NamedTuple) -> None:
        """Raise ValueError unless every counter and the drug level are in range."""
        s = ChamberState(*state)
        if not ((s.phase >= 0) & (s.phase < self.lengths.size)).all():
            raise ValueError(f"state.phase must lie in [0, {self.lengths.size - 1}]")
        # the largest infusion, in units of dose: 1, or a larger priming dose
        largest = float(np.max(self.priming_dose, where=self.priming, initial=1.0))
        ceiling = largest * self.config.dose / (1.0 - self.config.decay) * (1.0 + 1e-9)
        p = s.phase
        checks = {
            "trial": s.trial >= 0,
            "session": (s.session >= 0) & (s.session < self.lengths[p]),
            "t_in_trial": (s.t_in_trial >= 0) & (s.t_in_trial < self.session_length[p]),
            "level": np.isfinite(s.level) & (s.level >= 0) & (s.level <= ceiling),
            "timeout_left": (s.timeout_left >= 0) & (s.timeout_left <= self.timeout.max()),
            "food_timeout_left": (s.food_timeout_left >= 0)
            & (s.food_timeout_left <= self.food_timeout.max()),
            "presses": s.presses >= 0,
            "completions": s.completions >= 0,
            "pending": ((s.pending == 0) | (s.pending == 1))
            & ((s.pending == 0) | (self.infusion_delay[p] > 0)),
            "idle": (s.idle >= 0)
            & (s.idle <= s.t_in_trial)
            & (~self.progressive[p] | (s.idle < self.pr_limit[p])),
        }
        for name, ok in checks.items():
            if not ok.all():
                raise ValueError(f"state.{name} is out of range for envs {np.flatnonzero(~ok)}")

    def _obs(self, state: ChamberState, events: Mapping[str, BoolArray]) -> npt.NDArray[np.float32]:
        p, cfg = state.phase, self.config
        period = in_available_period(
            state.t_in_trial, self.available_period[p], self.unavailable_period[p]
        )
        channels = [
            level_signal(state.level, cfg.dose, cfg.decay),
            events["cue"],
            state.timeout_left > 0,
            ~period,
            events["food"],
            events["shock"],
            state.food_timeout_left > 0,
        ]
        fixed = np.stack(channels, axis=1).astype(np.float32)
        context = np.eye(cfg.n_contexts, dtype=np.float32)[self.context[p]]
        return np.concatenate([fixed, context], axis=1)

    def _info(
        self,
        state: ChamberState,
        gate: Gate,
        press: IntArray,
        events: Mapping[str, BoolArray],
        breakpoint: IntArray,
        level: FloatArray,
    ) -> dict[str, np.ndarray]:
        p = state.phase
        return {
            "trial": state.trial.copy(),
            "phase": self._phase_names[p],
            "t_in_trial": state.t_in_trial.copy(),
            "session": state.session.copy(),
            "context": self.context[p],
            "press": press.astype(np.int64),
            "unavailable": gate.unavailable,
            "drug_available": gate.drug_available,
            "food_available": gate.food_available,
            "infusion": events["infusion"],
            "priming": events["priming"],
            "food": events["food"],
            "shock": events["shock"],
            "cue": events["cue"],
            "ratio_requirement": gate.requirement,
            "breakpoint": breakpoint,
            "session_end": events["session_end"],
            "drug_level": level.astype(np.float64),
        }


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class AddictionEnv(TaskEnv):
    """
    An operant chamber with a drug lever and a food lever, run as a protocol of sessions.

    ## Description
    A rat-like agent in an operant chamber chooses at each step to rest, press the drug lever
    or press the food lever. The experiment is a sequence of phases, each a number of
    **sessions** of at most ``session_length`` steps; sessions follow each other directly
    (the home-cage interval between them is not simulated, but the drug is cleared: the drug
    level and all within-session counters restart at 0 with each session). Each phase sets
    the chamber's rules, so self-administration, escalation with long access (Ahmed & Koob
    1998), the addiction-like criteria of Deroche-Gamonet, Belin & Piazza (2004), extinction
    and relapse (Shaham et al. 2003; Bouton 2004) are all phases of one protocol.

    Per step, with ``p`` the phase and ``t`` the step's index in its session:

    - **Drug lever.** The lever is *armed* when ``t`` lies outside a signalled unavailable
      period, no post-infusion timeout runs and no priming infusion is given this step. In a
      phase with the drug (``drug``) a press on the armed lever is *effective*: it counts
      toward the ratio requirement of the session's next infusion (``n`` = ratios completed
      so far + 1): ``ratio`` on a fixed-ratio schedule (``schedule="FR"``),
      ``round(5 e^(0.2 n)) - 5`` = 1, 2, 4, 6, 9, 12, 15, 20, 25, 32, ... on the progressive
      ratio (``"PR"``, Richardson & Roberts 1996). Completing it delivers an **infusion**
      (the count restarts), presents the drug-paired **cue**, starts a **timeout** of
      ``timeout`` steps during which the lever is not armed, and is followed by a footshock
      with probability ``shock_prob`` (punishment). Other presses do nothing and are not
      counted. With ``infusion_delay=1`` the cue, the timeout and the shock come in the step
      that completes the ratio and the infusion in the next one (a completion in a session's
      last step delivers nothing): the cost precedes the drug, as in the chains of states of
      Redish (2004), where the learned value of what follows can outweigh the cost.
    - **Signalled unavailability.** With ``unavailable_period > 0`` a session cycles through
      ``available_period`` steps with the drug and ``unavailable_period`` steps without it,
      signalled in the observation (Deroche-Gamonet et al. 2004).
    - **Extinction** (``drug=False``): drug-lever presses deliver nothing.
    - **Response-contingent cue** (``cue_on_press=True``, cue-induced reinstatement; Shaham
      et al. 2003): in a phase without the drug, presses on the armed drug lever work
      exactly as in acquisition (ratio, timeout, unavailable periods), but a completed ratio
      presents the drug-paired cue alone: no infusion, no shock. No effect in a drug phase,
      where every infusion brings the cue anyway.
    - **Progressive-ratio session end** (Richardson & Roberts 1996). On the progressive ratio
      a session also ends once ``pr_limit`` steps have passed without a completed ratio
      (counted from the session's start or its last completed ratio), so the session's
      **breakpoint**, the last ratio completed, is set by the agent's persistence, not by the
      session's length. An agent pressing at every step completes ratio ``n`` iff
      ``timeout + ratio_n <= pr_limit``: with ``timeout=2`` and ``pr_limit=60`` it reaches
      the breakpoint 50 (12 infusions) and its session ends at step 297 (298 steps), 60 steps
      after its last infusion. ``session_length`` still caps a PR session: give PR phases a
      long one (the default protocol's probe has 600).
    - **Food lever.** A press delivers food when the phase has food (``food``) and no food
      timeout runs (FR1); each delivery starts a **food timeout** of ``food_timeout`` steps
      (default: the phase's ``timeout``) during which the food lever does nothing.
    - **Non-contingent cue** (``cue_prob``): each step the drug-paired cue is presented with
      probability ``cue_prob``, whatever the agent does.
    - **Priming** (``priming=True``): the first step of every session of the phase delivers a
      non-contingent infusion of ``priming_dose * dose`` (no cue, no timeout, no shock; the
      drug lever is not armed in that step). A priming injection is typically much larger
      than one self-administered infusion (de Wit & Stewart 1981; Shaham et al. 2003):
      ``priming_dose`` is its size in units of ``dose`` (default 1).
    - **Context** (``context``): which context the chamber is in, an observation channel;
      ABA renewal is acquisition in context 0, extinction in 1, test in 0 (Bouton 2004).
    - **Drug level**: ``level_t = decay * level_{t-1} + dose * a_t`` (first-order
      elimination), with ``a_t`` = 1 for a self-administered infusion, ``priming_dose`` for a
      priming one and 0 without an infusion. It is visible to the agent and in ``info`` for
      homeostatic models.
    - **Response effort** (``press_cost``): every press of either lever costs ``press_cost``
      reward, effective or not (Niv, Daw, Joel & Dayan 2007); resting is free.

    **Maximal earning rates** (with ``press_cost = 0``). One press per step: on FR the drug
    lever delivers at most one infusion per ``ratio + timeout`` steps,
    ``drug_reward / (ratio + timeout)`` per step, and the food lever at most one food per
    ``1 + food_timeout`` steps, ``food_reward / (1 + food_timeout)`` per step. With the
    defaults both operants deliver at most once every 3 steps: 0.5 / 3 ~ 0.17 (drug, plus
    the agent's own dopamine surge) vs 1 / 3 ~ 0.33 (food) per step. The timeouts do not
    block the other lever, so pressing in turn (drug, food, rest, ...) earns both, 0.5 per
    step: taking the drug costs no food, and a cost (``shock_prob``) or the drug's absence is
    needed to make the operants compete.

    The infusion's pharmacological dopamine surge belongs to the agent's dopamine model, not to
    the reward: ``info["infusion"]`` marks every drug delivery. Per step, two uniforms of the
    env's stream are used, ``u0`` (shock iff ``u0 < shock_prob``) and ``u1`` (cue iff
    ``u1 < cue_prob``), both always drawn.

    ## Action Space
    ``Discrete(3)``: 0 = rest, 1 = press the drug lever, 2 = press the food lever. An invalid
    action (not an integer in {0, 1, 2}; bools and floats with a fraction included) raises
    ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(7 + n_contexts,), dtype=float32)``; events of the step just taken and
    the state in which the next step is taken:

    | Num   | Observation           | Value                                                    |
    |-------|-----------------------|----------------------------------------------------------|
    | 0     | drug level            | ``level * (1 - decay) / dose`` clipped to [0, 1] (1 =    |
    |       |                       | the self-administration ceiling ``dose / (1 - decay)``)  |
    | 1     | drug-paired cue       | 1 in a step that completes a ratio (the infusion's step  |
    |       |                       | unless delayed), a contingent or a non-contingent cue    |
    | 2     | timeout signal        | 1 while the drug-lever timeout runs                      |
    | 3     | unavailable signal    | 1 during a signalled drug-unavailable period             |
    | 4     | food                  | 1 in a step that delivered food                          |
    | 5     | shock                 | 1 in a step with a footshock                             |
    | 6     | food timeout signal   | 1 while the food-lever timeout runs                      |
    | 7 ..  | context one-hot       | ``n_contexts`` channels, 1 for the current context       |

    In extinction the chamber looks as in acquisition (only the outcomes differ).

    ## Rewards
    ``drug_reward`` per infusion (its hedonic value; priming infusions included, whatever
    their ``priming_dose``) + ``food_reward`` per food delivery - ``shock_magnitude`` per
    shock - ``press_cost`` per lever press (either lever, effective or not; values of the
    phase):

    ```
    reward = drug_reward * infusion + food_reward * food - shock_magnitude * shock
             - press_cost * (action != 0)
    ```

    A response-contingent cue earns nothing (what it is worth is up to the agent).

    ## Starting State
    ``reset()`` starts session 0 of the first phase (or of ``options["phase"]``) with drug
    level 0, no timeouts and no presses counted.

    ## Episode End
    ``terminated`` is True on the last step of the last session of the last phase (after
    ``sum(sessions)`` sessions when starting at the first phase). ``truncated`` is always
    False.

    ## Information
    A **trial is a session**. ``step()`` describes the step just taken; ``reset()`` the
    situation before the first step (no events, ``press = 0``):

    - ``trial`` (int): index of the session within the episode, from 0.
    - ``phase`` (str): name of the session's protocol phase.
    - ``t_in_trial`` (int): index of the step within its session, from 0.
    - ``session`` (int): index of the session within its phase, from 0.
    - ``context`` (int): the phase's context.
    - ``press`` (int): the lever pressed at this step: 0 none (rest), 1 drug, 2 food.
    - ``unavailable`` (bool): the step lies in a signalled drug-unavailable period (the
      signal the observation before the step showed); ``press == 1`` with ``unavailable``
      is Deroche-Gamonet et al.'s "pressing while the drug is signalled unavailable".
    - ``drug_available`` (bool): a drug-lever press at this step would count toward an
      infusion: the phase has the drug, the step lies outside signalled unavailable periods,
      no post-infusion timeout runs and no priming infusion is given in this step. It does not
      depend on the action (``press`` tells whether the lever was pressed) and is False
      throughout drug-free phases, ``cue_on_press`` included.
    - ``food_available`` (bool): a food-lever press at this step would deliver food (food
      phase, no food timeout).
    - ``infusion`` (bool): drug delivered (self-administered or priming).
    - ``priming`` (bool): the infusion was a non-contingent priming dose.
    - ``food`` (bool), ``shock`` (bool): food delivered, footshock.
    - ``cue`` (bool): drug-paired cue shown (with an infusion, response-contingent with
      ``cue_on_press``, or non-contingent with ``cue_prob``).
    - ``ratio_requirement`` (int): effective presses required for the ratio being worked for
      at this step (toward an infusion, or toward a cue with ``cue_on_press``).
    - ``breakpoint`` (int): the last ratio completed in this session (0 before the first);
      at a progressive-ratio session's end it is the session's breakpoint.
    - ``session_end`` (bool): this step was the last of its session (``session_length``
      steps, or the progressive-ratio end rule).
    - ``drug_level`` (float): drug level after this step (before the next session's reset).

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Addiction-v0", session_length=30, drug_reward=0.5)
    # escalation (Ahmed & Koob 1998): short vs long access is the session length of a phase
    short_access = gym.make(
        "plasticgym/Addiction-v0",
        protocol=[{"name": "access", "sessions": 20, "session_length": 20}],
    )
    long_access = gym.make(
        "plasticgym/Addiction-v0",
        protocol=[{"name": "access", "sessions": 20, "session_length": 120}],
    )
    env = gym.make(
        "plasticgym/Addiction-v0",
        protocol=[
            {"name": "short_access", "sessions": 10, "session_length": 20},
            {"name": "long_access", "sessions": 20, "session_length": 120},
            {"name": "unavailable", "sessions": 1, "unavailable_period": 10},
            {"name": "progressive", "sessions": 1, "schedule": "PR", "session_length": 600,
             "pr_limit": 60},
            {"name": "punished", "sessions": 1, "shock_prob": 0.5, "shock_magnitude": 2.0},
            {"name": "extinction", "sessions": 10, "drug": False, "context": 1},
            {"name": "renewal", "sessions": 1, "drug": False, "context": 0},
            {"name": "cue", "sessions": 1, "drug": False, "context": 1, "cue_on_press": True},
        ],
    )
    envs = gym.make_vec("plasticgym/Addiction-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    Per-phase parameters (the constructor's values are every phase's defaults; a phase's own
    value wins):

    - ``session_length`` (int >= 1, default 30): steps per session (at most, on PR).
    - ``drug`` (bool, default True): the drug lever can deliver infusions (False: extinction).
    - ``food`` (bool, default True): the food lever delivers food.
    - ``schedule`` ("FR" or "PR", default "FR") and ``ratio`` (int >= 1, default 1, for FR).
    - ``timeout`` (int >= 0, default 2): drug-lever timeout steps after each infusion (or
      contingent cue).
    - ``food_timeout`` (int >= 0 or None, default None = the phase's ``timeout``): food-lever
      timeout steps after each food delivery.
    - ``available_period`` (int >= 1, default 10), ``unavailable_period`` (int >= 0,
      default 0 = never unavailable): the cycle of signalled availability.
    - ``pr_limit`` (int >= 1, default 60): on PR, the session ends after this many steps
      without a completed ratio.
    - ``shock_prob`` (probability, default 0), ``shock_magnitude`` (float >= 0, default 1).
    - ``press_cost`` (float >= 0, default 0): reward cost of each lever press (response
      effort).
    - ``infusion_delay`` (0 or 1, default 0): steps from a completed ratio (cue, timeout,
      shock) to its infusion.
    - ``cue_prob`` (probability, default 0): non-contingent cue per step.
    - ``cue_on_press`` (bool, default False): in a drug-free phase, completed ratios on the
      drug lever present the cue.
    - ``priming`` (bool, default False): priming infusion at each session's first step.
    - ``priming_dose`` (finite float > 0, default 1): size of a priming infusion, in units of
      ``dose``.
    - ``context`` (int in [0, n_contexts), default 0).
    - ``drug_reward`` (finite float, default 0.5), ``food_reward`` (finite float, default 1).

    Task parameters:

    - ``dose`` (float > 0, default 1) and ``decay`` (float in [0, 1), default 0.9, half-life
      about 6.6 steps): pharmacokinetics.
    - ``n_contexts`` (int >= 1, default 2): context channels.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``sessions`` (int >= 1) and any per-phase parameter above; unknown keys are an error.
      Resolved phases: ``env.protocol``. Default (None), with the values each phase sets
      itself (the constructor's values fill in the rest):

      | Phase           | Sessions | Sets                                                   |
      |-----------------|----------|--------------------------------------------------------|
      | acquisition     | 10       | ``unavailable_period=5`` (with ``available_period``    |
      |                 |          | 10: steps 10-14 and 25-29 of a 30-step session are     |
      |                 |          | signalled unavailable)                                 |
      | progressive     | 1        | ``schedule="PR"``, ``session_length=600``,             |
      |                 |          | ``unavailable_period=0``                               |
      | punishment      | 2        | ``shock_prob=0.5``, ``unavailable_period=0``           |
      | extinction      | 5        | ``drug=False``, ``context=1``                          |
      | reinstatement   | 1        | ``drug=False``, ``context=1``, ``priming=True``        |

      With the other defaults an episode lasts 540 steps plus the PR session: 600 to 1140
      steps (60 steps for an agent that never completes a ratio, 298 for one pressing the
      drug lever at every step, so 838 in all for it).
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming it, its value and the allowed range; an
    unknown keyword argument raises ``ValueError`` naming it and listing the allowed ones.
    ``reset(options={"phase": name})`` starts at the beginning of that phase and runs through
    the remaining phases.

    ## Phenomenon
    Drug taking can become compulsive. With long daily access rats escalate their intake over
    ~20 sessions while short-access rats stay stable (Ahmed & Koob 1998). After prolonged
    self-administration a minority (~15-20%) meet three addiction-like criteria: they keep
    pressing when the drug is signalled unavailable, work for it on a progressive ratio up to a
    high breakpoint and keep taking it despite punishment (Deroche-Gamonet, Belin & Piazza
    2004). After extinction, drug seeking returns when the drug-paired cue, a priming dose or
    the acquisition context is presented (reinstatement, Shaham et al. 2003; renewal, Bouton
    2004). Computational accounts contrast a non-compensable dopamine surge on infusion
    (Redish 2004) with homeostatic reinforcement learning on the internal drug level (Keramati
    & Gutkin 2014); plain temporal-difference learning unlearns in extinction, so relapse needs
    an extra mechanism such as latent-cause inference (Redish et al. 2007; Gershman, Blei & Niv
    2010).

    ## References
    - S. H. Ahmed, G. F. Koob (1998). Transition from moderate to excessive drug intake: change
      in hedonic set point. Science 282(5387), 298-300.
    - V. Deroche-Gamonet, D. Belin, P. V. Piazza (2004). Evidence for addiction-like behavior
      in the rat. Science 305(5686), 1014-1017.
    - N. R. Richardson, D. C. S. Roberts (1996). Progressive ratio schedules in drug
      self-administration studies in rats: a method to evaluate reinforcing efficacy. Journal
      of Neuroscience Methods 66(1), 1-11.
    - H. de Wit, J. Stewart (1981). Reinstatement of cocaine-reinforced responding in the rat.
      Psychopharmacology 75(2), 134-143.
    - Y. Shaham, U. Shalev, L. Lu, H. de Wit, J. Stewart (2003). The reinstatement model of
      drug relapse: history, methodology and major findings. Psychopharmacology 168(1-2), 3-20.
    - M. E. Bouton (2004). Context and behavioral processes in extinction. Learning & Memory
      11(5), 485-494.
    - V. L. Tsibulsky, A. B. Norman (1999). Satiety threshold: a quantitative model of
      maintained cocaine self-administration. Brain Research 839(1), 85-93.
    - A. D. Redish (2004). Addiction as a computational process gone awry. Science 306(5703),
      1944-1947.
    - Y. Niv, N. D. Daw, D. Joel, P. Dayan (2007). Tonic dopamine: opportunity costs and the
      control of response vigor. Psychopharmacology 191(3), 507-520.
    - M. Keramati, B. Gutkin (2014). Homeostatic reinforcement learning for integrating reward
      collection and physiological stability. eLife 3, e04811.
    - A. D. Redish, S. Jensen, A. Johnson, Z. Kurth-Nelson (2007). Reconciling reinforcement
      learning models with behavioral extinction and renewal: implications for addiction,
      relapse, and problem gambling. Psychological Review 114(3), 784-805.
    - S. J. Gershman, D. M. Blei, Y. Niv (2010). Context, learning, and extinction.
      Psychological Review 117(1), 197-209.

    ## Version History
    - v0: Initial version. Amended before any release: explicit constructor arguments
      (unknown ones raise ``ValueError``); a food-lever timeout (``food_timeout``) and its
      observation channel (the observation has ``7 + n_contexts`` channels); the
      progressive-ratio session end rule (``pr_limit``); response-contingent cues
      (``cue_on_press``); the info keys ``press``, ``unavailable``, ``food_available`` and
      ``session_end``; a default protocol with signalled unavailability and a PR probe;
      the per-phase ``priming_dose`` and ``press_cost``.
    """

    dynamics_class = AddictionDynamics


class AddictionVectorEnv(TaskVectorEnv):
    """``num_envs`` operant chambers in one set of arrays (arguments as :class:`AddictionEnv`,
    with ``num_envs`` first).

    Equals ``SyncVectorEnv`` over :class:`AddictionEnv` step for step; NEXT_STEP autoreset.
    """

    dynamics_class = AddictionDynamics
