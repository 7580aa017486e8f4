"""An operant chamber for drug versus natural (food) reward, run as a protocol of sessions.

Self-administration, escalation with long access, addiction-like criteria (signalled
unavailability, progressive ratio, punishment), extinction and relapse (cue, priming, context)
are phases of one protocol. The dynamics (:class:`AddictionDynamics`) are written once over
arrays of ``N`` envs and run by :class:`AddictionEnv` (one env) and :class:`AddictionVectorEnv`
(``num_envs`` envs). Schedules and pharmacokinetics are small pure functions
(:func:`progressive_ratio`, :func:`ratio_requirement`, :func:`drug_level_update`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.envs._base import (
    BoolArray,
    FloatArray,
    IntArray,
    Phase,
    StepOutput,
    TaskDynamics,
    TaskEnv,
    TaskVectorEnv,
    Validator,
    check_bool,
    check_choice,
    check_int,
    check_probability,
    check_real,
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
    "advance_sessions",
    "drug_level_update",
    "in_available_period",
    "level_signal",
    "progressive_ratio",
    "ratio_requirement",
]

ACTIONS = ("rest", "drug lever", "food lever")
REST, DRUG, FOOD = 0, 1, 2
OBS_CHANNELS = ("drug_level", "drug_cue", "timeout", "unavailable", "food", "shock")
"""Names of the fixed observation channels; the context one-hot follows them."""
SCHEDULES = ("FR", "PR")
PR_MAX_N = 150
"""The progressive-ratio formula is evaluated at ``min(n, PR_MAX_N)`` (ratio ~5e13, never met)."""

TEST_KWARGS: dict[str, Any] = {
    "session_length": 6,
    "protocol": [
        {"name": "acquisition", "sessions": 2, "timeout": 1},
        {"name": "progressive", "sessions": 1, "schedule": "PR", "timeout": 0},
        {
            "name": "punishment",
            "sessions": 1,
            "shock_prob": 0.5,
            "available_period": 2,
            "unavailable_period": 2,
        },
        {"name": "extinction", "sessions": 1, "drug": False, "context": 1},
        {"name": "reinstatement", "sessions": 1, "drug": False, "priming": True, "cue_prob": 0.3},
    ],
}
"""A short configuration (episodes of 36 steps) for the conformance tests."""


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
    level: FloatArray, infusion: BoolArray, dose: float, decay: float
) -> FloatArray:
    """One step of first-order (one-compartment) pharmacokinetics:

    ``level_t = decay * level_{t-1} + dose * infusion_t``

    (exponential elimination with half-life ``ln 2 / -ln(decay)`` steps; cf. the satiety
    threshold model of Tsibulsky & Norman 1999). With at most one infusion per step the level
    never exceeds ``dose / (1 - decay)``.
    """
    return decay * level + dose * infusion


def level_signal(level: FloatArray, dose: float, decay: float) -> FloatArray:
    """The drug level as a fraction of its ceiling: ``level * (1 - decay) / dose`` in [0, 1]."""
    return np.clip(level * (1.0 - decay) / dose, 0.0, 1.0)


def in_available_period(t: IntArray, available: IntArray, unavailable: IntArray) -> BoolArray:
    """Step ``t`` of a session lies in a drug-available period: sessions cycle through
    ``available`` steps with the drug, then ``unavailable`` signalled steps without it
    (Deroche-Gamonet et al. 2004); always True when ``unavailable == 0``."""
    return (unavailable == 0) | (np.mod(t, available + unavailable) < available)


def advance_sessions(
    phase: IntArray, session: IntArray, ended: BoolArray, lengths: IntArray
) -> tuple[IntArray, IntArray, BoolArray]:
    """Count ended sessions; move to the next phase after a phase's last session.

    Returns ``(phase, session_in_phase, terminated)``; ``terminated`` marks the end of the last
    session of the last phase, where the counters are left as they were.
    """
    counted = session + ended
    phase_done = ended & (counted >= lengths[phase])
    terminated = phase_done & (phase == lengths.size - 1)
    moving = phase_done & ~terminated
    new_phase = np.where(moving, phase + 1, phase).astype(np.int64)
    new_session = np.where(moving, 0, np.where(terminated, session, counted)).astype(np.int64)
    return new_phase, new_session, terminated


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _nonnegative(name: str, value: Any) -> float:
    return check_real(name, value, 0.0)


def phase_validators(n_contexts: int) -> dict[str, Validator]:
    """Validators of the per-phase parameters (``context`` must be below ``n_contexts``)."""
    return {
        "session_length": lambda k, v: check_int(k, v, 1),
        "drug": check_bool,
        "food": check_bool,
        "schedule": lambda k, v: check_choice(k, v, SCHEDULES),
        "ratio": lambda k, v: check_int(k, v, 1),
        "timeout": lambda k, v: check_int(k, v, 0),
        "available_period": lambda k, v: check_int(k, v, 1),
        "unavailable_period": lambda k, v: check_int(k, v, 0),
        "shock_prob": check_probability,
        "shock_magnitude": _nonnegative,
        "cue_prob": check_probability,
        "priming": check_bool,
        "context": lambda k, v: check_int(k, v, 0, n_contexts - 1),
        "drug_reward": check_real,
        "food_reward": check_real,
    }


DEFAULT_PROTOCOL: tuple[dict[str, Any], ...] = (
    {"name": "acquisition", "sessions": 10},
    {"name": "punishment", "sessions": 2, "shock_prob": 0.5},
    {"name": "extinction", "sessions": 5, "drug": False, "context": 1},
    {"name": "reinstatement", "sessions": 1, "drug": False, "context": 1, "priming": True},
)
"""Acquisition -> punishment probe -> extinction (context B) -> priming reinstatement."""


@dataclass(frozen=True)
class AddictionConfig:
    """Validated arguments of the operant chamber (see :class:`AddictionEnv`).

    The per-phase parameters given here are the defaults of every protocol phase.
    """

    session_length: int = 30
    drug: bool = True
    food: bool = True
    schedule: str = "FR"
    ratio: int = 1
    timeout: int = 2
    available_period: int = 10
    unavailable_period: int = 0
    shock_prob: float = 0.0
    shock_magnitude: float = 1.0
    cue_prob: float = 0.0
    priming: bool = False
    context: int = 0
    drug_reward: float = 0.5
    food_reward: float = 1.0
    dose: float = 1.0
    decay: float = 0.9
    n_contexts: int = 2
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    def __post_init__(self) -> None:
        n_contexts = check_int("n_contexts", self.n_contexts, 1)
        object.__setattr__(self, "n_contexts", n_contexts)
        object.__setattr__(self, "dose", check_real("dose", self.dose, 0.0, low_open=True))
        decay = check_real("decay", self.decay, 0.0, 1.0)
        if decay >= 1.0:
            raise ValueError(f"decay must be a finite number in [0.0, 1.0), got {self.decay!r}")
        object.__setattr__(self, "decay", decay)
        validators = phase_validators(n_contexts)
        defaults = {key: check(key, getattr(self, key)) for key, check in validators.items()}
        for key, value in defaults.items():
            object.__setattr__(self, key, value)
        protocol = DEFAULT_PROTOCOL if self.protocol is None else self.protocol
        phases = parse_protocol(
            protocol, length_key="sessions", defaults=defaults, validators=validators
        )
        object.__setattr__(self, "protocol", phases)

    def to_json(self) -> dict[str, Any]:
        """The arguments as JSON (the protocol resolved into its phases)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["protocol"] = [p.to_json("sessions") for p in self.protocol]
        return out


