"""Pavlovian (classical) conditioning as a continuing, multi-trial Gymnasium task.

The dynamics are written once, as :class:`PavlovianDynamics`: pure numpy functions over arrays
of per-env state (:func:`draw_trial`, :func:`start_state`, :func:`transition`, :func:`emit`).
:class:`PavlovianEnv` runs them with one env and :class:`PavlovianVectorEnv` with ``num_envs``
envs, through the shells of :mod:`plasticgym.envs._base`. Trial randomness comes only from the
uniform numbers the shells hand in (``N_UNIFORMS`` at the start of an episode and at every
step), so both forms see the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.config import (
    check_choice,
    check_finite,
    check_int,
    check_int_pair,
    check_probability,
    is_int,
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
    Validator,
    advance_phase,
    default_protocol,
    parse_protocol,
)

__all__ = [
    "CUE_LETTERS",
    "INFO_KEYS",
    "N_UNIFORMS",
    "PHASE_PARAMS",
    "TEST_KWARGS",
    "US_KINDS",
    "PavlovianConfig",
    "PavlovianDynamics",
    "PavlovianEnv",
    "PavlovianParams",
    "PavlovianVectorEnv",
    "TrialDraw",
    "TrialState",
    "check_context",
    "check_cs",
    "draw_trial",
    "emit",
    "empty_state",
    "make_params",
    "phase_validators",
    "start_state",
    "transition",
    "trial_end",
]

N_UNIFORMS = 5
"""Uniforms an env consumes at reset and at every step: iti, free, reward, omission, cue."""

CUE_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Cue ``j`` is called ``CUE_LETTERS[j]``; at most 26 cues."""

US_KINDS = ("food", "drug")
PHASE_PARAMS = (
    "reward_prob",
    "omission_prob",
    "free_reward_prob",
    "reward",
    "cs",
    "context",
    "us",
)
"""Trial parameters a protocol phase may override (defaults: the constructor's arguments)."""

INFO_KEYS = (
    "trial",
    "phase",
    "t_in_trial",
    "cs",
    "us",
    "omitted",
    "free",
    "cue",
    "context",
    "infusion",
)
"""The info keys of every step and reset, in this order, whatever the arguments."""

TEST_KWARGS: Mapping[str, Any] = {
    "cs_us_interval": 3,
    "iti": (2, 5),
    "cues": 2,
    "contexts": 2,
    "free_reward_prob": 0.2,
    "protocol": [
        {"name": "A", "trials": 2, "cs": "A"},
        {"name": "AB", "trials": 2, "cs": "AB,B", "context": 1, "us": "drug"},
    ],
}
"""A short configuration (episodes of a few dozen steps) that exercises every feature."""


# --------------------------------------------------------------------------------------------
# Validation of the cue and context arguments
# --------------------------------------------------------------------------------------------


def check_cs(name: str, value: Any, cues: int) -> str:
    """Return the cue specification ``value`` in canonical form, or raise ValueError.

    ``value`` is a string of cue letters presented together ("A", "AB"), or several such
    compounds separated by commas ("A,B", "AB, B"), one of which is drawn uniformly per trial.
    Letters must be among the first ``cues`` letters and distinct within a compound. The
    canonical form has no spaces and the letters of each compound sorted ("BA, C" -> "AB,C").
    """
    letters = CUE_LETTERS[:cues]
    message = (
        f"{name} must be a string of cue letters from {letters!r} presented together "
        f"(e.g. 'A' or 'AB'), or several such compounds separated by commas, one drawn "
        f"uniformly per trial (e.g. 'A,B'), got {value!r}"
    )
    if not isinstance(value, str):
        raise ValueError(message)
    compounds = [part.strip() for part in value.split(",")]
    for compound in compounds:
        if not compound or len(set(compound)) != len(compound):
            raise ValueError(message)
        if any(letter not in letters for letter in compound):
            raise ValueError(message)
    return ",".join("".join(sorted(compound)) for compound in compounds)


def check_context(name: str, value: Any, contexts: int) -> int:
    """Return a context index in ``[0, contexts)``; with ``contexts == 0`` only 0 is allowed."""
    if contexts == 0:
        if not is_int(value) or value != 0:
            raise ValueError(
                f"{name} must be 0 when contexts=0 (no context channels; set contexts >= 1 to "
                f"use contexts), got {value!r}"
            )
        return 0
    return check_int(name, value, 0, contexts - 1)


