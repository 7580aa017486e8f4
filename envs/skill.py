"""Skill learning: a serial reaction time task with evidence accumulation (Nissen & Bullemer 1987).

The dynamics are written once (:class:`SkillDynamics`, pure numpy over arrays of ``N`` envs)
and run by :class:`SkillLearningEnv` (one env) and :class:`SkillLearningVectorEnv`
(``num_envs`` envs). The maths lives in small pure functions: :func:`parse_sequence`,
:func:`random_target`, :func:`trial_target`, :func:`cue_evidence`, :func:`history_channels` and
:func:`step_reward`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.config import check_choice, check_finite, check_int, check_real
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
    standard_normals,
)

__all__ = [
    "BLOCK_TYPES",
    "INFO_KEYS",
    "POSITIONS",
    "TEST_KWARGS",
    "SkillConfig",
    "SkillDynamics",
    "SkillLearningEnv",
    "SkillLearningVectorEnv",
    "SkillState",
    "cue_evidence",
    "history_channels",
    "parse_sequence",
    "random_target",
    "step_reward",
    "trial_target",
]

POSITIONS = "ABCD"
"""Position letters; position ``i`` is answered by action ``i + 1``."""
N_POSITIONS = len(POSITIONS)
WATCH = 0
"""The action that keeps watching (no response)."""
BLOCK_TYPES = ("sequence", "random")
MAX_HISTORY = 32
INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "block",
    "block_type",
    "target",
    "seq_position",
    "responded",
    "response",
    "correct",
    "missed",
    "latency",
)
N_UNIFORMS = 1 + N_POSITIONS
"""Uniforms drawn at the start and at every step: the next trial's target (used in random
blocks when a trial begins), then four for the cue noise (two Box-Muller pairs)."""

TEST_KWARGS: dict[str, Any] = {
    "block_trials": 10,
    "max_steps": 6,
    "history": 2,
    "protocol": [
        {"name": "sequence", "blocks": 2},
        {"name": "random", "blocks": 1, "block_type": "random"},
    ],
}
"""A short configuration for the generic conformance tests (30 trials per episode)."""


# --------------------------------------------------------------------------------------------
# Pure functions: the maths of the task
# --------------------------------------------------------------------------------------------


def parse_sequence(name: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string of the letters A-D, else raise ValueError."""
    if not isinstance(value, str) or not value or any(c not in POSITIONS for c in value):
        raise ValueError(
            f"{name} must be a non-empty string of the position letters {POSITIONS!r} "
            f"(e.g. 'DBCACBDCBA'), got {value!r}"
        )
    return value


