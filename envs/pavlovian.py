"""Pavlovian (classical) conditioning as a continuing, multi-trial Gymnasium task.

The dynamics are written once, as pure numpy functions over arrays of per-env state
(:func:`transition`, :func:`emit`); :class:`PavlovianEnv` runs them with one env and
:class:`PavlovianVectorEnv` with ``num_envs`` envs. Trial randomness comes from one
``rng.random(4)`` call per env per trial, so both forms draw the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = [
    "INFO_KEYS",
    "N_DRAWS",
    "PavlovianConfig",
    "PavlovianEnv",
    "PavlovianVectorEnv",
    "Phase",
    "StepOutput",
    "TaskParams",
    "TrialState",
    "advance",
    "draw_uniforms",
    "emit",
    "empty_state",
    "make_config",
    "starts_trial",
    "task_params",
    "transition",
    "trial_end",
]

N_DRAWS = 4
"""Uniform numbers drawn at the start of every trial, in this order: iti, free, reward, omission."""

PHASE_OVERRIDES = ("reward_prob", "omission_prob", "free_reward_prob", "reward")
PHASE_KEYS = ("name", "trials", *PHASE_OVERRIDES)
INFO_KEYS = ("trial", "phase", "t_in_trial", "cs", "us", "omitted", "free")
RESET_OPTIONS = ("phase",)
VECTOR_RESET_OPTIONS = ("phase", "reset_mask")
STATE_VERSION = 1
STATE_KEYS = ("version", "num_envs", "config", "arrays", "rng_states")
STATE_ARRAYS: Mapping[str, np.dtype] = {
    "phase": np.dtype(np.int64),
    "trial": np.dtype(np.int64),
    "trial_in_phase": np.dtype(np.int64),
    "t_in_trial": np.dtype(np.int64),
    "free": np.dtype(np.bool_),
    "rewarded": np.dtype(np.bool_),
    "autoreset": np.dtype(np.bool_),
}
ACTIONS = (0, 1)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    """True for python/numpy integers, False for bools."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    """True for python/numpy integers and floats, False for bools."""
    return _is_int(value) or isinstance(value, float | np.floating)


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name``, the value and the range."""
    if not _is_int(value) or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is a probability in [0, 1]."""
    if not _is_real(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is a finite real number."""
    if not _is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def check_iti(value: Any) -> tuple[int, int]:
    """Return ``(iti_min, iti_max)``, or raise ValueError unless ``1 <= iti_min <= iti_max``."""
    message = f"iti must be a pair (min, max) of integers with 1 <= min <= max, got {value!r}"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(message)
    if len(value) != 2 or not all(_is_int(v) for v in value):
        raise ValueError(message)
    low, high = int(value[0]), int(value[1])
    if not 1 <= low <= high:
        raise ValueError(message)
    return low, high


def check_render_mode(render_mode: Any) -> None:
    """Raise ValueError unless ``render_mode`` is None (the only supported mode)."""
    if render_mode is not None:
        raise ValueError(f"render_mode must be None (nothing to render), got {render_mode!r}")


def check_action(action: Any) -> int:
    """Return a single-env action as an int in {0, 1}, or raise ValueError.

    Accepted: python/numpy integers, integral floats and 0-d arrays of those. Rejected: bools,
    floats with a fraction, non-finite floats, out-of-range values and anything else.
    """
    value = action
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    ok = False
    if isinstance(value, bool):
        ok = False
    elif isinstance(value, int):
        ok = value in ACTIONS
    elif isinstance(value, float):
        ok = math.isfinite(value) and value.is_integer() and int(value) in ACTIONS
    if not ok:
        raise ValueError(
            f"action must be an integer in {{0, 1}} (Discrete(2)), got {action!r} "
            f"of type {type(action).__name__}"
        )
    return int(value)


def check_vector_action(actions: Any, num_envs: int) -> IntArray:
    """Return a batch of actions as an int64 array of shape ``(num_envs,)``, or raise ValueError.

    Each entry must be an integer (or integral float) in {0, 1}; bools are rejected.
    """
    allowed = f"an integer array-like of shape ({num_envs},) with values in {{0, 1}}"
    if isinstance(actions, list | tuple) and any(
        isinstance(a, bool | np.bool_ | str | bytes) for a in actions
    ):
        raise ValueError(f"actions must be {allowed}, got {actions!r}")
    try:
        array = np.asarray(actions)
    except (TypeError, ValueError) as err:
        raise ValueError(f"actions must be {allowed}, got {actions!r}") from err
    if array.shape != (num_envs,):
        raise ValueError(f"actions must be {allowed}, got shape {array.shape}: {actions!r}")
    if array.dtype.kind in "iuf":
        ok = (array == 0) | (array == 1)  # False for NaN and for fractions
    else:
        raise ValueError(f"actions must be {allowed}, got dtype {array.dtype}: {actions!r}")
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise ValueError(
            f"actions must be {allowed}, got invalid entries at indices {bad.tolist()}: "
            f"{array[bad].tolist()}"
        )
    return array.astype(np.int64)