def phase_validators(cues: int, contexts: int) -> dict[str, Validator]:
    """The validator of each phase parameter (:data:`PHASE_PARAMS`) for this many cues/contexts."""
    return {
        "reward_prob": check_probability,
        "omission_prob": check_probability,
        "free_reward_prob": check_probability,
        "reward": check_finite,
        "cs": lambda name, value: check_cs(name, value, cues),
        "context": lambda name, value: check_context(name, value, contexts),
        "us": lambda name, value: check_choice(name, value, US_KINDS),
    }


@dataclass(frozen=True)
class PavlovianConfig(TaskConfig):
    """The arguments of the Pavlovian task, validated (see :class:`PavlovianEnv`).

    ``protocol`` holds the resolved phases: without a protocol, one phase ``"conditioning"``
    of ``n_trials`` trials (default 100) with the phase parameters given here; ``n_trials``
    and ``protocol`` together are an error.
    """

    cs_us_interval: int = 6
    iti: tuple[int, int] = (20, 40)
    reward_prob: float = 1.0
    omission_prob: float = 0.0
    free_reward_prob: float = 0.0
    n_trials: int | None = None
    reward: float = 1.0
    cs_duration: int = 1
    cues: int = 1
    contexts: int = 0
    cs: str = "A"
    context: int = 0
    us: str = "food"
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "trials"
    json_fields = ("cs_us_interval", "iti", "cs_duration", "cues", "contexts")

    def __post_init__(self) -> None:
        k = check_int("cs_us_interval", self.cs_us_interval, 1)
        self._store(
            cs_us_interval=k,
            iti=check_int_pair("iti", self.iti, 1),
            cs_duration=check_int("cs_duration", self.cs_duration, 1, k),
            cues=check_int("cues", self.cues, 1, len(CUE_LETTERS)),
            contexts=check_int("contexts", self.contexts, 0),
        )
        validators = phase_validators(self.cues, self.contexts)
        defaults = {key: validators[key](key, getattr(self, key)) for key in PHASE_PARAMS}
        entries = default_protocol(
            self.protocol,
            self.n_trials,
            name="conditioning",
            length_key="trials",
            length_name="n_trials",
            default_length=100,
        )
        phases = parse_protocol(
            entries, length_key="trials", defaults=defaults, validators=validators
        )
        self._store(**defaults, protocol=phases)


# --------------------------------------------------------------------------------------------
# Dynamics, written once: pure functions over arrays of per-env state
# --------------------------------------------------------------------------------------------


class PavlovianParams(NamedTuple):
    """The configuration as arrays for the dynamics (``P`` phases, ``A`` = most compounds of a
    phase, ``C`` cues)."""

    cs_us_interval: int
    cs_duration: int
    iti_min: int
    iti_max: int
    n_cues: int
    n_contexts: int
    drug_channel: bool  # some phase has a drug US: the observation has a drug-US channel
    phase_names: npt.NDArray[np.object_]  # [P]
    trials: IntArray  # [P]
    reward_prob: FloatArray  # [P]
    omission_prob: FloatArray  # [P]
    free_reward_prob: FloatArray  # [P]
    reward: FloatArray  # [P]
    n_compounds: IntArray  # [P]: alternatives in the phase's ``cs``
    compounds: BoolArray  # [P, A, C]: cue c belongs to alternative a of phase p
    compound_names: npt.NDArray[np.object_]  # [P, A]: letters of each alternative
    context: IntArray  # [P]: the phase's context, -1 when n_contexts == 0
    drug: BoolArray  # [P]: the phase's US is a drug


class TrialState(NamedTuple):
    """Per-env state, every field of shape ``[N]``; it describes the step just observed.

    ``phase`` indexes the protocol, ``trial`` counts trials since the episode began,
    ``trial_in_phase`` counts trials since the phase began, ``t_in_trial`` is the time relative
    to the event onset (negative in the ITI), ``free`` marks a free-reward trial, ``rewarded``
    a cued trial whose US will be delivered and ``compound`` the index of the trial's cue
    compound among its phase's ``cs`` alternatives (drawn, but unused, on free trials).
    """

    phase: IntArray
    trial: IntArray
    trial_in_phase: IntArray
    t_in_trial: IntArray
    free: BoolArray
    rewarded: BoolArray
    compound: IntArray


