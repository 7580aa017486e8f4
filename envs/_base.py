"""Shared machinery of the plasticgym tasks.

A task writes its dynamics once, as a :class:`TaskDynamics`: pure numpy functions over arrays
of per-env state (shape ``[N]`` each), fed with uniform random numbers drawn for it. Two
shells run those dynamics: :class:`TaskEnv` (one env, a ``gymnasium.Env``) and
:class:`TaskVectorEnv` (``num_envs`` envs in one set of arrays, a native
``gymnasium.vector.VectorEnv`` with NEXT_STEP autoreset). Because every env draws its random
numbers from its own stream (:class:`UniformStreams`) in the same order in both shells, the
native vector env equals ``SyncVectorEnv`` over the single env step for step.

A task's arguments are one frozen dataclass (a :class:`TaskConfig`): it owns their defaults,
their validation and their JSON; both shells take the same keyword arguments and build it
(:func:`task_config`), so an argument is declared once. Values are checked with the
vocabulary of :mod:`plasticgym.config`.

Also here: protocols as data (:class:`Phase`, :func:`parse_protocol`, :func:`default_protocol`)
and the phase counters (:func:`advance_phase`); checks of unknown arguments and actions. Both
shells render (``"rgb_array"``, ``"ansi"``) through :mod:`plasticgym.envs._render`.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple, TypeVar

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from plasticgym.config import check_int, is_int
from plasticgym.envs._render import RENDER_FPS, RENDER_MODES, check_render_mode, render_view

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

REQUIRED_INFO = ("trial", "phase", "t_in_trial")
STATE_VERSION = 2


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def check_known_arguments(owner: str, unknown: Mapping[str, Any], allowed: Sequence[str]) -> None:
    """Raise ValueError if ``unknown`` (the ``**kwargs`` a constructor caught) is not empty.

    The message names the first unknown argument and lists the ``allowed`` ones, e.g.
    ``PavlovianEnv got an unknown argument 'n_trial'; allowed arguments are (...)``.
    """
    if unknown:
        name = next(iter(unknown))
        raise ValueError(
            f"{owner} got an unknown argument {name!r}; allowed arguments are {tuple(allowed)}"
        )


def check_discrete_action(action: Any, n: int) -> int:
    """Return a single-env action as an int in ``{0, ..., n-1}``, or raise ValueError.

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
        ok = 0 <= value < n
    elif isinstance(value, float):
        ok = math.isfinite(value) and value.is_integer() and 0 <= int(value) < n
    if not ok:
        raise ValueError(
            f"action must be an integer in {{0, ..., {n - 1}}} (Discrete({n})), got {action!r} "
            f"of type {type(action).__name__}"
        )
    return int(value)


def check_discrete_actions(actions: Any, n: int, num_envs: int) -> IntArray:
    """Return a batch of actions as an int64 array ``[num_envs]`` in ``{0..n-1}``, or raise."""
    if (
        type(actions) is np.ndarray
        and actions.dtype.kind in "iu"
        and actions.shape == (num_envs,)
        and ((actions >= 0) & (actions < n)).all()
    ):  # a policy's integer actions (the usual input): the checks below would all pass
        return actions.astype(np.int64)
    allowed = f"an integer array-like of shape ({num_envs},) with values in {{0, ..., {n - 1}}}"
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
    if array.dtype.kind not in "iuf":
        raise ValueError(f"actions must be {allowed}, got dtype {array.dtype}: {actions!r}")
    with np.errstate(invalid="ignore"):
        ok = (array >= 0) & (array < n) & (np.floor(array) == array)  # False for NaN
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise ValueError(
            f"actions must be {allowed}, got invalid entries at indices {bad.tolist()}: "
            f"{array[bad].tolist()}"
        )
    return array.astype(np.int64)


def check_box_actions(actions: Any, space: spaces.Box, num_envs: int) -> FloatArray:
    """Return a batch of Box actions ``[num_envs, *shape]`` as float64, or raise ValueError.

    Every entry must be finite and inside the space's bounds.
    """
    shape = (num_envs, *space.shape)
    allowed = (
        f"a finite float array of shape {shape} inside [{space.low.min()}, {space.high.max()}]"
    )
    try:
        array = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"actions must be {allowed}, got {actions!r}") from err
    if array.shape != shape:
        raise ValueError(f"actions must be {allowed}, got shape {array.shape}")
    inside = np.isfinite(array) & (array >= space.low) & (array <= space.high)
    if not inside.all():
        bad = np.argwhere(~inside)[:5].tolist()
        raise ValueError(f"actions must be {allowed}; invalid entries at indices {bad}")
    return array


# --------------------------------------------------------------------------------------------
# Protocols as data
# --------------------------------------------------------------------------------------------

