"""Two-armed probabilistic reversal learning as a Gymnasium task (one step = one trial).

One arm ("correct") pays with probability ``p_high``, the other with ``p_low``; the contingency
reverses every ``reversal_every`` trials or once the agent reaches a performance criterion. The
dynamics are written once (:class:`ReversalBanditDynamics`, pure numpy over ``N`` envs) and run
by :class:`ReversalBanditEnv` (one env) and :class:`ReversalBanditVectorEnv` (``num_envs``).
A protocol may include ``novelty`` phases: exposures to a novel environment (no task cue, no
reward, the info event ``novelty``), the novel experience of behavioural tagging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from plasticgym.config import (
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_probability,
)
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
    advance_phase,
    default_protocol,
    parse_protocol,
    phase_table,
)

__all__ = [
    "INFO_KEYS",
    "RULES",
    "TEST_KWARGS",
    "ReversalBanditConfig",
    "ReversalBanditDynamics",
    "ReversalBanditEnv",
    "ReversalBanditVectorEnv",
    "ReversalState",
    "arm_probabilities",
    "reversal_due",
]

RULES = ("fixed", "criterion", "none")
FIXED, CRITERION, NONE = range(len(RULES))
INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "correct_arm",
    "correct",
    "reversal",
    "reversals",
    "reward_probs",
    "novelty",
)

TEST_KWARGS: dict[str, Any] = {"n_trials": 60, "reversal_every": 10}
"""A short configuration (60 steps per episode) for the generic tests."""


# --------------------------------------------------------------------------------------------
# Pure functions: the exact model
# --------------------------------------------------------------------------------------------


def arm_probabilities(correct_arm: IntArray, p_high: FloatArray, p_low: FloatArray) -> FloatArray:
    """Reward probability of each arm, ``[N, 2]``: ``P(r = 1 | arm) = p_high`` if
    ``arm == correct_arm`` else ``p_low``."""
    probs = np.empty((correct_arm.size, 2), dtype=np.result_type(p_high, p_low))
    for arm in (0, 1):  # (two [N] selections: faster than one broadcast [N, 2] one)
        probs[:, arm] = np.where(correct_arm == arm, p_high, p_low)
    return probs


def reversal_due(
    rule: IntArray,
    since_reversal: IntArray,
    streak: IntArray,
    every: IntArray,
    criterion: IntArray,
) -> BoolArray:
    """Whether the contingency reverses after the current trial, ``[N]``.

    ``fixed``: ``since_reversal >= every`` (trials since the last reversal or the phase start,
    this trial included). ``criterion``: ``streak >= criterion`` (consecutive choices of the
    correct arm since then, rewarded or not). ``none``: never.
    """
    return ((rule == FIXED) & (since_reversal >= every)) | (
        (rule == CRITERION) & (streak >= criterion)
    )


# --------------------------------------------------------------------------------------------
# Configuration: protocol as data
# --------------------------------------------------------------------------------------------

PHASE_VALIDATORS = {
    "p_high": check_probability,
    "p_low": check_probability,
    "reversal_rule": lambda name, value: check_choice(name, value, RULES),
    "reversal_every": lambda name, value: check_int(name, value, 1),
    "criterion": lambda name, value: check_int(name, value, 1),
}


def _check_magnitude(name: str, value: Any) -> float:
    check_number(name, value, 0.0, low_open=True)
    return float(value)


PHASE_FLAGS = {"novelty": check_bool}
PHASE_EXTRAS = {"reward_magnitude": _check_magnitude}
"""Phase parameters with no constructor argument (defaults :data:`PHASE_EXTRA_DEFAULTS`); a
phase stores one only when it differs from its default, so protocols without them are
written as before."""
PHASE_EXTRA_DEFAULTS: dict[str, Any] = {"novelty": False, "reward_magnitude": 1.0}


def _without_defaults(params: Mapping[str, Any]) -> dict[str, Any]:
    """A phase's parameters without the :data:`PHASE_FLAGS` and :data:`PHASE_EXTRAS` that
    have their default value."""
    return {
        key: value
        for key, value in params.items()
        if key not in PHASE_EXTRA_DEFAULTS or value != PHASE_EXTRA_DEFAULTS[key]
    }


@dataclass(frozen=True)
class ReversalBanditConfig(TaskConfig):
    """The arguments of the task, validated (see :class:`ReversalBanditEnv`).

    ``protocol`` holds the resolved phases: without a protocol, one phase ``"reversal"`` of
    ``n_trials`` trials (default 400) with the phase parameters given here; ``n_trials`` and
    ``protocol`` together are an error.
    """

    p_high: float = 0.8
    p_low: float = 0.2
    reversal_rule: str = "fixed"
    reversal_every: int = 40
    criterion: int = 8
    n_trials: int | None = None
    initial_arm: int | None = None
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "trials"
    json_fields = ("initial_arm",)

    def __post_init__(self) -> None:
        defaults = {key: check(key, getattr(self, key)) for key, check in PHASE_VALIDATORS.items()}
        entries = default_protocol(
            self.protocol,
            self.n_trials,
            name="reversal",
            length_key="trials",
            length_name="n_trials",
            default_length=400,
        )
        phases = parse_protocol(
            entries,
            length_key="trials",
            defaults={**defaults, **PHASE_EXTRA_DEFAULTS},
            validators={**PHASE_VALIDATORS, **PHASE_FLAGS, **PHASE_EXTRAS},
        )
        phases = tuple(Phase(p.name, p.length, _without_defaults(p.params)) for p in phases)
        for i, phase in enumerate(phases):
            if phase.p_high < phase.p_low:
                raise ValueError(
                    f"protocol[{i}] ({phase.name!r}): p_high must be >= p_low, got "
                    f"p_high={phase.p_high!r} < p_low={phase.p_low!r}"
                )
        initial_arm = self.initial_arm
        if initial_arm is not None:
            initial_arm = check_int("initial_arm", initial_arm, 0, 1)
        self._store(**defaults, initial_arm=initial_arm, protocol=phases)


# --------------------------------------------------------------------------------------------
# Dynamics, written once over N envs
# --------------------------------------------------------------------------------------------


class ReversalState(NamedTuple):
    """Per-env state before the next trial (arrays ``[N]``)."""

    phase: IntArray  # phase of the next trial
    trial: IntArray  # index of the next trial in the episode
    trial_in_phase: IntArray
    correct_arm: IntArray  # the high-probability arm on the next trial
    since_reversal: IntArray  # trials since the last reversal or the phase start
    streak: IntArray  # consecutive correct choices since then
    reversals: IntArray  # reversals so far in the episode
    reversal: BoolArray  # the next trial is the first under a reversed contingency


class ReversalBanditDynamics(TaskDynamics):
    """The task's transition, shared by :class:`ReversalBanditEnv` and the vector env.

    Exposed model: ``protocol`` (the phases), arrays ``[P]`` over phases ``p_high``,
    ``p_low`` (0 in a novelty phase: nothing pays there), ``magnitude`` (the reward a paying
    trial gives), ``rule`` (index into :data:`RULES`), ``every``, ``criterion``, ``length``,
    ``novelty`` (bool);
    :meth:`reward_probabilities` gives each arm's exact reward probability on an env's next
    trial.
    """

    config_class = ReversalBanditConfig
    n_start_uniforms = 1
    n_step_uniforms = 1
    fresh_step_output = True  # (every array _emit returns is new: copies, gathers, ufuncs)

    def __init__(self, config: ReversalBanditConfig) -> None:
        self.config = config
        self.protocol = config.protocol
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        protocol = config.protocol
        self.novelty = np.array([bool(p.params.get("novelty", False)) for p in protocol])
        self.p_high = np.where(self.novelty, 0.0, phase_table(protocol, "p_high"))
        self.p_low = np.where(self.novelty, 0.0, phase_table(protocol, "p_low"))
        self.magnitude = np.array(
            [float(p.params.get("reward_magnitude", 1.0)) for p in protocol], dtype=np.float64
        )
        self.rule = np.array([RULES.index(p.reversal_rule) for p in protocol], dtype=np.int64)
        self.every = phase_table(protocol, "reversal_every", np.int64)
        self.criterion = phase_table(protocol, "criterion", np.int64)
        self.length = phase_table(protocol, "length", np.int64)
        self._names = np.array(self.phase_names, dtype=object)

    def reward_probabilities(self, state: ReversalState) -> FloatArray:
        """``[N, 2]``: each arm's reward probability on each env's next trial."""
        return arm_probabilities(
            state.correct_arm, self.p_high[state.phase], self.p_low[state.phase]
        )

    def empty_state(self, n: int) -> ReversalState:
        """All-zero state for ``n`` envs."""
        zeros = np.zeros(n, dtype=np.int64)
        return ReversalState(
            *(zeros.copy() for _ in range(7)), reversal=np.zeros(n, dtype=np.bool_)
        )

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[ReversalState, StepOutput]:
        """Before trial 0 of ``start_phase``; the first correct arm is ``initial_arm`` or, if
        None, arm ``floor(2 u)`` (each with probability 1/2)."""
        n = start_phase.size
        if self.config.initial_arm is None:
            correct_arm = np.floor(2.0 * u[:, 0]).astype(np.int64)
        else:
            correct_arm = np.full(n, self.config.initial_arm, dtype=np.int64)
        state = self.empty_state(n)._replace(phase=start_phase.copy(), correct_arm=correct_arm)
        false = np.zeros(n, dtype=np.bool_)
        return state, self._emit(state, false, np.zeros(n), false, state.phase)

    def step(
        self, state: ReversalState, actions: np.ndarray, u: FloatArray
    ) -> tuple[ReversalState, StepOutput]:
        """Play one trial: reward ``reward_magnitude`` (1 by default) iff ``u < P(r | choice)``,
        else 0, then the reversal rule, then
        the phase counters (:func:`~plasticgym.envs._base.advance_phase`; every step ends a
        trial). A novelty trial pays nothing and leaves the reversal counters as they were."""
        phase = state.phase
        p_high, p_low = self.p_high[phase], self.p_low[phase]
        probs = arm_probabilities(state.correct_arm, p_high, p_low)
        choice = np.asarray(actions, dtype=np.int64)
        correct = choice == state.correct_arm
        paid = u[:, 0] < np.where(correct, p_high, p_low)  # (= probs[i, choice[i]])
        reward = np.where(paid, self.magnitude[phase], 0.0)
        novel = self.novelty[phase]
        since = state.since_reversal + ~novel  # (a novelty trial does not count)
        streak = np.where(novel, state.streak, np.where(correct, state.streak + 1, 0))
        flip = ~novel & reversal_due(
            self.rule[phase], since, streak, self.every[phase], self.criterion[phase]
        )
        ended = np.ones(choice.size, dtype=np.bool_)
        next_phase, trial_in_phase, terminated = advance_phase(
            phase, state.trial_in_phase, ended, self.length
        )
        reset = flip | (next_phase != phase) | terminated
        new = ReversalState(
            phase=next_phase,
            trial=state.trial + 1,
            trial_in_phase=trial_in_phase,
            correct_arm=np.where(flip, 1 - state.correct_arm, state.correct_arm),
            since_reversal=np.where(reset, 0, since),
            streak=np.where(reset, 0, streak),
            reversals=state.reversals + flip,
            reversal=flip,
        )
        return new, self._emit(state, correct, reward, terminated, new.phase, probs)

    def _emit(
        self,
        state: ReversalState,
        correct: BoolArray,
        reward: FloatArray,
        terminated: BoolArray,
        next_phase: IntArray,
        probs: FloatArray | None = None,
    ) -> StepOutput:
        """Output describing the trial played under ``state`` (at reset: the first trial); the
        observation is the cue of the next trial, in ``next_phase`` (0 in a novelty phase);
        ``probs`` its reward probabilities when already computed."""
        n = state.phase.size
        info = {
            "trial": state.trial.copy(),
            "phase": self._names[state.phase],
            "t_in_trial": np.zeros(n, dtype=np.int64),
            "correct_arm": state.correct_arm.copy(),
            "correct": correct.astype(np.bool_),
            "reversal": state.reversal.copy(),
            "reversals": state.reversals.copy(),
            "reward_probs": self.reward_probabilities(state) if probs is None else probs,
            "novelty": self.novelty[state.phase],
        }
        cue = (~self.novelty[next_phase]).astype(np.float32)  # 0 in a novelty phase, else 1
        return StepOutput(
            obs=cue.reshape(n, 1),
            reward=np.asarray(reward, dtype=np.float64),
            terminated=terminated.astype(np.bool_),
            truncated=np.zeros(n, dtype=np.bool_),
            info=info,
        )

    def check_state(self, state: ReversalState) -> None:
        """Phase indices, arms and counters must be in range."""
        n_phases = len(self.length)
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases - 1}]")
        if not np.isin(state.correct_arm, (0, 1)).all():
            raise ValueError("state.correct_arm must be 0 or 1")
        for name in ("trial", "trial_in_phase", "since_reversal", "streak", "reversals"):
            if (getattr(state, name) < 0).any():
                raise ValueError(f"state.{name} must be >= 0")


# --------------------------------------------------------------------------------------------
# The two shells
# --------------------------------------------------------------------------------------------


class ReversalBanditEnv(TaskEnv):
    """
    Two-armed probabilistic reversal learning: the better arm switches sides.

    ## Description
    A session of trials; one step is one trial. On each trial the agent chooses one of two
    arms and receives reward 1 with that arm's probability, else 0: the *correct* arm pays
    with probability ``p_high``, the other with ``p_low``. The contingency reverses (the
    correct arm becomes the other arm) according to the phase's ``reversal_rule``:

    - ``"fixed"``: after every ``reversal_every`` trials (counted from the last reversal or the
      phase's start), whatever the agent does.
    - ``"criterion"``: after ``criterion`` consecutive choices of the correct arm (rewarded or
      not; a choice of the other arm resets the count), as in serial reversal training.
    - ``"none"``: never (e.g. an acquisition phase).

    The rule is applied after each trial; reversal counts restart at each phase's start, while
    the correct arm carries over. The protocol is data: phases of trials, each with its own
    ``p_high``, ``p_low``, reversal rule and reward magnitude. Randomness: one uniform at
    reset (the first correct arm if ``initial_arm`` is None) and one per trial, ``u``, with
    reward iff ``u < P(r = 1 | chosen arm)``.

    A phase with ``novelty=True`` is an exposure to a novel environment (an open field, as in
    behavioural tagging): the task's cue is off (observation 0), no arm pays, the reversal
    counters stand still (no reversal, no streak) and ``info["novelty"]`` is True on each of its
    trials. An agent that reads the event can treat it as the novel experience that triggers
    protein synthesis (``TaggedSynapse(trigger_event="novelty")``).

    ## Action Space
    ``Discrete(2)``: the arm chosen (0 or 1). An invalid action (not an integer in {0, 1};
    bools and floats with a fraction included) raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(1,), dtype=float32)``: a constant cue, 1 (the trial is on), before
    every trial of a task phase; 0 before a trial of a novelty phase (no task cue). The task
    is a bandit: everything must be learned from the rewards.

    ## Rewards
    1 if the chosen arm pays on this trial, else 0 (always 0 in a novelty phase); in a phase
    with ``reward_magnitude`` m, m instead of 1 (a larger or smaller unconditioned stimulus,
    the same probabilities).

    ## Starting State
    ``reset()`` returns the cue before trial 0 of the first phase (or of ``options["phase"]``),
    with the correct arm ``initial_arm`` or, if None, drawn uniformly from {0, 1}.

    ## Episode End
    ``terminated`` is True after the last trial of the last phase (``sum(trials)`` steps when
    starting at the first phase). ``truncated`` is always False.

    ## Information
    ``step()`` returns a dict describing the trial just played (``reset()``: the first trial,
    before any choice):

    - ``trial`` (int): trial index within the episode, from 0.
    - ``phase`` (str): name of the trial's phase.
    - ``t_in_trial`` (int): always 0 (a trial is one step).
    - ``correct_arm`` (int): the arm that paid ``p_high`` on this trial.
    - ``correct`` (bool): the choice was the correct arm (False at reset).
    - ``reversal`` (bool): this trial is the first under a reversed contingency
      (``correct_arm`` differs from the previous trial's); False on trial 0.
    - ``reversals`` (int): reversals before this trial (the block index).
    - ``reward_probs`` (float64 array of shape (2,)): each arm's reward probability on this
      trial (``[0, 0]`` in a novelty phase).
    - ``novelty`` (bool): this trial belongs to a ``novelty`` phase (the event of exploring a
      novel environment).

    The exact model for the next trial is ``env.reward_probabilities`` (``[2]``; the vector
    env gives ``[num_envs, 2]``).

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/ReversalBandit-v0", p_high=0.8, p_low=0.2, reversal_every=40)
    env = gym.make(
        "plasticgym/ReversalBandit-v0",
        protocol=[
            {"name": "acquisition", "trials": 100, "reversal_rule": "none"},
            {"name": "serial reversal", "trials": 400, "reversal_rule": "criterion",
             "criterion": 8},
        ],
    )
    envs = gym.make_vec("plasticgym/ReversalBandit-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``p_high`` (float in [0, 1], default 0.8): reward probability of the correct arm.
    - ``p_low`` (float in [0, p_high], default 0.2): reward probability of the other arm.
    - ``reversal_rule`` (``"fixed"`` | ``"criterion"`` | ``"none"``, default ``"fixed"``).
    - ``reversal_every`` (int >= 1, default 40): trials per block under ``"fixed"``.
    - ``criterion`` (int >= 1, default 8): consecutive correct choices under ``"criterion"``.
    - ``n_trials`` (int >= 1 or None = 400): trials of the default protocol
      ``[{"name": "reversal", "trials": n_trials}]``; not allowed together with ``protocol``.
    - ``initial_arm`` (0, 1 or None, default None = random): correct arm on trial 0.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``trials`` (int >= 1) and optional overrides of ``p_high``, ``p_low``,
      ``reversal_rule``, ``reversal_every`` and ``criterion``, and optionally
      ``novelty`` (bool, default False: a novelty phase, see Description; a phase carries the
      key only when True) and ``reward_magnitude`` (a finite float > 0, default 1: the reward
      a paying trial of the phase gives; a phase carries the key only when it is not 1);
      :class:`Phase` instances are accepted and re-validated. Available
      as ``env.protocol``. Example of behavioural tagging (30 s per trial): ``[{"name":
      "training", "trials": 20, "reversal_rule": "none"}, {"name": "open field", "trials":
      30, "novelty": True}]``.
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming the argument, the value and the allowed
    range; an unknown keyword argument raises ``ValueError`` naming it and listing the allowed
    ones. ``reset(options={"phase": name})`` starts at the beginning of that phase.

    ## Phenomenon
    After a reversal, agents first persevere on the previously correct arm, then switch;
    probabilistic feedback makes single losses on the correct arm uninformative, so
    win-stay/lose-shift is a poor strategy and a learner must integrate outcomes. Reversal
    learning depends on orbitofrontal cortex and striatum and on dopamine and serotonin
    (Cools et al. 2002; Izquierdo et al. 2017); in rats, lowering serotonin raises lose-shift
    behaviour (Bari et al. 2010). A reward-prediction error (dopamine) drives the value update
    after each trial; learning rates, dopamine gain on positive vs negative errors and
    perseveration (choice habit) set the number of trials to criterion and errors after each
    reversal.

    With a novelty phase near training: behavioural tagging. A weak training leaves a memory
    that fades within hours, unless the animal explores a novel environment shortly before or
    after it: novelty triggers protein synthesis (dopamine D1/D5 receptors) that the synapses
    tagged by training capture (Moncada & Viola 2007; Ballarini et al. 2009; Wang, Redondo &
    Morris 2010; from the locus coeruleus: Takeuchi et al. 2016). Novelty hours away from
    training does not.

    ## References
    - R. Cools, L. Clark, A. M. Owen, T. W. Robbins (2002). Defining the neural mechanisms of
      probabilistic reversal learning using event-related functional magnetic resonance
      imaging. Journal of Neuroscience 22(11), 4563-4567.
    - A. Bari, D. E. Theobald, D. Caprioli, A. C. Mar, A. Aidoo-Micah, J. W. Dalley,
      T. W. Robbins (2010). Serotonin modulates sensitivity to reward and negative feedback in
      a probabilistic reversal learning task in rats. Neuropsychopharmacology 35(6),
      1290-1301.
    - A. Izquierdo, J. L. Brigman, A. K. Radke, P. H. Rudebeck, A. Holmes (2017). The neural
      basis of reversal learning: an updated perspective. Neuroscience 345, 12-26.
    - D. Moncada, H. Viola (2007). Induction of long-term memory by exposure to novelty requires
      protein synthesis: evidence for a behavioral tagging. Journal of Neuroscience 27(28),
      7476-7481.
    - F. Ballarini, D. Moncada, M. C. Martinez, N. Alen, H. Viola (2009). Behavioral tagging is
      a general mechanism of long-term memory formation. PNAS 106(34), 14599-14604.
    - S.-H. Wang, R. L. Redondo, R. G. M. Morris (2010). Relevance of synaptic tagging and
      capture to the persistence of long-term potentiation and everyday spatial memory. PNAS
      107(45), 19537-19542.
    - T. Takeuchi et al. (2016). Locus coeruleus and dopaminergic consolidation of everyday
      memory. Nature 537, 357-362.

    ## Version History
    - v0: Initial version. Later (same behaviour for every earlier protocol): the optional
      ``novelty`` phase parameter and the ``novelty`` info key (False outside novelty phases).
      Later (same behaviour for every earlier protocol): the optional ``reward_magnitude``
      phase parameter (default 1).
    """

    dynamics_class = ReversalBanditDynamics

    @property
    def reward_probabilities(self) -> FloatArray:
        """Exact model: each arm's reward probability on the next trial, ``[2]``."""
        return self.dynamics.reward_probabilities(self.state)[0]


class ReversalBanditVectorEnv(TaskVectorEnv):
    """Native batched :class:`ReversalBanditEnv`: ``num_envs`` sessions in numpy arrays.

    Same arguments as :class:`ReversalBanditEnv`, plus ``num_envs`` first. Observations
    ``[num_envs, 1]``; actions an integer array-like ``(num_envs,)`` in {0, 1}. Equal to
    ``SyncVectorEnv`` over the single env, step for step (NEXT_STEP autoreset).
    """

    dynamics_class = ReversalBanditDynamics

    @property
    def reward_probabilities(self) -> FloatArray:
        """Exact model: each arm's reward probability on each env's next trial, ``[N, 2]``
        (meaningless for an env about to autoreset)."""
        return self.dynamics.reward_probabilities(self.state)