class TrialDraw(NamedTuple):
    """A new trial for ``M`` envs: its first ``t_in_trial`` (= -ITI), type and compound."""

    t_in_trial: IntArray
    free: BoolArray
    rewarded: BoolArray
    compound: IntArray


def make_params(
    cs_us_interval: int,
    cs_duration: int,
    iti: tuple[int, int],
    cues: int,
    contexts: int,
    protocol: Sequence[Phase],
) -> PavlovianParams:
    """Arrays of the (validated) configuration for the dynamics."""
    alternatives = [p.cs.split(",") for p in protocol]
    width = max(len(a) for a in alternatives)
    compounds = np.zeros((len(protocol), width, cues), dtype=np.bool_)
    names = np.full((len(protocol), width), "", dtype=object)
    for p, phase_alternatives in enumerate(alternatives):
        for a, letters in enumerate(phase_alternatives):
            names[p, a] = letters
            compounds[p, a, [CUE_LETTERS.index(c) for c in letters]] = True
    drug = np.array([p.us == "drug" for p in protocol], dtype=np.bool_)

    def column(key: str, dtype: type) -> npt.NDArray[Any]:
        return np.array([getattr(p, key) for p in protocol], dtype=dtype)

    return PavlovianParams(
        cs_us_interval=cs_us_interval,
        cs_duration=cs_duration,
        iti_min=iti[0],
        iti_max=iti[1],
        n_cues=cues,
        n_contexts=contexts,
        drug_channel=bool(drug.any()),
        phase_names=np.array([p.name for p in protocol], dtype=object),
        trials=np.array([p.length for p in protocol], dtype=np.int64),
        reward_prob=column("reward_prob", np.float64),
        omission_prob=column("omission_prob", np.float64),
        free_reward_prob=column("free_reward_prob", np.float64),
        reward=column("reward", np.float64),
        n_compounds=np.array([len(a) for a in alternatives], dtype=np.int64),
        compounds=compounds,
        compound_names=names,
        context=column("context", np.int64)
        if contexts
        else np.full(len(protocol), -1, dtype=np.int64),
        drug=drug,
    )


def empty_state(n: int) -> TrialState:
    """A placeholder state for ``n`` envs; every env is started before use."""
    zeros = np.zeros(n, dtype=np.int64)
    false = np.zeros(n, dtype=np.bool_)
    return TrialState(
        zeros, zeros.copy(), zeros.copy(), zeros.copy(), false, false.copy(), zeros.copy()
    )


def trial_end(state: TrialState, params: PavlovianParams) -> IntArray:
    """``t_in_trial`` of the last step of each env's current trial: 0 if free, else K."""
    return np.where(state.free, 0, params.cs_us_interval).astype(np.int64)


def draw_trial(u: FloatArray, phase: IntArray, params: PavlovianParams) -> TrialDraw:
    """Turn uniforms ``u [M, 5]`` = [iti, free, reward, omission, cue] into a trial.

    ``L = iti_min + floor(u0 * (iti_max - iti_min + 1))``; free trial iff ``u1 < free_prob``;
    a cued trial is rewarded iff ``u2 < reward_prob`` and ``u3 >= omission_prob``; its cue
    compound is alternative ``floor(u4 * n)`` of the ``n`` in the phase's ``cs`` (parameters of
    the trial's ``phase [M]``). Returns the trial's first ``t_in_trial = -L``, type and compound.
    """
    span = params.iti_max - params.iti_min + 1
    iti = params.iti_min + np.minimum(np.floor(u[:, 0] * span).astype(np.int64), span - 1)
    free = u[:, 1] < params.free_reward_prob[phase]
    rewarded = (
        ~free & (u[:, 2] < params.reward_prob[phase]) & (u[:, 3] >= params.omission_prob[phase])
    )
    n = params.n_compounds[phase]
    compound = np.minimum(np.floor(u[:, 4] * n).astype(np.int64), n - 1)
    return TrialDraw(-iti, free, rewarded, compound)