# --------------------------------------------------------------------------------------------
# Configuration: protocol as data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One phase of the protocol: ``trials`` trials with these trial parameters.

    Validated on construction; a bad value raises ValueError naming the field.
    """

    name: str
    trials: int
    reward_prob: float = 1.0
    omission_prob: float = 0.0
    free_reward_prob: float = 0.0
    reward: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "trials", check_int("trials", self.trials, 1))
        for field in ("reward_prob", "omission_prob", "free_reward_prob"):
            object.__setattr__(self, field, check_probability(field, getattr(self, field)))
        object.__setattr__(self, "reward", check_finite("reward", self.reward))


@dataclass(frozen=True)
class PavlovianConfig:
    """Validated arguments of the Pavlovian task (see :class:`PavlovianEnv`)."""

    cs_us_interval: int
    iti: tuple[int, int]
    cs_duration: int
    protocol: tuple[Phase, ...]

    def __post_init__(self) -> None:
        k = check_int("cs_us_interval", self.cs_us_interval, 1)
        object.__setattr__(self, "cs_us_interval", k)
        object.__setattr__(self, "iti", check_iti(self.iti))
        object.__setattr__(self, "cs_duration", check_int("cs_duration", self.cs_duration, 1, k))
        if not self.protocol or not all(isinstance(p, Phase) for p in self.protocol):
            raise ValueError(f"protocol must be a non-empty tuple of Phase, got {self.protocol!r}")
        names = [p.name for p in self.protocol]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"protocol phase names must be unique, got duplicates {duplicates}")
        object.__setattr__(self, "protocol", tuple(self.protocol))

    @property
    def phase_names(self) -> tuple[str, ...]:
        """Names of the phases, in protocol order."""
        return tuple(p.name for p in self.protocol)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable description (used to check checkpoints against the env)."""
        return {
            "cs_us_interval": self.cs_us_interval,
            "iti": list(self.iti),
            "cs_duration": self.cs_duration,
            "protocol": [asdict(p) for p in self.protocol],
        }


def parse_protocol(protocol: Any, defaults: Mapping[str, float]) -> tuple[Phase, ...]:
    """Turn a sequence of phase mappings (or :class:`Phase`) into a tuple of :class:`Phase`.

    Keys not given in a mapping take their value from ``defaults`` (the constructor arguments).
    """
    if isinstance(protocol, str | bytes | Mapping) or not isinstance(protocol, Sequence):
        raise ValueError(f"protocol must be a sequence of phase mappings, got {protocol!r}")
    if len(protocol) == 0:
        raise ValueError("protocol must contain at least one phase, got an empty sequence")
    phases = []
    for i, entry in enumerate(protocol):
        if isinstance(entry, Phase):
            phases.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"protocol[{i}] must be a mapping with keys {PHASE_KEYS}, got {entry!r}"
            )
        unknown = [key for key in entry if key not in PHASE_KEYS]
        if unknown:
            raise ValueError(
                f"protocol[{i}] has unknown key {unknown[0]!r}; allowed keys are {PHASE_KEYS}"
            )
        missing = [key for key in ("name", "trials") if key not in entry]
        if missing:
            raise ValueError(f"protocol[{i}] is missing required key {missing[0]!r}")
        try:
            phases.append(Phase(**{**defaults, **entry}))
        except ValueError as err:
            raise ValueError(f"protocol[{i}] ({entry.get('name')!r}): {err}") from err
    return tuple(phases)


def make_config(
    *,
    cs_us_interval: int = 6,
    iti: tuple[int, int] = (20, 40),
    reward_prob: float = 1.0,
    omission_prob: float = 0.0,
    free_reward_prob: float = 0.0,
    n_trials: int | None = None,
    reward: float = 1.0,
    cs_duration: int = 1,
    protocol: Sequence[Mapping[str, Any]] | None = None,
) -> PavlovianConfig:
    """Validate the constructor arguments of the task and resolve them into a config."""
    defaults = {
        "reward_prob": check_probability("reward_prob", reward_prob),
        "omission_prob": check_probability("omission_prob", omission_prob),
        "free_reward_prob": check_probability("free_reward_prob", free_reward_prob),
        "reward": check_finite("reward", reward),
    }
    if protocol is not None and n_trials is not None:
        raise ValueError(
            f"give either n_trials or protocol, not both (n_trials={n_trials!r}); "
            "set the trials of each phase inside protocol"
        )
    if protocol is None:
        trials = 100 if n_trials is None else check_int("n_trials", n_trials, 1)
        phases: tuple[Phase, ...] = (Phase(name="conditioning", trials=trials, **defaults),)
    else:
        phases = parse_protocol(protocol, defaults)
    return PavlovianConfig(
        cs_us_interval=cs_us_interval, iti=iti, cs_duration=cs_duration, protocol=phases
    )


