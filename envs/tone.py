"""Go/no-go tone-frequency discrimination with optional nucleus-basalis stimulation, as a
Gymnasium task (one step = one trial).

Each trial presents one of ``n_tones`` tones evenly spaced on a (log-)frequency axis scaled to
[0, 1]; responding ("go") to the target tone pays, responding to any other tone costs. In
phases with ``stimulation`` a neuromodulatory pulse (nucleus-basalis-like) is delivered with the
target tone (``"paired"``) or, at the same rate, independently of the tone (``"unpaired"``).
The dynamics are written once (:class:`ToneDiscriminationDynamics`, pure numpy over ``N``
envs) and run by :class:`ToneDiscriminationEnv` and :class:`ToneDiscriminationVectorEnv`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from plasticgym.config import check_choice, check_int, check_number, check_probability
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
    "STIMULATION",
    "TEST_KWARGS",
    "ToneDiscriminationConfig",
    "ToneDiscriminationDynamics",
    "ToneDiscriminationEnv",
    "ToneDiscriminationVectorEnv",
    "ToneState",
    "draw_tone",
    "stimulation_with",
    "tone_frequencies",
    "trial_reward",
]

STIMULATION = ("none", "paired", "unpaired")
NO_STIMULATION, PAIRED, UNPAIRED = range(len(STIMULATION))
INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "tone",
    "frequency",
    "is_target",
    "response",
    "hit",
    "false_alarm",
    "correct",
    "stimulation",
)

TEST_KWARGS: dict[str, Any] = {"n_trials": 60, "n_tones": 5, "target": 2}
"""A short configuration (60 steps per episode) for the generic tests."""


# --------------------------------------------------------------------------------------------
# Pure functions: the exact model
# --------------------------------------------------------------------------------------------


def tone_frequencies(n_tones: int) -> FloatArray:
    """Position of each tone on the frequency axis, ``s_k = k / (n_tones - 1)``, ``[n_tones]``
    (evenly spaced in log frequency, as tonotopic maps are)."""
    return np.linspace(0.0, 1.0, n_tones)


def draw_tone(u: FloatArray, p_target: FloatArray, target: int, n_tones: int) -> IntArray:
    """The tone of a trial from one uniform ``u [N]``: the target if ``u < p_target``, else
    one of the other ``n_tones - 1`` tones with equal probability,
    ``k = floor((u - p) / (1 - p) * (n_tones - 1))`` skipping the target."""
    is_target = u < p_target
    spread = np.where(p_target < 1.0, (u - p_target) / np.maximum(1.0 - p_target, 1e-12), 0.0)
    other = np.clip(np.floor(spread * (n_tones - 1)), 0, n_tones - 2).astype(np.int64)
    other = other + (other >= target)
    return np.where(is_target, target, other).astype(np.int64)


def stimulation_with(
    mode: IntArray, is_target: BoolArray, u: FloatArray, p_target: FloatArray
) -> FloatArray:
    """Neuromodulatory pulse delivered with a tone (1.0 or 0.0), ``[N]``: ``"paired"``: with
    every target tone; ``"unpaired"``: with probability ``p_target`` whatever the tone (the
    same expected number of pulses, no pairing); ``"none"``: never."""
    paired = (mode == PAIRED) & is_target
    unpaired = (mode == UNPAIRED) & (u < p_target)
    return (paired | unpaired).astype(np.float64)


def trial_reward(response: BoolArray, is_target: BoolArray, false_alarm_cost: float) -> FloatArray:
    """Reward of a trial: ``+1`` for a hit (go on the target), ``-false_alarm_cost`` for a
    false alarm (go on another tone), 0 for withholding."""
    hit = response & is_target
    false_alarm = response & ~is_target
    return hit.astype(np.float64) - false_alarm_cost * false_alarm


# --------------------------------------------------------------------------------------------
# Configuration: protocol as data
# --------------------------------------------------------------------------------------------

PHASE_VALIDATORS = {
    "p_target": check_probability,
    "stimulation": lambda name, value: check_choice(name, value, STIMULATION),
}


@dataclass(frozen=True)
class ToneDiscriminationConfig(TaskConfig):
    """The arguments of the task, validated (see :class:`ToneDiscriminationEnv`).

    ``protocol`` holds the resolved phases: without a protocol, one phase ``"training"`` of
    ``n_trials`` trials (default 500) with the phase parameters given here.
    """

    n_tones: int = 7
    target: int | None = None
    p_target: float | None = None
    stimulation: str = "none"
    false_alarm_cost: float = 0.5
    n_trials: int | None = None
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "trials"
    json_fields = ("n_tones", "target", "false_alarm_cost")

    def __post_init__(self) -> None:
        n_tones = check_int("n_tones", self.n_tones, 2, 1000)
        target = n_tones // 2 if self.target is None else check_int("target", self.target, 0,
                                                                    n_tones - 1)  # fmt: skip
        p_target = 1.0 / n_tones if self.p_target is None else self.p_target
        defaults = {"p_target": check_probability("p_target", p_target),
                    "stimulation": PHASE_VALIDATORS["stimulation"]("stimulation",
                                                                    self.stimulation)}  # fmt: skip
        check_number("false_alarm_cost", self.false_alarm_cost, 0.0, 100.0)
        entries = default_protocol(
            self.protocol,
            self.n_trials,
            name="training",
            length_key="trials",
            length_name="n_trials",
            default_length=500,
        )
        phases = parse_protocol(
            entries, length_key="trials", defaults=defaults, validators=PHASE_VALIDATORS
        )
        cost = float(self.false_alarm_cost)
        self._store(n_tones=n_tones, target=target, false_alarm_cost=cost, **defaults,
                    protocol=phases)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Dynamics, written once over N envs
# --------------------------------------------------------------------------------------------


class ToneState(NamedTuple):
    """Per-env state before the next trial (arrays ``[N]``)."""

    phase: IntArray  # phase of the next trial
    trial: IntArray  # index of the next trial in the episode
    trial_in_phase: IntArray
    tone: IntArray  # the next trial's tone (shown in the last observation)
    stimulation: FloatArray  # pulse delivered with that tone


class ToneDiscriminationDynamics(TaskDynamics):
    """The task's transition, shared by :class:`ToneDiscriminationEnv` and the vector env.

    Exposed model: ``frequencies [n_tones]``, ``target``, arrays ``[P]`` over phases
    ``p_target``, ``mode`` (index into :data:`STIMULATION`) and ``length``.
    """

    config_class = ToneDiscriminationConfig
    n_start_uniforms = 2
    n_step_uniforms = 2

    def __init__(self, config: ToneDiscriminationConfig) -> None:
        self.config = config
        self.protocol = config.protocol
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.n_tones, self.target = config.n_tones, config.target
        self.frequencies = tone_frequencies(config.n_tones)
        self.p_target = phase_table(config.protocol, "p_target")
        self.mode = np.array([STIMULATION.index(p.stimulation) for p in config.protocol],
                             dtype=np.int64)  # fmt: skip
        self.length = phase_table(config.protocol, "length", np.int64)
        self._names = np.array(self.phase_names, dtype=object)

    def empty_state(self, n: int) -> ToneState:
        """All-zero state for ``n`` envs."""
        zeros = np.zeros(n, dtype=np.int64)
        return ToneState(zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), np.zeros(n))

    def _next_tone(self, phase: IntArray, u: FloatArray) -> tuple[IntArray, FloatArray]:
        p = self.p_target[phase]
        tone = draw_tone(u[:, 0], p, self.target, self.n_tones)
        return tone, stimulation_with(self.mode[phase], tone == self.target, u[:, 1], p)

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[ToneState, StepOutput]:
        """Before trial 0 of ``start_phase``: its tone and stimulation drawn from ``u``."""
        n = start_phase.size
        tone, stimulation = self._next_tone(start_phase, u)
        state = self.empty_state(n)._replace(phase=start_phase.copy(), tone=tone,
                                             stimulation=stimulation)  # fmt: skip
        false = np.zeros(n, dtype=np.bool_)
        return state, self._emit(state, state, false, np.zeros(n), false, chosen=False)

    def step(
        self, state: ToneState, actions: np.ndarray, u: FloatArray
    ) -> tuple[ToneState, StepOutput]:
        """Play one trial (the tone of ``state``), then the phase counters, then draw the next
        trial's tone and stimulation under the next trial's phase."""
        response = np.asarray(actions, dtype=np.int64) == 1
        is_target = state.tone == self.target
        reward = trial_reward(response, is_target, self.config.false_alarm_cost)
        ended = np.ones(response.size, dtype=np.bool_)
        next_phase, trial_in_phase, terminated = advance_phase(
            state.phase, state.trial_in_phase, ended, self.length
        )
        tone, stimulation = self._next_tone(next_phase, u)
        new = ToneState(next_phase, state.trial + 1, trial_in_phase, tone, stimulation)
        return new, self._emit(state, new, response, reward, terminated)

    def _emit(
        self,
        played: ToneState,
        upcoming: ToneState,
        response: BoolArray,
        reward: FloatArray,
        terminated: BoolArray,
        chosen: bool = True,
    ) -> StepOutput:
        """Output for the trial played under ``played`` (at reset, ``chosen=False``: the first
        trial, before any choice, nothing correct); the observation and ``stimulation`` are
        those of ``upcoming``'s tone."""
        n = played.phase.size
        is_target = played.tone == self.target
        info = {
            "trial": played.trial.copy(),
            "phase": self._names[played.phase],
            "t_in_trial": np.zeros(n, dtype=np.int64),
            "tone": played.tone.copy(),
            "frequency": self.frequencies[played.tone],
            "is_target": is_target,
            "response": response.copy(),
            "hit": response & is_target,
            "false_alarm": response & ~is_target,
            "correct": (response == is_target) & chosen,
            "stimulation": upcoming.stimulation.copy(),
        }
        obs = self.frequencies[upcoming.tone].astype(np.float32)[:, None]
        return StepOutput(
            obs=obs,
            reward=np.asarray(reward, dtype=np.float64),
            terminated=terminated.astype(np.bool_),
            truncated=np.zeros(n, dtype=np.bool_),
            info=info,
        )

    def check_state(self, state: ToneState) -> None:
        """Phase indices, tones, counters and pulses must be in range."""
        n_phases = len(self.length)
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases - 1}]")
        if not ((state.tone >= 0) & (state.tone < self.n_tones)).all():
            raise ValueError(f"state.tone must lie in [0, {self.n_tones - 1}]")
        if not np.isin(state.stimulation, (0.0, 1.0)).all():
            raise ValueError("state.stimulation must be 0.0 or 1.0")
        for name in ("trial", "trial_in_phase"):
            if (getattr(state, name) < 0).any():
                raise ValueError(f"state.{name} must be >= 0")


