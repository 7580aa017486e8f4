"""Free-operant outcome devaluation (habit formation) as a continuing Gymnasium task.

Two levers (or one) earn two different outcomes on a random-ratio or random-interval schedule;
one outcome is then devalued by pairing it with an aversive consequence outside the instrumental
context; an extinction test measures how much the agent still presses each lever. The dynamics
are written once (:class:`HabitFormationDynamics`, pure numpy over ``N`` envs) and run by
:class:`HabitFormationEnv` (one env) and :class:`HabitFormationVectorEnv` (``num_envs`` envs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from plasticgym.config import check_choice, check_finite, check_int, check_real, is_int
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
    parse_protocol,
    phase_table,
)

__all__ = [
    "ACTIONS",
    "INFO_KEYS",
    "KINDS",
    "OBS_CHANNELS",
    "SCHEDULES",
    "TEST_KWARGS",
    "HabitConfig",
    "HabitFormationDynamics",
    "HabitFormationEnv",
    "HabitFormationVectorEnv",
    "HabitState",
    "aversive_step",
    "expected_interval_rate",
    "expected_ratio_rate",
    "schedule_step",
]

ACTIONS = ("nothing", "press lever 1", "press lever 2")
KINDS = ("train", "devaluation", "extinction", "rewarded")
"""Phase kinds and the unit of their ``length``: reinforcers, pairings, steps, steps."""
TRAIN, DEVALUATION, EXTINCTION, REWARDED = range(len(KINDS))
SCHEDULES = ("ratio", "interval")
OBS_CHANNELS = ("instrumental context", "devaluation context", "outcome 1", "outcome 2", "aversive")
INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "t_in_phase",
    "press",
    "outcome",
    "aversive",
    "devalued_outcome",
    "reinforcers",
)
MAX_AVERSIVE_DELAY = 62
"""Largest ``aversive_delay``: pending consequences are bits of one int64."""

TEST_KWARGS: dict[str, Any] = {
    "schedule": "ratio",
    "schedule_param": 2.0,
    "training_reinforcers": 15,
    "devaluation_pairings": 2,
    "pairing_interval": 4,
    "test_steps": 30,
}
"""A short configuration (about 90 steps per episode under random actions) for generic tests."""


# --------------------------------------------------------------------------------------------
# Schedules and the aversive consequence: small pure functions
# --------------------------------------------------------------------------------------------


def schedule_step(
    press: IntArray,
    u: FloatArray,
    armed: BoolArray,
    interval: BoolArray,
    prob: FloatArray,
    reinforced: BoolArray,
) -> tuple[BoolArray, BoolArray]:
    """One step of each lever's reinforcement schedule.

    Random ratio RR(R): each press of lever ``k`` pays iff ``u[:, k] < 1/R``, so presses pay
    with probability ``1/R`` independently (Ferster & Skinner 1957). Random interval RI(I): an
    unarmed lever arms iff ``u[:, k] < 1/I`` at the start of the step (geometric inter-arming
    times with mean ``I`` steps) and stays armed until a press collects it, in the same step or
    later.

    Args:
        press: ``[N]`` lever pressed (0 none, 1, 2).
        u: ``[N, 2]`` uniforms in [0, 1), one per lever.
        armed: ``[N, 2]`` interval levers holding an uncollected outcome.
        interval: ``[N]`` True for an interval schedule, False for a ratio schedule.
        prob: ``[N]`` ``1 / schedule_param``.
        reinforced: ``[N]`` presses can earn outcomes in this phase.

    Returns:
        ``pay [N, 2]`` (the press on lever ``k`` delivered outcome ``k``) and the new
        ``armed [N, 2]``.
    """
    hit = u < prob[:, None]
    pressed = press[:, None] == np.array([1, 2])
    live = reinforced[:, None]
    armed = armed | (interval[:, None] & live & hit)
    pay = live & pressed & np.where(interval[:, None], armed, hit)
    return pay, armed & ~pay


def aversive_step(pending: IntArray, deliver: BoolArray, delay: int) -> tuple[BoolArray, IntArray]:
    """Deliver due aversive consequences and schedule new ones ``delay`` steps ahead.

    ``pending`` is a bit queue: bit ``j`` set means a consequence is due in ``j + 1`` steps.
    This step delivers bit 0, shifts the queue, then sets bit ``delay - 1`` for each env in
    ``deliver``: ``aversive_t = pending_tm1 & 1``,
    ``pending_t = (pending_tm1 >> 1) | deliver_t << (delay - 1)``.

    Returns ``aversive [N]`` (bool) and the new ``pending [N]``.
    """
    aversive = (pending & 1) == 1
    pending = (pending >> 1) | np.where(deliver, np.int64(1) << np.int64(delay - 1), 0)
    return aversive, pending.astype(np.int64)


def expected_ratio_rate(press_prob: float, ratio: float) -> float:
    """Outcomes per step on RR(``ratio``) for an agent pressing one lever with probability
    ``press_prob`` per step: ``rate = q / R`` (the rate is proportional to the press rate)."""
    return press_prob / ratio


def expected_interval_rate(press_prob: float, interval: float) -> float:
    """Stationary outcomes per step on RI(``interval``) for an agent pressing one lever with
    probability ``q = press_prob`` per step, with ``p = 1 / interval``.

    With ``a`` the probability that the lever is armed at the start of a step,
    ``a = (1 - q) (a + (1 - a) p)``, so the rate ``q (a + (1 - a) p)`` is

        ``rate = q p / (q + p - q p)``,

    which is ``p`` (one outcome per mean interval) for ``q = 1`` and close to ``p`` for any
    ``q >> p``: pressing faster barely raises the rate (the interval schedule's weak
    response-outcome correlation; Dickinson, Nicholas & Adams 1983).
    """
    q, p = press_prob, 1.0 / interval
    if q == 0.0:
        return 0.0
    return q * p / (q + p - q * p)


# --------------------------------------------------------------------------------------------
# Configuration: protocol as data
# --------------------------------------------------------------------------------------------

PHASE_VALIDATORS = {
    "kind": lambda name, value: check_choice(name, value, KINDS),
    "schedule": lambda name, value: check_choice(name, value, SCHEDULES),
    "schedule_param": lambda name, value: check_real(name, value, 1.0),
    "outcome_value": check_finite,
}


@dataclass(frozen=True)
class HabitConfig(TaskConfig):
    """The arguments of the task, validated (see :class:`HabitFormationEnv`).

    ``schedule``, ``schedule_param`` and ``outcome_value`` are the defaults of the phases;
    ``training_reinforcers``, ``devaluation_pairings`` and ``test_steps`` set the lengths of
    the default protocol's phases and are not allowed with a ``protocol``. ``protocol`` holds
    the resolved phases.
    """

    schedule: str = "ratio"
    schedule_param: float = 5.0
    training_reinforcers: int | None = None
    levers: int = 2
    devalued: int = 1
    outcome_value: float = 1.0
    aversive_value: float = -2.0
    aversive_delay: int = 1
    devaluation_pairings: int | None = None
    pairing_interval: int = 5
    test_steps: int | None = None
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "length"
    json_fields = ("levers", "devalued", "aversive_value", "aversive_delay", "pairing_interval")

    def __post_init__(self) -> None:
        defaults = {
            "schedule": check_choice("schedule", self.schedule, SCHEDULES),
            "schedule_param": check_real("schedule_param", self.schedule_param, 1.0),
            "outcome_value": check_finite("outcome_value", self.outcome_value),
        }
        delay = check_int("aversive_delay", self.aversive_delay, 1, MAX_AVERSIVE_DELAY)
        phases = _parse_habit_protocol(self._protocol_entries(), defaults)
        if not is_int(self.pairing_interval) or self.pairing_interval < delay + 2:
            raise ValueError(
                f"pairing_interval must be an integer >= aversive_delay + 2 = {delay + 2}, "
                f"got {self.pairing_interval!r}"
            )
        self._store(
            **defaults,
            levers=check_int("levers", self.levers, 1, 2),
            devalued=check_int("devalued", self.devalued, 1, 2),
            aversive_value=check_real("aversive_value", self.aversive_value, high=0.0),
            aversive_delay=delay,
            pairing_interval=int(self.pairing_interval),
            protocol=phases,
        )

    def _protocol_entries(self) -> Any:
        """The given protocol, or the default one with the given (validated) phase lengths."""
        lengths = {
            "training_reinforcers": self.training_reinforcers,
            "devaluation_pairings": self.devaluation_pairings,
            "test_steps": self.test_steps,
        }
        if self.protocol is None:
            default = [
                ("training", "train", _or(lengths, "training_reinforcers", 100, 1)),
                ("devaluation", "devaluation", _or(lengths, "devaluation_pairings", 5, 1)),
                ("test", "extinction", _or(lengths, "test_steps", 200, 2)),
            ]
            return [{"name": n, "kind": k, "length": length} for n, k, length in default]
        given = [name for name, value in lengths.items() if value is not None]
        if given:
            raise ValueError(
                f"give either {given[0]} or protocol, not both ({given[0]}="
                f"{lengths[given[0]]!r}); set each phase's length inside protocol"
            )
        return self.protocol


def _parse_habit_protocol(protocol: Any, defaults: Mapping[str, Any]) -> tuple[Phase, ...]:
    """Validate the phases (mappings or :class:`Phase` objects, both checked by
    :func:`parse_protocol`); every phase must name its ``kind``."""
    if isinstance(protocol, Sequence) and not isinstance(protocol, str | bytes):
        for i, entry in enumerate(protocol):
            keys = entry.params if isinstance(entry, Phase) else entry
            if isinstance(keys, Mapping) and "kind" not in keys:
                raise ValueError(
                    f"protocol[{i}] is missing required key 'kind' (one of {list(KINDS)})"
                )
    phases = parse_protocol(
        protocol,
        length_key="length",
        defaults={**defaults, "kind": None},  # never used: every phase names its kind
        validators=PHASE_VALIDATORS,
    )
    for i, phase in enumerate(phases):
        if phase.kind in ("extinction", "rewarded") and phase.length < 2:
            raise ValueError(
                f"protocol[{i}] ({phase.name!r}): length of a {phase.kind!r} phase counts "
                f"steps and must be an integer >= 2, got {phase.length}"
            )
    return phases


def _or(lengths: Mapping[str, int | None], name: str, default: int, low: int) -> int:
    value = lengths[name]
    return default if value is None else check_int(name, value, low)


# --------------------------------------------------------------------------------------------
# Dynamics, written once over N envs
# --------------------------------------------------------------------------------------------


class HabitState(NamedTuple):
    """Per-env state after the last emitted step (arrays ``[N]``, ``armed [N, 2]``).

    ``phase``, ``trial``, ``t_in_trial`` and ``t_in_phase`` label the last step taken (at a
    reset: the first step to come). ``fresh`` marks a state just made by a reset: its next
    step is step 0 of trial 0 of ``phase``, exactly as the first step after a transition into
    that phase (``phase_over``) is step 0 of the new phase.
    """

    phase: IntArray
    trial: IntArray
    t_in_trial: IntArray
    t_in_phase: IntArray
    progress: IntArray  # reinforcers earned (train) or pairings completed (devaluation)
    reinforcers: IntArray  # outcomes earned by presses in the episode
    devalued: BoolArray  # the devalued outcome has been delivered in a devaluation phase
    armed: BoolArray  # [N, 2] interval levers holding an outcome
    pending: IntArray  # bit queue of aversive consequences (see aversive_step)
    trial_over: BoolArray  # this step was the last of its trial
    phase_over: BoolArray  # ... and of its phase
    fresh: BoolArray  # just reset: the next step is step 0 of ``phase`` (see above)


class HabitFormationDynamics(TaskDynamics):
    """The task's transition, shared by :class:`HabitFormationEnv` and the vector env.

    Exposed model (arrays ``[P]`` over phases): ``kind`` (index into :data:`KINDS`),
    ``interval`` (True for RI), ``prob`` (``1 / schedule_param``: pay probability per press on
    RR, arming probability per step on RI), ``length``, ``outcome_value``; scalars
    ``devalued``, ``aversive_value``, ``aversive_delay``, ``pairing_interval`` and
    ``outcome_step`` (``t_in_trial`` of the outcome in a pairing).
    """

    config_class = HabitConfig
    n_start_uniforms = 0
    n_step_uniforms = 2

    def __init__(self, config: HabitConfig) -> None:
        self.config = config
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(OBS_CHANNELS),), dtype=np.float32)
        self.action_space = spaces.Discrete(config.levers + 1)
        protocol = config.protocol
        self.kind = np.array([KINDS.index(p.kind) for p in protocol], dtype=np.int64)
        self.interval = np.array([p.schedule == "interval" for p in protocol], dtype=np.bool_)
        self.prob = 1.0 / phase_table(protocol, "schedule_param")
        self.length = phase_table(protocol, "length", np.int64)
        self.outcome_value = phase_table(protocol, "outcome_value")
        self.devalued = config.devalued
        self.aversive_value = config.aversive_value
        self.aversive_delay = config.aversive_delay
        self.pairing_interval = config.pairing_interval
        self.outcome_step = config.pairing_interval - 1 - config.aversive_delay
        self._names = np.array(self.phase_names, dtype=object)

    def empty_state(self, n: int) -> HabitState:
        """All-zero state for ``n`` envs."""
        zeros, false = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
        return HabitState(
            phase=zeros.copy(),
            trial=zeros.copy(),
            t_in_trial=zeros.copy(),
            t_in_phase=zeros.copy(),
            progress=zeros.copy(),
            reinforcers=zeros.copy(),
            devalued=false.copy(),
            armed=np.zeros((n, 2), dtype=np.bool_),
            pending=zeros.copy(),
            trial_over=false.copy(),
            phase_over=false.copy(),
            fresh=false.copy(),
        )

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[HabitState, StepOutput]:
        """Before step 0 of trial 0 of ``start_phase``: its context only, nothing delivered.

        The state is ``fresh``, so the first step is step 0 of the phase (not step 1): a
        phase entered by a reset lasts exactly as long as one entered from the phase before.
        """
        del u
        n = start_phase.size
        state = self.empty_state(n)._replace(
            phase=start_phase.copy(), fresh=np.ones(n, dtype=np.bool_)
        )
        zeros, false = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
        return state, self._emit(state, zeros, zeros, false, np.zeros(n), false)

    def step(
        self, state: HabitState, actions: np.ndarray, u: FloatArray
    ) -> tuple[HabitState, StepOutput]:
        """Take one step: enter the next trial/phase if the last one ended (or begin the
        reset's phase), then press, schedule, pairing, aversive consequence, counters."""
        enter = state.phase_over
        phase = np.minimum(state.phase + enter, len(self.kind) - 1)
        t_in_trial = np.where(state.trial_over | state.fresh, 0, state.t_in_trial + 1)
        t_in_phase = np.where(enter | state.fresh, 0, state.t_in_phase + 1)
        progress = np.where(enter, 0, state.progress)
        kind = self.kind[phase]
        press = np.where(kind == DEVALUATION, 0, actions).astype(np.int64)
        reinforced = (kind == TRAIN) | (kind == REWARDED)
        pay, armed = schedule_step(
            press,
            u,
            state.armed & ~enter[:, None],
            self.interval[phase],
            self.prob[phase],
            reinforced,
        )
        earned = np.where(pay[:, 0], 1, np.where(pay[:, 1], 2, 0))
        pairing = (kind == DEVALUATION) & (t_in_trial == self.outcome_step)
        outcome = np.where(pairing, self.devalued, earned).astype(np.int64)
        devalued = state.devalued | pairing
        aversive, pending = aversive_step(
            state.pending, devalued & (outcome == self.devalued), self.aversive_delay
        )
        reward = np.where(outcome > 0, self.outcome_value[phase], 0.0)
        reward = reward + np.where(aversive, self.aversive_value, 0.0)
        got = earned > 0
        pairing_end = (kind == DEVALUATION) & (t_in_trial == self.pairing_interval - 1)
        progress = progress + np.where(kind == TRAIN, got, pairing_end)
        counted = (kind == TRAIN) | (kind == DEVALUATION)
        length = self.length[phase]
        phase_over = np.where(counted, progress >= length, t_in_phase >= length - 1)
        new = HabitState(
            phase=phase,
            trial=state.trial + state.trial_over,
            t_in_trial=t_in_trial,
            t_in_phase=t_in_phase,
            progress=progress,
            reinforcers=state.reinforcers + got,
            devalued=devalued,
            armed=armed,
            pending=pending,
            trial_over=got | pairing_end | phase_over,
            phase_over=phase_over,
            fresh=np.zeros_like(phase_over),
        )
        terminated = phase_over & (phase == len(self.kind) - 1)
        return new, self._emit(new, press, outcome, aversive, reward, terminated)

    def _emit(
        self,
        state: HabitState,
        press: IntArray,
        outcome: IntArray,
        aversive: BoolArray,
        reward: FloatArray,
        terminated: BoolArray,
    ) -> StepOutput:
        # The context is that of the phase the *next* action will meet: after a phase's last
        # step, the next phase's (the last phase's own at the episode's end).
        kind = self.kind[np.minimum(state.phase + state.phase_over, len(self.kind) - 1)]
        obs = np.stack(
            [kind != DEVALUATION, kind == DEVALUATION, outcome == 1, outcome == 2, aversive],
            axis=1,
        ).astype(np.float32)
        info = {
            "trial": state.trial.copy(),
            "phase": self._names[state.phase],
            "t_in_trial": state.t_in_trial.copy(),
            "t_in_phase": state.t_in_phase.copy(),
            "press": press.astype(np.int64),
            "outcome": outcome.astype(np.int64),
            "aversive": aversive.astype(np.bool_),
            "devalued_outcome": np.where(state.devalued, self.devalued, 0).astype(np.int64),
            "reinforcers": state.reinforcers.copy(),
        }
        return StepOutput(
            obs=obs,
            reward=np.asarray(reward, dtype=np.float64),
            terminated=terminated.astype(np.bool_),
            truncated=np.zeros(state.phase.size, dtype=np.bool_),
            info=info,
        )

    def check_state(self, state: HabitState) -> None:
        """Phase indices, counters and the aversive queue must be in range."""
        n_phases = len(self.kind)
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases - 1}]")
        for name in ("trial", "t_in_trial", "t_in_phase", "progress", "reinforcers"):
            if (getattr(state, name) < 0).any():
                raise ValueError(f"state.{name} must be >= 0")
        if not ((state.pending >= 0) & (state.pending < 1 << self.aversive_delay)).all():
            raise ValueError(f"state.pending must lie in [0, 2**{self.aversive_delay})")
        fresh = state.fresh
        started = (state.trial == 0) & (state.t_in_trial == 0) & (state.t_in_phase == 0)
        if not (~fresh | (started & ~state.trial_over & ~state.phase_over)).all():
            raise ValueError("a fresh state must be at step 0 of trial 0 with no trial ended")