Validator = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Phase:
    """One phase of a protocol: a name, a length (in the task's unit) and its parameters.

    Parameters are read as attributes (``phase.reward_prob``) or from ``phase.params``.
    """

    name: str
    length: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"phase name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __getattr__(self, key: str) -> Any:
        params = self.__dict__.get("params", {})
        if key in params:
            return params[key]
        raise AttributeError(f"phase {self.__dict__.get('name')!r} has no parameter {key!r}")

    def to_mapping(self, length_key: str) -> dict[str, Any]:
        """The phase as a protocol entry: ``{"name", length_key: length, **params}``.

        Raises ValueError if a parameter is called ``name`` or ``length_key`` (it would be
        ambiguous).
        """
        for key in ("name", length_key):
            if key in self.params:
                raise ValueError(
                    f"phase {self.name!r}: parameter {key!r} clashes with the phase's own "
                    f"{'name' if key == 'name' else 'length'}"
                )
        return {"name": self.name, length_key: self.length, **self.params}

    def to_json(self, length_key: str) -> dict[str, Any]:
        """The phase as the mapping that created it (JSON-serialisable values)."""
        return {"name": self.name, length_key: self.length, **_jsonable(dict(self.params))}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def parse_protocol(
    protocol: Any,
    *,
    length_key: str,
    defaults: Mapping[str, Any],
    validators: Mapping[str, Validator],
) -> tuple[Phase, ...]:
    """Turn a sequence of phase mappings into validated :class:`Phase` objects.

    Each mapping has ``name`` (unique), ``length_key`` (an int >= 1, e.g. ``"trials"``) and
    any of the task's phase parameters (the keys of ``validators``); parameters not given take
    their value from ``defaults`` (the constructor's arguments). Unknown keys raise ValueError
    naming the key and listing the allowed ones. A :class:`Phase` instance is turned back into
    its mapping (``name``, its length under ``length_key``, its params) and validated like any
    other entry, so its parameters are checked against this task and missing ones take the
    defaults.
    """
    allowed = ("name", length_key, *validators)
    if isinstance(protocol, str | bytes | Mapping) or not isinstance(protocol, Sequence):
        raise ValueError(f"protocol must be a sequence of phase mappings, got {protocol!r}")
    if len(protocol) == 0:
        raise ValueError("protocol must contain at least one phase, got an empty sequence")
    phases = []
    for i, entry in enumerate(protocol):
        if isinstance(entry, Phase):
            try:
                entry = entry.to_mapping(length_key)
            except ValueError as err:
                raise ValueError(f"protocol[{i}]: {err}") from err
        if not isinstance(entry, Mapping):
            raise ValueError(f"protocol[{i}] must be a mapping with keys {allowed}, got {entry!r}")
        unknown = [key for key in entry if key not in allowed]
        if unknown:
            raise ValueError(
                f"protocol[{i}] has unknown key {unknown[0]!r}; allowed keys are {allowed}"
            )
        for key in ("name", length_key):
            if key not in entry:
                raise ValueError(f"protocol[{i}] is missing required key {key!r}")
        merged = {**defaults, **{k: v for k, v in entry.items() if k in validators}}
        try:
            length = check_int(length_key, entry[length_key], 1)
            params = {key: validators[key](key, merged[key]) for key in validators}
            phases.append(Phase(entry["name"], length, params))
        except ValueError as err:
            raise ValueError(f"protocol[{i}] ({entry.get('name')!r}): {err}") from err
    names = [p.name for p in phases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"protocol phase names must be unique, got duplicates {duplicates}")
    return tuple(phases)


def default_protocol(
    protocol: Any,
    length: Any,
    *,
    name: str,
    length_key: str,
    length_name: str,
    default_length: int,
) -> Any:
    """The protocol entries to give :func:`parse_protocol`: ``protocol`` itself, or one phase.

    A task takes either a length argument (``length_name``, e.g. ``n_trials``) or a
    ``protocol``, not both: both given raise ValueError naming ``length_name``. Without a
    protocol the result is ``[{"name": name, length_key: length}]`` with ``length`` validated
    as an int >= 1 (``default_length`` when None); its parameters then take the defaults.
    """
    if protocol is not None and length is not None:
        raise ValueError(
            f"give either {length_name} or protocol, not both ({length_name}={length!r}); "
            f"set the {length_key} of each phase inside protocol"
        )
    if protocol is not None:
        return protocol
    n = default_length if length is None else check_int(length_name, length, 1)
    return [{"name": name, length_key: n}]


def advance_phase(
    phase: IntArray, count_in_phase: IntArray, ended: BoolArray, lengths: IntArray
) -> tuple[IntArray, IntArray, BoolArray]:
    """Phase counters after a step: count the units (trials, sessions, ...) that ``ended``.

    For each env (arrays ``[N]``; ``lengths [P]`` units per phase): ``count = count_in_phase
    + ended``; once a phase's length is reached the env moves to the next phase with
    ``count_in_phase = 0``; after the last unit of the last phase ``terminated`` is True and
    the counters are left as they were. Returns ``(phase, count_in_phase, terminated)``.
    """
    counted = count_in_phase + ended
    phase_done = ended & (counted >= lengths[phase])
    terminated = phase_done & (phase == lengths.size - 1)
    moving = phase_done & ~terminated
    new_phase = np.where(moving, phase + 1, phase).astype(np.int64)
    new_count = np.where(moving, 0, np.where(terminated, count_in_phase, counted))
    return new_phase, new_count.astype(np.int64), terminated