def parse_reset_phase(options: Any, config: PavlovianConfig, allowed: Sequence[str]) -> int:
    """Return the index of the phase ``reset(options=...)`` starts in (0 when not given)."""
    if options is None:
        return 0
    if not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict or None, got {options!r}")
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise ValueError(
            f"unknown reset option {unknown[0]!r}; allowed options are {tuple(allowed)}"
        )
    if "phase" not in options:
        return 0
    name = options["phase"]
    if not isinstance(name, str) or name not in config.phase_names:
        raise ValueError(f"options['phase'] must be one of {config.phase_names}, got {name!r}")
    return config.phase_names.index(name)


# --------------------------------------------------------------------------------------------
# Dynamics, written once: pure functions over arrays of per-env state
# --------------------------------------------------------------------------------------------


class TaskParams(NamedTuple):
    """The config as arrays for the dynamics; the per-phase arrays have shape ``[P]``."""

    cs_us_interval: int
    cs_duration: int
    iti_min: int
    iti_max: int
    trials: IntArray
    reward_prob: FloatArray
    omission_prob: FloatArray
    free_reward_prob: FloatArray
    reward: FloatArray


class TrialState(NamedTuple):
    """Per-env state, every field of shape ``[N]``; it describes the step just observed.

    ``phase`` indexes the protocol, ``trial`` counts trials since the episode began,
    ``trial_in_phase`` counts trials since the phase began, ``t_in_trial`` is the time relative
    to the event onset (negative in the ITI), ``free`` marks a free-reward trial and
    ``rewarded`` a cued trial whose US will be delivered.
    """

    phase: IntArray
    trial: IntArray
    trial_in_phase: IntArray
    t_in_trial: IntArray
    free: BoolArray
    rewarded: BoolArray


class StepOutput(NamedTuple):
    """What the env emits for a state: ``obs [N, 2]`` float32, the rest ``[N]``."""

    obs: npt.NDArray[np.float32]
    reward: FloatArray
    terminated: BoolArray
    cs: BoolArray
    us: BoolArray
    omitted: BoolArray
    free: BoolArray


def task_params(config: PavlovianConfig) -> TaskParams:
    """Arrays of the per-phase parameters of ``config``."""

    def column(field: str, dtype: type) -> npt.NDArray[Any]:
        return np.array([getattr(p, field) for p in config.protocol], dtype=dtype)

    return TaskParams(
        cs_us_interval=config.cs_us_interval,
        cs_duration=config.cs_duration,
        iti_min=config.iti[0],
        iti_max=config.iti[1],
        trials=column("trials", np.int64),
        reward_prob=column("reward_prob", np.float64),
        omission_prob=column("omission_prob", np.float64),
        free_reward_prob=column("free_reward_prob", np.float64),
        reward=column("reward", np.float64),
    )


def empty_state(num_envs: int) -> TrialState:
    """A placeholder state for ``num_envs`` envs; every env must be restarted before use."""
    zeros = np.zeros(num_envs, dtype=np.int64)
    false = np.zeros(num_envs, dtype=np.bool_)
    return TrialState(zeros, zeros.copy(), zeros.copy(), zeros.copy(), false, false.copy())


def trial_end(state: TrialState, params: TaskParams) -> IntArray:
    """``t_in_trial`` of the last step of each env's current trial: 0 if free, else K."""
    return np.where(state.free, 0, params.cs_us_interval).astype(np.int64)


def starts_trial(state: TrialState, restart: BoolArray, params: TaskParams) -> BoolArray:
    """Envs whose next step begins a trial: restarted ones and those at the end of a trial."""
    return restart | (state.t_in_trial == trial_end(state, params))


def draw_trial(
    u: FloatArray, phase: IntArray, params: TaskParams
) -> tuple[IntArray, BoolArray, BoolArray]:
    """Turn uniforms ``u [M, 4]`` = [iti, free, reward, omission] into a trial.

    ``L = iti_min + floor(u0 * (iti_max - iti_min + 1))``; free trial iff ``u1 < free_prob``;
    a cued trial is rewarded iff ``u2 < reward_prob`` and ``u3 >= omission_prob`` (parameters
    of the trial's ``phase [M]``). Returns ``(t_in_trial = -L, free, rewarded)``.
    """
    span = params.iti_max - params.iti_min + 1
    offset = np.minimum(np.floor(u[:, 0] * span).astype(np.int64), span - 1)
    iti = params.iti_min + offset
    free = u[:, 1] < params.free_reward_prob[phase]
    rewarded = (
        ~free & (u[:, 2] < params.reward_prob[phase]) & (u[:, 3] >= params.omission_prob[phase])
    )
    return -iti, free, rewarded