def sequence_table(sequences: Sequence[str]) -> tuple[IntArray, IntArray]:
    """Sequences as a padded index table ``[P, L_max]`` (A = 0 ... D = 3) and lengths ``[P]``."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    table = np.zeros((len(sequences), int(lengths.max())), dtype=np.int64)
    for i, sequence in enumerate(sequences):
        table[i, : len(sequence)] = [POSITIONS.index(c) for c in sequence]
    return table, lengths


def random_target(u: FloatArray, previous: IntArray) -> IntArray:
    """Pseudo-random target: uniform over the positions other than the previous target.

    With a previous target ``p`` in {0..3}: ``k = min(floor(3 u), 2)`` and
    ``target = k + [k >= p]``, uniform over the three positions ``!= p`` (no immediate
    repeats). With no previous target (``p = -1``, the first trial of an episode):
    ``target = min(floor(4 u), 3)``, uniform over all four.

    Forbidding repeats follows the pseudo-random blocks of serial reaction time studies after
    Nissen & Bullemer (1987): a repeating sequence such as ``DBCACBDCBA`` never repeats a
    position, so random blocks that did would differ from sequence blocks in a trivial
    "never repeat" rule as well as in the sequence, and part of the random-block slowdown
    would measure that rule rather than sequence knowledge.
    """
    first = previous < 0
    n = np.where(first, N_POSITIONS, N_POSITIONS - 1)
    k = np.minimum(np.floor(u * n).astype(np.int64), n - 1)
    return np.where(first, k, k + (k >= previous)).astype(np.int64)


def trial_target(
    phase: IntArray,
    trial_in_phase: IntArray,
    u: FloatArray,
    previous: IntArray,
    is_sequence: BoolArray,
    sequences: IntArray,
    lengths: IntArray,
) -> tuple[IntArray, IntArray]:
    """Target position and sequence position of a trial.

    In a sequence phase trial ``k`` of the phase shows ``sequence[k mod L]`` (the sequence
    repeats without a break, across the phase's blocks); in a random phase the target is
    :func:`random_target` ``(u, previous)``, uniform over the positions other than the
    previous trial's target ``previous`` (-1 = none: uniform over all four).
    Returns ``(target [M], seq_position [M])``, ``seq_position = -1`` in random phases.
    """
    position = trial_in_phase % lengths[phase]
    from_sequence = sequences[phase, position]
    at_random = random_target(u, previous)
    sequential = is_sequence[phase]
    target = np.where(sequential, from_sequence, at_random).astype(np.int64)
    return target, np.where(sequential, position, -1).astype(np.int64)


def cue_evidence(target: IntArray, z: FloatArray, signal: float, noise_sd: float) -> FloatArray:
    """Noisy cue channels ``x [M, 4]``.

    ``x_i = clip(signal * [i = target] + noise_sd * z_i, 0, 1)``, where ``z [M, 4]`` are
    independent standard normals, fresh at every step, so evidence summed over ``k`` steps
    separates the target from the others roughly as ``sqrt(k)``.
    """
    onehot = np.eye(N_POSITIONS)[target]
    return np.clip(signal * onehot + noise_sd * z, 0.0, 1.0)


def history_channels(history: IntArray) -> FloatArray:
    """One-hot groups of the previous targets ``history [M, H]`` (-1 = none): ``[M, 4 H]``.

    Group ``j`` (channels ``4 j .. 4 j + 3``) marks the target of the trial ``j + 1`` trials
    back; an all-zero group means there was no such trial in this episode.
    """
    m, h = history.shape
    table = np.vstack([np.eye(N_POSITIONS), np.zeros((1, N_POSITIONS))])
    return table[history].reshape(m, h * N_POSITIONS)


def step_reward(
    correct: BoolArray,
    ends: BoolArray,
    reward_correct: float,
    reward_error: float,
    step_cost: float,
) -> FloatArray:
    """``r = -step_cost + reward_correct [correct] + reward_error [trial ends, not correct]``.

    A wrong response and a timeout (a miss) both earn ``reward_error``.
    """
    return -step_cost + np.where(correct, reward_correct, np.where(ends, reward_error, 0.0))


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _check_block_type(name: str, value: Any) -> str:
    return check_choice(name, value, BLOCK_TYPES)


def _check_block_trials(name: str, value: Any) -> int:
    return check_int(name, value, 1)


PHASE_VALIDATORS = {
    "block_type": _check_block_type,
    "block_trials": _check_block_trials,
    "sequence": parse_sequence,
}


DEFAULT_PROTOCOL = (
    {"name": "training", "blocks": 4, "block_type": "sequence"},
    {"name": "random", "blocks": 1, "block_type": "random"},
    {"name": "recovery", "blocks": 1, "block_type": "sequence"},
)


@dataclass(frozen=True)
class SkillConfig(TaskConfig):
    """The arguments of the skill-learning task, validated (see :class:`SkillLearningEnv`).

    ``block_trials`` and ``sequence`` are the defaults of the phases; ``protocol`` holds the
    resolved phases (:data:`DEFAULT_PROTOCOL` when None).
    """

    sequence: str = "DBCACBDCBA"
    block_trials: int = 100
    max_steps: int = 20
    signal: float = 0.3
    noise_sd: float = 0.3
    history: int = 1
    reward_correct: float = 1.0
    reward_error: float = 0.0
    step_cost: float = 0.01
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "blocks"
    json_fields = (
        "max_steps",
        "signal",
        "noise_sd",
        "history",
        "reward_correct",
        "reward_error",
        "step_cost",
    )

    def __post_init__(self) -> None:
        defaults = {
            "block_type": "sequence",
            "block_trials": _check_block_trials("block_trials", self.block_trials),
            "sequence": parse_sequence("sequence", self.sequence),
        }
        phases = parse_protocol(
            DEFAULT_PROTOCOL if self.protocol is None else self.protocol,
            length_key="blocks",
            defaults=defaults,
            validators=PHASE_VALIDATORS,
        )
        self._store(
            block_trials=defaults["block_trials"],
            sequence=defaults["sequence"],
            max_steps=check_int("max_steps", self.max_steps, 1),
            signal=check_real("signal", self.signal, 0.0, 1.0),
            noise_sd=check_real("noise_sd", self.noise_sd, 0.0),
            history=check_int("history", self.history, 0, MAX_HISTORY),
            reward_correct=check_finite("reward_correct", self.reward_correct),
            reward_error=check_finite("reward_error", self.reward_error),
            step_cost=check_finite("step_cost", self.step_cost),
            protocol=phases,
        )


# --------------------------------------------------------------------------------------------
# Dynamics, written once
# --------------------------------------------------------------------------------------------


class SkillState(NamedTuple):
    """Per-env state of the pending decision (fields ``[N]``, ``history [N, H]``).

    ``trial_in_phase`` counts trials since the phase began, ``block`` blocks since the episode
    began, ``t_in_trial`` steps since the trial's cue appeared; ``target`` is the cued
    position (0..3) and ``history[:, j]`` the target ``j + 1`` trials back (-1 = none).
    """

    phase: IntArray
    trial: IntArray
    trial_in_phase: IntArray
    block: IntArray
    t_in_trial: IntArray
    target: IntArray
    seq_position: IntArray
    history: IntArray


class SkillDynamics(TaskDynamics):
    """The serial reaction time task over arrays of ``N`` envs (spec: :class:`SkillLearningEnv`)."""

    config_class = SkillConfig
    n_start_uniforms = N_UNIFORMS
    n_step_uniforms = N_UNIFORMS

    def __init__(self, config: SkillConfig) -> None:
        self.config = config
        n_channels = N_POSITIONS * (1 + config.history)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_channels,), dtype=np.float32)
        self.action_space = spaces.Discrete(1 + N_POSITIONS)
        self.block_trials = phase_table(config.protocol, "block_trials", np.int64)
        self.phase_trials = phase_table(config.protocol, "length", np.int64) * self.block_trials
        block_type = phase_table(config.protocol, "block_type", object)
        self.is_sequence = block_type == "sequence"
        self.sequences, self.lengths = sequence_table([p.sequence for p in config.protocol])
        self._names = np.array(config.phase_names, dtype=object)
        self.block_types = block_type.astype(object)

    def empty_state(self, n: int) -> SkillState:
        """A placeholder state for ``n`` envs."""
        zeros = np.zeros(n, dtype=np.int64)
        return SkillState(
            phase=zeros,
            trial=zeros.copy(),
            trial_in_phase=zeros.copy(),
            block=zeros.copy(),
            t_in_trial=zeros.copy(),
            target=zeros.copy(),
            seq_position=zeros.copy(),
            history=np.full((n, self.config.history), -1, dtype=np.int64),
        )

    def observe(self, state: SkillState, u_noise: FloatArray) -> npt.NDArray[np.float32]:
        """Cue evidence and previous-target channels of ``state``: ``[M, 4 (1 + H)]`` float32."""
        z = standard_normals(u_noise)
        cue = cue_evidence(state.target, z, self.config.signal, self.config.noise_sd)
        return np.hstack([cue, history_channels(state.history)]).astype(np.float32)

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[SkillState, StepOutput]:
        """Trial 0 of phase ``start_phase``: the first cue appears."""
        m = start_phase.size
        phase = start_phase.astype(np.int64)
        blank = self.empty_state(m)
        target, position = trial_target(
            phase,
            blank.trial_in_phase,
            u[:, 0],
            np.full(m, -1, dtype=np.int64),  # no previous target in a new episode
            self.is_sequence,
            self.sequences,
            self.lengths,
        )
        state = blank._replace(phase=phase, target=target, seq_position=position)
        false = np.zeros(m, dtype=np.bool_)
        info = self._info(state, false, np.full(m, -1, dtype=np.int64), false, false, false)
        obs = self.observe(state, u[:, 1:])
        return state, StepOutput(obs, np.zeros(m), false.copy(), false.copy(), info)

    def step(
        self, state: SkillState, actions: np.ndarray, u: FloatArray
    ) -> tuple[SkillState, StepOutput]:
        """One step: a response (or a timeout) ends the trial and the next cue appears;
        watching lets the current cue go on."""
        n = actions.shape[0]
        a = actions.astype(np.int64)
        cfg = self.config
        responded = a != WATCH
        response = np.where(responded, a - 1, -1)
        correct = responded & (response == state.target)
        missed = ~responded & (state.t_in_trial + 1 >= cfg.max_steps)
        ends = responded | missed
        info = self._info(state, responded, response, correct, missed, ends)
        reward = step_reward(correct, ends, cfg.reward_correct, cfg.reward_error, cfg.step_cost)
        # Move on: the next trial (and block, and phase) for the envs whose trial ended.
        phase = state.phase
        trial_in_phase = state.trial_in_phase + ends
        block_over = ends & (trial_in_phase % self.block_trials[phase] == 0)
        phase_over = ends & (trial_in_phase >= self.phase_trials[phase])
        last = phase_over & (phase == self.phase_trials.size - 1)
        next_phase = np.where(phase_over & ~last, phase + 1, phase).astype(np.int64)
        trial_in_phase = np.where(phase_over, 0, trial_in_phase).astype(np.int64)
        target, position = trial_target(
            next_phase,
            trial_in_phase,
            u[:, 0],
            state.target,  # the trial that ends is the previous one of the next trial
            self.is_sequence,
            self.sequences,
            self.lengths,
        )
        history = state.history
        if cfg.history:
            shifted = np.hstack([state.target[:, None], state.history[:, :-1]])
            history = np.where(ends[:, None], shifted, state.history)
        new_state = SkillState(
            phase=next_phase,
            trial=state.trial + ends,
            trial_in_phase=trial_in_phase,
            block=state.block + block_over,
            t_in_trial=np.where(ends, 0, state.t_in_trial + 1).astype(np.int64),
            target=np.where(ends, target, state.target),
            seq_position=np.where(ends, position, state.seq_position),
            history=history.copy(),
        )
        obs = self.observe(new_state, u[:, 1:])
        return new_state, StepOutput(obs, reward, last, np.zeros(n, dtype=np.bool_), info)

    def _info(
        self,
        state: SkillState,
        responded: BoolArray,
        response: IntArray,
        correct: BoolArray,
        missed: BoolArray,
        ends: BoolArray,
    ) -> dict[str, np.ndarray]:
        """Info arrays of the decision ``state`` and its outcome."""
        return {
            "trial": state.trial.copy(),
            "phase": self._names[state.phase],
            "t_in_trial": state.t_in_trial.copy(),
            "block": state.block.copy(),
            "block_type": self.block_types[state.phase],
            "target": state.target.copy(),
            "seq_position": state.seq_position.copy(),
            "responded": responded.copy(),
            "response": response.copy(),
            "correct": correct.copy(),
            "missed": missed.copy(),
            "latency": np.where(ends, state.t_in_trial + 1, 0).astype(np.int64),
        }

    def check_state(self, state: SkillState) -> None:
        """Raise ValueError unless a restored state is consistent with this task."""
        n_phases = self.phase_trials.size
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases})")
        phase = state.phase
        tip = state.trial_in_phase
        if not ((tip >= 0) & (tip < self.phase_trials[phase])).all():
            raise ValueError("state.trial_in_phase must lie in [0, trials of its phase)")
        if not ((state.trial >= tip) & (state.block >= 0)).all():
            raise ValueError("state.trial must be >= trial_in_phase and state.block >= 0")
        t = state.t_in_trial
        if not ((t >= 0) & (t < self.config.max_steps)).all():
            raise ValueError(f"state.t_in_trial must lie in [0, max_steps={self.config.max_steps})")
        if not ((state.target >= 0) & (state.target < N_POSITIONS)).all():
            raise ValueError("state.target must lie in [0, 4)")
        if not ((state.history >= -1) & (state.history < N_POSITIONS)).all():
            raise ValueError("state.history must lie in [-1, 4)")
        sequential = self.is_sequence[phase]
        expected = np.where(sequential, tip % self.lengths[phase], -1)
        if not (state.seq_position == expected).all():
            raise ValueError("state.seq_position does not match the phase and trial_in_phase")
        seq_target = self.sequences[phase, np.maximum(state.seq_position, 0)]
        if not (~sequential | (state.target == seq_target)).all():
            raise ValueError("state.target does not follow the sequence of its phase")
        if self.config.history and (~sequential & (state.target == state.history[:, 0])).any():
            raise ValueError("state.target of a random block repeats the previous target")


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class SkillLearningEnv(TaskEnv):
    """
    Skill learning: a serial reaction time task whose cue must be read from noisy evidence,
    so that knowing the sequence pays off as faster, more accurate responses.

    ## Description
    A continuing session of trials grouped into blocks (Nissen & Bullemer 1987). In each
    trial a cue appears at one of four positions A, B, C, D (the *target*) and stays until the
    agent responds. The cue is seen through noise: at every step each of the four cue
    channels shows ``clip(signal * [i = target] + noise_sd * z_i, 0, 1)`` with fresh
    ``z_i ~ N(0, 1)``. At every step the agent either keeps watching (accumulating evidence)
    or presses one of four keys. Any key press ends the trial (correct if it names the target);
    if no key has been pressed after ``max_steps`` steps the trial ends as a miss. The step
    after a trial's last step shows the next trial's cue; there is no gap between trials.
    The *latency* of a trial is the number of steps it took, response step included (1 =
    responded at the first sight of the cue).

    In a *sequence* block the targets follow a repeating sequence (default ``"DBCACBDCBA"``,
    Nissen & Bullemer's 10-item sequence, which needs up to three previous targets to be
    predicted without ambiguity); trial ``k`` of a sequence phase shows
    ``sequence[k mod len(sequence)]``, so the sequence runs on without a break across the
    phase's blocks. In a *random* block each target is drawn uniformly from the three
    positions other than the previous trial's target (pseudo-random with no immediate
    repeats, as in serial reaction time studies after Nissen & Bullemer; the first trial of an
    episode, with no previous target, is uniform over all four). The default sequence never
    repeats a position either, so random blocks differ from sequence blocks only in the
    sequence, not in a "never repeat" rule that a learner could also exploit.
    Previous-target channels tell the agent where the last ``history`` cues were, so a learner
    with memory can come to predict the next position, respond before the evidence is clear,
    and be fast and accurate in sequence blocks but not in random ones. With ``history=0``
    (the *memory variant*) the observation is the four cue channels alone: given the current
    target its distribution is the same in sequence and random blocks, whatever came before,
    so the sequence can help only an agent that holds the previous targets in its own state
    (e.g. presynaptic memory traces); the lookup from the observation is gone. The protocol is
    data: a sequence of phases, each a number of blocks of one type.

    Randomness comes from five uniforms drawn by the shell at the start and at every step:
    ``u0`` the target of a trial that begins (:func:`random_target`, used in random blocks
    only), ``u1..u4`` the cue noise (two Box-Muller pairs). The native vector env
    (:class:`SkillLearningVectorEnv`) draws the same numbers per env, so it equals a
    ``SyncVectorEnv`` of this env.

    ## Action Space
    ``Discrete(5)``: 0 = keep watching, 1 = respond A, 2 = respond B, 3 = respond C,
    4 = respond D (action ``i + 1`` names position ``i``). An invalid action (not an integer
    in {0, ..., 4}; bools and floats with a fraction included) raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(4 * (1 + history),), dtype=float32)``:

    | Num          | Observation                  | Value                                       |
    |--------------|------------------------------|---------------------------------------------|
    | 0-3          | cue evidence at A, B, C, D   | ``clip(signal * [i = target] + noise, 0, 1)`` |
    | 4j+4..4j+7   | target ``j + 1`` trials back | one-hot (all 0 if no such trial yet)        |

    for ``j = 0 .. history - 1``. The previous-target groups are constant during a trial and
    continue across blocks and phases; they are all 0 at the start of an episode. With
    ``history=0`` the observation is ``Box(0, 1, shape=(4,))``, the cue evidence alone (rows
    0-3), drawn from the same uniforms as rows 0-3 of any other ``history``.

    ## Rewards
    ``-step_cost`` at every step (default 0.01), plus ``reward_correct`` (default 1) for a
    correct response, or ``reward_error`` (default 0) for a wrong response or a miss. Waiting
    for more evidence therefore costs time; guessing costs accuracy.

    ## Starting State
    ``reset()`` starts trial 0 of block 0 of the first phase (or of ``options["phase"]``): the
    first cue's first noisy view, with empty previous-target channels.

    ## Episode End
    ``terminated`` is True on the last step of the last trial of the last phase (after
    ``sum(blocks * block_trials)`` trials when starting at the first phase). ``truncated`` is
    always False.

    ## Information
    The info of a step describes the decision the action answered (and its outcome); the info
    of ``reset()`` describes the pending first decision. So ``trial`` is always the trial the
    step's reward belongs to.

    - ``trial`` (int): index of the trial within the episode, from 0.
    - ``phase`` (str): name of the trial's protocol phase.
    - ``t_in_trial`` (int): steps since the trial's cue appeared (0 at its first step).
    - ``block`` (int): index of the trial's block within the episode, from 0.
    - ``block_type`` (str): ``"sequence"`` or ``"random"``.
    - ``target`` (int): the cued position, 0..3 = A..D.
    - ``seq_position`` (int): position of the trial in the sequence, -1 in random blocks.
    - ``responded`` (bool): a key was pressed at this step.
    - ``response`` (int): the position named by the key, -1 if none.
    - ``correct`` (bool): the response named the target.
    - ``missed`` (bool): the trial timed out at this step (``max_steps`` without a response).
    - ``latency`` (int): on the step that ends a trial, the steps the trial took
      (``t_in_trial + 1``; ``max_steps`` for a miss); 0 on the other steps.

    Exact model for oracle tests: :attr:`target`, :attr:`seq_position` and :attr:`block_type`
    of the pending trial, and :attr:`sequence` of its phase.

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/SkillLearning-v0")  # 4 sequence, 1 random, 1 sequence block
    env = gym.make(
        "plasticgym/SkillLearning-v0",
        block_trials=50,
        history=3,
        protocol=[
            {"name": "training", "blocks": 8},
            {"name": "random", "blocks": 1, "block_type": "random"},
            {"name": "recovery", "blocks": 2},
            {"name": "transfer", "blocks": 2, "sequence": "ACBDABCDBA"},
        ],
    )
    envs = gym.make_vec("plasticgym/SkillLearning-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``sequence`` (str, default ``"DBCACBDCBA"``): the repeating sequence of sequence blocks,
      letters A-D.
    - ``block_trials`` (int >= 1, default 100): trials per block.
    - ``max_steps`` (int >= 1, default 20): steps before an unanswered trial times out.
    - ``signal`` (float in [0, 1], default 0.3): cue strength on the target channel.
    - ``noise_sd`` (float >= 0, default 0.3): SD of the Gaussian noise on each cue channel
      (with the defaults, deciding from 1 step is right about 55 % of the time, from 10
      steps about 95 %).
    - ``history`` (int in [0, 32], default 1): number of previous targets shown; 3 makes the
      default sequence predictable from the observation alone; 0 shows the cue alone (the
      memory variant: the sequence must be held by the agent).
    - ``reward_correct`` (finite float, default 1): reward of a correct response.
    - ``reward_error`` (finite float, default 0): reward of a wrong response or a miss.
    - ``step_cost`` (finite float, default 0.01): subtracted from the reward at every step.
    - ``protocol`` (sequence of mappings or ``Phase`` objects, or None): phases, each with
      ``name`` (unique str), ``blocks`` (int >= 1) and optional ``block_type``
      (``"sequence"`` (default) or ``"random"``), ``block_trials`` and ``sequence``
      (defaults: the arguments above); unknown keys are an error. Default: ``training``
      (4 sequence blocks), ``random`` (1 random block), ``recovery`` (1 sequence block).
      Available as ``env.protocol``.
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming the argument, the value and the allowed
    range; so does an unknown keyword argument (naming it and listing the allowed ones).
    ``reset(options={"phase": name})`` starts the episode at the beginning of that phase and
    runs through the remaining phases (``trial`` and ``block`` count from 0).

    ## Phenomenon
    In the serial reaction time task (Nissen & Bullemer 1987) reaction times fall over blocks
    in which the cue follows a repeating sequence, and rise again when a block of random
    positions is inserted, even in participants who cannot report the sequence: the speed-up
    is sequence-specific skill, not general practice. Practice itself speeds responses as a
    power law of the number of trials, ``T = A + B N^-alpha`` (Newell & Rosenbloom 1981).
    Here the benefit has a mechanism an agent can learn: a prediction of the next position
    (from the previous-target channels and the agent's own memory traces) substitutes for
    evidence accumulation, so the learner can respond earlier without losing accuracy.

    ## References
    - M. J. Nissen, P. Bullemer (1987). Attentional requirements of learning: evidence from
      performance measures. Cognitive Psychology 19(1), 1-32.
    - A. Newell, P. S. Rosenbloom (1981). Mechanisms of skill acquisition and the law of
      practice. In J. R. Anderson (ed.), Cognitive Skills and Their Acquisition, 1-55.
    - E. M. Robertson (2007). The serial reaction time task: implicit motor skill learning?
      Journal of Neuroscience 27(38), 10073-10075.

    ## Version History
    - v0: Initial version.
    - v0 (no change of behaviour): ``history=0``, the cue without previous targets, documented
      and tested as the memory variant, in which sequence knowledge must live in the agent.
    """

    dynamics_class = SkillDynamics

    @property
    def target(self) -> int:
        """Cued position (0..3 = A..D) of the pending trial."""
        return int(self.state.target[0])

    @property
    def seq_position(self) -> int:
        """Sequence position of the pending trial (-1 in a random block)."""
        return int(self.state.seq_position[0])

    @property
    def block_type(self) -> str:
        """``"sequence"`` or ``"random"``: the type of the pending trial's block."""
        return str(self.dynamics.block_types[self.state.phase[0]])

    @property
    def sequence(self) -> str:
        """The sequence of the pending trial's phase (used in its sequence blocks)."""
        return str(self.protocol[int(self.state.phase[0])].sequence)


class SkillLearningVectorEnv(TaskVectorEnv):
    """Native batched :class:`SkillLearningEnv`: ``num_envs`` independent sessions.

    Same arguments as :class:`SkillLearningEnv`, plus ``num_envs`` first. Observations
    ``[num_envs, 4 * (1 + history)]`` float32; info arrays ``[num_envs]``. :attr:`target`,
    :attr:`seq_position` and :attr:`block_type` describe the pending trials (``[num_envs]``;
    meaningless for an env whose episode has just ended, until its autoreset).
    """

    dynamics_class = SkillDynamics

    @property
    def target(self) -> IntArray:
        """Cued positions (0..3 = A..D) of the pending trials, ``[num_envs]``."""
        return self.state.target.copy()

    @property
    def seq_position(self) -> IntArray:
        """Sequence positions of the pending trials (-1 in random blocks), ``[num_envs]``."""
        return self.state.seq_position.copy()

    @property
    def block_type(self) -> npt.NDArray[np.object_]:
        """Block types (``"sequence"`` / ``"random"``) of the pending trials, ``[num_envs]``."""
        return self.dynamics.block_types[self.state.phase]
