"""The two-step task of Daw, Gershman, Seymour, Dayan & Dolan (2011).

The dynamics are written once (:class:`TwoStepDynamics`, pure numpy over arrays of ``N``
envs) and run by :class:`TwoStepEnv` (one env) and :class:`TwoStepVectorEnv` (``num_envs``
envs). The maths lives in small pure functions: :func:`second_stage_state`,
:func:`transition_table`, :func:`reflect` and :func:`drift_reward_probs`; the task's standard
behavioural analysis, stay probabilities by the previous trial's reward and transition, is
:func:`stay_probabilities`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.config import check_finite, check_probability, check_real, is_real
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
    default_protocol,
    parse_protocol,
    phase_table,
    standard_normals,
)

__all__ = [
    "INFO_KEYS",
    "TEST_KWARGS",
    "StayAnalysis",
    "TwoStepConfig",
    "TwoStepDynamics",
    "TwoStepEnv",
    "TwoStepModel",
    "TwoStepState",
    "TwoStepVectorEnv",
    "drift_reward_probs",
    "is_common",
    "reflect",
    "second_stage_state",
    "stay_probabilities",
    "transition_table",
]

N_STATES = 3
"""State 0 = first stage, states 1 and 2 = second stage."""
N_ACTIONS = 2
INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "stage",
    "first_choice",
    "transition",
    "second_state",
    "second_choice",
    "rewarded",
    "reward_probs",
)
N_START_UNIFORMS = 4
"""Uniforms drawn when an episode starts: the four initial reward probabilities."""
N_STEP_UNIFORMS = 6
"""Uniforms drawn at every step, in this order: transition, reward, four for the drift."""

TEST_KWARGS: dict[str, Any] = {
    "protocol": [
        {"name": "task", "trials": 12},
        {"name": "reversed", "trials": 8, "common_prob": 0.3, "drift_sd": 0.1},
    ],
}
"""A short configuration for the generic conformance tests (episodes of 40 steps)."""


# --------------------------------------------------------------------------------------------
# Pure functions: the maths of the task
# --------------------------------------------------------------------------------------------


def second_stage_state(first_choice: IntArray, to_own: BoolArray) -> IntArray:
    """Second-stage state reached from the first-stage choice ``a`` in {0, 1}.

    ``s' = 1 + a`` when the choice goes to its own state (probability ``common_prob``) and
    ``s' = 2 - a`` otherwise (Daw et al. 2011: each first-stage option leads commonly to its
    own second-stage state).
    """
    return np.where(to_own, 1 + first_choice, 2 - first_choice).astype(np.int64)


def is_common(to_own: BoolArray, common_prob: FloatArray) -> BoolArray:
    """Whether a transition is the *common* (more likely) one of its phase.

    With ``common_prob >= 0.5`` the transition to the choice's own state is the common one;
    with ``common_prob < 0.5`` (a phase with reversed transitions) the other one is.
    """
    return to_own == (common_prob >= 0.5)


def transition_table(common_prob: float) -> FloatArray:
    """The exact transition model ``P[s, a, s']``, an array ``[3, 2, 3]``.

    From the first stage (``s = 0``): ``P[0, a, 1 + a] = common_prob`` and
    ``P[0, a, 2 - a] = 1 - common_prob``. From either second-stage state every action leads
    back to the first stage of the next trial: ``P[s, a, 0] = 1`` for ``s`` in {1, 2}.
    """
    table = np.zeros((N_STATES, N_ACTIONS, N_STATES), dtype=np.float64)
    for a in range(N_ACTIONS):
        table[0, a, 1 + a] += common_prob
        table[0, a, 2 - a] += 1.0 - common_prob
    table[1:, :, 0] = 1.0
    return table


def reflect(x: FloatArray, low: float, high: float) -> FloatArray:
    """Fold ``x`` into ``[low, high]`` by mirror reflection at the bounds (any number of times).

    With ``w = high - low`` and ``y = (x - low) mod 2w``: ``reflect(x) = low + w - |y - w|``.
    Values inside the bounds are unchanged; ``high + d`` maps to ``high - d`` and ``low - d``
    to ``low + d`` (``0 <= d <= w``).
    """
    width = high - low
    folded = np.mod(x - low, 2.0 * width)
    return np.clip(low + width - np.abs(folded - width), low, high)


def drift_reward_probs(
    probs: FloatArray, z: FloatArray, drift_sd: FloatArray, low: float, high: float
) -> FloatArray:
    """One step of the bounded Gaussian random walk of the reward probabilities.

    ``p' = reflect(p + drift_sd * z, low, high)`` with ``z ~ N(0, 1)`` independently for each
    second-stage state and action (Daw et al. 2011: SD 0.025, reflecting bounds 0.25 and
    0.75). ``probs`` and ``z`` are ``[N, 2, 2]``, ``drift_sd`` is ``[N]``.
    """
    return reflect(probs + drift_sd[:, None, None] * z, low, high)


class StayAnalysis(NamedTuple):
    """First-stage stay counts by the previous trial's reward and transition.

    Cells ``[..., r, c]``: ``r = 1`` after a rewarded trial (0 after an unrewarded one),
    ``c = 0`` after a common transition (1 after a rare one). ``stays`` counts the trials
    whose first-stage choice repeated the previous one, ``trials`` all trials in the cell.
    The effects are contrasts of the stay probabilities ``p = stays / trials`` (the
    probability-scale counterparts of the logistic-regression coefficients of Daw et al.
    2011; see :func:`stay_probabilities`).
    """

    stays: IntArray
    trials: IntArray

    @property
    def p_stay(self) -> FloatArray:
        """``P(stay | previous reward, previous transition)``, ``[..., 2, 2]``; NaN if empty."""
        out = np.full(self.trials.shape, np.nan)
        np.divide(self.stays, self.trials, out=out, where=self.trials > 0)
        return out

    @property
    def reward_effect(self) -> FloatArray:
        """Main effect of reward: ``((p[1,0] + p[1,1]) - (p[0,0] + p[0,1])) / 2``, ``[...]``."""
        p = self.p_stay
        return 0.5 * ((p[..., 1, 0] + p[..., 1, 1]) - (p[..., 0, 0] + p[..., 0, 1]))

    @property
    def transition_effect(self) -> FloatArray:
        """Main effect of a common transition: ``((p[0,0] + p[1,0]) - (p[0,1] + p[1,1])) / 2``."""
        p = self.p_stay
        return 0.5 * ((p[..., 0, 0] + p[..., 1, 0]) - (p[..., 0, 1] + p[..., 1, 1]))

    @property
    def interaction(self) -> FloatArray:
        """Reward x transition: ``(p[1,0] - p[1,1]) - (p[0,0] - p[0,1])``, ``[...]``."""
        p = self.p_stay
        return (p[..., 1, 0] - p[..., 1, 1]) - (p[..., 0, 0] - p[..., 0, 1])


def stay_probabilities(
    first_choice: npt.ArrayLike,
    common: npt.ArrayLike,
    rewarded: npt.ArrayLike,
    episode: npt.ArrayLike | None = None,
) -> StayAnalysis:
    """Stay counts of consecutive two-step trials by the previous reward and transition.

    For trials ``t = 0 .. T-2`` of a session, ``stay_t = [a1_{t+1} = a1_t]`` is counted in the
    cell ``(rewarded_t, rare_t)`` (Daw et al. 2011, Fig. 2). With ``p[r, c]`` the stay
    probabilities, a model-free learner shows a main effect of reward,
    ``(p[1,0] + p[1,1] - p[0,0] - p[0,1]) / 2 > 0``, and no interaction; a model-based learner
    shows a reward x transition interaction, ``(p[1,0] - p[1,1]) - (p[0,0] - p[0,1]) > 0``
    (it repeats a choice after a rewarded common or an unrewarded rare transition and
    switches after a rewarded rare or an unrewarded common one).

    Args:
        first_choice: ``[..., T]`` first-stage choices (0 or 1) of consecutive trials,
            sessions along the leading axes (e.g. ``info["first_choice"]`` of the stage-0
            steps).
        common: ``[..., T]`` bool, the trial's transition was the common one
            (``info["transition"] == "common"``).
        rewarded: ``[..., T]`` bool, the trial's second-stage choice was rewarded.
        episode: optional ``[..., T]`` episode index of each trial; a pair of consecutive
            trials counts only within one episode (trials of a vector env that autoresets).

    Returns:
        A :class:`StayAnalysis` with ``stays`` and ``trials`` of shape ``[..., 2, 2]`` (one
        table per session); its properties give ``p_stay`` and the effects.

    Raises:
        ValueError: if the shapes differ, ``T < 2`` or a choice is not 0 or 1.
    """
    a = np.asarray(first_choice)
    c = np.asarray(common)
    r = np.asarray(rewarded)
    e = np.zeros(a.shape, dtype=np.int64) if episode is None else np.asarray(episode)
    if not (a.shape == c.shape == r.shape == e.shape) or a.ndim == 0 or a.shape[-1] < 2:
        raise ValueError(
            "first_choice, common, rewarded (and episode) must have the same shape [..., T] "
            f"with T >= 2 trials, got {a.shape}, {c.shape}, {r.shape} and {e.shape}"
        )
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"first_choice must hold 0 or 1, got values {np.unique(a).tolist()}")
    if c.dtype != np.bool_ or r.dtype != np.bool_:
        raise ValueError(f"common and rewarded must be bool arrays, got {c.dtype}, {r.dtype}")
    stay = a[..., 1:] == a[..., :-1]
    pair = e[..., 1:] == e[..., :-1]
    previous_rewarded, previous_rare = r[..., :-1], ~c[..., :-1]
    stays = np.zeros((*a.shape[:-1], 2, 2), dtype=np.int64)
    trials = np.zeros_like(stays)
    for rew in (0, 1):
        for rare in (0, 1):
            cell = pair & (previous_rewarded == bool(rew)) & (previous_rare == bool(rare))
            trials[..., rew, rare] = cell.sum(axis=-1)
            stays[..., rew, rare] = (cell & stay).sum(axis=-1)
    return StayAnalysis(stays, trials)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def check_bounds(name: str, value: Any) -> tuple[float, float]:
    """Return ``(low, high)`` with ``0 <= low < high <= 1``, or raise ValueError naming it."""
    message = f"{name} must be a pair (low, high) of probabilities with low < high, got {value!r}"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(message)
    if len(value) != 2 or not all(is_real(v) for v in value):
        raise ValueError(message)
    low, high = float(value[0]), float(value[1])
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(message)
    return low, high


def check_initial_probs(value: Any, bounds: tuple[float, float]) -> FloatArray | None:
    """Return the initial reward probabilities as a ``[2, 2]`` array inside ``bounds`` (or None)."""
    if value is None:
        return None
    message = (
        "initial_reward_probs must be None or a 2x2 array-like [second-stage state, action] of "
        f"numbers in [{bounds[0]}, {bounds[1]}], got {value!r}"
    )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(message) from err
    if array.shape != (2, 2) or not np.isfinite(array).all():
        raise ValueError(message)
    if ((array < bounds[0]) | (array > bounds[1])).any():
        raise ValueError(message)
    return array


def _check_drift_sd(name: str, value: Any) -> float:
    return check_real(name, value, 0.0)


PHASE_VALIDATORS = {
    "common_prob": check_probability,
    "drift_sd": _check_drift_sd,
    "reward": check_finite,
}


@dataclass(frozen=True)
class TwoStepConfig(TaskConfig):
    """The arguments of the two-step task, validated (see :class:`TwoStepEnv`).

    ``protocol`` holds the resolved phases: without a protocol, one phase ``"task"`` of
    ``n_trials`` trials (default 200) with the phase parameters given here; ``n_trials`` and
    ``protocol`` together are an error.
    """

    common_prob: float = 0.7
    drift_sd: float = 0.025
    bounds: tuple[float, float] = (0.25, 0.75)
    initial_reward_probs: npt.ArrayLike | None = None
    reward: float = 1.0
    n_trials: int | None = None
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "trials"
    json_fields = ("bounds", "initial_reward_probs")

    def __post_init__(self) -> None:
        defaults = {
            "common_prob": check_probability("common_prob", self.common_prob),
            "drift_sd": _check_drift_sd("drift_sd", self.drift_sd),
            "reward": check_finite("reward", self.reward),
        }
        bounds = check_bounds("bounds", self.bounds)
        initial = check_initial_probs(self.initial_reward_probs, bounds)
        entries = default_protocol(
            self.protocol,
            self.n_trials,
            name="task",
            length_key="trials",
            length_name="n_trials",
            default_length=200,
        )
        phases = parse_protocol(
            entries, length_key="trials", defaults=defaults, validators=PHASE_VALIDATORS
        )
        self._store(**defaults, bounds=bounds, initial_reward_probs=initial, protocol=phases)


# --------------------------------------------------------------------------------------------
# Dynamics, written once
# --------------------------------------------------------------------------------------------


class TwoStepState(NamedTuple):
    """Per-env state (fields ``[N]``, ``reward_probs [N, 2, 2]``) of the pending decision.

    ``stage`` is the stage of the decision the next action answers (0 or 1); ``first_choice``
    and ``second_state`` are -1 until known, ``common`` is meaningful at stage 1 only;
    ``reward_probs[i, s - 1, a]`` is the current reward probability of action ``a`` in
    second-stage state ``s``.
    """

    phase: IntArray
    trial: IntArray
    trial_in_phase: IntArray
    stage: IntArray
    first_choice: IntArray
    second_state: IntArray
    common: BoolArray
    reward_probs: FloatArray


class TwoStepModel(NamedTuple):
    """The exact tabular model: ``transitions[s, a, s']`` and ``expected_reward[s, a]``."""

    transitions: FloatArray
    expected_reward: FloatArray


def transition_names(common: BoolArray) -> npt.NDArray[np.object_]:
    """``"common"`` or ``"rare"`` per env, as an object array of str."""
    return np.where(common, "common", "rare").astype(object)


class TwoStepDynamics(TaskDynamics):
    """The two-step task over arrays of ``N`` envs (see :class:`TwoStepEnv` for the spec)."""

    config_class = TwoStepConfig
    n_start_uniforms = N_START_UNIFORMS
    n_step_uniforms = N_STEP_UNIFORMS

    def __init__(self, config: TwoStepConfig) -> None:
        self.config = config
        self.observation_space = spaces.Discrete(N_STATES)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self.low, self.high = config.bounds
        self.trials = phase_table(config.protocol, "length", np.int64)
        self.common_prob = phase_table(config.protocol, "common_prob")
        self.drift_sd = phase_table(config.protocol, "drift_sd")
        self.reward = phase_table(config.protocol, "reward")
        self._names = np.array(config.phase_names, dtype=object)

    def empty_state(self, n: int) -> TwoStepState:
        """A placeholder state for ``n`` envs."""
        zeros = np.zeros(n, dtype=np.int64)
        return TwoStepState(
            phase=zeros,
            trial=zeros.copy(),
            trial_in_phase=zeros.copy(),
            stage=zeros.copy(),
            first_choice=np.full(n, -1, dtype=np.int64),
            second_state=np.full(n, -1, dtype=np.int64),
            common=np.zeros(n, dtype=np.bool_),
            reward_probs=np.full((n, 2, 2), self.low, dtype=np.float64),
        )

    def initial_reward_probs(self, u: FloatArray) -> FloatArray:
        """``[M, 2, 2]``: the fixed initial probabilities, or ``low + (high - low) * u``."""
        if self.config.initial_reward_probs is not None:
            return np.broadcast_to(self.config.initial_reward_probs, (u.shape[0], 2, 2)).copy()
        return (self.low + (self.high - self.low) * u).reshape(-1, 2, 2)

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[TwoStepState, StepOutput]:
        """Trial 0 of phase ``start_phase``, at the first stage."""
        m = start_phase.size
        state = self.empty_state(m)._replace(
            phase=start_phase.astype(np.int64), reward_probs=self.initial_reward_probs(u)
        )
        minus = np.full(m, -1, dtype=np.int64)
        info = {
            "trial": state.trial.copy(),
            "phase": self._names[state.phase],
            "t_in_trial": state.stage.copy(),
            "stage": state.stage.copy(),
            "first_choice": minus.copy(),
            "transition": np.full(m, "", dtype=object),
            "second_state": minus.copy(),
            "second_choice": minus.copy(),
            "rewarded": np.zeros(m, dtype=np.bool_),
            "reward_probs": state.reward_probs.copy(),
        }
        false = np.zeros(m, dtype=np.bool_)
        out = StepOutput(np.zeros(m, dtype=np.int64), np.zeros(m), false, false.copy(), info)
        return state, out

    def step(
        self, state: TwoStepState, actions: np.ndarray, u: FloatArray
    ) -> tuple[TwoStepState, StepOutput]:
        """One decision: a first-stage choice moves to a second-stage state; a second-stage
        choice is rewarded, the probabilities drift and the next trial begins."""
        n = actions.shape[0]
        a = actions.astype(np.int64)
        phase = state.phase
        first = state.stage == 0
        # First stage: to the choice's own state with probability common_prob (u[:, 0]).
        to_own = u[:, 0] < self.common_prob[phase]
        reached = second_stage_state(a, to_own)
        common = is_common(to_own, self.common_prob[phase])
        # Second stage: rewarded with the current probability of (state, action) (u[:, 1]).
        row = np.clip(state.second_state - 1, 0, 1)
        p_reward = state.reward_probs[np.arange(n), row, a]
        rewarded = ~first & (u[:, 1] < p_reward)
        z = standard_normals(u[:, 2:6]).reshape(n, 2, 2)
        drifted = drift_reward_probs(
            state.reward_probs, z, self.drift_sd[phase], self.low, self.high
        )
        # The trial ends with the second-stage choice.
        ends = ~first
        trial_in_phase = state.trial_in_phase + ends
        phase_over = ends & (trial_in_phase >= self.trials[phase])
        last = phase_over & (phase == self.trials.size - 1)
        minus = np.full(n, -1, dtype=np.int64)
        new_state = TwoStepState(
            phase=np.where(phase_over & ~last, phase + 1, phase).astype(np.int64),
            trial=state.trial + ends,
            trial_in_phase=np.where(phase_over, 0, trial_in_phase).astype(np.int64),
            stage=np.where(first, 1, 0).astype(np.int64),
            first_choice=np.where(first, a, minus),
            second_state=np.where(first, reached, minus),
            common=first & common,
            reward_probs=np.where(first[:, None, None], state.reward_probs, drifted),
        )
        known_common = np.where(first, common, state.common)
        info = {
            "trial": state.trial.copy(),
            "phase": self._names[phase],
            "t_in_trial": state.stage.copy(),
            "stage": state.stage.copy(),
            "first_choice": np.where(first, a, state.first_choice),
            "transition": transition_names(known_common),
            "second_state": np.where(first, reached, state.second_state),
            "second_choice": np.where(first, minus, a),
            "rewarded": rewarded,
            "reward_probs": state.reward_probs.copy(),
        }
        reward = np.where(rewarded, self.reward[phase], 0.0)
        obs = np.where(first, reached, 0).astype(np.int64)
        out = StepOutput(obs, reward, last, np.zeros(n, dtype=np.bool_), info)
        return new_state, out

    def check_state(self, state: TwoStepState) -> None:
        """Raise ValueError unless a restored state is consistent with this task."""
        n_phases = self.trials.size
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases})")
        phase = state.phase
        if not ((state.trial_in_phase >= 0) & (state.trial_in_phase < self.trials[phase])).all():
            raise ValueError("state.trial_in_phase must lie in [0, trials of its phase)")
        if not (state.trial >= state.trial_in_phase).all():
            raise ValueError("state.trial must be >= state.trial_in_phase")
        stage0, stage1 = state.stage == 0, state.stage == 1
        if not (stage0 | stage1).all():
            raise ValueError("state.stage must be 0 or 1")
        if stage0.any() and not (
            (state.first_choice[stage0] == -1).all()
            and (state.second_state[stage0] == -1).all()
            and not state.common[stage0].any()
        ):
            raise ValueError("at stage 0, first_choice and second_state must be -1")
        if stage1.any() and not (
            np.isin(state.first_choice[stage1], (0, 1)).all()
            and np.isin(state.second_state[stage1], (1, 2)).all()
        ):
            raise ValueError("at stage 1, first_choice must be 0/1 and second_state 1/2")
        probs = state.reward_probs
        if not (np.isfinite(probs).all() and ((probs >= self.low) & (probs <= self.high)).all()):
            raise ValueError(f"state.reward_probs must lie in [{self.low}, {self.high}]")

    def model(self, phase: int, reward_probs: FloatArray) -> TwoStepModel:
        """The exact model in ``phase`` with the current ``reward_probs [2, 2]``.

        ``expected_reward[s, a] = reward * reward_probs[s - 1, a]`` for ``s`` in {1, 2} and 0
        at the first stage.
        """
        expected = np.zeros((N_STATES, N_ACTIONS), dtype=np.float64)
        expected[1:] = self.reward[phase] * reward_probs
        return TwoStepModel(transition_table(float(self.common_prob[phase])), expected)


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class TwoStepEnv(TaskEnv):
    """
    The two-step task: a first-stage choice leads, commonly or rarely, to one of two
    second-stage states whose slowly drifting reward probabilities must be tracked.

    ## Description
    A continuing session of trials (Daw, Gershman, Seymour, Dayan & Dolan 2011). Each trial
    takes two steps (two decisions):

    1. At the first-stage state (observation 0) the agent chooses ``a1`` in {0, 1}. It moves
       to the second-stage state ``s = 1 + a1`` with probability ``common_prob`` and to the
       other one, ``s = 2 - a1``, otherwise. The more likely of the two is the *common*
       transition, the other the *rare* one (with ``common_prob < 0.5``, as in a phase with
       reversed transitions, the move to ``2 - a1`` is the common one).
    2. At the second-stage state ``s`` (observation 1 or 2) the agent chooses ``a2`` in
       {0, 1} and is rewarded with probability ``p[s, a2]``. Then every one of the four reward
       probabilities takes one step of a Gaussian random walk,
       ``p <- reflect(p + drift_sd * z, low, high)``, ``z ~ N(0, 1)``, reflected at the bounds
       ``(low, high) = bounds`` (a value that would leave by ``d`` comes back by ``d``), and
       the next trial begins: the observation returned with the reward is the first-stage
       state of the next trial.

    Because the reward probabilities drift, the best second-stage option keeps changing, so
    the agent must keep learning; because transitions are probabilistic, a model-based agent
    credits a reward after a rare transition to the *other* first-stage option. The protocol
    is data: a sequence of phases, each a number of trials with its own ``common_prob``,
    ``drift_sd`` and ``reward`` (e.g. a phase with reversed transitions, ``common_prob=0.3``).

    Randomness comes from uniforms drawn by the shell: four at the start of an episode
    (initial probabilities ``low + (high - low) * u``, in the order ``p[1, 0], p[1, 1],
    p[2, 0], p[2, 1]``, unless ``initial_reward_probs`` is given) and six at every step:
    ``u0`` the transition (to ``1 + a1`` iff ``u0 < common_prob``), ``u1`` the reward (iff
    ``u1 < p[s, a2]``), ``u2..u5`` the drift (two Box-Muller pairs). The native vector env
    (:class:`TwoStepVectorEnv`) draws the same numbers per env, so it equals a
    ``SyncVectorEnv`` of this env.

    ## Action Space
    ``Discrete(2)``: the choice between the two options of the current stage (0 = left,
    1 = right). At the first stage, option ``a`` leads to second-stage state ``a + 1`` with
    probability ``common_prob``. An invalid action (not an integer in {0, 1}; bools and
    floats with a fraction included) raises ``ValueError``.

    ## Observation Space
    ``Discrete(3)``: the state index, 0 = first stage, 1 and 2 = the two second-stage states.
    Tabular agents use it as it is; plastic agents read it as three one-hot stimulus channels.

    ## Rewards
    ``reward`` (of the trial's phase, default 1) when the second-stage choice is rewarded, 0
    otherwise (in particular 0 for every first-stage choice).

    ## Starting State
    ``reset()`` starts trial 0 of the first phase (or of ``options["phase"]``) at the
    first-stage state (observation 0). The reward probabilities start at
    ``initial_reward_probs`` or, by default, uniformly at random in ``bounds``.

    ## Episode End
    ``terminated`` is True on the second-stage step of the last trial of the last phase.
    ``truncated`` is always False.

    ## Information
    The info of a step describes the decision the action answered (and what it caused); the
    info of ``reset()`` describes the pending first decision. So ``trial`` is always the trial
    the step's reward belongs to.

    - ``trial`` (int): index of the trial within the episode, from 0.
    - ``phase`` (str): name of the trial's protocol phase.
    - ``t_in_trial`` (int): the decision's step within the trial (equal to ``stage``).
    - ``stage`` (int): 0 = first-stage decision, 1 = second-stage decision.
    - ``first_choice`` (int): the trial's first-stage choice, -1 before it is made.
    - ``transition`` (str): ``"common"`` or ``"rare"`` (the more / less likely transition of
      the trial's phase), ``""`` before it is known.
    - ``second_state`` (int): 1 or 2, -1 before it is known.
    - ``second_choice`` (int): the second-stage choice (at stage 1), else -1.
    - ``rewarded`` (bool): the second-stage choice was rewarded.
    - ``reward_probs`` (float64 array ``[2, 2]``): the reward probabilities in force during the
      trial, ``reward_probs[s - 1, a]`` (those the reward was drawn with; the drift at the end
      of the trial shows in the next trial's info).

    Exact model for oracle tests: :attr:`reward_probs` (current ``[2, 2]`` probabilities),
    :attr:`transition_probs` (``P[s, a, s']``, ``[3, 2, 3]``, of the current phase) and
    :meth:`model` (transitions and expected rewards ``[3, 2]``).

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/TwoStep-v0")  # 200 trials, Daw et al. (2011) parameters
    env = gym.make(
        "plasticgym/TwoStep-v0",
        protocol=[
            {"name": "task", "trials": 200},
            {"name": "reversed", "trials": 100, "common_prob": 0.3},
        ],
    )
    envs = gym.make_vec("plasticgym/TwoStep-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``common_prob`` (float in [0, 1], default 0.7): probability that first-stage option ``a``
      leads to second-stage state ``a + 1``.
    - ``drift_sd`` (float >= 0, default 0.025): SD of the per-trial Gaussian increments of each
      reward probability.
    - ``bounds`` (pair of floats, default (0.25, 0.75)): reflecting bounds of the reward
      probabilities, ``0 <= low < high <= 1``.
    - ``initial_reward_probs`` (2x2 array-like or None, default None): initial
      ``p[s - 1, a]``, inside ``bounds``; None draws them uniformly in ``bounds`` at every
      reset.
    - ``reward`` (finite float, default 1): reward magnitude.
    - ``n_trials`` (int >= 1 or None, default None = 200): trials of the default protocol
      ``[{"name": "task", "trials": n_trials}]``; not allowed together with ``protocol``.
    - ``protocol`` (sequence of mappings or ``Phase`` objects, or None): phases, each with
      ``name`` (unique str), ``trials`` (int >= 1) and optional overrides of
      ``common_prob``, ``drift_sd`` and ``reward`` (defaults: the arguments above); unknown
      keys are an error. Available as ``env.protocol``, a tuple of frozen ``Phase``.
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming the argument, the value and the allowed
    range; so does an unknown keyword argument (naming it and listing the allowed ones).
    ``reset(options={"phase": name})`` starts the episode at the beginning of that phase and
    runs through the remaining phases (``trial`` still counts from 0).

    ## Phenomenon
    Model-free and model-based control leave different fingerprints on first-stage "stay"
    choices (Daw et al. 2011). A model-free learner repeats a first-stage choice that was
    rewarded, whatever the transition (a main effect of reward); a model-based learner, which
    knows the transition structure, repeats it after a reward following a common transition
    but switches after a reward following a rare one (a reward x transition interaction).
    Humans show a mixture. :func:`stay_probabilities` computes the stay table and both
    effects from a session's first choices, transitions and rewards. A TD(0) model-free
    learner barely shows the reward effect, because the reward updates only the second-stage
    value; SARSA(lambda), whose eligibility trace spans both stages, carries it back to the
    first choice, which is exactly the job of the eligibility trace in a three-factor
    plasticity rule.

    ## References
    - N. D. Daw, S. J. Gershman, B. Seymour, P. Dayan, R. J. Dolan (2011). Model-based
      influences on humans' choices and striatal prediction errors. Neuron 69(6), 1204-1215.
    - N. D. Daw, Y. Niv, P. Dayan (2005). Uncertainty-based competition between prefrontal and
      dorsolateral striatal systems for behavioral control. Nature Neuroscience 8(12),
      1704-1711.
    - G. E. P. Box, M. E. Muller (1958). A note on the generation of random normal deviates.
      Annals of Mathematical Statistics 29(2), 610-611.

    ## Version History
    - v0: Initial version.
    """

    dynamics_class = TwoStepDynamics

    @property
    def reward_probs(self) -> FloatArray:
        """Current reward probabilities ``p[s - 1, a]``, a copy ``[2, 2]``."""
        return self.state.reward_probs[0].copy()

    @property
    def transition_probs(self) -> FloatArray:
        """Transition model ``P[s, a, s']`` (``[3, 2, 3]``) of the current phase."""
        phase = int(self.state.phase[0])
        return transition_table(float(self.dynamics.common_prob[phase]))

    def model(self) -> TwoStepModel:
        """The exact model now: transitions ``[3, 2, 3]`` and expected rewards ``[3, 2]``."""
        state = self.state
        return self.dynamics.model(int(state.phase[0]), state.reward_probs[0])


class TwoStepVectorEnv(TaskVectorEnv):
    """Native batched :class:`TwoStepEnv`: ``num_envs`` independent sessions in numpy arrays.

    Same arguments as :class:`TwoStepEnv`, plus ``num_envs`` first. Observations ``[num_envs]``
    (int64 state indices); info arrays ``[num_envs]`` (``reward_probs``:
    ``[num_envs, 2, 2]``). :attr:`reward_probs` gives the current ``[num_envs, 2, 2]``
    probabilities.
    """

    dynamics_class = TwoStepDynamics

    @property
    def reward_probs(self) -> FloatArray:
        """Current reward probabilities of every env, a copy ``[num_envs, 2, 2]``."""
        return self.state.reward_probs.copy()