def transition(
    state: TrialState,
    restart: BoolArray,
    start_phase: IntArray,
    u: FloatArray,
    params: TaskParams,
) -> TrialState:
    """Advance every env by one step.

    Envs in ``restart [N]`` begin a new episode at the first trial of phase ``start_phase [N]``;
    envs whose last step ended a trial begin the next trial (moving to the next phase after
    the phase's last trial); the others advance ``t_in_trial`` by one. ``u [M, 4]`` holds the
    uniforms of the ``M`` envs that begin a trial (``starts_trial``), in ascending env order.
    Precondition: no env that is not restarted has just ended its episode.
    """
    begins = starts_trial(state, restart, params)
    idx = np.flatnonzero(begins)
    if u.shape != (idx.size, N_DRAWS):
        raise ValueError(f"u must have shape ({idx.size}, {N_DRAWS}), got {u.shape}")
    following = begins & ~restart
    trial = np.where(restart, 0, state.trial + following)
    trial_in_phase = state.trial_in_phase + following
    next_phase = following & (trial_in_phase >= params.trials[state.phase])
    phase = np.where(restart, start_phase, state.phase + next_phase).astype(np.int64)
    trial_in_phase = np.where(restart | next_phase, 0, trial_in_phase)
    t_in_trial = state.t_in_trial + 1
    free = state.free.copy()
    rewarded = state.rewarded.copy()
    t_in_trial[idx], free[idx], rewarded[idx] = draw_trial(u, phase[idx], params)
    return TrialState(phase, trial, trial_in_phase, t_in_trial, free, rewarded)


def emit(state: TrialState, params: TaskParams) -> StepOutput:
    """Observation, reward, termination and events of ``state``.

    The cue channel is on for ``0 <= t_in_trial < cs_duration`` of cued trials; the US is due
    at ``t_in_trial = K`` (cued) or 0 (free) and is delivered unless the cued trial is not
    rewarded (``omitted``). The episode ends on the last step of the last trial of the last phase.
    """
    t = state.t_in_trial
    cued = ~state.free
    due = t == trial_end(state, params)
    us = due & (state.free | state.rewarded)
    cue = cued & (t >= 0) & (t < params.cs_duration)
    last_phase = params.trials.size - 1
    last_trial = (state.phase == last_phase) & (state.trial_in_phase == params.trials[-1] - 1)
    return StepOutput(
        obs=np.stack([cue, us], axis=1).astype(np.float32),
        reward=np.where(us, params.reward[state.phase], 0.0),
        terminated=due & last_trial,
        cs=cued & (t == 0),
        us=us,
        omitted=due & cued & ~state.rewarded,
        free=due & state.free,
    )


def draw_uniforms(rngs: Sequence[np.random.Generator], idx: IntArray) -> FloatArray:
    """One ``rng.random(4)`` call for each env in ``idx``: an array ``[len(idx), 4]``."""
    if idx.size == 0:
        return np.empty((0, N_DRAWS), dtype=np.float64)
    return np.stack([rngs[i].random(N_DRAWS) for i in idx])


def advance(
    state: TrialState,
    restart: BoolArray,
    start_phase: IntArray,
    rngs: Sequence[np.random.Generator],
    params: TaskParams,
) -> tuple[TrialState, StepOutput]:
    """One step of the task for every env: draw for the envs that begin a trial, then move.

    ``rngs`` holds one generator per env; only envs that begin a trial draw.
    """
    idx = np.flatnonzero(starts_trial(state, restart, params))
    new_state = transition(state, restart, start_phase, draw_uniforms(rngs, idx), params)
    return new_state, emit(new_state, params)


def scatter_state(state: TrialState, idx: IntArray, values: TrialState) -> TrialState:
    """A copy of ``state`` whose envs ``idx [M]`` are replaced by ``values`` (``[M]`` each)."""
    merged = []
    for full, part in zip(state, values, strict=True):
        field = full.copy()
        field[idx] = part
        merged.append(field)
    return TrialState(*merged)