# --------------------------------------------------------------------------------------------
# The two shells
# --------------------------------------------------------------------------------------------


class HabitFormationEnv(TaskEnv):
    """
    Free-operant outcome devaluation: two levers (or one), two outcomes, one outcome devalued.

    ## Description
    A continuing session of free-operant lever pressing in discrete time steps, run through a
    protocol of phases (default: training, devaluation, extinction test). Lever 1 earns
    outcome 1 and lever 2 earns outcome 2 (two foods, a within-subject specific devaluation
    design; Colwill & Rescorla 1985). With ``levers=1`` only lever 1 is there (the single-lever
    design of Adams & Dickinson 1981 and Dickinson, Nicholas & Adams 1983, where devalued and
    non-devalued groups are compared): ``devalued=1`` devalues the outcome it earns,
    ``devalued=2`` an outcome it never earned (the non-devalued control, which goes through the
    same pairings). Each lever runs the phase's reinforcement schedule:

    - ``schedule="ratio"``, random ratio RR(R) with ``R = schedule_param``: each press pays
      with probability ``1/R`` (uniform ``u_k < 1/R``).
    - ``schedule="interval"``, random interval RI(I) with ``I = schedule_param`` steps: an
      unarmed lever arms with probability ``1/I`` at the start of every step (so the armed
      outcome is collectable in the same step); the next press on an armed lever delivers its
      outcome and disarms it. Pressing constantly earns one outcome per ``I`` steps on average,
      and pressing faster barely raises the rate (:func:`expected_interval_rate`).

    Phase kinds (``kind`` of each phase) and the unit of their ``length``:

    - ``"train"``: levers present and reinforced; the phase ends at the step its ``length``-th
      outcome is earned (length in reinforcers, both levers together).
    - ``"devaluation"``: levers absent (presses do nothing and are reported as ``press=0``),
      devaluation context. ``length`` pairings of ``pairing_interval`` steps each
      (``t_in_trial = 0 .. pairing_interval-1``): the devalued outcome is delivered
      non-contingently at ``t_in_trial = pairing_interval - 1 - aversive_delay`` and the
      aversive consequence (e.g. lithium-induced illness) follows ``aversive_delay`` steps
      later, at the pairing's last step.
    - ``"extinction"``: levers present, presses produce nothing; ``length`` steps.
    - ``"rewarded"``: levers present and reinforced as in training; ``length`` steps (a rewarded
      test, or training of a fixed duration).

    Devaluation is a property of the outcome, not of a lever: from the first pairing on, every
    delivery of the devalued outcome (in any phase) is followed ``aversive_delay`` steps later
    by the aversive consequence. An agent can learn of the devaluation only through the outcome
    (the aversive consequence never follows a press directly, and levers are absent while it is
    learned); in the extinction test, where nothing is delivered, only an agent that evaluates
    its actions through their outcomes (goal-directed) presses the devalued lever less.

    Time: each ``step()`` is one time step. Its info is labelled with the phase and trial
    whose rules processed the step's action; its observation shows what that step delivered
    and the context in which the *next* action will be taken (so the last step of a phase
    already shows the next phase's context). A *trial* in a lever phase is the
    inter-reinforcer interval: it ends with the step in which an outcome is earned (so trial
    ``k`` holds the presses that earned outcome ``k``); in a devaluation phase a trial is one
    pairing. The end of a phase also ends the trial. ``t_in_trial`` and ``t_in_phase`` count
    steps from 0 within the trial and the phase, so a step-counted phase of ``length`` L
    holds the steps ``t_in_phase = 0 .. L-1``. A phase begins the same way whether it is
    entered from the phase before or by ``reset(options={"phase": name})``: the first step
    after the reset is its step 0 (the reset itself is not a step). Randomness: two uniforms
    per step, ``u_k`` for lever ``k``'s schedule.

    ## Action Space
    ``Discrete(3)``: 0 = do nothing, 1 = press lever 1, 2 = press lever 2; with ``levers=1``,
    ``Discrete(2)``: 0 = do nothing, 1 = press lever 1. An invalid action (not an integer in
    the action space; bools and floats with a fraction included) raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(5,), dtype=float32)``, non-negative stimulus channels:

    | Num | Observation                 | Value                                                |
    |-----|-----------------------------|------------------------------------------------------|
    | 0   | instrumental context        | 1 if the next action is taken in a train,            |
    |     |                             | extinction or rewarded phase (levers present)        |
    | 1   | devaluation context         | 1 if the next action is taken in a devaluation phase |
    | 2   | outcome 1 delivered         | 1 in the step outcome 1 is delivered                 |
    | 3   | outcome 2 delivered         | 1 in the step outcome 2 is delivered                 |
    | 4   | aversive consequence        | 1 in the step the aversive consequence occurs        |

    The context channels show the situation the next action faces (as Addiction-v0 does): at
    a phase boundary they switch with the observation of the old phase's last step, so the
    first press of an extinction test is chosen in the instrumental context. No lever or
    clock channel: the agent knows its own action, and nothing in the observation tells it
    which lever is devalued.

    ## Rewards
    ``outcome_value`` (of the phase) in each step an outcome is delivered (consumed), plus
    ``aversive_value`` (<= 0) in each step the aversive consequence occurs; 0 otherwise. With
    the defaults a devalued outcome is worth ``1 - 2 = -1`` in total.

    ## Starting State
    ``reset()`` returns the situation before step 0 of trial 0 of the first phase (or of
    ``options["phase"]``): the phase's context channel on, nothing delivered, nothing
    devalued, no lever armed. Its info carries the labels of the step to come (``trial``,
    ``t_in_trial`` and ``t_in_phase`` 0) and ``press = 0``.

    ## Episode End
    ``terminated`` is True at the last step of the last phase. ``truncated`` is always
    False. A train phase lasts until its reinforcers are earned: wrap the env in a time limit
    if an agent may stop pressing.

    ## Information
    ``reset()`` and ``step()`` return a dict with:

    - ``trial`` (int): trial index within the episode, from 0.
    - ``phase`` (str): name of the phase.
    - ``t_in_trial`` (int), ``t_in_phase`` (int): the step's index within its trial / its
      phase, from 0.
    - ``press`` (int): lever pressed in this step (0 none; always 0 in devaluation phases and
      at reset).
    - ``outcome`` (int): outcome delivered in this step (0 none, 1 or 2).
    - ``aversive`` (bool): the aversive consequence occurred in this step.
    - ``devalued_outcome`` (int): the outcome devalued so far (0 none, else ``devalued``).
    - ``reinforcers`` (int): outcomes earned by presses so far in the episode.

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/HabitFormation-v0", schedule="interval", schedule_param=10,
                   training_reinforcers=500)
    env = gym.make(
        "plasticgym/HabitFormation-v0",
        protocol=[
            {"name": "training", "kind": "train", "length": 100},
            {"name": "devaluation", "kind": "devaluation", "length": 5},
            {"name": "test", "kind": "extinction", "length": 200},
            {"name": "rewarded test", "kind": "rewarded", "length": 200},
        ],
    )
    envs = gym.make_vec("plasticgym/HabitFormation-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``schedule`` (``"ratio"`` | ``"interval"``, default ``"ratio"``): schedule of both levers.
    - ``schedule_param`` (float >= 1, default 5): mean ratio R (presses per outcome) or mean
      interval I (steps per outcome).
    - ``training_reinforcers`` (int >= 1 or None = 100): reinforcers of the default training
      phase (about 100 = moderate, 500 = extended training).
    - ``levers`` (1 or 2, default 2): levers present (with 1, lever 1 and outcome 1 only).
    - ``devalued`` (1 or 2, default 1): the outcome that is devalued.
    - ``outcome_value`` (finite float, default 1): reward for consuming an outcome.
    - ``aversive_value`` (float <= 0, default -2): reward of the aversive consequence (0 makes a
      sham devaluation).
    - ``aversive_delay`` (int in [1, 62], default 1): steps from a devalued outcome to its
      aversive consequence.
    - ``devaluation_pairings`` (int >= 1 or None = 5): pairings of the default devaluation
      phase.
    - ``pairing_interval`` (int >= aversive_delay + 2, default 5): steps per pairing.
    - ``test_steps`` (int >= 2 or None = 200): steps of the default extinction test.
    - ``protocol`` (sequence of mappings or ``Phase`` objects, or None): phases, each with
      ``name`` (unique str), ``kind`` (one of ``"train"``, ``"devaluation"``,
      ``"extinction"``, ``"rewarded"``), ``length`` (int >= 1; >= 2 for step-counted kinds;
      unit as above) and optional overrides of ``schedule``, ``schedule_param`` and
      ``outcome_value``. Default ``[training (train, training_reinforcers), devaluation
      (devaluation, devaluation_pairings), test (extinction, test_steps)]``; not allowed
      together with ``training_reinforcers``, ``devaluation_pairings`` or ``test_steps``.
      Available after construction as ``env.protocol``.
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming the argument, the value and the allowed
    range; so does an unknown keyword argument (naming it and listing the allowed ones).
    ``reset(options={"phase": name})`` starts at the beginning of that phase and runs through
    the remaining phases, with the same length and timing as when the phase is entered from the
    one before; starting at the test skips devaluation (a non-devalued control whose test is
    exactly as long as the devalued group's).

    ## Phenomenon
    Rats trained to press a lever for food press less in an extinction test after the food has
    been devalued by pairing it with illness, showing that their responding is goal-directed
    (Adams & Dickinson 1981). After extended training (about 500 reinforcers rather than 100)
    responding becomes insensitive to devaluation: a habit (Adams 1982). Interval schedules,
    whose weak response-outcome correlation makes the outcome rate nearly independent of the
    press rate, produce devaluation-insensitive habits more readily than ratio schedules
    (Dickinson, Nicholas & Adams 1983). Models: arbitration between model-based and model-free
    control by their uncertainty (Daw, Niv & Dayan 2005); value-free habit strength that grows
    with repetition of an action (Miller, Shenhav & Ludvig 2019). Signature: presses on the
    devalued lever relative to the other lever in the extinction test, after moderate vs
    extended training and ratio vs interval schedules.

    ## References
    - C. D. Adams, A. Dickinson (1981). Instrumental responding following reinforcer
      devaluation. Quarterly Journal of Experimental Psychology 33B, 109-121.
    - C. D. Adams (1982). Variations in the sensitivity of instrumental responding to reinforcer
      devaluation. Quarterly Journal of Experimental Psychology 34B, 77-98.
    - A. Dickinson, D. J. Nicholas, C. D. Adams (1983). The effect of the instrumental training
      contingency on susceptibility to reinforcer devaluation. Quarterly Journal of
      Experimental Psychology 35B, 35-51.
    - R. M. Colwill, R. A. Rescorla (1985). Postconditioning devaluation of a reinforcer affects
      instrumental responding. Journal of Experimental Psychology: Animal Behavior Processes
      11(1), 120-132.
    - N. D. Daw, Y. Niv, P. Dayan (2005). Uncertainty-based competition between prefrontal and
      dorsolateral striatal systems for behavioral control. Nature Neuroscience 8(12),
      1704-1711.
    - K. J. Miller, A. Shenhav, E. A. Ludvig (2019). Habits without values. Psychological
      Review 126(2), 292-311.

    ## Version History
    - v0: Initial version.
    """

    dynamics_class = HabitFormationDynamics


class HabitFormationVectorEnv(TaskVectorEnv):
    """Native batched :class:`HabitFormationEnv`: ``num_envs`` sessions in numpy arrays.

    Same keyword arguments as :class:`HabitFormationEnv`, plus ``num_envs``. Observations
    ``[num_envs, 5]``; actions an integer array-like ``(num_envs,)`` in {0, 1, 2} ({0, 1}
    with ``levers=1``). Equal to
    ``SyncVectorEnv`` over the single env, step for step (NEXT_STEP autoreset).
    """

    dynamics_class = HabitFormationDynamics