# --------------------------------------------------------------------------------------------
# Dynamics
# --------------------------------------------------------------------------------------------


class ChamberState(NamedTuple):
    """Per-env state (fields ``[N]``) before the env's next step.

    ``trial`` counts sessions since the episode began, ``session`` since the phase began,
    ``t_in_trial`` is the index of the next step within its session; ``level`` is the drug
    level, ``timeout_left`` the remaining post-infusion timeout steps, ``presses`` the
    effective drug-lever presses toward the next infusion and ``infusions`` the
    self-administered infusions of this session.
    """

    phase: IntArray
    trial: IntArray
    session: IntArray
    t_in_trial: IntArray
    level: FloatArray
    timeout_left: IntArray
    presses: IntArray
    infusions: IntArray


class Gate(NamedTuple):
    """What the chamber allows at the next step of each env (``[N]`` each)."""

    priming: BoolArray
    available_period: BoolArray
    drug_available: BoolArray
    requirement: IntArray


class AddictionDynamics(TaskDynamics):
    """The operant chamber over arrays of ``N`` envs (see :class:`AddictionEnv` for the spec).

    Exposed model: ``protocol`` (the resolved phases) and one table ``[P]`` per phase
    parameter (``session_length``, ``drug``, ``food``, ``progressive``, ``ratio``, ...).
    """

    n_start_uniforms = 0
    n_step_uniforms = 2

    def __init__(self, config: AddictionConfig) -> None:
        self.config = config
        self.protocol: tuple[Phase, ...] = tuple(config.protocol)  # type: ignore[arg-type]
        self.phase_names = tuple(p.name for p in self.protocol)
        self._phase_names = np.array(self.phase_names, dtype=object)
        table = self._table
        self.lengths = table("length", np.int64)
        self.session_length = table("session_length", np.int64)
        self.drug = table("drug", np.bool_)
        self.food = table("food", np.bool_)
        self.progressive = np.array([p.schedule == "PR" for p in self.protocol], dtype=np.bool_)
        self.ratio = table("ratio", np.int64)
        self.timeout = table("timeout", np.int64)
        self.available_period = table("available_period", np.int64)
        self.unavailable_period = table("unavailable_period", np.int64)
        self.shock_prob = table("shock_prob")
        self.shock_magnitude = table("shock_magnitude")
        self.cue_prob = table("cue_prob")
        self.priming = table("priming", np.bool_)
        self.context = table("context", np.int64)
        self.drug_reward = table("drug_reward")
        self.food_reward = table("food_reward")
        n_obs = len(OBS_CHANNELS) + config.n_contexts
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_obs,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(ACTIONS))

    def _table(self, key: str, dtype: Any = np.float64) -> npt.NDArray[Any]:
        return phase_table(self.protocol, key, dtype)

    def config_json(self) -> dict[str, Any]:
        """The task's arguments as JSON."""
        return self.config.to_json()

    def empty_state(self, n: int) -> ChamberState:
        """A placeholder state for ``n`` envs."""
        z = np.zeros(n, dtype=np.int64)
        return ChamberState(z, z.copy(), z.copy(), z.copy(), np.zeros(n), z.copy(), z.copy(), z)

    def gate(self, state: ChamberState) -> Gate:
        """Priming, signalled availability, drug-lever effectiveness and the ratio requirement
        of each env's next step."""
        p, t = state.phase, state.t_in_trial
        priming = self.priming[p] & (t == 0)
        period = in_available_period(t, self.available_period[p], self.unavailable_period[p])
        available = self.drug[p] & period & (state.timeout_left == 0) & ~priming
        requirement = ratio_requirement(state.infusions + 1, self.progressive[p], self.ratio[p])
        return Gate(priming, period, available, requirement)

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[ChamberState, StepOutput]:
        """Session 0 of phase ``start_phase``, before its first step (no uniforms used)."""
        del u
        m = start_phase.size
        z = np.zeros(m, dtype=np.int64)
        state = ChamberState(
            start_phase.astype(np.int64), z, z.copy(), z.copy(), np.zeros(m), z.copy(), z.copy(), z
        )
        gate = self.gate(state)
        false = np.zeros(m, dtype=np.bool_)
        events = {k: false.copy() for k in ("infusion", "priming", "food", "shock", "cue")}
        info = self._info(state, gate, events, z.copy(), state.level.copy())
        obs = self._obs(state, events)
        return state, StepOutput(obs, np.zeros(m), false.copy(), false.copy(), info)

    def step(
        self, state: ChamberState, actions: np.ndarray, u: FloatArray
    ) -> tuple[ChamberState, StepOutput]:
        """One step: lever press, schedule, infusion, shock, food, cue, drug level, clock."""
        cfg, p, t = self.config, state.phase, state.t_in_trial
        gate = self.gate(state)
        press = (actions == DRUG) & gate.drug_available
        presses = state.presses + press
        earned = press & (presses >= gate.requirement)
        infusions = state.infusions + earned
        infusion = earned | gate.priming
        shock = earned & (u[:, 0] < self.shock_prob[p])
        food = (actions == FOOD) & self.food[p]
        cue = earned | (u[:, 1] < self.cue_prob[p])
        level = drug_level_update(state.level, infusion, cfg.dose, cfg.decay)
        timeout_left = np.where(earned, self.timeout[p], np.maximum(state.timeout_left - 1, 0))
        reward = (
            self.drug_reward[p] * infusion
            + self.food_reward[p] * food
            - self.shock_magnitude[p] * shock
        )
        breakpoint = np.where(
            infusions > 0, ratio_requirement(infusions, self.progressive[p], self.ratio[p]), 0
        )
        ended = t + 1 >= self.session_length[p]
        phase, session, terminated = advance_sessions(p, state.session, ended, self.lengths)
        fresh = ended & ~terminated
        new = ChamberState(
            phase=phase,
            trial=state.trial + fresh,
            session=session,
            t_in_trial=np.where(ended, 0, t + 1).astype(np.int64),
            level=np.where(fresh, 0.0, level),
            timeout_left=np.where(fresh, 0, timeout_left).astype(np.int64),
            presses=np.where(fresh | earned, 0, presses).astype(np.int64),
            infusions=np.where(fresh, 0, infusions).astype(np.int64),
        )
        events = {"infusion": infusion, "priming": gate.priming, "food": food, "shock": shock}
        events["cue"] = cue
        info = self._info(state, gate, events, breakpoint.astype(np.int64), level)
        obs = self._obs(new, events)
        return new, StepOutput(obs, reward, terminated, np.zeros_like(terminated), info)

    def check_state(self, state: NamedTuple) -> None:
        """Raise ValueError unless every counter and the drug level are in range."""
        s = ChamberState(*state)
        if not ((s.phase >= 0) & (s.phase < self.lengths.size)).all():
            raise ValueError(f"state.phase must lie in [0, {self.lengths.size - 1}]")
        ceiling = self.config.dose / (1.0 - self.config.decay) * (1.0 + 1e-9)
        checks = {
            "trial": s.trial >= 0,
            "session": (s.session >= 0) & (s.session < self.lengths[s.phase]),
            "t_in_trial": (s.t_in_trial >= 0) & (s.t_in_trial < self.session_length[s.phase]),
            "level": np.isfinite(s.level) & (s.level >= 0) & (s.level <= ceiling),
            "timeout_left": (s.timeout_left >= 0) & (s.timeout_left <= self.timeout.max()),
            "presses": s.presses >= 0,
            "infusions": s.infusions >= 0,
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
        ]
        fixed = np.stack(channels, axis=1).astype(np.float32)
        context = np.eye(cfg.n_contexts, dtype=np.float32)[self.context[p]]
        return np.concatenate([fixed, context], axis=1)

    def _info(
        self,
        state: ChamberState,
        gate: Gate,
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
            "drug_available": gate.drug_available,
            "infusion": events["infusion"],
            "priming": events["priming"],
            "food": events["food"],
            "shock": events["shock"],
            "cue": events["cue"],
            "ratio_requirement": gate.requirement,
            "breakpoint": breakpoint,
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
    **sessions** of ``session_length`` steps; sessions follow each other directly (the
    home-cage interval between them is not simulated, but the drug is cleared: the drug level
    and all within-session counters restart at 0 with each session). Each phase sets the
    chamber's rules, so self-administration, escalation with long access (Ahmed & Koob 1998),
    the addiction-like criteria of Deroche-Gamonet, Belin & Piazza (2004), extinction and
    relapse (Shaham et al. 2003; Bouton 2004) are all phases of one protocol.

    Per step, with ``p`` the phase and ``t`` the step's index in its session:

    - **Drug lever.** A press is *effective* when the phase has the drug (``drug``), ``t`` lies
      in a drug-available period, no post-infusion timeout runs and no priming infusion is
      given this step. Effective presses count toward the ratio requirement of the session's
      next infusion (``n`` = infusions so far + 1): ``ratio`` on a fixed-ratio schedule
      (``schedule="FR"``), ``round(5 e^(0.2 n)) - 5`` = 1, 2, 4, 6, 9, 12, 15, 20, 25, 32, ...
      on the progressive ratio (``"PR"``, Richardson & Roberts 1996). Completing it delivers an
      **infusion** (the count restarts), presents the drug-paired **cue**, starts a
      **timeout** of ``timeout`` steps during which the drug lever is ineffective, and is
      followed by a footshock with probability ``shock_prob`` (punishment). Ineffective
      presses do nothing and are not counted.
    - **Signalled unavailability.** With ``unavailable_period > 0`` a session cycles through
      ``available_period`` steps with the drug and ``unavailable_period`` steps without it,
      signalled in the observation (Deroche-Gamonet et al. 2004).
    - **Extinction** (``drug=False``): drug-lever presses do nothing.
    - **Food lever.** A press delivers food when the phase has food (``food``), on FR1.
    - **Non-contingent cue** (cue reinstatement): each step the drug-paired cue is presented
      with probability ``cue_prob``, whatever the agent does.
    - **Priming** (``priming=True``): the first step of every session of the phase delivers a
      non-contingent infusion (no cue, no timeout, no shock; the drug lever is ineffective in
      that step).
    - **Context** (``context``): which context the chamber is in, an observation channel;
      ABA renewal is acquisition in context 0, extinction in 1, test in 0 (Bouton 2004).
    - **Drug level**: ``level_t = decay * level_{t-1} + dose * infusion_t`` (first-order
      elimination). It is visible to the agent and in ``info`` for homeostatic models.

    The infusion's pharmacological dopamine surge belongs to the agent's dopamine model, not to
    the reward: ``info["infusion"]`` marks every drug delivery. Per step, two uniforms of the
    env's stream are used, ``u0`` (shock iff ``u0 < shock_prob``) and ``u1`` (cue iff
    ``u1 < cue_prob``), both always drawn.

    ## Action Space
    ``Discrete(3)``: 0 = rest, 1 = press the drug lever, 2 = press the food lever. An invalid
    action (not an integer in {0, 1, 2}; bools and floats with a fraction included) raises
    ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(6 + n_contexts,), dtype=float32)``; events of the step just taken and
    the state in which the next step is taken:

    | Num   | Observation           | Value                                                    |
    |-------|-----------------------|----------------------------------------------------------|
    | 0     | drug level            | ``level * (1 - decay) / dose`` in [0, 1] (1 = ceiling)   |
    | 1     | drug-paired cue       | 1 in a step with an infusion or a non-contingent cue     |
    | 2     | timeout signal        | 1 while the post-infusion timeout runs                   |
    | 3     | unavailable signal    | 1 during a signalled drug-unavailable period             |
    | 4     | food                  | 1 in a step that delivered food                          |
    | 5     | shock                 | 1 in a step with a footshock                             |
    | 6 ..  | context one-hot       | ``n_contexts`` channels, 1 for the current context       |

    In extinction the chamber looks as in acquisition (only the outcomes differ).

    ## Rewards
    ``drug_reward`` per infusion (its hedonic value; priming infusions included) +
    ``food_reward`` per food delivery - ``shock_magnitude`` per shock (values of the phase).

    ## Starting State
    ``reset()`` starts session 0 of the first phase (or of ``options["phase"]``) with drug
    level 0, no timeout and no presses counted.

    ## Episode End
    ``terminated`` is True on the last step of the last session of the last phase (after
    ``sum(sessions)`` sessions when starting at the first phase). ``truncated`` is always
    False.

    ## Information
    A **trial is a session**. ``step()`` describes the step just taken; ``reset()`` the
    situation before the first step (no events):

    - ``trial`` (int): index of the session within the episode, from 0.
    - ``phase`` (str): name of the session's protocol phase.
    - ``t_in_trial`` (int): index of the step within its session, from 0.
    - ``session`` (int): index of the session within its phase, from 0.
    - ``context`` (int): the phase's context.
    - ``drug_available`` (bool): a drug-lever press at this step was effective (drug phase,
      available period, no timeout, no priming).
    - ``infusion`` (bool): drug delivered (self-administered or priming).
    - ``priming`` (bool): the infusion was a non-contingent priming dose.
    - ``food`` (bool), ``shock`` (bool), ``cue`` (bool): food delivered, footshock, cue shown.
    - ``ratio_requirement`` (int): effective presses required for the infusion being worked
      for at this step.
    - ``breakpoint`` (int): the last ratio completed in this session (0 before the first
      infusion); at a progressive-ratio session's end it is the session's breakpoint.
    - ``drug_level`` (float): drug level after this step (before the next session's reset).

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Addiction-v0", session_length=30, drug_reward=0.5)
    env = gym.make(
        "plasticgym/Addiction-v0",
        protocol=[
            {"name": "short_access", "sessions": 10, "session_length": 20},
            {"name": "long_access", "sessions": 20, "session_length": 120},
            {"name": "unavailable", "sessions": 1, "unavailable_period": 10},
            {"name": "progressive", "sessions": 1, "schedule": "PR", "timeout": 0},
            {"name": "punished", "sessions": 1, "shock_prob": 0.5, "shock_magnitude": 2.0},
            {"name": "extinction", "sessions": 10, "drug": False, "context": 1},
            {"name": "renewal", "sessions": 1, "drug": False, "context": 0},
            {"name": "cue", "sessions": 1, "drug": False, "context": 1, "cue_prob": 0.1},
        ],
    )
    envs = gym.make_vec("plasticgym/Addiction-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    Per-phase parameters (the constructor's values are every phase's defaults):

    - ``session_length`` (int >= 1, default 30): steps per session.
    - ``drug`` (bool, default True): the drug lever can deliver infusions (False: extinction).
    - ``food`` (bool, default True): the food lever delivers food.
    - ``schedule`` ("FR" or "PR", default "FR") and ``ratio`` (int >= 1, default 1, for FR).
    - ``timeout`` (int >= 0, default 2): post-infusion timeout steps.
    - ``available_period`` (int >= 1, default 10), ``unavailable_period`` (int >= 0,
      default 0 = never unavailable): the cycle of signalled availability.
    - ``shock_prob`` (probability, default 0), ``shock_magnitude`` (float >= 0, default 1).
    - ``cue_prob`` (probability, default 0): non-contingent cue per step.
    - ``priming`` (bool, default False): priming infusion at each session's first step.
    - ``context`` (int in [0, n_contexts), default 0).
    - ``drug_reward`` (finite float, default 0.5), ``food_reward`` (finite float, default 1).

    Task parameters:

    - ``dose`` (float > 0, default 1) and ``decay`` (float in [0, 1), default 0.9, half-life
      about 6.6 steps): pharmacokinetics.
    - ``n_contexts`` (int >= 1, default 2): context channels.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``sessions`` (int >= 1) and any per-phase parameter above; unknown keys are an error.
      Default: ``acquisition`` (10 sessions), ``punishment`` (2, ``shock_prob=0.5``),
      ``extinction`` (5, ``drug=False``, ``context=1``), ``reinstatement`` (1, ``drug=False``,
      ``context=1``, ``priming=True``). Resolved phases: ``env.dynamics.protocol``.
    - ``render_mode`` (None): nothing to render.

    Every invalid argument raises ``ValueError`` naming it, its value and the allowed range.
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
    - Y. Shaham, U. Shalev, L. Lu, H. de Wit, J. Stewart (2003). The reinstatement model of
      drug relapse: history, methodology and major findings. Psychopharmacology 168(1-2), 3-20.
    - M. E. Bouton (2004). Context and behavioral processes in extinction. Learning & Memory
      11(5), 485-494.
    - V. L. Tsibulsky, A. B. Norman (1999). Satiety threshold: a quantitative model of
      maintained cocaine self-administration. Brain Research 839(1), 85-93.
    - A. D. Redish (2004). Addiction as a computational process gone awry. Science 306(5703),
      1944-1947.
    - M. Keramati, B. Gutkin (2014). Homeostatic reinforcement learning for integrating reward
      collection and physiological stability. eLife 3, e04811.
    - A. D. Redish, S. Jensen, A. Johnson, Z. Kurth-Nelson (2007). Reconciling reinforcement
      learning models with behavioral extinction and renewal: implications for addiction,
      relapse, and problem gambling. Psychological Review 114(3), 784-805.
    - S. J. Gershman, D. M. Blei, Y. Niv (2010). Context, learning, and extinction.
      Psychological Review 117(1), 197-209.

    ## Version History
    - v0: Initial version.
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(AddictionDynamics(AddictionConfig(**kwargs)), render_mode)


class AddictionVectorEnv(TaskVectorEnv):
    """``num_envs`` operant chambers in one set of arrays (arguments as :class:`AddictionEnv`).

    Equals ``SyncVectorEnv`` over :class:`AddictionEnv` step for step; NEXT_STEP autoreset.
    """

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(AddictionDynamics(AddictionConfig(**kwargs)), num_envs, render_mode)
