"""What every plasticgym agent shares: a population on a vector env, one learn loop, records,
TensorBoard logging and safetensors checkpoints.

An agent class subclasses :class:`PopulationAgent`, names its config dataclass, and implements
the model hooks: :meth:`~PopulationAgent._build` (the model from the config, deterministic),
:meth:`~PopulationAgent._initialise` (random initial values from an explicit generator),
:meth:`~PopulationAgent._begin` (start a rollout on the first observations),
:meth:`~PopulationAgent._learn_step` (one transition of the whole population), the tensors it
checkpoints, and :meth:`~PopulationAgent.predict`. The API follows Stable-Baselines3:
``Agent(env, n_agents=, seed=, tensorboard_log=)``, ``learn``, ``predict``, ``save``, ``load``,
``get_env``/``set_env``, ``observation_space``/``action_space`` (one agent's), ``get_parameters``
and ``logger``.

``save``/``load`` come from :class:`~plasticgym.agents.persistence.Checkpointed` and the vector
env from :func:`~plasticgym.agents.vector_env.population_env`. The functions at the end
(record table, progress bar, task events) are shared with
:class:`~plasticgym.agents.sb3.SB3Agent`, which learns by Stable-Baselines3's own rollouts
instead of :meth:`PopulationAgent._step`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from plasticgym.agents.persistence import Checkpointed
from plasticgym.agents.recording import Recording
from plasticgym.agents.sb3_style import SB3Style
from plasticgym.agents.vector_env import population_env
from plasticgym.checkpoint import flatten_state
from plasticgym.config import check_number
from plasticgym.guards import (
    MEMORY_SAFETY,
    NonFiniteError,
    check_device,
    check_memory,
    nbytes,
    nonfinite_tensors,
    unusual_values,
)
from plasticgym.population import sample_individual_differences
from plasticgym.records import RecordBuffer
from plasticgym.seeding import SeedPlan, seed_plan, torch_generator
from plasticgym.tblog import (
    EPISODIC_RETURN,
    MEAN_ABS_DW,
    MEAN_ABS_RPE,
    MEAN_RATE,
    RPE,
    TensorBoardLogger,
    check_run_name,
    next_run_dir,
    write_run_marker,
)
from plasticgym.threads import learning_threads

Callback = Callable[[Any], bool | None]

MEMORY_PROBE_FROM = 1024
"""Populations of at least this many agents made from an env id have their memory estimated
(by building one agent) before anything of their size is allocated."""

FINITE_STATE_EVERY = 256
"""Every this many steps (and at the end of each ``learn``) the whole model state is checked
for NaN and infinities; the step's RPE, dopamine and value are checked at every step."""


class StepResult(NamedTuple):
    """What a model reports for one transition of the population.

    Attributes:
        actions: actions chosen for the new observations, ``[B]`` (Discrete) or ``[B, d]``.
        rpe: reward-prediction error of the transition, ``[B]`` (0 for inactive agents).
        dopamine: the signal delivered to synapses, ``[B]``.
        value: the model's value of the new observation, ``[B]``.
        mean_abs_dw: mean absolute weight change of this step (0-d).
        mean_rate: mean firing rate of the model's neurons (0-d), NaN if it has none.
        bookkeeping: None, or what :meth:`PopulationAgent._step` computes after the step,
            computed by the step itself (the compiled step does it in its graph): the sum of
            ``rpe``, ``dopamine`` and ``value`` (0-d, read for finiteness), the next
            ``Progress.episode`` and ``Progress.episode_return``.
    """

    actions: Tensor
    rpe: Tensor
    dopamine: Tensor
    value: Tensor
    mean_abs_dw: Tensor
    mean_rate: Tensor
    bookkeeping: tuple[Tensor, Tensor, Tensor] | None = None


class Progress(NamedTuple):
    """The population's bookkeeping between steps (checkpointed with the model)."""

    actions: Tensor  # actions for the current observations
    autoreset: Tensor  # [B] bool: the env resets this agent at the next step
    episode: Tensor  # [B] episode index
    episode_return: Tensor  # [B]