def start_state(start_phase: IntArray, u: FloatArray, params: PavlovianParams) -> TrialState:
    """Envs at the first step of trial 0 of phase ``start_phase [M]``, drawn from ``u [M, 5]``."""
    zeros = np.zeros(start_phase.size, dtype=np.int64)
    drawn = draw_trial(u, start_phase, params)
    return TrialState(start_phase.astype(np.int64), zeros, zeros.copy(), *drawn)


def transition(state: TrialState, u: FloatArray, params: PavlovianParams) -> TrialState:
    """Advance every env by one step, with uniforms ``u [N, 5]``.

    Envs whose last step ended a trial begin the next trial (moving to the next phase after
    the phase's last trial, :func:`~plasticgym.envs._base.advance_phase`), drawn from their
    row of ``u``; the others advance ``t_in_trial`` by one and ignore ``u``. An env whose
    episode has ended stays in the last phase (its result is meaningless and discarded by the
    shells).
    """
    begins = state.t_in_trial == trial_end(state, params)
    trial = state.trial + begins
    phase, trial_in_phase, _ = advance_phase(
        state.phase, state.trial_in_phase, begins, params.trials
    )
    drawn = draw_trial(u, phase, params)
    return TrialState(
        phase=phase,
        trial=trial,
        trial_in_phase=trial_in_phase,
        t_in_trial=np.where(begins, drawn.t_in_trial, state.t_in_trial + 1),
        free=np.where(begins, drawn.free, state.free),
        rewarded=np.where(begins, drawn.rewarded, state.rewarded),
        compound=np.where(begins, drawn.compound, state.compound),
    )


def emit(state: TrialState, params: PavlovianParams) -> StepOutput:
    """Observation, reward, termination and info of ``state``.

    The channels of the trial's cues are on for ``0 <= t_in_trial < cs_duration`` of cued
    trials; the US is due at ``t_in_trial = K`` (cued) or 0 (free) and is delivered unless the
    cued trial is not rewarded (``omitted``), in the food-US channel or, for a drug US, in the
    drug-US channel (present when some phase has a drug US); the context channels show the
    phase's context. The episode ends on the last step of the last trial of the last phase.
    """
    t, phase = state.t_in_trial, state.phase
    cued = ~state.free
    due = t == trial_end(state, params)
    us = due & (state.free | state.rewarded)
    infusion = us & params.drug[phase]
    cue_on = cued & (t >= 0) & (t < params.cs_duration)
    food = us & ~infusion
    channels = [cue_on[:, None] & params.compounds[phase, state.compound], food[:, None]]
    if params.drug_channel:
        channels.append(infusion[:, None])
    if params.n_contexts:
        channels.append(np.eye(params.n_contexts, dtype=np.bool_)[params.context[phase]])
    _, _, terminated = advance_phase(phase, state.trial_in_phase, due, params.trials)
    cue = params.compound_names[phase, state.compound]
    cue[state.free] = ""
    info = {
        "trial": state.trial.copy(),
        "phase": params.phase_names[phase],
        "t_in_trial": t.copy(),
        "cs": cued & (t == 0),
        "us": us,
        "omitted": due & cued & ~state.rewarded,
        "free": due & state.free,
        "cue": cue,
        "context": params.context[phase],
        "infusion": infusion,
    }
    return StepOutput(
        obs=np.concatenate(channels, axis=1).astype(np.float32),
        reward=np.where(us, params.reward[phase], 0.0),
        terminated=terminated,
        truncated=np.zeros(t.size, dtype=np.bool_),
        info=info,
    )