def info_arrays(
    state: TrialState, out: StepOutput, phase_names: npt.NDArray[np.object_]
) -> dict[str, npt.NDArray[Any]]:
    """The per-env values of each info key (``phase`` as an object array of names)."""
    return {
        "trial": state.trial.copy(),
        "phase": phase_names[state.phase],
        "t_in_trial": state.t_in_trial.copy(),
        "cs": out.cs,
        "us": out.us,
        "omitted": out.omitted,
        "free": out.free,
    }


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class PavlovianEnv(gym.Env[npt.NDArray[np.float32], int]):
    """
    Pavlovian (classical) conditioning: a cue (CS) predicts a reward (US) a fixed delay later.

    ## Description
    A continuing session of many trials. Each trial begins with an inter-trial interval (ITI)
    of ``L`` steps, ``L ~ U{iti[0], ..., iti[1]}`` drawn at the trial's start, followed by the
    event. ``t_in_trial`` counts steps relative to the event onset: the first step of a trial
    has ``t_in_trial = -L``, then ``-L+1, ..., -1``, then ``0`` = event onset.

    - Cued trial: the cue comes on at ``t_in_trial = 0`` and stays on for ``cs_duration``
      steps. The US is due at ``t_in_trial = K = cs_us_interval``: if the trial is rewarded,
      the reward is delivered in that step; otherwise it is omitted. The trial ends with that
      step (steps ``0..K``).
    - Free-reward trial (probability ``free_reward_prob``): no cue; the reward is delivered at
      ``t_in_trial = 0`` and the trial ends with that step.

    A cued trial is rewarded with probability ``reward_prob * (1 - omission_prob)``:
    ``reward_prob`` sets the block's reward probability (Fiorillo et al. 2003) and
    ``omission_prob`` withholds an expected reward as a probe. The next step after a trial's
    last step is the first ITI step of the next trial. The experimental protocol is data: a
    sequence of phases, each with a number of trials and its own trial parameters (e.g.
    conditioning, then extinction with ``reward_prob=0``), run in order.

    Trial randomness is drawn once at the start of each trial with one call
    ``np_random.random(4)`` = ``[u0, u1, u2, u3]``:
    ``L = iti[0] + floor(u0 * (iti[1] - iti[0] + 1))``; free trial iff
    ``u1 < free_reward_prob``; a cued trial is rewarded iff ``u2 < reward_prob`` and
    ``u3 >= omission_prob`` (parameters of the trial's phase). The native vector version
    (:class:`PavlovianVectorEnv`) draws exactly the same numbers for each env.

    ## Action Space
    ``Discrete(2)``: 0 = no lick, 1 = lick. The action has no effect on the task (classical,
    not instrumental, conditioning); it is there for agents that emit anticipatory licks.
    An invalid action (not an integer in {0, 1}; bools and floats with a fraction included)
    raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(2,), dtype=float32)``:

    | Num | Observation                  | Value                                            |
    |-----|------------------------------|--------------------------------------------------|
    | 0   | cue (CS) present             | 1 for ``0 <= t_in_trial < cs_duration`` (cued)   |
    | 1   | reward (US) present          | 1 in the step the reward is delivered            |

    No clock is given: an agent needs its own temporal code of the cue (e.g. presynaptic
    traces / microstimuli) to predict the reward.

    ## Rewards
    ``reward`` (of the trial's phase) in the step the US is delivered, 0 otherwise.

    ## Starting State
    ``reset()`` starts trial 0 of the first phase (or of ``options["phase"]``) and returns its
    first ITI step (``t_in_trial = -L``, observation ``[0, 0]``).

    ## Episode End
    ``terminated`` is True on the last step of the last trial of the last phase (after
    ``sum(trials)`` trials when starting at the first phase). ``truncated`` is always False.

    ## Information
    ``reset()`` and ``step()`` return a dict with:

    - ``trial`` (int): index of the trial within the episode, from 0.
    - ``phase`` (str): name of the trial's protocol phase.
    - ``t_in_trial`` (int): step relative to the event onset (negative during the ITI).
    - ``cs`` (bool): cue onset at this step.
    - ``us`` (bool): reward delivered at this step.
    - ``omitted`` (bool): a cued reward was due at this step and withheld.
    - ``free`` (bool): an unpredicted (free) reward was delivered at this step.

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Pavlovian-v0", cs_us_interval=6, iti=(20, 40))
    env = gym.make(
        "plasticgym/Pavlovian-v0",
        protocol=[
            {"name": "conditioning", "trials": 200},
            {"name": "extinction", "trials": 100, "reward_prob": 0.0},
        ],
    )
    envs = gym.make_vec("plasticgym/Pavlovian-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``cs_us_interval`` (int, default 6): steps ``K >= 1`` from cue onset to reward.
    - ``iti`` (tuple[int, int], default (20, 40)): inclusive range of the uniform ITI,
      ``1 <= min <= max``. Long, variable ITIs make the cue onset surprising.
    - ``reward_prob`` (float in [0, 1], default 1): probability that a cued trial is rewarded.
    - ``omission_prob`` (float in [0, 1], default 0): probability that a cued reward is withheld.
    - ``free_reward_prob`` (float in [0, 1], default 0): probability of a free-reward trial.
    - ``n_trials`` (int >= 1 or None, default None = 100): trials of the default protocol
      ``[{"name": "conditioning", "trials": n_trials}]``; not allowed together with
      ``protocol``.
    - ``reward`` (finite float, default 1): reward magnitude.
    - ``cs_duration`` (int, default 1): steps the cue stays on, ``1 <= cs_duration <= K``.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``trials`` (int >= 1) and optional overrides of ``reward_prob``, ``omission_prob``,
      ``free_reward_prob`` and ``reward`` (defaults: the arguments above); unknown keys are
      an error. :class:`Phase` instances are accepted as they are. Available after
      construction as ``env.protocol``, a tuple of frozen :class:`Phase`.
    - ``render_mode`` (None): nothing to render.

    Every invalid argument raises ``ValueError`` naming the argument, the value and the
    allowed range. ``reset(options={"phase": name})`` starts the episode at the beginning of
    that phase and runs through the remaining phases (``trial`` still counts from 0).

    ## Phenomenon
    Midbrain dopamine neurons report a reward-prediction error (Schultz, Dayan & Montague 1997):
    early in conditioning they fire at the reward; after learning they fire at the cue and not
    at the predicted reward; omitting the reward makes them dip below baseline at the time the
    reward was due; an unpredicted (free) reward still evokes the full response. With a
    probabilistic reward (Fiorillo, Tobler & Schultz 2003) the cue response grows and the
    reward response shrinks with the reward probability. A temporal-difference critic whose
    error is ``delta = r + gamma V' - V`` reproduces these signatures. The cue is surprising
    only when its onset cannot be predicted from the ITI, hence the long, variable ITIs and the
    continuing multi-trial session.

    ## References
    - W. Schultz, P. Dayan, P. R. Montague (1997). A neural substrate of prediction and reward.
      Science 275(5306), 1593-1599.
    - C. D. Fiorillo, P. N. Tobler, W. Schultz (2003). Discrete coding of reward probability and
      uncertainty by dopamine neurons. Science 299(5614), 1898-1902.
    - E. A. Ludvig, R. S. Sutton, E. J. Kehoe (2008). Stimulus representation and the timing of
      reward-prediction errors in models of the dopamine system. Neural Computation 20(12),
      3034-3054.

    ## Version History
    - v0: Initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        cs_us_interval: int = 6,
        iti: tuple[int, int] = (20, 40),
        reward_prob: float = 1.0,
        omission_prob: float = 0.0,
        free_reward_prob: float = 0.0,
        n_trials: int | None = None,
        reward: float = 1.0,
        cs_duration: int = 1,
        protocol: Sequence[Mapping[str, Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        check_render_mode(render_mode)
        self.config = make_config(
            cs_us_interval=cs_us_interval,
            iti=iti,
            reward_prob=reward_prob,
            omission_prob=omission_prob,
            free_reward_prob=free_reward_prob,
            n_trials=n_trials,
            reward=reward,
            cs_duration=cs_duration,
            protocol=protocol,
        )
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self._params = task_params(self.config)
        self._phase_names = np.array(self.config.phase_names, dtype=object)
        self._state: TrialState | None = None
        self._terminated = False

    @property
    def protocol(self) -> tuple[Phase, ...]:
        """The parsed protocol: one frozen :class:`Phase` per phase, in order."""
        return self.config.protocol

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """Start trial 0 of the first phase (or of ``options["phase"]``)."""
        super().reset(seed=seed)
        start = parse_reset_phase(options, self.config, RESET_OPTIONS)
        obs, _, info = self._advance(empty_state(1), restart=True, start_phase=start)
        return obs, info

    def step(
        self, action: int
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Advance one step; the action has no effect but must be valid."""
        check_action(action)
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._terminated:
            raise RuntimeError("the episode has terminated; call reset() before step()")
        obs, reward, info = self._advance(self._state, restart=False, start_phase=0)
        return obs, reward, self._terminated, False, info

    def render(self) -> None:
        """Nothing to render (``render_mode`` is always None)."""
        return None

    def _advance(
        self, state: TrialState, *, restart: bool, start_phase: int
    ) -> tuple[npt.NDArray[np.float32], float, dict[str, Any]]:
        """Run the shared dynamics with N=1; return obs, reward and info as python values."""
        self._state, out = advance(
            state,
            np.array([restart]),
            np.array([start_phase], dtype=np.int64),
            [self.np_random],
            self._params,
        )
        self._terminated = bool(out.terminated[0])
        arrays = info_arrays(self._state, out, self._phase_names)
        info = {
            key: value[0] if key == "phase" else value[0].item() for key, value in arrays.items()
        }
        return out.obs[0], float(out.reward[0]), info


