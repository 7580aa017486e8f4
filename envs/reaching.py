"""Center-out reaching through a brain-computer-interface (BCI) decoder.

The agent is a population of ``n_units`` motor-cortex units: its action is their firing rates.
A population-vector decoder turns the rates into a cursor velocity; a perturbation phase rotates
the decoder's preferred directions of a subset of units (Legenstein, Chase, Schwartz & Maass
2010). The dynamics (:class:`ReachingDynamics`) are written once over arrays of ``N`` envs and
run by :class:`ReachingEnv` (one env) and :class:`ReachingVectorEnv` (``num_envs`` envs). The
decoder maths are small pure functions (:func:`decode_velocity`, :func:`rates_for_velocity`,
:func:`angular_error`, ...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from plasticgym.config import check_choice, check_int, check_probability, check_real
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
    parse_protocol,
    phase_table,
)

__all__ = [
    "DEFAULT_ROTATED_FRACTION",
    "DEFAULT_ROTATION",
    "TARGET_DISTANCE",
    "TEST_KWARGS",
    "WORKSPACE",
    "ReachState",
    "ReachingConfig",
    "ReachingDynamics",
    "ReachingEnv",
    "ReachingVectorEnv",
    "angular_error",
    "decode_velocity",
    "draw_target",
    "encode_cursor",
    "preferred_directions",
    "progress_reward",
    "rates_for_velocity",
    "rotate_directions",
    "rotated_mask",
    "target_positions",
]

TARGET_DISTANCE = 1.0
"""Distance of every target from the centre (the workspace's unit of length)."""

WORKSPACE = 1.5
"""The cursor is kept inside the square ``[-WORKSPACE, WORKSPACE]^2``."""

DEFAULT_ROTATION = 90.0
"""Rotation (degrees) of the default protocol's ``perturbation`` phase when none is given."""

DEFAULT_ROTATED_FRACTION = 0.25
"""Rotated fraction of the default protocol's ``perturbation`` phase when none is given."""

PHASE_KEYS = ("rotation", "rotated_fraction")
TARGET_ORDERS = ("random", "cycle")
LAYOUTS = ("even", "random")

TEST_KWARGS: dict[str, Any] = {
    "n_units": 8,
    "n_targets": 4,
    "max_steps": 8,
    "protocol": [
        {"name": "baseline", "trials": 3},
        {"name": "perturbation", "trials": 3, "rotation": 90.0, "rotated_fraction": 0.5},
    ],
}
"""A short configuration (episodes of at most 48 steps) for the conformance tests."""


# --------------------------------------------------------------------------------------------
# Decoder maths: pure functions
# --------------------------------------------------------------------------------------------


def target_positions(n_targets: int) -> FloatArray:
    """Target ``k`` at angle ``2 pi k / n_targets`` on the circle of radius ``TARGET_DISTANCE``.

    Returns ``[n_targets, 2]``; target 0 lies on the +x axis, angles grow counter-clockwise.
    """
    angle = 2.0 * np.pi * np.arange(n_targets) / n_targets
    return TARGET_DISTANCE * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def preferred_directions(
    n_units: int, layout: str, decoder_seed: int
) -> tuple[FloatArray, IntArray]:
    """The decoder's preferred directions ``[n_units, 2]`` (unit vectors) and the unit order.

    With ``rng = np.random.default_rng(decoder_seed)``: ``order = rng.permutation(n_units)``
    (the order in which units are chosen for rotation, see :func:`rotated_mask`); then the
    directions are at angles ``2 pi i / n_units`` (``layout="even"``) or
    ``rng.uniform(0, 2 pi, n_units)`` (``layout="random"``). Fixed at construction.
    """
    rng = np.random.default_rng(decoder_seed)
    order = rng.permutation(n_units).astype(np.int64)
    if layout == "even":
        angle = 2.0 * np.pi * np.arange(n_units) / n_units
    else:
        angle = rng.uniform(0.0, 2.0 * np.pi, n_units)
    return np.stack([np.cos(angle), np.sin(angle)], axis=1), order


def rotated_mask(order: IntArray, fraction: float) -> BoolArray:
    """Units rotated when a ``fraction`` of them is: the first ``floor(fraction n + 1/2)``
    units of ``order``. Smaller fractions rotate subsets of larger ones."""
    n = order.size
    mask = np.zeros(n, dtype=np.bool_)
    mask[order[: math.floor(fraction * n + 0.5)]] = True
    return mask


def rotate_directions(directions: FloatArray, mask: BoolArray, degrees: float) -> FloatArray:
    """Rotate the directions ``[n, 2]`` of the units in ``mask`` counter-clockwise by
    ``degrees``: ``d_i <- R(phi) d_i`` with ``R(phi) = [[cos phi, -sin phi], [sin phi, cos phi]]``
    (Jarosiewicz et al. 2008; Legenstein et al. 2010)."""
    phi = math.radians(degrees)
    rotation = np.array([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
    return np.where(mask[:, None], directions @ rotation.T, directions)


def decode_velocity(
    rates: FloatArray, directions: FloatArray, baseline: float, gain: float
) -> FloatArray:
    """Population-vector decoder (Georgopoulos, Schwartz & Kettner 1986):

    ``v = (2 gain / n) * sum_i (r_i - baseline) * d_i``

    for rates ``[N, n]`` and preferred directions ``[n, 2]`` or ``[N, n, 2]``; returns
    ``[N, 2]``. The factor ``2 / n`` makes a cosine-tuned population
    ``r_i = baseline + m cos(theta_i - theta)`` over evenly spaced directions decode exactly to
    ``gain * m * (cos theta, sin theta)`` (since ``sum_i cos^2 = n / 2``).
    """
    n = rates.shape[-1]
    centred = rates - baseline
    if directions.ndim == 2:
        summed = centred @ directions
    else:
        summed = np.einsum("ni,nid->nd", centred, directions)
    return (2.0 * gain / n) * summed


def rates_for_velocity(
    velocity: FloatArray, directions: FloatArray, baseline: float, gain: float
) -> FloatArray:
    """The minimum-norm rates ``[N, n]`` that :func:`decode_velocity` maps to ``velocity [N, 2]``.

    ``r = baseline + (n / (2 gain)) * D (D^T D)^-1 v`` with ``D = directions [n, 2]``; for evenly
    spaced directions ``D^T D = (n / 2) I`` and this is the cosine tuning
    ``r_i = baseline + (d_i . v) / gain``. Not clipped: choose ``|v|`` small enough for rates in
    ``[0, 1]`` (for even directions, ``|v| <= gain * min(baseline, 1 - baseline)``).
    """
    n = directions.shape[0]
    solve = directions @ np.linalg.inv(directions.T @ directions)  # [n, 2]
    return baseline + (n / (2.0 * gain)) * velocity @ solve.T


def angular_error(velocity: FloatArray, direction: FloatArray) -> FloatArray:
    """Unsigned angle in degrees, in ``[0, 180]``, between ``velocity [N, 2]`` and
    ``direction [N, 2]``: ``atan2(|v x d|, v . d)``; NaN where either vector is zero."""
    cross = velocity[:, 0] * direction[:, 1] - velocity[:, 1] * direction[:, 0]
    dot = np.sum(velocity * direction, axis=1)
    angle = np.degrees(np.arctan2(np.abs(cross), dot))
    zero = ~np.any(velocity != 0, axis=1) | ~np.any(direction != 0, axis=1)
    return np.where(zero, np.nan, angle)


def encode_cursor(cursor: FloatArray) -> npt.NDArray[np.float32]:
    """Non-negative code of the cursor ``[N, 2]``: ``[x+, x-, y+, y-] / WORKSPACE`` in [0, 1],
    with ``x+ = max(x, 0)`` and ``x- = max(-x, 0)`` (rectified, push-pull channels)."""
    code = np.concatenate([np.maximum(cursor, 0.0), np.maximum(-cursor, 0.0)], axis=1)
    code = code[:, [0, 2, 1, 3]] / WORKSPACE
    return np.clip(code, 0.0, 1.0).astype(np.float32)


def progress_reward(d_tm1: FloatArray, d_t: FloatArray, scale: float) -> FloatArray:
    """Reward for progress: ``scale * (d_{t-1} - d_t) / TARGET_DISTANCE``, the reduction of the
    cursor-target distance in one step (negative when the cursor moves away)."""
    return scale * (d_tm1 - d_t) / TARGET_DISTANCE


def draw_target(u: FloatArray, trial: IntArray, n_targets: int, order: str) -> IntArray:
    """Target of a trial: ``floor(u * n_targets)`` (``"random"``) or ``trial mod n_targets``
    (``"cycle"``); ``u [N]`` uniform in [0, 1)."""
    if order == "cycle":
        return np.mod(trial, n_targets).astype(np.int64)
    return np.minimum(np.floor(u * n_targets), n_targets - 1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _check_rotation(name: str, value: Any) -> float:
    return check_real(name, value, -180.0, 180.0)


PHASE_VALIDATORS = {"rotation": _check_rotation, "rotated_fraction": check_probability}


@dataclass(frozen=True)
class ReachingConfig(TaskConfig):
    """Validated arguments of the reaching task (see :class:`ReachingEnv`).

    ``rotation`` and ``rotated_fraction`` configure the default protocol's ``perturbation``
    phase only (None: ``DEFAULT_ROTATION`` / ``DEFAULT_ROTATED_FRACTION``). Giving either
    together with a ``protocol`` raises ValueError, so that neither is ever silently ignored;
    the phases of a given protocol set their own (default 0, an intact decoder). After
    validation they hold the values used (None when a protocol is given).
    """

    n_units: int = 40
    n_targets: int = 8
    gain: float = 0.5
    baseline: float = 0.5
    target_radius: float = 0.2
    max_steps: int = 25
    target_order: str = "random"
    preferred_directions: str = "even"
    decoder_seed: int = 0
    rotation: float | None = None
    rotated_fraction: float | None = None
    reward_scale: float = 1.0
    hit_reward: float = 0.0
    protocol: Sequence[Mapping[str, Any] | Phase] | None = None

    length_key = "trials"

    def __post_init__(self) -> None:
        self._store(
            n_units=check_int("n_units", self.n_units, 3),
            n_targets=check_int("n_targets", self.n_targets, 1),
            gain=check_real("gain", self.gain, 0.0, math.inf, low_open=True),
            baseline=check_real("baseline", self.baseline, 0.0, 1.0),
            target_radius=check_real(
                "target_radius", self.target_radius, 0.0, TARGET_DISTANCE, low_open=True
            ),
            max_steps=check_int("max_steps", self.max_steps, 1),
            target_order=check_choice("target_order", self.target_order, TARGET_ORDERS),
            preferred_directions=check_choice(
                "preferred_directions", self.preferred_directions, LAYOUTS
            ),
            decoder_seed=check_int("decoder_seed", self.decoder_seed, 0),
            reward_scale=check_real("reward_scale", self.reward_scale),
            hit_reward=check_real("hit_reward", self.hit_reward),
        )
        if self.protocol is None:
            self._store(**self._default_perturbation())
            entries: Any = _default_protocol(self.rotation, self.rotated_fraction)
        else:
            self._refuse_perturbation_with_protocol()
            entries = self.protocol
        phases = parse_protocol(
            entries,
            length_key="trials",
            defaults={"rotation": 0.0, "rotated_fraction": 0.0},
            validators=PHASE_VALIDATORS,
        )
        self._store(protocol=phases)

    def _default_perturbation(self) -> dict[str, float]:
        """``rotation`` and ``rotated_fraction`` of the default protocol, validated."""
        rotation = DEFAULT_ROTATION if self.rotation is None else self.rotation
        fraction = (
            DEFAULT_ROTATED_FRACTION if self.rotated_fraction is None else self.rotated_fraction
        )
        return {
            "rotation": _check_rotation("rotation", rotation),
            "rotated_fraction": check_probability("rotated_fraction", fraction),
        }

    def _refuse_perturbation_with_protocol(self) -> None:
        """Raise ValueError if ``rotation`` or ``rotated_fraction`` is given with a protocol."""
        given = {
            key: getattr(self, key)
            for key in ("rotation", "rotated_fraction")
            if getattr(self, key) is not None
        }
        if given:
            got = ", ".join(f"{key}={value!r}" for key, value in given.items())
            raise ValueError(
                f"got {got} together with a protocol: rotation and rotated_fraction configure "
                "the default protocol's perturbation phase only; set them in the protocol's "
                "phases instead, e.g. {'name': 'perturbation', 'trials': 200, "
                "'rotation': 60.0, 'rotated_fraction': 0.25}"
            )


def _default_protocol(rotation: float, rotated_fraction: float) -> list[dict[str, Any]]:
    """Baseline (200 trials), perturbation (200) with this rotation, washout (100)."""
    intact = {"rotation": 0.0, "rotated_fraction": 0.0}
    perturbation = {"rotation": rotation, "rotated_fraction": rotated_fraction}
    return [
        {"name": "baseline", "trials": 200, **intact},
        {"name": "perturbation", "trials": 200, **perturbation},
        {"name": "washout", "trials": 100, **intact},
    ]


# --------------------------------------------------------------------------------------------
# Dynamics
# --------------------------------------------------------------------------------------------


class ReachState(NamedTuple):
    """Per-env state (fields ``[N]``, ``cursor [N, 2]``) before the env's next movement.

    ``trial`` counts trials since the episode began, ``trial_in_phase`` since the phase began,
    ``t_in_trial`` the movements already made in the trial, ``target`` indexes the current
    target and ``cursor`` is the cursor position.
    """

    phase: IntArray
    trial: IntArray
    trial_in_phase: IntArray
    t_in_trial: IntArray
    target: IntArray
    cursor: FloatArray


class ReachingDynamics(TaskDynamics):
    """The reaching task over arrays of ``N`` envs (see :class:`ReachingEnv` for the spec).

    Exposed model: ``targets [K, 2]``, ``preferred_directions [n, 2]`` (intact decoder),
    ``unit_order [n]``, and per phase ``decoder_directions [P, n, 2]`` and
    ``rotated_units [P, n]``.
    """

    config_class = ReachingConfig
    n_start_uniforms = 1
    n_step_uniforms = 1

    def __init__(self, config: ReachingConfig) -> None:
        self.config = config
        self.protocol = config.protocol
        self._phase_names = np.array(self.phase_names, dtype=object)
        self.lengths = phase_table(self.protocol, "length", np.int64)
        self.targets = target_positions(config.n_targets)
        self.preferred_directions, self.unit_order = preferred_directions(
            config.n_units, config.preferred_directions, config.decoder_seed
        )
        self.rotated_units = np.stack(
            [rotated_mask(self.unit_order, p.rotated_fraction) for p in self.protocol]
        )
        self.decoder_directions = np.stack(
            [
                rotate_directions(self.preferred_directions, mask, p.rotation)
                for mask, p in zip(self.rotated_units, self.protocol, strict=True)
            ]
        )
        self.observation_space = spaces.Box(
            0.0, 1.0, shape=(config.n_targets + 4,), dtype=np.float32
        )
        self.action_space = spaces.Box(0.0, 1.0, shape=(config.n_units,), dtype=np.float32)

    def empty_state(self, n: int) -> ReachState:
        """A placeholder state for ``n`` envs."""
        zeros = np.zeros(n, dtype=np.int64)
        return ReachState(
            zeros, zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), np.zeros((n, 2))
        )

    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[ReachState, StepOutput]:
        """Trial 0 of phase ``start_phase``: cursor at the centre, target from ``u[:, 0]``."""
        m = start_phase.size
        zeros = np.zeros(m, dtype=np.int64)
        target = draw_target(u[:, 0], zeros, self.config.n_targets, self.config.target_order)
        state = ReachState(
            start_phase.astype(np.int64),
            zeros,
            zeros.copy(),
            zeros.copy(),
            target,
            np.zeros((m, 2)),
        )
        false = np.zeros(m, dtype=np.bool_)
        info = self._info(state, target, np.full(m, np.nan), false, false.copy(), state.cursor)
        out = StepOutput(self._obs(target, state.cursor), np.zeros(m), false, false.copy(), info)
        return state, out

    def step(
        self, state: ReachState, actions: np.ndarray, u: FloatArray
    ) -> tuple[ReachState, StepOutput]:
        """One movement: decode, move, reward progress, end the trial on a hit or timeout."""
        cfg = self.config
        velocity = decode_velocity(
            actions, self.decoder_directions[state.phase], cfg.baseline, cfg.gain
        )
        goal = self.targets[state.target]
        to_goal = goal - state.cursor
        error = angular_error(velocity, to_goal)
        cursor = np.clip(state.cursor + velocity, -WORKSPACE, WORKSPACE)
        d_tm1 = np.linalg.norm(to_goal, axis=1)
        d_t = np.linalg.norm(goal - cursor, axis=1)
        hit = d_t <= cfg.target_radius
        timeout = ~hit & (state.t_in_trial + 1 >= cfg.max_steps)
        ended = hit | timeout
        reward = progress_reward(d_tm1, d_t, cfg.reward_scale) + cfg.hit_reward * hit
        phase, trial_in_phase, terminated = advance_phase(
            state.phase, state.trial_in_phase, ended, self.lengths
        )
        new_trial = ended & ~terminated
        trial = state.trial + new_trial
        drawn = draw_target(u[:, 0], trial, cfg.n_targets, cfg.target_order)
        new = ReachState(
            phase=phase,
            trial=trial,
            trial_in_phase=trial_in_phase,
            t_in_trial=np.where(ended, 0, state.t_in_trial + 1).astype(np.int64),
            target=np.where(new_trial, drawn, state.target).astype(np.int64),
            cursor=np.where(new_trial[:, None], 0.0, cursor),
        )
        info = self._info(state, state.target, error, hit, timeout, cursor)
        obs = self._obs(new.target, new.cursor)
        return new, StepOutput(obs, reward, terminated, np.zeros_like(terminated), info)

    def check_state(self, state: NamedTuple) -> None:
        """Raise ValueError unless every counter and the cursor are in range."""
        s = ReachState(*state)
        phase_ok = (s.phase >= 0) & (s.phase < self.lengths.size)
        if not phase_ok.all():
            raise ValueError(f"state.phase must lie in [0, {self.lengths.size - 1}]")
        checks = {
            "trial": s.trial >= 0,
            "trial_in_phase": (s.trial_in_phase >= 0) & (s.trial_in_phase < self.lengths[s.phase]),
            "t_in_trial": (s.t_in_trial >= 0) & (s.t_in_trial < self.config.max_steps),
            "target": (s.target >= 0) & (s.target < self.config.n_targets),
            "cursor": np.all(np.isfinite(s.cursor) & (np.abs(s.cursor) <= WORKSPACE), axis=1),
        }
        for name, ok in checks.items():
            if not ok.all():
                raise ValueError(f"state.{name} is out of range for envs {np.flatnonzero(~ok)}")

    def _obs(self, target: IntArray, cursor: FloatArray) -> npt.NDArray[np.float32]:
        onehot = np.eye(self.config.n_targets, dtype=np.float32)[target]
        return np.concatenate([onehot, encode_cursor(cursor)], axis=1)

    def _info(
        self,
        state: ReachState,
        target: IntArray,
        error: FloatArray,
        hit: BoolArray,
        timeout: BoolArray,
        cursor: FloatArray,
    ) -> dict[str, np.ndarray]:
        return {
            "trial": state.trial.copy(),
            "phase": self._phase_names[state.phase],
            "t_in_trial": state.t_in_trial.copy(),
            "target": target.astype(np.int64),
            "angular_error": error.astype(np.float64),
            "hit": hit,
            "timeout": timeout,
            "cursor": cursor.astype(np.float64),
            "rotated_units": self.rotated_units[state.phase],
        }


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


class ReachingEnv(TaskEnv):
    """
    Center-out reaching with a brain-computer interface whose decoder can be perturbed.

    ## Description
    The agent is a population of ``n_units`` motor-cortex units controlling a cursor through a
    brain-computer-interface decoder (Taylor, Tillery & Schwartz 2002; Jarosiewicz et al.
    2008), as simulated by Legenstein, Chase, Schwartz & Maass (2010). At every step the agent
    emits the units' firing rates ``r``; the population-vector decoder (Georgopoulos, Schwartz
    & Kettner 1986) turns them into a cursor velocity

    ``v = (2 gain / n_units) * sum_i (r_i - baseline) * d_i``

    with ``d_i`` unit ``i``'s (decoder) preferred direction, and the cursor moves
    ``p <- clip(p + v, -1.5, 1.5)`` (per coordinate). The factor ``2 / n_units`` makes the
    cosine-tuned population ``r_i = baseline + m cos(theta_i - theta)`` over evenly spaced
    directions decode to speed ``gain * m`` in direction ``theta``.

    Each trial starts with the cursor at the centre ``(0, 0)`` and one of ``n_targets`` targets
    evenly spaced on the circle of radius 1 (target ``k`` at angle ``2 pi k / n_targets``).
    The trial ends with a **hit** when, after a movement, the cursor is within
    ``target_radius`` of the target, or with a **timeout** after ``max_steps`` movements. The
    next trial then starts at once: the observation returned by a trial's last step already
    shows the cursor back at the centre and the next target. Targets are drawn uniformly
    (``target_order="random"``: ``k = floor(u * n_targets)`` with one uniform ``u`` per step
    from the env's stream) or visited in order (``"cycle"``: ``k = trial mod n_targets``).

    Preferred directions are fixed at construction from ``rng = default_rng(decoder_seed)``:
    ``unit_order = rng.permutation(n_units)``, then the angles ``2 pi i / n_units``
    (``preferred_directions="even"``) or ``rng.uniform(0, 2 pi, n_units)`` (``"random"``).
    A phase with ``rotated_fraction = f`` and ``rotation = phi`` rotates the decoder direction
    of the first ``floor(f n_units + 1/2)`` units of ``unit_order`` by ``phi`` degrees
    counter-clockwise (the perturbation of Jarosiewicz et al. 2008); the others keep theirs.
    The experimental protocol is data: phases of trials, each with its own rotation.

    The model is exposed on ``env.dynamics`` (``env.unwrapped.dynamics`` through
    ``gym.make``): ``targets [n_targets, 2]``, ``preferred_directions [n_units, 2]``,
    ``unit_order``, ``decoder_directions [n_phases, n_units, 2]`` and
    ``rotated_units [n_phases, n_units]``; the pure functions ``decode_velocity`` and
    ``rates_for_velocity`` of this module give the decoder and its minimum-norm inverse.

    ## Action Space
    ``Box(0, 1, shape=(n_units,), dtype=float32)``: the firing rates of the units (1 = maximal
    rate). An invalid action (wrong shape, non-finite or outside ``[0, 1]``) raises
    ``ValueError``.

    ## Observation Space
    ``Box(0, 1, shape=(n_targets + 4,), dtype=float32)``, all channels non-negative:

    | Num                      | Observation                         | Value                   |
    |--------------------------|-------------------------------------|--------------------------|
    | 0 .. n_targets-1         | target one-hot                      | 1 for the current target |
    | n_targets                | cursor x+ = ``max(x, 0) / 1.5``     | [0, 1]                  |
    | n_targets + 1            | cursor x- = ``max(-x, 0) / 1.5``    | [0, 1]                  |
    | n_targets + 2            | cursor y+ = ``max(y, 0) / 1.5``     | [0, 1]                  |
    | n_targets + 3            | cursor y- = ``max(-y, 0) / 1.5``    | [0, 1]                  |

    The observation is the situation in which the next action is taken.

    ## Rewards
    Progress toward the target: ``reward_scale * (d_{t-1} - d_t)`` with ``d`` the distance from
    cursor to target (targets are at distance 1, so a straight reach from the centre into the
    target earns about ``reward_scale`` in total; moving away is penalised), plus
    ``hit_reward`` on the movement that hits the target.

    ## Starting State
    ``reset()`` starts trial 0 of the first phase (or of ``options["phase"]``): cursor at the
    centre, target drawn (``"random"``) or target 0 (``"cycle"``).

    ## Episode End
    ``terminated`` is True on the last movement of the last trial of the last phase (after
    ``sum(trials)`` trials when starting at the first phase); its observation shows the final
    cursor and target. ``truncated`` is always False.

    ## Information
    ``step()`` describes the movement just made; ``reset()`` the situation before the first
    movement (``angular_error`` NaN, ``hit = timeout = False``):

    - ``trial`` (int): index of the movement's trial within the episode, from 0.
    - ``phase`` (str): name of the trial's protocol phase.
    - ``t_in_trial`` (int): index of the movement within its trial, from 0.
    - ``target`` (int): the target of the movement.
    - ``angular_error`` (float): angle in degrees, in [0, 180], between the decoded velocity
      and the direction from the cursor to the target; NaN when the velocity is zero.
    - ``hit`` (bool), ``timeout`` (bool): the movement ended the trial by a hit / a timeout.
    - ``cursor`` (float array ``[2]``): cursor position after the movement.
    - ``rotated_units`` (bool array ``[n_units]``): units whose decoder direction is rotated
      in this phase.

    ## Arguments
    ```python
    import gymnasium as gym
    import plasticgym.envs

    env = gym.make("plasticgym/Reaching-v0", n_units=40, rotation=90.0, rotated_fraction=0.25)
    env = gym.make(
        "plasticgym/Reaching-v0",
        protocol=[
            {"name": "baseline", "trials": 100},
            {"name": "perturbation", "trials": 300, "rotation": 60.0, "rotated_fraction": 0.5},
        ],
    )
    envs = gym.make_vec("plasticgym/Reaching-v0", num_envs=64,
                        vectorization_mode="vector_entry_point")
    ```

    - ``n_units`` (int >= 3, default 40): units (action dimension).
    - ``n_targets`` (int >= 1, default 8): targets on the circle.
    - ``gain`` (float > 0, default 0.5): decoder gain; the cosine oracle with modulation 0.5
      moves 0.25 per step and hits in 4 steps.
    - ``baseline`` (float in [0, 1], default 0.5): rate that decodes to no movement.
    - ``target_radius`` (float in (0, 1], default 0.2): hit radius.
    - ``max_steps`` (int >= 1, default 25): movements before a timeout.
    - ``target_order`` ("random" or "cycle", default "random").
    - ``preferred_directions`` ("even" or "random", default "even"): layout of the directions.
    - ``decoder_seed`` (int >= 0, default 0): fixes ``unit_order`` (which units rotate) and
      random directions; not the episode randomness (that comes from ``reset(seed=)``).
    - ``rotation`` (degrees in [-180, 180] or None, default None = 90) and
      ``rotated_fraction`` (in [0, 1] or None, default None = 0.25): the perturbation of the
      **default protocol's** ``perturbation`` phase; its ``baseline`` and ``washout`` phases
      keep an intact decoder (rotation 0, fraction 0) whatever these are.
    - ``reward_scale`` (finite float, default 1), ``hit_reward`` (finite float, default 0).
    - ``protocol`` (sequence of mappings or None): phases, each with ``name`` (unique str),
      ``trials`` (int >= 1) and optional ``rotation`` and ``rotated_fraction`` (default 0: an
      intact decoder); unknown keys are an error. Default (None): ``baseline`` (200 trials),
      ``perturbation`` (200 trials, ``rotation``, ``rotated_fraction``), ``washout`` (100).
      Resolved phases: ``env.protocol``.
    - ``render_mode`` (None, ``"rgb_array"`` or ``"ansi"``): ``render()`` shows the
      observation (cues), the last action (levers), the reward and the phase, as a uint8 image
      ``[96, 192, 3]`` or a line of text (layout: ``plasticgym.envs._render``).

    Every argument is keyword-only (the vector env takes ``num_envs`` first, also by position).
    The constructor's ``rotation`` / ``rotated_fraction`` are *not* defaults of a given
    protocol's phases (a perturbation in every phase, baseline included, would surprise more
    than it helps): giving either of them together with ``protocol`` raises ``ValueError``; put
    them in the phases instead. Every invalid argument raises ``ValueError`` naming it, its
    value and the allowed range; an unknown keyword argument raises ``ValueError`` naming it and
    listing the allowed ones. ``reset(options={"phase": name})`` starts at the beginning of that
    phase and runs through the remaining phases.

    ## Phenomenon
    In BCI experiments the decoder's preferred directions of a subset of recorded neurons were
    rotated; monkeys regained accurate control mainly by retuning the rotated neurons, whose
    preferred directions shifted more than those of the others (Jarosiewicz et al. 2008).
    Legenstein et al. (2010) reproduced this with a reward-modulated Hebbian rule: exploratory
    fluctuations of the rates times the deviation of the reward from its expectation. Before
    learning, the rotation biases the decoded direction of a cosine-tuned population by about
    ``atan2(f sin phi, 1 - f + f cos phi)`` (``f`` the rotated fraction, ``phi`` the rotation):
    the initial angular error that learning must remove, through the rotated units.

    ## References
    - A. P. Georgopoulos, A. B. Schwartz, R. E. Kettner (1986). Neuronal population coding of
      movement direction. Science 233(4771), 1416-1419.
    - D. M. Taylor, S. I. H. Tillery, A. B. Schwartz (2002). Direct cortical control of 3D
      neuroprosthetic devices. Science 296(5574), 1829-1832.
    - B. Jarosiewicz, S. M. Chase, G. W. Fraser, M. Velliste, R. E. Kass, A. B. Schwartz (2008).
      Functional network reorganization during learning in a brain-computer interface paradigm.
      PNAS 105(49), 19486-19491.
    - R. Legenstein, S. M. Chase, A. B. Schwartz, W. Maass (2010). A reward-modulated Hebbian
      learning rule can explain experimentally observed network reorganization in a brain
      control task. Journal of Neuroscience 30(25), 8400-8410.

    ## Version History
    - v0: Initial version. Amended before any release: explicit constructor arguments
      (unknown ones raise ``ValueError``), and ``rotation`` / ``rotated_fraction`` together
      with a ``protocol`` raise ``ValueError`` instead of being silently ignored.
    """

    dynamics_class = ReachingDynamics


class ReachingVectorEnv(TaskVectorEnv):
    """``num_envs`` reaching tasks in one set of arrays (arguments as :class:`ReachingEnv`,
    with ``num_envs`` first).

    Equals ``SyncVectorEnv`` over :class:`ReachingEnv` step for step; NEXT_STEP autoreset.
    """

    dynamics_class = ReachingDynamics