def phase_table(protocol: Sequence[Phase], key: str, dtype: Any = np.float64) -> npt.NDArray[Any]:
    """The values of one phase parameter, one per phase: an array ``[P]`` for the dynamics."""
    return np.array([getattr(p, key) if key != "length" else p.length for p in protocol], dtype)


def parse_reset_phase(options: Any, phase_names: Sequence[str], allowed: Sequence[str]) -> int:
    """Index of the phase ``reset(options={"phase": name})`` starts in (0 when not given)."""
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
    if not isinstance(name, str) or name not in phase_names:
        raise ValueError(f"options['phase'] must be one of {tuple(phase_names)}, got {name!r}")
    return list(phase_names).index(name)


# --------------------------------------------------------------------------------------------
# Task arguments: one frozen dataclass per task
# --------------------------------------------------------------------------------------------


class TaskConfig:
    """Base of a task's arguments: a ``@dataclass(frozen=True)`` subclass owns them.

    Its fields are the task's constructor arguments, in order, with their defaults. Its
    ``__post_init__`` validates them (ValueError naming the argument, the value and the allowed
    range), stores the normalised values (:meth:`_store`) and replaces ``protocol`` with the
    resolved phases, a tuple of :class:`Phase`. Subclasses set ``length_key`` (the unit of a
    phase's length) and, unless every field is part of the JSON, ``json_fields``.
    """

    length_key: ClassVar[str]
    json_fields: ClassVar[tuple[str, ...] | None] = None
    """The fields :meth:`to_json` writes before the protocol (None: every field)."""
    protocol: tuple[Phase, ...]

    @classmethod
    def argument_names(cls) -> tuple[str, ...]:
        """The task's arguments: the names of the fields, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @property
    def phase_names(self) -> tuple[str, ...]:
        """Names of the phases, in protocol order."""
        return tuple(p.name for p in self.protocol)

    def to_json(self) -> dict[str, Any]:
        """The arguments as JSON, the protocol resolved into its phases (checkpoints must
        match it)."""
        names = self.json_fields
        if names is None:
            names = tuple(name for name in self.argument_names() if name != "protocol")
        out = {name: _jsonable(getattr(self, name)) for name in names}
        out["protocol"] = [p.to_json(self.length_key) for p in self.protocol]
        return out

    def _store(self, **values: Any) -> None:
        """Set validated fields of the frozen dataclass (from ``__post_init__`` only)."""
        for name, value in values.items():
            object.__setattr__(self, name, value)


ConfigT = TypeVar("ConfigT", bound=TaskConfig)


def task_config(
    owner: str, config_class: type[ConfigT], arguments: Mapping[str, Any], leading: Sequence[str]
) -> ConfigT:
    """The config built from a constructor's keyword ``arguments``.

    An unknown name raises ValueError naming it and listing the allowed ones: ``leading`` (the
    shell's own, e.g. ``num_envs``), the config's fields and ``render_mode``.
    """
    names = config_class.argument_names()
    unknown = {key: value for key, value in arguments.items() if key not in names}
    check_known_arguments(owner, unknown, (*leading, *names, "render_mode"))
    return config_class(**arguments)


# --------------------------------------------------------------------------------------------
# Random streams
# --------------------------------------------------------------------------------------------


class UniformStreams:
    """One stream of U[0, 1) numbers per env, buffered so that draws are vectorised.

    Env ``i``'s stream is the output of its own ``np.random.Generator``, consumed in order;
    :meth:`draw` takes the next ``k`` numbers of each selected env with one fancy-indexing
    operation and refills (a Python loop) only the envs whose buffer ran low. Whatever the
    batch, an env consuming the same counts gets the same numbers, so a single env and a
    vector env see identical randomness.
    """

    def __init__(self, num_envs: int, block: int = 256) -> None:
        self.num_envs = num_envs
        self.block = block
        self.generators: list[np.random.Generator | None] = [None] * num_envs
        self.buffer = np.zeros((num_envs, block), dtype=np.float64)
        self.position = np.full(num_envs, block, dtype=np.int64)

    def seed(self, env: int, generator: np.random.Generator) -> None:
        """Give env ``env`` a new generator and discard its buffered numbers."""
        self.generators[env] = generator
        self.position[env] = self.block

    def draw(self, idx: IntArray, k: int) -> FloatArray:
        """The next ``k`` numbers of each env in ``idx``: an array ``[len(idx), k]``."""
        if k == 0 or idx.size == 0:
            return np.zeros((idx.size, k), dtype=np.float64)
        if k > self.block:
            raise ValueError(f"cannot draw {k} > block={self.block} numbers at once")
        self._refill(idx[self.position[idx] + k > self.block])
        if k == 1:  # (one number per env: a flat gather, the same numbers)
            out = self.buffer.ravel()[idx * self.block + self.position[idx]][:, None]
        else:
            columns = self.position[idx, None] + np.arange(k)
            out = self.buffer[idx[:, None], columns]
        self.position[idx] += k
        return out

    def draw_all(self, k: int) -> FloatArray:
        """:meth:`draw` for every env (``idx = arange(num_envs)``), the same numbers, without
        gathering and scattering the positions through an index array."""
        if k == 0 or k > self.block:
            return self.draw(np.arange(self.num_envs), k)
        self._refill(np.flatnonzero(self.position + k > self.block))
        if k == 1:
            rows = np.arange(0, self.num_envs * self.block, self.block)
            out = self.buffer.ravel()[rows + self.position][:, None]
        else:
            out = np.take_along_axis(self.buffer, self.position[:, None] + np.arange(k), axis=1)
        self.position += k
        return out

    def _refill(self, envs: IntArray) -> None:
        """Move the unread numbers of each env in ``envs`` to the front of its buffer and fill
        the rest from its generator."""
        for env in envs:
            generator = self.generators[env]
            if generator is None:
                raise RuntimeError(f"env {env} has no random generator; call reset(seed=...)")
            left = self.buffer[env, self.position[env] :]
            self.buffer[env, : left.size] = left
            generator.random(out=self.buffer[env, left.size :])
            self.position[env] = 0

    def get_state(self) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
        """Buffers and positions as arrays, and each generator's bit-generator state."""
        if any(g is None for g in self.generators):
            raise RuntimeError("every env must be seeded (reset) before its state is saved")
        arrays = {"stream_buffer": self.buffer.copy(), "stream_position": self.position.copy()}
        return arrays, [g.bit_generator.state for g in self.generators]

    def set_state(self, arrays: Mapping[str, np.ndarray], rng_states: Sequence[Any]) -> None:
        """Restore :meth:`get_state`; raise ValueError naming what does not fit."""
        buffer, position = arrays["stream_buffer"], arrays["stream_position"]
        if buffer.shape != self.buffer.shape or buffer.dtype != np.float64:
            raise ValueError(f"stream_buffer must be float64 of shape {self.buffer.shape}")
        if position.shape != (self.num_envs,) or position.dtype != np.int64:
            raise ValueError(f"stream_position must be int64 of shape ({self.num_envs},)")
        if not ((position >= 0) & (position <= self.block)).all():
            raise ValueError(f"stream_position must lie in [0, {self.block}]")
        if not (np.isfinite(buffer).all() and ((buffer >= 0) & (buffer < 1)).all()):
            raise ValueError("stream_buffer must hold numbers in [0, 1)")
        if not isinstance(rng_states, Sequence) or len(rng_states) != self.num_envs:
            raise ValueError(f"rng_states must be a list of {self.num_envs} bit-generator states")
        generators = []
        for i, rng_state in enumerate(rng_states):
            generator = np.random.Generator(np.random.PCG64())
            try:
                generator.bit_generator.state = rng_state
            except (TypeError, ValueError, KeyError) as err:
                raise ValueError(f"rng_states[{i}] is not a PCG64 state: {err}") from err
            generators.append(generator)
        self.buffer, self.position = buffer.copy(), position.copy()
        self.generators = generators


def box_muller(u1: FloatArray, u2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two independent standard normals from two independent U[0, 1) arrays (Box & Muller 1958).

    ``r = sqrt(-2 ln(1 - u1))``, ``z0 = r cos(2 pi u2)``, ``z1 = r sin(2 pi u2)``; using
    ``1 - u1`` in (0, 1] keeps the logarithm finite.
    """
    radius = np.sqrt(-2.0 * np.log1p(-u1))
    angle = 2.0 * math.pi * u2
    return radius * np.cos(angle), radius * np.sin(angle)


def standard_normals(u: FloatArray) -> FloatArray:
    """Box-Muller on consecutive pairs of columns of ``u [N, 2k]``: normals ``[N, 2k]``."""
    z0, z1 = box_muller(u[:, 0::2], u[:, 1::2])
    return np.stack([z0, z1], axis=-1).reshape(u.shape)


# --------------------------------------------------------------------------------------------
# Dynamics interface and the two shells
# --------------------------------------------------------------------------------------------


class StepOutput(NamedTuple):
    """What the dynamics emit for ``N`` envs: ``obs [N, ...]``, ``reward [N]`` float64,
    ``terminated [N]`` and ``truncated [N]`` bool, and ``info`` (one array ``[N, ...]`` per key,
    int64 / float64 / bool / object)."""

    obs: np.ndarray
    reward: FloatArray
    terminated: BoolArray
    truncated: BoolArray
    info: dict[str, np.ndarray]


class TaskDynamics(ABC):
    """A task's dynamics, written once over arrays of ``N`` envs.

    A subclass is built from its task's validated arguments, an instance of its
    ``config_class`` (a :class:`TaskConfig`), kept as ``config``. It sets
    ``observation_space`` and ``action_space`` (of one env), ``n_start_uniforms`` and
    ``n_step_uniforms`` (random numbers each env consumes when it starts an episode and at
    every step; fixed counts keep single and vector envs in step), and implements
    :meth:`empty_state`, :meth:`start` and :meth:`step` as pure functions of their inputs. The
    state is a NamedTuple of arrays ``[N, ...]``.
    """

    config_class: ClassVar[type[TaskConfig]]
    config: TaskConfig
    observation_space: spaces.Space
    action_space: spaces.Space
    n_start_uniforms: int = 0
    n_step_uniforms: int = 0
    fresh_step_output: ClassVar[bool] = False
    """True if :meth:`step` returns only arrays it allocated in that call and keeps none of
    them (nor views of them) in its state: the vector shell then skips its defensive copies."""

    @abstractmethod
    def __init__(self, config: Any) -> None:
        """Build the dynamics of the validated arguments ``config`` (a ``config_class``)."""

    @property
    def phase_names(self) -> tuple[str, ...]:
        """Names of the protocol's phases, in order."""
        return self.config.phase_names

    def config_json(self) -> dict[str, Any]:
        """The task's arguments as JSON (checkpoints must match it)."""
        return self.config.to_json()

    @abstractmethod
    def empty_state(self, n: int) -> NamedTuple:
        """A placeholder state for ``n`` envs (every env is started before use)."""

    @abstractmethod
    def start(self, start_phase: IntArray, u: FloatArray) -> tuple[NamedTuple, StepOutput]:
        """Begin an episode in phase ``start_phase [M]`` for ``M`` envs, with uniforms
        ``u [M, n_start_uniforms]``; return their state and first output."""

    @abstractmethod
    def step(
        self, state: NamedTuple, actions: np.ndarray, u: FloatArray
    ) -> tuple[NamedTuple, StepOutput]:
        """Advance ``N`` envs one step with valid ``actions`` and uniforms
        ``u [N, n_step_uniforms]``. Must not raise for an env whose episode has ended (its
        result is discarded)."""

    def check_state(self, state: NamedTuple) -> None:
        """Extra consistency checks of a restored state; raise ValueError if it is invalid."""
        del state

    def check_action(self, action: Any) -> Any:
        """Validate one env's action (Discrete or Box) and return it normalised."""
        if isinstance(self.action_space, spaces.Discrete):
            return check_discrete_action(action, int(self.action_space.n))
        return check_box_actions(np.asarray(action)[None], self.action_space, 1)[0]

    def check_actions(self, actions: Any, num_envs: int) -> np.ndarray:
        """Validate a batch of actions and return it as an array ``[num_envs, ...]``."""
        if isinstance(self.action_space, spaces.Discrete):
            return check_discrete_actions(actions, int(self.action_space.n), num_envs)
        return check_box_actions(actions, self.action_space, num_envs)


def scatter(state: NamedTuple, idx: IntArray, part: NamedTuple) -> NamedTuple:
    """A copy of ``state`` whose envs ``idx [M]`` are replaced by ``part`` (``[M, ...]`` each)."""
    fields = []
    for full, values in zip(state, part, strict=True):
        merged = full.copy()
        merged[idx] = values
        fields.append(merged)
    return type(state)(*fields)


def take(state: NamedTuple, idx: IntArray) -> NamedTuple:
    """The envs ``idx`` of a state."""
    return type(state)(*(f[idx] for f in state))


def _single_info(info: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Row 0 of batched info as a single env reports it (python scalars, arrays for vectors)."""
    out = {}
    for key, value in info.items():
        first = value[0]
        out[key] = first.copy() if isinstance(first, np.ndarray) else first
        if isinstance(first, np.generic):
            out[key] = first.item()
    return out


class TaskEnv(gym.Env):
    """Single-env shell: runs a :class:`TaskDynamics` with ``N = 1``.

    A task's env names its ``dynamics_class``; it takes the task's arguments as keywords (the
    fields of the dynamics' ``config_class``) and ``render_mode``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": RENDER_FPS,
    }
    dynamics_class: ClassVar[type[TaskDynamics]]

    def __init__(self, *, render_mode: str | None = None, **arguments: Any) -> None:
        owner, config_class = type(self).__name__, self.dynamics_class.config_class
        config = task_config(owner, config_class, arguments, ())
        dynamics = self.dynamics_class(config)
        check_render_mode(render_mode)
        self.dynamics = dynamics
        self.render_mode = render_mode
        self.observation_space = dynamics.observation_space
        self.action_space = dynamics.action_space
        self._streams = UniformStreams(1)
        self._state: NamedTuple | None = None
        self._done = False
        self._all = np.zeros(1, dtype=np.int64)
        self._view: tuple[Any, Any, float, int | None, str | None] = (None, None, 0.0, None, None)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode at the first phase (or at ``options["phase"]``)."""
        super().reset(seed=seed)
        start = parse_reset_phase(options, self.dynamics.phase_names, ("phase",))
        if seed is not None or self._streams.generators[0] is None:
            self._streams.seed(0, self.np_random)
        u = self._streams.draw(self._all, self.dynamics.n_start_uniforms)
        self._state, out = self.dynamics.start(np.array([start], dtype=np.int64), u)
        self._done = False
        info = _single_info(out.info)
        self._view = (out.obs[0], None, 0.0, info["trial"], info["phase"])
        return out.obs[0], info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Advance one step with a valid action."""
        checked = self.dynamics.check_action(action)
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended; call reset() before step()")
        u = self._streams.draw(self._all, self.dynamics.n_step_uniforms)
        self._state, out = self.dynamics.step(self._state, np.asarray([checked]), u)
        terminated, truncated = bool(out.terminated[0]), bool(out.truncated[0])
        self._done = terminated or truncated
        reward, info = float(out.reward[0]), _single_info(out.info)
        self._view = (out.obs[0], checked, reward, info["trial"], info["phase"])
        return out.obs[0], reward, terminated, truncated, info

    def render(self) -> np.ndarray | str | None:
        """The current observation, last action and reward as ``render_mode`` asks:
        ``"rgb_array"`` a uint8 image ``[96, 192, 3]``, ``"ansi"`` a line of text, None nothing
        (layout: :mod:`plasticgym.envs._render`)."""
        return render_view(
            self.render_mode,
            self.observation_space,
            self.action_space,
            self.dynamics.phase_names,
            self._view,
        )

    @property
    def config(self) -> TaskConfig:
        """The task's validated arguments (the dynamics' config)."""
        return self.dynamics.config

    @property
    def protocol(self) -> tuple[Phase, ...]:
        """The parsed protocol: one frozen :class:`Phase` per phase, in order."""
        return self.config.protocol

    @property
    def state(self) -> NamedTuple:
        """The task state (arrays of shape ``[1, ...]``); read-only view for exposed models."""
        if self._state is None:
            raise RuntimeError("call reset() before reading the task state")
        return self._state


class TaskVectorEnv(VectorEnv):
    """Native vector shell: runs a :class:`TaskDynamics` over ``num_envs`` envs at once.

    It behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over the single env with the same
    arguments, seeded the same way: env ``i`` has its own generator, seeded with ``seed + i``
    (``reset(seed=int)``) or ``seed[i]`` (a list); ``None`` keeps an env's generator (fresh
    entropy the first time). Autoreset is NEXT_STEP: the step after an env's episode ended
    ignores its action and returns its reset observation (first phase), reward 0,
    ``terminated = truncated = False`` and its reset info. ``info`` holds one array per key and
    an all-True mask ``_key``, as SyncVectorEnv builds it. ``reset(options=...)`` accepts
    ``phase`` and gymnasium's ``reset_mask``. :meth:`get_state` / :meth:`set_state` checkpoint
    everything needed to continue bit-identically.

    A task's vector env names its ``dynamics_class``; it takes ``num_envs`` (by position or
    keyword), then the same keyword arguments as the single env.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": RENDER_FPS,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }
    dynamics_class: ClassVar[type[TaskDynamics]]

    def __init__(
        self, num_envs: int = 1, *, render_mode: str | None = None, **arguments: Any
    ) -> None:
        owner, config_class = type(self).__name__, self.dynamics_class.config_class
        config = task_config(owner, config_class, arguments, ("num_envs",))
        dynamics = self.dynamics_class(config)
        self.num_envs = check_int("num_envs", num_envs, 1)
        check_render_mode(render_mode)
        self.dynamics = dynamics
        self.render_mode = render_mode
        self.single_observation_space = dynamics.observation_space
        self.single_action_space = dynamics.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._streams = UniformStreams(self.num_envs)
        self._state: NamedTuple | None = None
        self._obs: np.ndarray | None = None
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._all = np.arange(self.num_envs, dtype=np.int64)
        self._view_actions: np.ndarray | None = None  # last actions, for render()
        self._view_acted = np.zeros(self.num_envs, dtype=np.bool_)
        self._view_reward = np.zeros(self.num_envs, dtype=np.float64)
        self._view_trial = np.full(self.num_envs, -1, dtype=np.int64)
        self._view_phase = np.full(self.num_envs, None, dtype=object)

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``), seeding as SyncVectorEnv."""
        seeds = self._seed_list(seed)
        start = parse_reset_phase(options, self.dynamics.phase_names, ("phase", "reset_mask"))
        mask = self._reset_mask(options)
        if mask is not None and self._state is None:
            raise ValueError("the first reset() must reset every env: drop options['reset_mask']")
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        if is_int(seed):
            super().reset(seed=int(seed))
        idx = np.flatnonzero(mask)
        for i in idx:
            if seeds[i] is not None or self._streams.generators[i] is None:
                self._streams.seed(i, seeding.np_random(seeds[i])[0])
        u = self._streams.draw(idx, self.dynamics.n_start_uniforms)
        fresh, out = self.dynamics.start(np.full(idx.size, start, dtype=np.int64), u)
        if self._state is None:
            self._state = self.dynamics.empty_state(self.num_envs)
            self._obs = np.zeros((self.num_envs, *out.obs.shape[1:]), dtype=out.obs.dtype)
        self._state = scatter(self._state, idx, fresh)
        self._obs[idx] = out.obs
        self._autoreset &= ~mask
        self._view_acted[idx], self._view_reward[idx] = False, 0.0
        self._view_trial[idx], self._view_phase[idx] = out.info["trial"], out.info["phase"]
        return self._obs.copy(), self._vector_info(out.info, idx)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, FloatArray, BoolArray, BoolArray, dict[str, Any]]:
        """Advance every env one step; envs whose episode ended last step are reset instead."""
        checked = self.dynamics.check_actions(actions, self.num_envs)
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        restart = np.flatnonzero(self._autoreset)
        if restart.size:
            stepping = np.flatnonzero(~self._autoreset)
            u = np.zeros((self.num_envs, self.dynamics.n_step_uniforms), dtype=np.float64)
            u[stepping] = self._streams.draw(stepping, self.dynamics.n_step_uniforms)
        else:  # every env steps (almost every step)
            u = self._streams.draw_all(self.dynamics.n_step_uniforms)
        state, out = self.dynamics.step(self._state, checked, u)
        if self.dynamics.fresh_step_output:
            obs, reward, terminated, truncated = out.obs, out.reward, out.terminated, out.truncated
            info = dict(out.info)
        else:
            obs, reward = out.obs.copy(), out.reward.copy()
            terminated, truncated = out.terminated.copy(), out.truncated.copy()
            info = {key: value.copy() for key, value in out.info.items()}
        if restart.size:
            u_start = self._streams.draw(restart, self.dynamics.n_start_uniforms)
            fresh, start_out = self.dynamics.start(np.zeros(restart.size, dtype=np.int64), u_start)
            state = scatter(state, restart, fresh)
            obs[restart], reward[restart] = start_out.obs, 0.0
            terminated[restart], truncated[restart] = False, False
            for key, value in start_out.info.items():
                info[key][restart] = value
        self._state, self._obs = state, obs
        self._view_actions, self._view_acted = checked, ~self._autoreset
        self._view_reward, self._view_trial = reward.copy(), info["trial"].copy()
        self._view_phase = info["phase"].copy()
        self._autoreset = terminated | truncated
        ones = np.ones((len(info), self.num_envs), dtype=np.bool_)  # (one allocation)
        masks = {f"_{key}": mask for key, mask in zip(info, ones, strict=True)}
        return obs.copy(), reward, terminated, truncated, _interleave(info, masks)

    def render(self) -> tuple[np.ndarray | str, ...] | None:
        """One frame per env, as :meth:`TaskEnv.render` draws it (SyncVectorEnv's form: a
        tuple); None when ``render_mode`` is None."""
        if self.render_mode is None:
            return None
        frames = []
        for i in range(self.num_envs):
            reset = self._obs is not None and self._view_phase[i] is not None
            action = self._view_actions[i] if self._view_acted[i] else None
            view = (
                self._obs[i] if reset else None,
                action,
                float(self._view_reward[i]),
                int(self._view_trial[i]) if reset else None,
                self._view_phase[i],
            )
            frames.append(
                render_view(
                    self.render_mode,
                    self.single_observation_space,
                    self.single_action_space,
                    self.dynamics.phase_names,
                    view,
                )
            )
        return tuple(frames)

    @property
    def config(self) -> TaskConfig:
        """The task's validated arguments (the dynamics' config)."""
        return self.dynamics.config

    @property
    def protocol(self) -> tuple[Phase, ...]:
        """The parsed protocol: one frozen :class:`Phase` per phase, in order."""
        return self.config.protocol

    @property
    def state(self) -> NamedTuple:
        """The task state (arrays of shape ``[num_envs, ...]``); read-only for exposed models."""
        if self._state is None:
            raise RuntimeError("call reset() before reading the task state")
        return self._state

    # -- checkpoints --------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically.

        ``{"version", "num_envs", "config", "arrays": {name: ndarray}, "rng_states": [...]}``;
        all but ``arrays`` is JSON-serialisable. ``arrays`` holds the task state's fields, the
        pending-autoreset mask, the last observations and the random streams' buffers.
        """
        if self._state is None:
            raise RuntimeError("call reset() before get_state()")
        arrays = {f"state.{k}": v.copy() for k, v in self._state._asdict().items()}
        arrays["autoreset"] = self._autoreset.copy()
        arrays["obs"] = self._obs.copy()
        stream_arrays, rng_states = self._streams.get_state()
        arrays.update(stream_arrays)
        return {
            "version": STATE_VERSION,
            "num_envs": self.num_envs,
            "config": self.dynamics.config_json(),
            "arrays": arrays,
            "rng_states": rng_states,
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot; raise ValueError naming what is wrong.

        Nothing is changed unless the whole snapshot is valid.
        """
        keys = ("version", "num_envs", "config", "arrays", "rng_states")
        if not isinstance(state, Mapping) or sorted(state) != sorted(keys):
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"env state must have exactly the keys {keys}, got {got}")
        if state["version"] != STATE_VERSION:
            raise ValueError(f"env state version must be {STATE_VERSION}, got {state['version']!r}")
        if state["num_envs"] != self.num_envs:
            raise ValueError(
                f"env state is for num_envs={state['num_envs']!r}, not {self.num_envs}"
            )
        if state["config"] != self.dynamics.config_json():
            raise ValueError(
                f"env state config {state['config']!r} does not match this env's "
                f"{self.dynamics.config_json()!r}"
            )
        arrays = state["arrays"]
        template = self.dynamics.empty_state(self.num_envs)
        expected = {f"state.{k}": v for k, v in template._asdict().items()}
        expected["autoreset"] = self._autoreset
        expected["obs"] = np.zeros(
            (self.num_envs, *self.single_observation_space.shape),
            dtype=self.single_observation_space.dtype,
        )
        expected["stream_buffer"] = self._streams.buffer
        expected["stream_position"] = self._streams.position
        if not isinstance(arrays, Mapping) or sorted(arrays) != sorted(expected):
            got = sorted(arrays) if isinstance(arrays, Mapping) else type(arrays).__name__
            raise ValueError(f"env state arrays must be exactly {sorted(expected)}, got {got}")
        for name, like in expected.items():
            value = arrays[name]
            if not isinstance(value, np.ndarray) or value.shape != like.shape:
                raise ValueError(f"env state array {name!r} must have shape {like.shape}")
            if value.dtype != like.dtype:
                raise ValueError(f"env state array {name!r} must have dtype {like.dtype}")
        restored = type(template)(**{k: arrays[f"state.{k}"].copy() for k in template._fields})
        self.dynamics.check_state(restored)
        streams = UniformStreams(self.num_envs, self._streams.block)
        streams.set_state(arrays, state["rng_states"])
        self._state, self._streams = restored, streams
        self._autoreset = arrays["autoreset"].copy()
        self._obs = arrays["obs"].copy()
        self._view_acted[:], self._view_reward[:] = False, 0.0
        self._view_phase = np.asarray(self.dynamics.phase_names, dtype=object)[restored.phase]
        self._view_trial = np.asarray(getattr(restored, "trial", np.full(self.num_envs, -1)))

    # -- helpers ------------------------------------------------------------------------------

    def _seed_list(self, seed: Any) -> list[int | None]:
        """Per-env seeds, as SyncVectorEnv: None, int -> seed + i, or a list of num_envs."""
        if seed is None:
            return [None] * self.num_envs
        if is_int(seed):
            return [int(seed) + i for i in range(self.num_envs)]
        if isinstance(seed, str | bytes) or not isinstance(seed, Sequence):
            raise ValueError(f"seed must be None, an int or a list of ints, got {seed!r}")
        if len(seed) != self.num_envs:
            raise ValueError(
                f"seed as a list must have length num_envs={self.num_envs}, got length {len(seed)}"
            )
        if not all(s is None or is_int(s) for s in seed):
            raise ValueError(f"seed list entries must be ints or None, got {seed!r}")
        return [None if s is None else int(s) for s in seed]

    def _reset_mask(self, options: Mapping[str, Any] | None) -> BoolArray | None:
        """The validated ``options["reset_mask"]`` (bool array ``[num_envs]``) or None."""
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

    def _vector_info(self, info: Mapping[str, np.ndarray], idx: IntArray) -> dict[str, Any]:
        """Info of the envs ``idx`` as SyncVectorEnv builds it (other entries blank)."""
        values, masks = {}, {}
        for key, part in info.items():
            if part.dtype == object:
                full = np.full((self.num_envs, *part.shape[1:]), None, dtype=object)
            else:
                full = np.zeros((self.num_envs, *part.shape[1:]), dtype=part.dtype)
            full[idx] = part
            mask = np.zeros(self.num_envs, dtype=np.bool_)
            mask[idx] = True
            values[key], masks[f"_{key}"] = full, mask
        return _interleave(values, masks)


def _interleave(values: Mapping[str, Any], masks: Mapping[str, Any]) -> dict[str, Any]:
    """``{key, _key, key2, _key2, ...}`` in SyncVectorEnv's order."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = value
        out[f"_{key}"] = masks[f"_{key}"]
    return out