class PavlovianVectorEnv(VectorEnv[npt.NDArray[np.float32], npt.NDArray[np.int64], np.ndarray]):
    """Native batched :class:`PavlovianEnv`: ``num_envs`` independent sessions in numpy arrays.

    Same arguments as :class:`PavlovianEnv`, plus ``num_envs`` first. Observations have shape
    ``[num_envs, 2]``; rewards, terminations and truncations ``[num_envs]``; actions must be an
    integer array-like of shape ``(num_envs,)`` with values in {0, 1}.

    It behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over :class:`PavlovianEnv` with
    the same arguments, seeded the same way: one ``np.random.Generator`` per env, seeded with
    ``seed + i`` (``reset(seed=int)``) or ``seed[i]`` (a list); ``None`` keeps an env's
    generator (fresh entropy the first time). Autoreset is ``NEXT_STEP``: the step after an env
    terminated ignores its action and returns its reset observation (first phase), reward 0,
    ``terminated = truncated = False`` and its reset info. ``info`` holds one array per key of
    :class:`PavlovianEnv` (int64, bool, or object for ``phase``) and an all-True mask ``_key``.
    ``reset(options=...)`` accepts ``phase`` and gymnasium's ``reset_mask``.

    ``get_state()`` / ``set_state()`` checkpoint everything needed to continue bit-identically.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        cs_us_interval: int = 6,
        iti: tuple[int, int] = (20, 40),
        reward_prob: float = 1.0,
        omission_prob: float = 0.0,
        free_reward_prob: float = 0.0,
        n_trials: int | None = None,
        reward: float = 1.0,
        cs_duration: int = 1,
        protocol: Sequence[Mapping[str, Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, 1)
        check_render_mode(render_mode)
        self.config = make_config(
            cs_us_interval=cs_us_interval,
            iti=iti,
            reward_prob=reward_prob,
            omission_prob=omission_prob,
            free_reward_prob=free_reward_prob,
            n_trials=n_trials,
            reward=reward,
            cs_duration=cs_duration,
            protocol=protocol,
        )
        self.render_mode = render_mode
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._params = task_params(self.config)
        self._phase_names = np.array(self.config.phase_names, dtype=object)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._state: TrialState | None = None
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)

    @property
    def protocol(self) -> tuple[Phase, ...]:
        """The parsed protocol: one frozen :class:`Phase` per phase, in order."""
        return self.config.protocol

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``), seeding as SyncVectorEnv."""
        seeds = self._seed_list(seed)
        start = parse_reset_phase(options, self.config, VECTOR_RESET_OPTIONS)
        mask = self._reset_mask(options)
        if mask is not None and self._state is None:
            raise ValueError("the first reset() must reset every env: drop options['reset_mask']")
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        if isinstance(seed, int):
            super().reset(seed=seed)
        idx = np.flatnonzero(mask)
        for i in idx:
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seeds[i])
        fresh, _ = advance(
            empty_state(idx.size),
            np.ones(idx.size, dtype=np.bool_),
            np.full(idx.size, start, dtype=np.int64),
            [self._rngs[i] for i in idx],
            self._params,
        )
        base = empty_state(self.num_envs) if self._state is None else self._state
        self._state = scatter_state(base, idx, fresh)
        out = emit(self._state, self._params)
        self._autoreset = self._autoreset & ~mask
        return out.obs, self._info(out, mask)

    def step(
        self, actions: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float32], FloatArray, BoolArray, BoolArray, dict[str, Any]]:
        """Advance every env one step; envs that terminated last step are reset instead."""
        check_vector_action(actions, self.num_envs)
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        restart = self._autoreset
        self._state, out = advance(
            self._state, restart, np.zeros(self.num_envs, dtype=np.int64), self._rngs, self._params
        )
        self._autoreset = out.terminated.copy()
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        return out.obs, out.reward, out.terminated, truncated, self._info(out, None)

    def render(self) -> None:
        """Nothing to render (``render_mode`` is always None)."""
        return None

    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically.

        Returns ``{"version": 1, "num_envs": int, "config": dict, "arrays": {name: ndarray},
        "rng_states": [bit_generator.state per env]}``; all but ``arrays`` is
        JSON-serialisable. ``arrays`` holds int64 ``phase``, ``trial``, ``trial_in_phase``,
        ``t_in_trial`` and bool ``free``, ``rewarded``, ``autoreset`` (pending NEXT_STEP reset),
        each of shape ``[num_envs]``.
        """
        if self._state is None:
            raise RuntimeError("call reset() before get_state()")
        arrays = {name: getattr(self._state, name).copy() for name in TrialState._fields}
        arrays["autoreset"] = self._autoreset.copy()
        return {
            "version": STATE_VERSION,
            "num_envs": self.num_envs,
            "config": self.config.to_json(),
            "arrays": arrays,
            "rng_states": [rng.bit_generator.state for rng in self._rngs if rng is not None],
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot; raise ValueError naming what is wrong.

        Nothing is changed unless the whole snapshot is valid.
        """
        arrays, rngs = validate_state(state, self.num_envs, self.config, self._params)
        self._state = TrialState(**{name: arrays[name] for name in TrialState._fields})
        self._autoreset = arrays["autoreset"]
        self._rngs = list(rngs)

    def _seed_list(self, seed: Any) -> list[int | None]:
        """Per-env seeds, as SyncVectorEnv: None, int -> seed + i, or a list of num_envs."""
        if seed is None:
            return [None] * self.num_envs
        if _is_int(seed):
            return [int(seed) + i for i in range(self.num_envs)]
        if isinstance(seed, str | bytes) or not isinstance(seed, Sequence):
            raise ValueError(f"seed must be None, an int or a list of ints, got {seed!r}")
        if len(seed) != self.num_envs:
            raise ValueError(
                f"seed as a list must have length num_envs={self.num_envs}, got length {len(seed)}"
            )
        return [None if s is None else int(s) if _is_int(s) else s for s in seed]

    def _reset_mask(self, options: Mapping[str, Any] | None) -> BoolArray | None:
        """The validated ``options["reset_mask"]`` (bool array of shape [num_envs]) or None."""
        if options is None or "reset_mask" not in options:
            return None
        mask = options["reset_mask"]
        if (
            not isinstance(mask, np.ndarray)
            or mask.dtype != np.bool_
            or mask.shape != (self.num_envs,)
            or not mask.any()
        ):
            raise ValueError(
                f"options['reset_mask'] must be a bool numpy array of shape ({self.num_envs},) "
                f"with at least one True, got {mask!r}"
            )
        return mask.copy()

    def _info(self, out: StepOutput, mask: BoolArray | None) -> dict[str, Any]:
        """Vector info as SyncVectorEnv builds it; entries outside ``mask`` are blank."""
        assert self._state is not None
        info: dict[str, Any] = {}
        for key, value in info_arrays(self._state, out, self._phase_names).items():
            if mask is None:
                info[key], info[f"_{key}"] = value, np.ones(self.num_envs, dtype=np.bool_)
            else:
                blank = np.full_like(value, None) if value.dtype == object else np.zeros_like(value)
                info[key], info[f"_{key}"] = np.where(mask, value, blank), mask.copy()
        return info


