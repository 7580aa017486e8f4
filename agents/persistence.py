"""Checkpoints of a population of agents: one ``.safetensors`` file with every tensor (model,
RNG states, env state arrays) and the rest as JSON in its header, written atomically; nothing
is ever unpickled.

:class:`Checkpointed` gives :class:`~plasticgym.agents.base.PopulationAgent` its ``save`` and
``load``; the functions after it (the checkpoint header, metadata errors, run folders) are
shared with :class:`~plasticgym.agents.sb3.SB3Agent`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Self

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from plasticgym.agents.vector_env import population_env
from plasticgym.checkpoint import (
    CheckpointError,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    take_tensor,
    unflatten_state,
)
from plasticgym.config import check_number
from plasticgym.guards import MemoryLimitError, NonFiniteError, check_device, nonfinite_tensors
from plasticgym.seeding import SeedPlan
from plasticgym.tblog import is_run_dir, run_marker_matches

MAX_TIMESTEPS = 2**62
"""Step counters above this are refused on load (they would overflow the int64 of torch)."""

SEED_MAX = 2**32 - 1
"""The derived seeds of a :class:`~plasticgym.seeding.SeedPlan` are uint32."""


class Checkpointed:
    """``save`` and ``load`` for a :class:`~plasticgym.agents.base.PopulationAgent` (a mixin:
    it reads the agent's config, seeds, generators, progress and model hooks)."""

    def save(self, path: str | os.PathLike) -> Path:
        """Save the model, RNG states, counters and (when possible) the env's state to one
        ``.safetensors`` file, atomically; flushes TensorBoard. Returns the path."""
        tensors: dict[str, Tensor] = {
            "generator.learn": self._learn_generator.get_state(),
            "generator.predict": self._predict_generator.get_state(),
        }
        for name, value in self._model_state().items():
            tensors.update(flatten_state(f"model.{name}", value))
        if self._progress is not None:
            tensors.update(flatten_state("progress", self._progress))
        refuse_nonfinite(type(self).__name__, tensors)
        env_meta = None
        env = self.env.unwrapped
        if self._progress is not None and not hasattr(env, "get_state"):
            warnings.warn(
                f"{type(env).__name__} cannot save its state (no get_state()), so a loaded agent "
                "will restart the env from its first episode instead of continuing exactly",
                stacklevel=2,
            )
        if self._progress is not None and hasattr(env, "get_state"):
            env_state = env.get_state()
            for name, array in env_state["arrays"].items():
                tensors[f"env.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
            env_meta = {k: v for k, v in env_state.items() if k != "arrays"}
            env_meta["array_names"] = sorted(env_state["arrays"])
        meta = {
            "agent": type(self).__name__,
            "config": self._config_json(),
            "n_agents": self.n_agents,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seeds": self.seeds._asdict(),
            "num_timesteps": self.num_timesteps,
            "env_seeded": self._env_seeded,
            "has_rollout": self._progress is not None,
            "env_state": env_meta,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "run_id": getattr(self, "run_id", None),
            "tensorboard_pending": (
                self._logger.pending_state() if self._logger is not None else None
            ),
            "verbose": self.verbose,
            "device": self.device.type,
            "records": self._records_checkpoint(),
        }
        check_json(meta)
        written = save_checkpoint(path, tensors, meta)
        if self._logger is not None:
            for name, value in self._model_state().items():
                # (a switched-off pathway keeps an empty tensor: nothing to draw)
                if isinstance(value, Tensor) and value.is_floating_point() and value.numel():
                    tag = "weights/" + name.removesuffix(".weights").replace(".", "/")
                    self._logger.histogram(tag, value, self.num_timesteps)
            self._logger.flush()
        return written

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        env: str | gym.Env | gym.vector.VectorEnv | None = None,
        *,
        device: str | torch.device = "cpu",
    ) -> Self:
        """Load an agent saved by :meth:`save`.

        With ``env=None`` the env is remade from its saved id and arguments and restored to its
        saved state, so learning continues exactly where it stopped. A given ``env`` is used
        as it is and reset at the next ``learn``.
        """
        tensors, meta, saved = open_checkpoint(path, cls)
        with invalid_metadata(path):
            if not isinstance(meta["config"], dict):
                raise ValueError(f"config={meta['config']!r} must be a mapping")
            config = cls.config_class.from_kwargs(**cls._upgrade_config(meta["config"]))
            seeds = checked_seeds(meta["seeds"])
            num_timesteps = meta["num_timesteps"]
            check_number("num_timesteps", num_timesteps, 0, MAX_TIMESTEPS, integer=True)
            flags = {name: meta.get(name, False) for name in ("has_rollout", "env_seeded")}
            for name, value in flags.items():
                if not isinstance(value, bool):
                    raise ValueError(f"{name}={value!r} must be true or false")
            saved_device = meta.get("device", "cpu")
            if saved_device not in ("cpu", "cuda", "mps"):
                raise ValueError(f"device={saved_device!r} must be 'cpu', 'cuda' or 'mps'")
            env_meta = checked_env_meta(meta.get("env_state"))
            for name in ("run_dir", "run_id"):
                if meta.get(name) is not None and not isinstance(meta[name], str):
                    raise ValueError(f"{name}={meta[name]!r} must be a string or null")
        check_population_axis(tensors, saved.n_agents, path)
        env = saved.env_to_load(env, path)
        agent = cls.__new__(cls)
        agent.config = config
        agent.seeds = seeds
        agent.n_agents = saved.n_agents
        agent.verbose = saved.verbose
        agent.device = check_device(device)
        restoring_env = isinstance(env, str)
        env_kwargs = saved.env_kwargs if restoring_env else None
        with invalid_metadata(path):  # (an argument the env refuses: the metadata is wrong)
            agent._check_memory(env, env_kwargs)
            agent.env, agent.env_id, agent.env_kwargs = population_env(
                env, saved.n_agents, env_kwargs
            )
        agent._setup()
        agent.num_timesteps = num_timesteps
        agent._restore_generators(tensors, meta, path)
        resume = bool(restoring_env and flags["has_rollout"] and env_meta is not None)
        template = agent._model_state()
        rollout_template = agent._empty_rollout_state()
        if resume:
            template.update(rollout_template)
        expected = {k: v for name, state in template.items()
                    for k, v in flatten_state(f"model.{name}", state).items()}  # fmt: skip
        tensors = {**agent._legacy_tensors(expected, tensors), **tensors}
        restored = {name: unflatten_state(f"model.{name}", value, tensors)
                    for name, value in template.items()}  # fmt: skip
        agent._check_loaded_state(restored, path)
        agent._load_model_state(restored, has_rollout=resume)
        # A restored env continues its own stream; any other env is seeded afresh at next learn.
        agent._env_seeded = resume and flags["env_seeded"]
        if resume:
            agent._progress = unflatten_state("progress", agent._empty_progress(), tensors)
            agent._restore_env(tensors, env_meta, path)
        known = {"generator.learn", "generator.predict"}
        for name, value in {**template, **rollout_template}.items():
            known.update(flatten_state(f"model.{name}", value))
        known.update(flatten_state("progress", agent._empty_progress()))
        known.update(f"env.{name}" for name in (env_meta or {}).get("array_names", []))
        legacy = cls.LEGACY_TENSOR_PREFIXES
        unexpected = sorted(n for n in set(tensors) - known if not n.startswith(legacy))
        if unexpected:
            raise CheckpointError(
                f"{path} has tensors {cls.__name__} does not use: {unexpected[:5]}"
            )
        agent.run_dir = checked_run_dir(meta.get("run_dir"), meta.get("run_id"))
        agent.run_id = meta.get("run_id") if agent.run_dir else None
        with invalid_metadata(path):
            agent._saved_records = checked_records_meta(meta.get("records"))
        agent._logger = agent._make_logger(resumed=True)
        if agent._logger is not None:
            with invalid_metadata(path):
                agent._logger.restore_pending(meta.get("tensorboard_pending"), agent.device)
        return agent

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The saved config with what an earlier version left implicit made explicit (the
        agent class overrides this; the default changes nothing)."""
        return config

    def _legacy_tensors(
        self, expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Tensors an earlier version did not save, with the values that reproduce its
        behaviour, by name (``expected``: this version's template; the default: none)."""
        del expected, tensors
        return {}

    LEGACY_TENSOR_PREFIXES: tuple[str, ...] = ()
    """Prefixes of ``model.`` tensors that checkpoints of earlier versions hold and this version
    ignores (e.g. the state of a switched-off pathway); any other unknown tensor is refused."""

    def _check_loaded_state(self, state: dict[str, Any], path: Any) -> None:
        """Raise :class:`CheckpointError` if restored model values lie outside what the model
        can reach (a hook: agents with bounded weights check them)."""

    def _restore_generators(self, tensors: dict[str, Tensor], meta: dict, path: Any) -> None:
        saved_device = meta.get("device", "cpu")
        if saved_device == self.device.type:
            for name, generator in (
                ("generator.learn", self._learn_generator),
                ("generator.predict", self._predict_generator),
            ):
                try:
                    generator.set_state(take_tensor(tensors, name, generator.get_state()).cpu())
                except RuntimeError as error:
                    raise CheckpointError(
                        f"{path} has an invalid random-generator state {name!r}: {error}"
                    ) from None
            return
        # torch's CPU and CUDA generators have different states: draw fresh streams,
        # deterministically, from the seed and the step count.
        warnings.warn(
            f"{path} was saved on {saved_device!r} and is loaded on {self.device.type!r}: the "
            "action-sampling streams restart, so learning will not continue bit-for-bit",
            stacklevel=3,
        )
        self._learn_generator.manual_seed(self.seeds.learn_seed + self.num_timesteps)
        self._predict_generator.manual_seed(self.seeds.predict_seed + self.num_timesteps)

    def _restore_env(self, tensors: dict[str, Tensor], env_meta: dict, path: Any) -> None:
        arrays = {}
        for name in env_meta.get("array_names", []):
            if f"env.{name}" not in tensors:
                raise CheckpointError(f"{path} lacks env array {name!r}")
            arrays[name] = tensors[f"env.{name}"].numpy()
        env_state = {k: v for k, v in env_meta.items() if k != "array_names"}
        env_state["arrays"] = arrays
        try:
            self.env.unwrapped.set_state(env_state)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as e:
            raise CheckpointError(f"{path} has an invalid env state: {e}") from None


def refuse_nonfinite(owner: str, tensors: dict[str, Tensor]) -> None:
    """Raise :class:`~plasticgym.guards.NonFiniteError` (and write nothing) if a tensor to be
    saved holds a NaN or an infinity: such a checkpoint could never be loaded."""
    bad = nonfinite_tensors(tensors)
    if bad:
        raise NonFiniteError(
            f"cannot save {owner}: its tensors {bad[:6]} hold NaN or Inf (learning diverged); "
            "no checkpoint was written, as it could not be loaded"
        )


def checked_seeds(seeds: Any) -> SeedPlan:
    """A :class:`SeedPlan` from checkpoint metadata, or ``ValueError``: exactly its fields,
    a non-negative entropy and uint32 derived seeds."""
    if not isinstance(seeds, dict) or sorted(seeds) != sorted(SeedPlan._fields):
        raise ValueError(f"seeds={seeds!r} must have exactly the fields {list(SeedPlan._fields)}")
    plan = SeedPlan(**seeds)
    check_number("seeds.entropy", plan.entropy, 0, integer=True)
    for name in SeedPlan._fields[1:]:
        check_number(f"seeds.{name}", getattr(plan, name), 0, SEED_MAX, integer=True)
    return plan


def checked_records_meta(records: Any) -> dict[str, Any] | None:
    """The saved record stream (None, or ``{"path": str, "rows": int >= 0}``), or
    ``ValueError``: where the agent streamed its records and how many rows were on disk."""
    if records is None:
        return None
    if not isinstance(records, dict) or sorted(records) != ["path", "rows"]:
        raise ValueError(f"records={records!r} must be null or have exactly 'path' and 'rows'")
    if not isinstance(records["path"], str):
        raise ValueError(f"records.path={records['path']!r} must be a string")
    check_number("records.rows", records["rows"], 0, integer=True)
    return records


def checked_env_meta(env_meta: Any) -> dict[str, Any] | None:
    """The saved env state's metadata (None or a mapping whose ``array_names`` is a list of
    strings), or ``ValueError``; the env checks the rest when it is restored."""
    if env_meta is None:
        return None
    if not isinstance(env_meta, dict):
        raise ValueError(f"env_state={env_meta!r} must be a mapping or null")
    names = env_meta.get("array_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"env_state.array_names={names!r} must be a list of strings")
    return env_meta


def check_population_axis(tensors: dict[str, Tensor], n_agents: int, path: Any) -> None:
    """Raise :class:`CheckpointError` unless every model, progress and env tensor has the
    population axis ``n_agents`` first: checked before anything of the claimed size is
    allocated, so a small file cannot claim a huge population."""
    for name, tensor in tensors.items():
        batched = name.startswith(("model.", "progress.", "env.")) and tensor.ndim >= 1
        if batched and tensor.shape[0] != n_agents:
            raise CheckpointError(
                f"{path} claims n_agents={n_agents} but its tensor {name!r} holds "
                f"{tensor.shape[0]} agents (shape {tuple(tensor.shape)})"
            )


def check_weight_bounds(
    state: dict[str, Tensor], bounds: dict[str, tuple[float, float]], path: Any
) -> None:
    """Raise :class:`CheckpointError` unless every ``state[name]`` lies inside ``bounds[name]``
    (``(low, high)``, the bounds learning keeps those weights in): values outside them mean
    the checkpoint was altered."""
    for name, (low, high) in bounds.items():
        weights = state[name]
        if weights.numel() and not bool(((weights >= low) & (weights <= high)).all()):
            raise CheckpointError(
                f"{path}: model.{name} holds values in [{float(weights.min()):.3g}, "
                f"{float(weights.max()):.3g}], outside the bounds [{low:g}, {high:g}] that "
                "learning keeps them in; the checkpoint was altered"
            )


def checked_run_dir(
    run_dir: Any, run_id: Any, is_run: Callable[[Path], bool] = is_run_dir
) -> Path | None:
    """The saved TensorBoard run folder, if ``is_run`` says it is an existing run **and** its
    marker file holds the checkpoint's ``run_id`` (a random token written when the run was
    created): a checkpoint can continue only its own run, never choose a new place to write
    files nor point into another run's folder."""
    if isinstance(run_dir, str) and is_run(Path(run_dir)):
        if isinstance(run_id, str) and run_marker_matches(Path(run_dir), run_id):
            return Path(run_dir)
        reason = "was not created for this checkpoint (its run id does not match)"
    else:
        reason = "is not an existing TensorBoard run"
    if run_dir:
        warnings.warn(
            f"TensorBoard logging of the loaded agent is off: its run folder {run_dir!r} {reason}",
            stacklevel=3,
        )
    return None


def check_json(meta: dict) -> None:
    """Raise ValueError unless ``meta`` can be written as strict JSON (checkpoint metadata)."""
    try:
        json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save: metadata is not JSON-serialisable ({error})") from None


class SavedPopulation(NamedTuple):
    """What every agent checkpoint's metadata says about its population (checked on load)."""

    n_agents: int
    env_id: str | None
    env_kwargs: dict[str, Any]
    verbose: int

    def env_to_load(self, env: Any, path: Any) -> Any:
        """``env`` if one is given, else the saved env id (CheckpointError if there is none)."""
        if env is not None:
            return env
        if self.env_id is None:
            raise CheckpointError(
                f"{path} was saved with an env that has no registered id; pass env= to load"
            )
        return self.env_id


def open_checkpoint(
    path: str | os.PathLike, cls: type
) -> tuple[dict[str, Tensor], dict[str, Any], SavedPopulation]:
    """The tensors, metadata and population of a checkpoint of a ``cls`` agent, or
    :class:`CheckpointError` if it is unreadable, another agent's, or its population invalid."""
    tensors, meta = load_checkpoint(path)
    if meta.get("agent") != cls.__name__:
        raise CheckpointError(f"{path} holds a {meta.get('agent')!r}, not a {cls.__name__}")
    with invalid_metadata(path):
        n_agents, env_id, env_kwargs = meta["n_agents"], meta["env_id"], meta["env_kwargs"]
        verbose = meta.get("verbose", 0)
        check_number("n_agents", n_agents, 1, integer=True)
        check_number("verbose", verbose, 0, 2, integer=True)
        if env_id is not None and not isinstance(env_id, str):
            raise ValueError(f"env_id={env_id!r} must be a string")
        if not isinstance(env_kwargs, dict):
            raise ValueError(f"env_kwargs={env_kwargs!r} must be a mapping")
    return tensors, meta, SavedPopulation(n_agents, env_id, env_kwargs, verbose)


@contextmanager
def invalid_metadata(path: Any) -> Iterator[None]:
    """Turn the KeyError, TypeError, ValueError, AttributeError, OverflowError or
    RecursionError of reading checkpoint metadata into a :class:`CheckpointError` naming
    ``path`` (a CheckpointError or a memory refusal passes through as it is)."""
    try:
        yield
    except (CheckpointError, MemoryLimitError):
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as e:
        raise CheckpointError(f"{path} has invalid metadata: {e}") from None