class PopulationAgent(Recording, SB3Style, Checkpointed, ABC):
    """A population of ``n_agents`` independent learners on one vector env.

    Args:
        env: a registered env id (made as a native vector env with ``n_agents`` copies), a
            :class:`gymnasium.vector.VectorEnv` with ``num_envs == n_agents``, or a single
            :class:`gymnasium.Env` (then ``n_agents`` must be 1).
        n_agents: independent agents that learn together in one batched program.
        seed: one seed for everything (env, initial values, action sampling); ``None`` draws
            fresh entropy, recorded in ``agent.seeds`` for replay.
        env_kwargs: keyword arguments for making ``env`` from its id.
        tensorboard_log: folder for TensorBoard runs; None disables logging.
        tb_log_name: the run's name in that folder (``tb_log_name_N``, N the first number not
            taken, as Stable-Baselines3's ``tb_log_name``); default the class name.
        verbose: 0 silent, 1 a summary line after each ``learn``.
        device: torch device of the model ("cpu", "cuda", ...).
        **hyperparameters: fields of the agent's config dataclass; per-agent fields also take a
            sequence of ``n_agents`` numbers or a :class:`plasticgym.population.Distribution`
            sampled with the agent's seed (individual differences).

    Results depend on ``(seed, n_agents)``: the population shares one action-sampling stream.
    """

    config_class: ClassVar[type]

    def __init__(
        self,
        env: str | gym.Env | gym.vector.VectorEnv,
        *,
        n_agents: int = 1,
        seed: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        tensorboard_log: str | os.PathLike | None = None,
        tb_log_name: str | None = None,
        verbose: int = 0,
        device: str | torch.device = "cpu",
        **hyperparameters: Any,
    ) -> None:
        check_number("n_agents", n_agents, 1, integer=True)
        prefix = type(self).__name__ if tb_log_name is None else check_run_name(tb_log_name)
        check_number("verbose", verbose, 0, 2, integer=True)
        self.seeds: SeedPlan = seed_plan(seed)
        hyperparameters = sample_individual_differences(
            hyperparameters, n_agents, self.seeds.init_seed
        )
        self.config = self.config_class.from_kwargs(**hyperparameters)
        self.n_agents = n_agents
        self.verbose = verbose
        self.device = check_device(device)
        self._check_memory(env, env_kwargs)
        self.env, self.env_id, self.env_kwargs = population_env(env, n_agents, env_kwargs)
        self._setup()
        self._initialise(torch_generator(self.seeds.init_seed, self.device))
        self.run_dir = next_run_dir(tensorboard_log, prefix) if tensorboard_log else None
        self.run_id = write_run_marker(self.run_dir) if self.run_dir else None
        self._logger = self._make_logger()

    # ------------------------------------------------------------------ model hooks

    @abstractmethod
    def _build(self) -> None:
        """Build the model from ``self.config`` and the env's spaces, deterministically."""

    @abstractmethod
    def _initialise(self, generator: torch.Generator) -> None:
        """Draw random initial values (if any) from ``generator``."""

    @abstractmethod
    def _begin(self, obs: np.ndarray) -> Tensor:
        """Start a rollout on the first observations of every agent; return their actions."""

    @abstractmethod
    def _learn_step(
        self,
        obs: np.ndarray,
        reward: Tensor,
        terminated: Tensor,
        active: Tensor,
        generator: torch.Generator,
    ) -> StepResult:
        """Learn from one transition of every agent and choose the next actions.

        ``active [B]`` is False for agents whose step was the env's autoreset (their ``obs``
        starts a new episode; nothing is learned). Sample actions with ``generator`` only.
        """

    @abstractmethod
    def _model_state(self) -> dict[str, Any]:
        """The model's tensors (and NamedTuples of tensors) to checkpoint, by name."""

    @abstractmethod
    def _load_model_state(self, state: dict[str, Any], has_rollout: bool) -> None:
        """Restore what :meth:`_model_state` returned (already checked against a template)."""

    @abstractmethod
    def predict(
        self,
        observation: np.ndarray,
        state: np.ndarray | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Actions for observations (Stable-Baselines3's signature)."""

    def _empty_rollout_state(self) -> dict[str, Any]:
        """Templates (right shapes and dtypes) of the rollout entries of :meth:`_model_state`."""
        return {}

    # ------------------------------------------------------------------ shared setup

    def _setup(self) -> None:
        self._hyper = self._per_agent_values()
        self._build()
        self._learn_generator = torch_generator(self.seeds.learn_seed, self.device)
        self._predict_generator = torch_generator(self.seeds.predict_seed, self.device)
        self._progress: Progress | None = None
        self._env_seeded = False
        self.num_timesteps = 0
        self._init_records()

    def _check_memory(self, env: Any, env_kwargs: Mapping[str, Any] | None) -> None:
        """Refuse (:class:`~plasticgym.guards.MemoryLimitError`) a population that an env id
        would make too large for the memory available, before its env or model exists: one
        agent is built on the CPU and what it holds (model, rollout, env state) is scaled by
        ``n_agents`` x :data:`~plasticgym.guards.MEMORY_SAFETY`."""
        if not isinstance(env, str) or self.n_agents < MEMORY_PROBE_FROM:
            return
        per_agent = self._bytes_per_agent(env, env_kwargs)
        check_memory(
            f"{type(self).__name__} with n_agents={self.n_agents:,} on {env} "
            f"(about {per_agent:,} bytes per agent, x{MEMORY_SAFETY:g} for a step's temporaries)",
            per_agent * self.n_agents * MEMORY_SAFETY,
            "Use fewer agents (n_agents / --n-agents) or a machine with more memory.",
        )

    def _bytes_per_agent(self, env: str, env_kwargs: Mapping[str, Any] | None) -> int:
        """Bytes one agent of this config holds once learning (model, rollout, progress, env
        state), measured on a probe population of one agent on the CPU."""
        probe = type(self).__new__(type(self))
        probe.config, probe.seeds, probe.verbose = self.config, self.seeds, 0
        probe.n_agents, probe.device, probe._probe = 1, torch.device("cpu"), True
        probe.env, _, _ = population_env(env, 1, env_kwargs)
        try:
            probe._setup()
            probe._initialise(torch_generator(0, probe.device))
            probe.run_dir, probe._logger = None, None
            with torch.no_grad():
                probe._start()
            held = nbytes(probe._model_state()) + nbytes(probe._progress)
            if hasattr(probe.env.unwrapped, "get_state"):
                held += nbytes(probe.env.unwrapped.get_state()["arrays"])
        finally:
            probe.env.close()
        return held

    def _make_logger(self, *, resumed: bool = False) -> TensorBoardLogger | None:
        """The run's logger; continuing a loaded checkpoint (``resumed``), its writer purges
        the events the earlier writer left after the checkpoint's step."""
        if self.run_dir is None:
            return None
        purge_step = self.num_timesteps + 1 if resumed else None
        interval = getattr(self.config, "log_interval", 100)
        return TensorBoardLogger(self.run_dir, interval, purge_step=purge_step)

    def _per_agent_values(self) -> dict[str, float | Tensor]:
        """Each per-agent hyperparameter as a float (shared) or a tensor ``[n_agents]``."""
        values: dict[str, float | Tensor] = {}
        for name, value in self._config_per_agent().items():
            if isinstance(value, tuple) and getattr(self, "_probe", False):
                value = value[0]  # a memory probe of one agent (see _bytes_per_agent)
            if isinstance(value, tuple):
                if len(value) != self.n_agents:
                    raise ValueError(
                        f"{name} has {len(value)} values but n_agents={self.n_agents}; give one "
                        "number for all agents or exactly one per agent"
                    )
                values[name] = torch.tensor(value, dtype=torch.float32, device=self.device)
            else:
                values[name] = float(value)
        return values

    def _config_per_agent(self) -> dict[str, Any]:
        """The config's per-agent hyperparameters by name (a config that is composed of parts
        lists its own, ``per_agent_values()``)."""
        if hasattr(self.config, "per_agent_values"):
            return self.config.per_agent_values()
        return {name: getattr(self.config, name) for name in self.config_class.PER_AGENT}

    def _config_json(self) -> dict[str, Any]:
        """The config as checkpoint metadata (``to_flat()`` where the config has one)."""
        if hasattr(self.config, "to_flat"):
            return self.config.to_flat()
        return dataclasses.asdict(self.config)

    @property
    def individual_parameters(self) -> pd.DataFrame:
        """The per-agent hyperparameters in use: one row per agent (join on ``agent``)."""
        columns = {}
        for name, value in self._hyper.items():
            if isinstance(value, Tensor):
                columns[name] = value.cpu().numpy().astype(float)
            else:
                columns[name] = np.full(self.n_agents, value)
        return pd.DataFrame(columns, index=pd.Index(np.arange(self.n_agents), name="agent"))

    @staticmethod
    def _column(value: float | Tensor) -> float | Tensor:
        """A per-agent value shaped to scale the rows of a ``[B, n]`` tensor."""
        return value.unsqueeze(1) if isinstance(value, Tensor) else value

    # ------------------------------------------------------------------ learning

    def _start(self) -> None:
        seed = None if self._env_seeded else self.seeds.env_seed
        obs, info = self.env.reset(seed=seed)
        self._step_info = info  # the first observations' task events, for models that read them
        self._env_seeded = True
        B = self.n_agents
        actions = self._begin(obs)
        self._progress = Progress(
            actions=actions,
            autoreset=torch.zeros(B, dtype=torch.bool, device=self.device),
            episode=torch.zeros(B, dtype=torch.long, device=self.device),
            episode_return=torch.zeros(B, device=self.device),
        )

    def learn(
        self,
        total_timesteps: int,
        *,
        callback: Callback | None = None,
        progress_bar: bool = False,
        record: bool = False,
        record_to: str | os.PathLike | None = None,
    ) -> PopulationAgent:
        """Run ``total_timesteps`` steps of every agent, learning as it goes.

        Args:
            total_timesteps: environment steps per agent.
            callback: called as ``callback(agent)`` after every step; returning False stops.
            progress_bar: show a tqdm progress bar.
            record: append one row per agent per step to :attr:`records` (in memory).
            record_to: stream those rows to this ``.parquet`` file instead (implies
                ``record``): memory stays bounded by one chunk of rows, the file is complete
                at the end of ``learn`` and the rows before each ``save`` are on disk when the
                checkpoint is written; an existing file is continued from this agent's step
                (rows at or after it are dropped). :attr:`records` reads the file back.

        Small populations on the CPU learn with one torch thread unless the user chose a
        thread count (:mod:`plasticgym.threads`); torch's count is restored afterwards.
        """
        check_number("total_timesteps", total_timesteps, 0, integer=True)
        if self._progress is None:
            self._start()
        buffer = self._recording_buffer(record, record_to, total_timesteps)
        started = time.perf_counter()
        abs_rpe_sum = torch.zeros((), device=self.device)
        steps_done = 0
        with (
            step_bar(progress_bar, total_timesteps, type(self).__name__) as bar,
            torch.no_grad(),
            learning_threads(self.n_agents, self.device),
        ):
            for _ in range(total_timesteps):
                rpe = self._step(buffer)
                steps_done += 1
                if self.num_timesteps % FINITE_STATE_EVERY == 0:
                    self._check_finite_state()
                if self.verbose:
                    abs_rpe_sum += rpe.abs().mean()
                if bar is not None:
                    bar.update(1)
                if callback is not None and callback(self) is False:
                    if bar is not None:  # the run is complete: the bar ends at 100%
                        bar.total = bar.n
                        bar.refresh()
                    break
        if buffer is not None:
            buffer.flush()  # (frees its block of pending steps; merges a stream's parts)
        self._check_finite_state()
        if self._logger is not None:  # (an unfinished interval is written at its grid step)
            self._logger.flush()
        if self.verbose and steps_done:
            elapsed = time.perf_counter() - started
            print(
                f"{type(self).__name__}: {steps_done} steps x {self.n_agents} agents in "
                f"{elapsed:.1f} s ({steps_done * self.n_agents / elapsed:,.0f} agent-steps/s), "
                f"mean |rpe| {float(abs_rpe_sum) / steps_done:.4f}"
            )
        return self

    def _step(self, buffer: RecordBuffer | None) -> Tensor:
        """One step of the population; returns the TD errors ``[B]``."""
        progress = self._progress
        assert progress is not None
        obs, reward, terminated, truncated, info = self.env.step(progress.actions.cpu().numpy())
        reward_np = np.asarray(reward, dtype=np.float32)
        if not np.isfinite(reward_np).all():
            given = np.asarray(reward, dtype=np.float64)[~np.isfinite(reward_np)][:5]
            raise NonFiniteError(
                f"the environment returned a non-finite reward at step {self.num_timesteps}: "
                f"{given}; rewards must be finite and within float32's range (|r| <= 3.4e38)"
            )
        check_finite_observation(obs, self.num_timesteps)
        reward_t = torch.as_tensor(reward_np, device=self.device)
        active = ~progress.autoreset
        terminated_t = torch.as_tensor(np.asarray(terminated), device=self.device)
        done = torch.as_tensor(np.logical_or(terminated, truncated), device=self.device)
        self._step_info = info  # for models that read task events (e.g. drug deliveries)
        try:
            result = self._learn_step(obs, reward_t, terminated_t, active, self._learn_generator)
        except RuntimeError as error:  # e.g. sampling from NaN action probabilities
            if self._nonfinite_state():
                raise self._nonfinite_error({}, reward_t) from error
            raise
        # a finite sum means finite signals (one read); a non-finite one is checked exactly
        # (finite signals whose sum overflows float32 pass there)
        if result.bookkeeping is None:
            signal_sum = float(torch.stack([result.rpe, result.dopamine, result.value]).sum())
        else:
            signal_sum = float(result.bookkeeping[0])
        if not math.isfinite(signal_sum):
            signals = {"rpe": result.rpe, "dopamine": result.dopamine, "value": result.value}
            finite = torch.isfinite(torch.stack([result.rpe, result.dopamine, result.value]))
            if not bool(finite.all()):
                raise self._nonfinite_error(signals, reward_t)
        if result.bookkeeping is None:
            episode = progress.episode + progress.autoreset  # (agents not active; long + bool)
            episode_return = torch.where(active, progress.episode_return + reward_t, reward_t * 0)
        else:
            episode, episode_return = result.bookkeeping[1:]
        if buffer is not None:
            columns = self._record_columns(progress.actions, reward_t, result, episode, info)
            buffer.append(columns, active.cpu().numpy())
            self._records_cache = None  # (records read part-way through a learn stay fresh)
        if self._logger is not None:
            self._log_step(result, active, done & active, episode_return)
        self._progress = Progress(result.actions, done, episode, episode_return)
        self.num_timesteps += 1
        return result.rpe

    def _nonfinite_state(self) -> list[str]:
        """Names of the model-state tensors that hold a NaN or an infinity."""
        flat: dict[str, Tensor] = {}
        for name, value in self._model_state().items():
            flat.update(flatten_state(f"model.{name}", value))
        return nonfinite_tensors(flat)

    def _check_finite_state(self) -> None:
        """Raise :class:`~plasticgym.guards.NonFiniteError` if any model tensor is non-finite."""
        if self._nonfinite_state():
            raise self._nonfinite_error({}, None)

    def _nonfinite_error(self, signals: Mapping[str, Tensor], reward: Tensor | None) -> Exception:
        """The error for non-finite numbers at this step: which signals and tensors, for which
        agents, and the likely cause (extreme hyperparameters or rewards, float32's range)."""
        bad = torch.zeros(self.n_agents, dtype=torch.bool, device=self.device)
        names = []
        for name, value in signals.items():
            wrong = ~torch.isfinite(value)
            if bool(wrong.any()):
                names.append(name)
                bad |= wrong.reshape(self.n_agents, -1).any(dim=1)
        tensors = self._nonfinite_state()
        agents = torch.nonzero(bad).flatten().tolist()
        what = f"{' and '.join(names)} became NaN or infinite" if names else "NaN or Inf appeared"
        where = f" for agent(s) {agents[:8]}" if agents else ""
        held = f"; non-finite tensors: {tensors[:6]}" if tensors else ""
        first = agents[0] if agents else 0
        values = {k: (float(v[first]) if isinstance(v, Tensor) else v)
                  for k, v in self._hyper.items()}  # fmt: skip
        values.update((k, v) for k, v in self._config_json().items() if k not in values)
        causes = []
        unusual = unusual_values(values)
        if unusual:
            causes.append(f"extreme hyperparameters ({unusual})")
        if reward is not None and float(reward.abs().max()) > 1e6:
            causes.append(f"rewards as large as {float(reward.abs().max()):.3g}")
        cause = " and ".join(causes) or "learning rates, gains or rewards too large"
        return NonFiniteError(
            f"{type(self).__name__}: {what} at step {self.num_timesteps}{where}{held}. "
            f"Likely cause: {cause}; float32 overflows above 3.4e38. Lower the learning rates "
            "or gains, or rescale the rewards (the agent was stopped; nothing was saved)"
        )

    def _log_step(
        self, result: StepResult, active: Tensor, finished: Tensor, episode_return: Tensor
    ) -> None:
        """Means over the agents for which this step was a transition."""
        assert self._logger is not None
        step = self.num_timesteps + 1
        n_active = active.sum().clamp(min=1)
        scalars = {
            RPE: result.rpe.sum() / n_active,
            MEAN_ABS_RPE: result.rpe.abs().sum() / n_active,
            MEAN_ABS_DW: result.mean_abs_dw,
        }
        if not bool(torch.isnan(result.mean_rate)):
            scalars[MEAN_RATE] = result.mean_rate
        self._logger.accumulate(step, **scalars)
        if bool(finished.any()):
            self._logger.scalar(EPISODIC_RETURN, float(episode_return[finished].mean()), step)

    @property
    def episodes_completed(self) -> np.ndarray:
        """Episodes each agent has finished so far, ``[n_agents]`` int."""
        if self._progress is None:
            return np.zeros(self.n_agents, dtype=np.int64)
        finished = self._progress.episode + self._progress.autoreset.long()
        return finished.cpu().numpy()

    def _empty_progress(self) -> Progress:
        B = self.n_agents
        action_shape = self.env.single_action_space.shape or ()
        is_discrete = isinstance(self.env.single_action_space, gym.spaces.Discrete)
        action_dtype = torch.long if is_discrete else torch.float32
        return Progress(
            actions=torch.zeros((B, *action_shape), dtype=action_dtype, device=self.device),
            autoreset=torch.zeros(B, dtype=torch.bool, device=self.device),
            episode=torch.zeros(B, dtype=torch.long, device=self.device),
            episode_return=torch.zeros(B, device=self.device),
        )

    def close(self) -> None:
        """Close the env and the TensorBoard writer."""
        if self._logger is not None:
            self._logger.close()
        self.env.close()


def check_finite_observation(obs: Any, step: int) -> None:
    """Raise :class:`~plasticgym.guards.NonFiniteError` if a floating-point observation holds
    a NaN or an infinity (an env's bug, which would otherwise spread into every weight)."""
    if isinstance(obs, np.ndarray) and obs.dtype.kind == "f" and not np.isfinite(obs).all():
        raise NonFiniteError(
            f"the environment returned a non-finite observation at step {step} (NaN or Inf in "
            f"{int((~np.isfinite(obs)).sum())} entries); observations must be finite"
        )


@contextmanager
def step_bar(show: bool, total: int, desc: str, unit: str = "step") -> Iterator[Any]:
    """A tqdm progress bar over ``total`` steps (or other ``unit``; None unless ``show``),
    closed on exit."""
    if not show:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit=unit, desc=desc)
    try:
        yield bar
    finally:
        bar.close()