def validate_state(
    state: Any, num_envs: int, config: PavlovianConfig, params: TaskParams
) -> tuple[dict[str, npt.NDArray[Any]], list[np.random.Generator]]:
    """Check a :meth:`PavlovianVectorEnv.get_state` snapshot against an env.

    Returns copies of the arrays and the restored generators; raises ValueError naming the
    first problem (keys, version, num_envs, config, array names/shapes/dtypes/values, RNGs).
    """
    if not isinstance(state, Mapping):
        raise ValueError(f"state must be a dict with keys {STATE_KEYS}, got {type(state).__name__}")
    if sorted(state) != sorted(STATE_KEYS):
        raise ValueError(f"state must have exactly the keys {STATE_KEYS}, got {sorted(state)}")
    if state["version"] != STATE_VERSION:
        raise ValueError(f"state['version'] must be {STATE_VERSION}, got {state['version']!r}")
    if state["num_envs"] != num_envs:
        raise ValueError(f"state['num_envs'] is {state['num_envs']!r}, this env has {num_envs}")
    if state["config"] != config.to_json():
        raise ValueError(
            f"state['config'] {state['config']!r} does not match this env's {config.to_json()!r}"
        )
    arrays = _validate_arrays(state["arrays"], num_envs, params)
    rng_states = state["rng_states"]
    if not isinstance(rng_states, Sequence) or len(rng_states) != num_envs:
        raise ValueError(f"state['rng_states'] must be a list of {num_envs} bit-generator states")
    rngs = []
    for i, rng_state in enumerate(rng_states):
        rng = np.random.Generator(np.random.PCG64())
        try:
            rng.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"state['rng_states'][{i}] is not a PCG64 state: {err}") from err
        rngs.append(rng)
    return arrays, rngs