class PavlovianDynamics(TaskDynamics):
    """The Pavlovian task's dynamics over arrays of ``N`` envs (see :class:`PavlovianEnv`).

    Built from a :class:`PavlovianConfig`; exposes ``protocol`` (a tuple of :class:`Phase`),
    ``params`` (:class:`PavlovianParams`), ``info_keys`` (always :data:`INFO_KEYS`) and
    ``drug_channel`` (whether the observation has a drug-US channel).
    """

    config_class = PavlovianConfig
    n_start_uniforms = N_UNIFORMS
    n_step_uniforms = N_UNIFORMS

    def __init__(self, config: PavlovianConfig) -> None:
        self.config = config
        self.protocol = config.protocol
        self.params = make_params(
            config.cs_us_interval,
            config.cs_duration,
            config.iti,
            config.cues,
            config.contexts,
            config.protocol,
        )
        self.drug_channel = self.params.drug_channel
        self.info_keys = INFO_KEYS
        n_channels = config.cues + 1 + int(self.drug_channel) + config.contexts
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_channels,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)

    def empty_state(self, n: int) -> TrialState:
        """A placeholder state for ``n`` envs."""
        return empty_state(n)

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[TrialState, StepOutput]:
        """Trial 0 of ``start_phase [M]``, drawn from ``u [M, 5]``, and its first output."""
        state = start_state(start_phase, u, self.params)
        return state, emit(state, self.params)

    def step(
        self, state: NamedTuple, actions: np.ndarray, u: FloatArray
    ) -> tuple[TrialState, StepOutput]:
        """One step; the actions (licks) have no effect on the task."""
        del actions
        assert isinstance(state, TrialState)
        new_state = transition(state, u, self.params)
        return new_state, emit(new_state, self.params)

    def check_state(self, state: NamedTuple) -> None:
        """Raise ValueError unless every env of a restored state is a reachable state."""
        assert isinstance(state, TrialState)
        p = self.params
        n_phases = p.trials.size
        if not ((state.phase >= 0) & (state.phase < n_phases)).all():
            raise ValueError(f"state.phase must lie in [0, {n_phases}), got {state.phase}")
        if not ((state.trial_in_phase >= 0) & (state.trial_in_phase < p.trials[state.phase])).all():
            raise ValueError(
                "state.trial_in_phase must lie in [0, trials of its phase), "
                f"got {state.trial_in_phase}"
            )
        if not (state.trial >= state.trial_in_phase).all():
            raise ValueError(f"state.trial must be >= trial_in_phase, got {state.trial}")
        t = state.t_in_trial
        if not ((t >= -p.iti_max) & (t <= trial_end(state, p))).all():
            raise ValueError(f"state.t_in_trial must lie in [-{p.iti_max}, end of trial], got {t}")
        if (state.free & state.rewarded).any():
            raise ValueError("state: a free-reward trial cannot also be a rewarded cued trial")
        n = p.n_compounds[state.phase]
        if not ((state.compound >= 0) & (state.compound < n)).all():
            raise ValueError(
                f"state.compound must lie in [0, alternatives in its phase's cs), "
                f"got {state.compound}"
            )


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class PavlovianEnv(TaskEnv):
    """
    Pavlovian (classical) conditioning: cues (CS) predict a reward (US) a fixed delay later.

    ## Description
    A continuing session of many trials. Each trial begins with an inter-trial interval (ITI)
    of ``L`` steps, ``L ~ U{iti[0], ..., iti[1]}`` drawn at the trial's start, followed by the
    event. ``t_in_trial`` counts steps relative to the event onset: the first step of a trial
    has ``t_in_trial = -L``, then ``-L+1, ..., -1``, then ``0`` = event onset.

    - Cued trial: the trial's cue, or compound of cues presented together, comes on at
      ``t_in_trial = 0`` and stays on for ``cs_duration`` steps. The US is due at
      ``t_in_trial = K = cs_us_interval``: if the trial is rewarded, the US is delivered in
      that step; otherwise it is omitted. The trial ends with that step (steps ``0..K``).
    - Free-reward trial (probability ``free_reward_prob``): no cue; the US is delivered at
      ``t_in_trial = 0`` and the trial ends with that step.

    A cued trial is rewarded with probability ``reward_prob * (1 - omission_prob)``:
    ``reward_prob`` sets the block's reward probability (Fiorillo et al. 2003; 0 for
    extinction) and ``omission_prob`` withholds an expected reward as a probe. The next step
    after a trial's last step is the first ITI step of the next trial.

    There are ``cues`` distinct cues, named ``"A"``, ``"B"``, ``"C"``, ... Which cue(s) a cued
    trial presents is the phase's ``cs``: a string of cue letters presented together as a
    compound (``"A"``, ``"AB"``), or several such compounds separated by commas, one drawn
    uniformly per trial (``"A,B"`` alternates A and B at random; ``"AB,B"`` mixes compound and
    element trials; a compound listed twice is drawn twice as often). Letters within a compound
    are unordered (``"BA"`` is ``"AB"``). The US of a phase is ``food`` or ``drug``; a drug US
    is delivered and rewarded exactly as food, but shown in its own observation channel and
    marked in info as ``infusion``, so that an agent can tell it from food and add its
    pharmacological dopamine surge (Redish 2004) itself. There can be
    ``contexts`` contexts, a tonic background shown throughout a phase (e.g. the conditioning
    chamber of ABA renewal).

    The experimental protocol is data: a sequence of phases, each with a number of trials and
    its own trial parameters, run in order; e.g. Kamin blocking (``cues=2``) and ABA renewal
    (``contexts=2``):

    ```python
    blocking = [
        {"name": "A", "trials": 100, "cs": "A"},
        {"name": "AB", "trials": 100, "cs": "AB"},
        {"name": "test", "trials": 20, "cs": "B", "reward_prob": 0.0},
    ]
    renewal = [
        {"name": "acquisition", "trials": 100, "context": 0},
        {"name": "extinction", "trials": 100, "reward_prob": 0.0, "context": 1},
        {"name": "test", "trials": 20, "reward_prob": 0.0, "context": 0},
    ]
    ```

    Randomness comes only from the env's stream of uniform numbers in [0, 1) (one
    ``np.random.Generator`` per env, seeded by ``reset(seed=...)``). The reset and every step
    consume exactly 5 numbers ``[u0, u1, u2, u3, u4]``, used only when a trial begins there
    (at the reset and at the step after a trial's last step), otherwise discarded; the fixed
    count keeps the single env and the native vector env (:class:`PavlovianVectorEnv`) on the
    same numbers. With the parameters of the trial's phase:
    ``L = iti[0] + floor(u0 * (iti[1] - iti[0] + 1))``; free trial iff
    ``u1 < free_reward_prob``; a cued trial is rewarded iff ``u2 < reward_prob`` and
    ``u3 >= omission_prob``; its compound is alternative ``floor(u4 * n)`` of the ``n``
    comma-separated alternatives of ``cs``.

    ## Action Space
    ``Discrete(2)``: 0 = no lick, 1 = lick. The action has no effect on the task (classical,
    not instrumental, conditioning); it is there for agents that emit anticipatory licks.
    An invalid action (not an integer in {0, 1}; bools and floats with a fraction included)
    raises ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(cues + 1 + d + contexts,), dtype=float32)``, where ``d = 1`` if some
    phase has ``us="drug"`` (a drug-US channel) and ``d = 0`` otherwise; with the defaults
    (one cue, food US, no contexts) ``shape=(2,)``, ``[cue, us]``:

    | Num                  | Observation                               | Value                   |
    |----------------------|-------------------------------------------|-------------------------|
    | ``j < cues``         | cue ``j`` (A, B, ...) present             | 1 while on, else 0      |
    | ``cues``             | food US delivered                         | 1 in the step of a food |
    |                      |                                           | US, else 0              |
    | ``cues + 1``         | drug US delivered (only if ``d == 1``)    | 1 in the step of a drug |
    |                      |                                           | US (infusion), else 0   |
    | ``cues + 1 + d + i`` | context ``i`` (only if ``contexts >= 1``) | 1 in phases of context  |
    |                      |                                           | ``i``, else 0           |

    Cue ``j`` is on for ``0 <= t_in_trial < cs_duration`` of cued trials whose compound
    contains it (both A and B for ``"AB"``). A US is shown in exactly one of the two US
    channels, so a drug US and a food US are distinguishable. The context channels are a
    tonic background: the current phase's context is on at every step, ITI included.

    No clock is given: an agent needs its own temporal code of the cue (e.g. presynaptic
    traces / microstimuli) to predict the reward.

    ## Rewards
    ``reward`` (of the trial's phase) in the step the US is delivered, 0 otherwise; the same for
    a ``drug`` US. The pharmacological dopamine surge of a drug is not part of the reward: it
    belongs to the agent's dopamine model, which reads ``info["infusion"]``.

    ## Starting State
    ``reset()`` starts trial 0 of the first phase (or of ``options["phase"]``) and returns its
    first ITI step (``t_in_trial = -L``; cue and US channels 0, the phase's context on).

    ## Episode End
    ``terminated`` is True on the last step of the last trial of the last phase (after
    ``sum(trials)`` trials when starting at the first phase). ``truncated`` is always False.

    ## Information
    ``reset()`` and ``step()`` return a dict with these keys, in this order, whatever the
    arguments (:data:`INFO_KEYS`), so that record tables have the same columns for every
    configuration:

    - ``trial`` (int): index of the trial within the episode, from 0.
    - ``phase`` (str): name of the trial's protocol phase.
    - ``t_in_trial`` (int): step relative to the event onset (negative during the ITI).
    - ``cs`` (bool): cue onset (of any cue or compound) at this step.
    - ``us`` (bool): US (food or drug) delivered at this step.
    - ``omitted`` (bool): a cued US was due at this step and withheld.
    - ``free`` (bool): an unpredicted (free) US was delivered at this step.
    - ``cue`` (str): the cue letters of the current trial's compound (e.g. ``"AB"``), at every
      step of the trial, ITI included; ``""`` on free-reward trials.
    - ``context`` (int): the phase's context, ``-1`` when ``contexts == 0``.
    - ``infusion`` (bool): a drug US was delivered at this step (then ``us`` is True too);
      always False when no phase has ``us="drug"``.

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
    env = gym.make("plasticgym/Pavlovian-v0", cues=2, protocol=[
        {"name": "A", "trials": 100, "cs": "A"},
        {"name": "AB", "trials": 100, "cs": "AB"},
        {"name": "test", "trials": 20, "cs": "B", "reward_prob": 0.0},
    ])
    envs = gym.make_vec("plasticgym/Pavlovian-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``cs_us_interval`` (int, default 6): steps ``K >= 1`` from cue onset to US.
    - ``iti`` (tuple[int, int], default (20, 40)): inclusive range of the uniform ITI,
      ``1 <= min <= max``. Long, variable ITIs make the cue onset surprising.
    - ``reward_prob`` (float in [0, 1], default 1): probability that a cued trial is rewarded.
    - ``omission_prob`` (float in [0, 1], default 0): probability that a cued US is withheld.
    - ``free_reward_prob`` (float in [0, 1], default 0): probability of a free-reward trial.
    - ``n_trials`` (int >= 1 or None, default None = 100): trials of the default protocol
      ``[{"name": "conditioning", "trials": n_trials}]``; not allowed together with
      ``protocol``.
    - ``reward`` (finite float, default 1): reward at a US.
    - ``cs_duration`` (int, default 1): steps the cue stays on, ``1 <= cs_duration <= K``.
    - ``cues`` (int in [1, 26], default 1): number of distinct cues, named A, B, C, ...
    - ``contexts`` (int >= 0, default 0): number of contexts; 0 = no context channels.
    - ``cs`` (str, default ``"A"``): cue(s) of cued trials, as described above: compounds of
      letters among the first ``cues``, alternatives separated by commas (spaces ignored).
    - ``context`` (int, default 0): the context, in ``[0, contexts)``; must be 0 when
      ``contexts == 0``.
    - ``us`` (``"food"`` or ``"drug"``, default ``"food"``): the kind of US.
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``trials`` (int >= 1) and optional overrides of ``reward_prob``, ``omission_prob``,
      ``free_reward_prob``, ``reward``, ``cs``, ``context`` and ``us`` (defaults: the
      arguments above); unknown keys are an error. :class:`Phase` instances are accepted and
      re-validated (missing parameters take the arguments above). Available after
      construction as ``env.protocol``, a tuple of frozen :class:`Phase` (``phase.length``
      trials, every parameter resolved, ``cs`` canonical).
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    Every invalid argument raises ``ValueError`` naming the argument, the value and the allowed
    range; an unknown keyword argument raises ``ValueError`` naming it and listing the allowed
    ones. ``reset(options={"phase": name})`` starts the episode at the beginning of that phase
    and runs through the remaining phases (``trial`` still counts from 0).

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

    Blocking (Kamin 1969): after A -> US, the compound AB -> US teaches little about B, because
    the US is already predicted and the prediction error is near 0 (Rescorla & Wagner 1972);
    tested alone, B evokes little conditioned response, and dopamine neurons barely respond to
    it (Waelti, Dickinson & Schultz 2001). With a drug US, Redish's (2004) non-compensable
    dopamine surge predicts no blocking, yet Panlilio et al. (2007) observed blocking with
    cocaine.

    Extinction: with ``reward_prob=0`` the conditioned response and the cue's dopamine response
    fade; extinction is new, context-dependent learning rather than erasure (Pavlov 1927;
    Bouton 2004). Renewal (Bouton & Bolles 1979; Bouton 2004): after acquisition in context A
    and extinction in context B, responding returns when the cue is tested back in A (ABA).
    A learner that only unlearns during extinction shows no renewal; renewal needs extinction
    learning specific to its context, e.g. latent causes (Gershman, Blei & Niv 2010).

    ## References
    - W. Schultz, P. Dayan, P. R. Montague (1997). A neural substrate of prediction and reward.
      Science 275(5306), 1593-1599.
    - C. D. Fiorillo, P. N. Tobler, W. Schultz (2003). Discrete coding of reward probability and
      uncertainty by dopamine neurons. Science 299(5614), 1898-1902.
    - E. A. Ludvig, R. S. Sutton, E. J. Kehoe (2008). Stimulus representation and the timing of
      reward-prediction errors in models of the dopamine system. Neural Computation 20(12),
      3034-3054.
    - L. J. Kamin (1969). Predictability, surprise, attention, and conditioning. In
      B. A. Campbell, R. M. Church (Eds.), Punishment and Aversive Behavior, 279-296.
      Appleton-Century-Crofts.
    - R. A. Rescorla, A. R. Wagner (1972). A theory of Pavlovian conditioning: variations in the
      effectiveness of reinforcement and nonreinforcement. In A. H. Black, W. F. Prokasy (Eds.),
      Classical Conditioning II, 64-99. Appleton-Century-Crofts.
    - P. Waelti, A. Dickinson, W. Schultz (2001). Dopamine responses comply with basic
      assumptions of formal learning theory. Nature 412(6842), 43-48.
    - I. P. Pavlov (1927). Conditioned Reflexes. Oxford University Press.
    - M. E. Bouton, R. C. Bolles (1979). Contextual control of the extinction of conditioned
      fear. Learning and Motivation 10(4), 445-466.
    - M. E. Bouton (2004). Context and behavioral processes in extinction. Learning & Memory
      11(5), 485-494.
    - A. D. Redish (2004). Addiction as a computational process gone awry. Science 306(5703),
      1944-1947.
    - L. V. Panlilio, E. B. Thorndike, C. W. Schindler (2007). Blocking of conditioning to a
      cocaine-paired stimulus: testing the hypothesis that cocaine perpetually produces a
      signal of larger-than-expected reward. Pharmacology Biochemistry and Behavior 86(4),
      774-777.
    - S. J. Gershman, D. M. Blei, Y. Niv (2010). Context, learning, and extinction.
      Psychological Review 117(1), 197-209.

    ## Version History
    - v0: Initial version. Extended before any release: the task runs on the shared task
      framework (per-env uniform streams, 5 numbers per step, so a seed gives other trials
      than in the first draft); several cues, compound cues and cue alternatives, contexts,
      food or drug US (a drug US has its own observation channel), and the info keys
      ``cue``, ``context``, ``infusion``, present for every configuration. With the defaults
      the observation is unchanged.
    """

    dynamics_class = PavlovianDynamics


class PavlovianVectorEnv(TaskVectorEnv):
    """Native batched :class:`PavlovianEnv`: ``num_envs`` independent sessions in numpy arrays.

    Same arguments as :class:`PavlovianEnv`, plus ``num_envs`` first. Observations have shape
    ``[num_envs, cues + 1 + d + contexts]`` (``d``: the drug-US channel); rewards,
    terminations and truncations ``[num_envs]``; actions must be an integer array-like of
    shape ``(num_envs,)`` with values in {0, 1}. It equals ``SyncVectorEnv`` over
    :class:`PavlovianEnv` step for step (NEXT_STEP autoreset, seeding, ``reset_mask``,
    ``get_state`` / ``set_state``: see :class:`TaskVectorEnv`).
    """

    dynamics_class = PavlovianDynamics