# --------------------------------------------------------------------------------------------
# The two shells
# --------------------------------------------------------------------------------------------


class ToneDiscriminationEnv(TaskEnv):
    """
    Go/no-go tone discrimination, with tone-paired nucleus-basalis stimulation as an option.

    ## Description
    A session of trials; one step is one trial. Each trial presents one tone: ``n_tones``
    tones lie evenly spaced on a (log-)frequency axis scaled to [0, 1], ``s_k = k /
    (n_tones - 1)``. The agent responds ("go", action 1) or withholds (action 0). A go to the
    ``target`` tone is a hit and pays 1; a go to any other tone is a false alarm and costs
    ``false_alarm_cost``; withholding gives 0. The target is presented with probability
    ``p_target`` (default ``1 / n_tones``: every tone equally often), each other tone with
    ``(1 - p_target) / (n_tones - 1)``.

    Each phase of the protocol may deliver a neuromodulatory pulse with the tones
    (``stimulation``, the electrical stimulation of the nucleus basalis of Kilgard & Merzenich
    1998): ``"paired"`` with every target tone, ``"unpaired"`` with probability ``p_target``
    on every trial whatever its tone (as many pulses, no pairing), or ``"none"``. The pulse
    changes nothing in the task; agents with a neuromodulated sensory map read it from
    ``info["stimulation"]``. Randomness: two uniforms per trial (its tone and, if unpaired, its
    pulse), drawn when the trial's tone is shown.

    ## Action Space
    ``Discrete(2)``: 0 withhold, 1 go. An invalid action raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(1,), dtype=float32)``: the position ``s_k`` of the tone of the next
    trial on the frequency axis.

    ## Rewards
    1 for a hit, ``-false_alarm_cost`` for a false alarm, 0 for a withheld response.

    ## Starting State
    ``reset()`` returns the tone of trial 0 of the first phase (or of ``options["phase"]``).

    ## Episode End
    ``terminated`` is True after the last trial of the last phase. ``truncated`` is always
    False.

    ## Information
    ``step()`` describes the trial just played (``reset()``: trial 0, before any choice):

    - ``trial`` (int), ``phase`` (str), ``t_in_trial`` (int, always 0).
    - ``tone`` (int in ``[0, n_tones)``) and ``frequency`` (float, its ``s_k``).
    - ``is_target`` (bool): the tone was the target.
    - ``response`` (bool): the agent went; ``hit``, ``false_alarm``, ``correct`` (bool; all
      False at reset).
    - ``stimulation`` (float, 0 or 1): the pulse delivered with the tone of the *returned
      observation* (the next trial's), so that an agent sees a pulse at the step it sees the
      tone it is paired with.

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/ToneDiscrimination-v0", n_tones=7, target=3)
    env = gym.make(
        "plasticgym/ToneDiscrimination-v0",
        protocol=[
            {"name": "pairing", "trials": 600, "stimulation": "paired"},
            {"name": "training", "trials": 1500},
        ],
    )
    ```

    - ``n_tones`` (int in [2, 1000], default 7): tones on the axis.
    - ``target`` (int in ``[0, n_tones)`` or None = ``n_tones // 2``): the rewarded tone.
    - ``p_target`` (probability or None = ``1 / n_tones``): target probability per trial.
    - ``stimulation`` (``"none"`` | ``"paired"`` | ``"unpaired"``, default ``"none"``).
    - ``false_alarm_cost`` (float in [0, 100], default 0.5).
    - ``n_trials`` (int >= 1 or None = 500): trials of the default protocol
      ``[{"name": "training", "trials": n_trials}]``; not allowed together with ``protocol``.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``trials`` (int >= 1) and optional overrides of ``p_target`` and ``stimulation``.
    - ``render_mode`` (None): nothing to render.

    Every invalid argument raises ``ValueError`` naming it and the allowed range; an unknown
    keyword argument raises ``ValueError`` listing the allowed ones.

    ## Phenomenon
    Training animals to discriminate tones enlarges the area of primary auditory cortex tuned
    to the trained frequencies, in proportion to performance (Recanzone, Schreiner & Merzenich
    1993); pairing a tone with nucleus-basalis stimulation (acetylcholine) is enough to expand
    its representation, an unpaired pulse is not (Kilgard & Merzenich 1998). The expansion is
    transient: with continued training the map renormalises while discrimination stays (Reed
    et al. 2011), so map expansion may help learning without being needed to perform.

    ## References
    - G. H. Recanzone, C. E. Schreiner, M. M. Merzenich (1993). Plasticity in the frequency
      representation of primary auditory cortex following discrimination training in adult owl
      monkeys. Journal of Neuroscience 13(1), 87-103.
    - M. P. Kilgard, M. M. Merzenich (1998). Cortical map reorganization enabled by nucleus
      basalis activity. Science 279(5357), 1714-1718.
    - A. Reed, J. Riley, R. Carraway, A. Carrasco, C. Perez, V. Jakkamsetti, M. P. Kilgard
      (2011). Cortical map plasticity improves learning but is not necessary for improved
      performance. Neuron 70(1), 121-131.

    ## Version History
    - v0: Initial version.
    """

    dynamics_class = ToneDiscriminationDynamics


class ToneDiscriminationVectorEnv(TaskVectorEnv):
    """Native batched :class:`ToneDiscriminationEnv`: ``num_envs`` sessions in numpy arrays.

    Same arguments as :class:`ToneDiscriminationEnv`, plus ``num_envs`` first. Equal to
    ``SyncVectorEnv`` over the single env, step for step (NEXT_STEP autoreset).
    """

    dynamics_class = ToneDiscriminationDynamics