def _validate_arrays(arrays: Any, num_envs: int, params: TaskParams) -> dict[str, npt.NDArray[Any]]:
    """Check names, shapes, dtypes and value ranges of the state arrays; return copies."""
    if not isinstance(arrays, Mapping) or sorted(arrays) != sorted(STATE_ARRAYS):
        names = sorted(arrays) if isinstance(arrays, Mapping) else type(arrays).__name__
        raise ValueError(f"state['arrays'] must have exactly {sorted(STATE_ARRAYS)}, got {names}")
    out = {}
    for name, dtype in STATE_ARRAYS.items():
        value = arrays[name]
        if not isinstance(value, np.ndarray) or value.shape != (num_envs,) or value.dtype != dtype:
            got = (value.shape, value.dtype) if isinstance(value, np.ndarray) else type(value)
            raise ValueError(
                f"state['arrays'][{name!r}] must be a {dtype} array of shape ({num_envs},), "
                f"got {got}"
            )
        out[name] = value.copy()
    n_phases = params.trials.size
    if not ((out["phase"] >= 0) & (out["phase"] < n_phases)).all():
        raise ValueError(
            f"state['arrays']['phase'] must lie in [0, {n_phases}), got {out['phase']}"
        )
    trial_in_phase, trial = out["trial_in_phase"], out["trial"]
    if not ((trial_in_phase >= 0) & (trial_in_phase < params.trials[out["phase"]])).all():
        raise ValueError(
            f"state['arrays']['trial_in_phase'] must lie in [0, trials of its phase), "
            f"got {trial_in_phase}"
        )
    if not (trial >= trial_in_phase).all():
        raise ValueError(f"state['arrays']['trial'] must be >= trial_in_phase, got {trial}")
    probe = TrialState(*(out[name] for name in TrialState._fields))
    t = out["t_in_trial"]
    if not ((t >= -params.iti_max) & (t <= trial_end(probe, params))).all():
        raise ValueError(
            f"state['arrays']['t_in_trial'] must lie in [-{params.iti_max}, end of trial], got {t}"
        )
    if (out["free"] & out["rewarded"]).any():
        raise ValueError(
            "state['arrays']: a free-reward trial cannot also be a rewarded cued trial"
        )
    if (out["autoreset"] & ~emit(probe, params).terminated).any():
        raise ValueError("state['arrays']['autoreset'] is set for an env that has not terminated")
    return out
