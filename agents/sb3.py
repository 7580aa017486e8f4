"""Deep RL baselines from Stable-Baselines3 (PPO, A2C, DQN) and sb3-contrib (RecurrentPPO)
behind plasticgym's agent API.

:class:`SB3Agent` wraps a population of ``n_agents`` independent Stable-Baselines3 models so that
they are trained, recorded, saved and loaded like :class:`~plasticgym.agents.PlasticAgent`::

    from plasticgym.agents import SB3Agent

    agent = SB3Agent("plasticgym/ReversalBandit-v0", algo="PPO", n_agents=8, seed=0,
                     n_steps=64, batch_size=64)          # extra keywords go to SB3's PPO
    agent.learn(5_000, record=True)                       # 5 000 env steps per agent
    actions, _ = agent.predict(obs, deterministic=True)   # one action per agent
    agent.records                                         # one row per agent per step
    agent.save("ppo_bandit"); agent = SB3Agent.load("ppo_bandit")

Stable-Baselines3 is an optional dependency (``pip install plasticgym[sb3]``): this module imports
without it, and constructing or loading an :class:`SB3Agent` then raises :class:`ImportError`
saying what to install. The same extra installs ``sb3-contrib`` for ``algo="RecurrentPPO"``
(PPO with an LSTM in the actor and the critic, policy ``"MlpLstmPolicy"``: the baseline with a
memory for tasks whose observation does not tell the best action, such as the reversal bandit).

Population
    Agent ``i`` is one SB3 model on its own copy of the task (``gym.make(env_id, **env_kwargs)``,
    wrapped in :class:`RecordingWrapper` and, by SB3, in ``Monitor`` and ``DummyVecEnv``). The
    user ``seed`` fans out through :class:`numpy.random.SeedSequence` into one SB3 seed per
    agent (its env, action space, initial weights and sampling) and one ``predict`` seed per
    agent (:func:`population_seeds`); agent ``i``'s results do not depend on ``n_agents``.
    ``learn`` trains the agents one after another, each for ``total_timesteps`` of its own
    env steps. SB3 collects whole rollouts, so each agent runs ``total_timesteps`` rounded up to
    a multiple of ``n_steps`` (PPO, A2C) or of ``train_freq`` (DQN), as SB3 itself does;
    :attr:`SB3Agent.num_timesteps` tells how many were run.

Randomness
    SB3 draws from the *global* generators of Python, numpy and torch (``set_random_seed``).
    To keep the agents independent, and the user's global generators untouched, every call
    into a model swaps in that agent's own saved global states and swaps them out afterwards;
    ``predict`` uses a separate set of states (and a separate generator for the action space's
    random actions), so predicting between ``learn`` calls does not change learning. Same
    seed, same machine, ``device="cpu"`` => identical records and weights (tested). Caveats:
    torch must use the same number of threads, and on CUDA SB3's kernels need not be
    deterministic. ``learn`` uses one torch thread unless the user chose a count
    (:mod:`plasticgym.threads`): SB3's small networks train 3-8x faster so on 2 cores, and
    PPO's results, which depend on the thread count, are then the same on every machine.

Records
    ``learn(record=True)`` appends one row per agent per env step to :attr:`SB3Agent.records`:
    ``agent, step, episode, trial, phase, t_in_trial, action, reward, rpe, dopamine, value``,
    then the task's scalar ``info`` entries (``trial``, ``phase`` and ``t_in_trial`` come from
    ``info`` too; -1, "" and 0 when the task has none). ``step`` is the 0-based index of the
    agent's env step (it keeps counting across ``learn`` calls and checkpoints), ``episode``
    counts the agent's episodes. SB3's ``DummyVecEnv`` resets an env at once when an episode
    ends, so every step is a transition. Rows are ordered by agent, then step.

    - ``value`` is the critic's estimate for the observation the step led to, with the weights
      used at that step: ``V(o_t+1)`` for PPO and A2C, ``max_a Q(o_t+1, a)`` for DQN.
    - ``rpe`` is the one-step TD error of the row's transition under the same networks:
      ``r_t + gamma * V(o_t+1) - V(o_t)`` (PPO, A2C; the ``delta_t`` that GAE sums) and
      ``r_t + gamma * max_a Q_target(o_t+1, a) - Q(o_t, a_t)`` (DQN; its loss's error); the
      bootstrap term is 0 when the episode terminated (not when it was truncated, as in SB3).
      It is a diagnostic computed by one extra forward pass per recorded step.
    - RecurrentPPO: ``value`` and ``rpe`` are NaN (its critic needs the LSTM state of the
      rollout, which the per-step diagnostic does not replay).
    - ``dopamine`` is NaN: SB3's algorithms deliver no per-step teaching signal to their
      weights (PPO and A2C learn from the advantages of a whole rollout, DQN from replayed
      minibatches). Both ``rpe`` and ``value`` are NaN for image or dict observations.

Checkpoints
    :meth:`SB3Agent.save` never uses SB3's ``model.save`` (its zip holds cloudpickled objects).
    It writes one ``.safetensors`` file through :func:`plasticgym.checkpoint.save_checkpoint`:
    every model's policy ``state_dict`` (DQN: online and target Q-networks) and optimizer state
    tensors, plus JSON metadata (algorithm, its keyword arguments, seeds, env id and arguments,
    counters). The agent class, population, env id and arguments are read and checked as for
    every plasticgym agent (:func:`plasticgym.agents.persistence.open_checkpoint`).
    :meth:`SB3Agent.load` rebuilds each model with the same hyperparameters, then
    ``policy.load_state_dict(..., strict=True)`` and ``optimizer.load_state_dict``; nothing is
    unpickled, and a bad file raises :class:`~plasticgym.checkpoint.CheckpointError`.
    Hyperparameters must be JSON values (tuples and torch.nn / torch.optim classes are encoded;
    a schedule function is not, and ``save`` then raises ``ValueError``).

    Restored: weights, optimizer moments, step/update/episode counters, DQN's exploration rate
    and target-update phase, the record counters, the TensorBoard run, and (for every agent
    whose env is a plasticgym task made from its id, loaded with ``env=None`` on the device
    type it was saved on) the exact continuation: each agent's global random streams (Python,
    numpy, torch) for learning and predicting, the action space's generator, the last
    observation and episode starts, SB3's episode-info buffers, DQN's replay buffer (its
    filled rows), RecurrentPPO's LSTM hidden and cell states, and the env chain's state (the
    task's state and random stream, Monitor's episode sums, gymnasium's wrappers' counters).
    Then ``save -> load -> learn`` is bit-identical to learning on without the save (tested
    for PPO, A2C, DQN and RecurrentPPO), provided the save happened between two rollouts:
    after a ``learn`` returns, or at a rollout start (the
    SB3 callback of ``plasticgym train --checkpoint-every``; SB3 cannot resume inside a
    rollout, and PPO/A2C's rollout buffer, refilled at each rollout start, is not saved).
    **Not bit-identical** (a loaded agent starts a new episode of a fresh env and draws fresh
    random streams derived from its seed and step count, deterministically): another env (a
    given ``env``, or a third-party env whose state cannot be saved), dict observations, a
    load on another device type, and gSDE (``use_sde``, whose noise is redrawn at a rollout
    start). SB3's TensorBoard events written after the checkpoint by a killed run are not
    purged (its logger has no ``purge_step``), and A2C's log dumps, counted by a local of
    SB3's ``learn``, fall at other steps after a resume: logging only, learning is unchanged.

TensorBoard
    With ``tensorboard_log="runs"``, the agent reserves ``runs/<ALGO>_N`` and each model logs
    SB3's own tags (``rollout/ep_rew_mean``, ``train/value_loss``, ...) against its own
    ``num_timesteps`` in ``runs/<ALGO>_N/agent_<i>``. A loaded agent continues the same curves
    if that folder still exists.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import numbers
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from plasticgym.agents.base import Callback, step_bar
from plasticgym.agents.persistence import (
    check_json,
    checked_run_dir,
    invalid_metadata,
    open_checkpoint,
    refuse_nonfinite,
)
from plasticgym.agents.recording import record_table, task_events
from plasticgym.agents.vector_env import check_env_id, json_kwargs
from plasticgym.checkpoint import CheckpointError, save_checkpoint, take_tensor
from plasticgym.config import check_number
from plasticgym.guards import (
    NonFiniteError,
    check_device,
    check_memory,
    format_bytes,
    nonfinite_tensors,
    unusual_values,
)
from plasticgym.seeding import seed_plan
from plasticgym.tblog import check_run_name, next_run_dir, write_run_marker
from plasticgym.threads import learning_threads

__all__ = [
    "ALGOS",
    "ALL_ALGOS",
    "RECURRENT_ALGOS",
    "PopulationSeeds",
    "RecordingWrapper",
    "SB3Agent",
    "population_seeds",
    "rollout_steps",
]

ALGOS = ("A2C", "DQN", "PPO")
"""The feed-forward Stable-Baselines3 algorithms :class:`SB3Agent` runs."""
RECURRENT_ALGOS = ("RecurrentPPO",)
"""The recurrent algorithms of sb3-contrib :class:`SB3Agent` runs (LSTM policies)."""
ALL_ALGOS = (*ALGOS, *RECURRENT_ALGOS)
DEFAULT_POLICY = {"RecurrentPPO": "MlpLstmPolicy"}
"""The policy of an algorithm when none is given (``"MlpPolicy"`` otherwise)."""

INSTALL_HINT = "pip install plasticgym[sb3]"
RESERVED_KWARGS = ("env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model")

Evaluate = Callable[[Any, Any, float, Any, bool], tuple[float, float]]

FLOAT32_MAX = float(np.finfo(np.float32).max)


def _require_sb3() -> ModuleType:
    """The ``stable_baselines3`` module, or an ImportError that says how to install it."""
    try:
        import stable_baselines3
    except ImportError as error:
        raise ImportError(
            "SB3Agent needs Stable-Baselines3, an optional dependency of plasticgym; install "
            f"it with `{INSTALL_HINT}` (or `pip install stable-baselines3`)"
        ) from error
    return stable_baselines3


def check_algo(algo: Any) -> str:
    """The canonical name of ``algo`` (case-insensitive), or ``ValueError`` listing
    :data:`ALL_ALGOS`."""
    names = {name.upper(): name for name in ALL_ALGOS}
    name = names.get(algo.upper()) if isinstance(algo, str) else None
    if name is None:
        raise ValueError(f"algo={algo!r} is invalid: must be one of {list(ALL_ALGOS)}")
    return name


def algo_class(algo: str) -> type:
    """The class of the canonical algorithm name ``algo``: ``stable_baselines3.PPO`` ...,
    ``sb3_contrib.RecurrentPPO``; ImportError saying what to install when it is missing."""
    if algo in RECURRENT_ALGOS:
        _require_sb3()
        try:
            import sb3_contrib
        except ImportError as error:
            raise ImportError(
                f"SB3Agent(algo={algo!r}) needs sb3-contrib, an optional dependency of "
                f"plasticgym; install it with `{INSTALL_HINT}` (or `pip install sb3-contrib`)"
            ) from error
        return getattr(sb3_contrib, algo)
    return getattr(_require_sb3(), algo)


# --------------------------------------------------------------------------------------------
# Seeds and global random streams
# --------------------------------------------------------------------------------------------


class PopulationSeeds(NamedTuple):
    """Seeds of a population, derived from one user seed.

    Attributes:
        entropy: root entropy (the user's seed, or fresh OS entropy recorded for replay).
        model: per agent, the seed given to its SB3 model (env, action space, weights, the
            global streams used by ``learn``).
        predict: per agent, the seed of the streams used by ``predict``.
    """

    entropy: int
    model: tuple[int, ...]
    predict: tuple[int, ...]


def population_seeds(seed: int | None, n_agents: int) -> PopulationSeeds:
    """Fan ``seed`` out into independent seeds for ``n_agents`` agents.

    ``SeedSequence(entropy).spawn(n_agents)`` gives agent ``i`` its own child, which spawns the
    model and predict seeds (uint32, as SB3's ``np.random.seed`` needs); agent ``i``'s seeds do
    not depend on ``n_agents``.
    """
    entropy = seed_plan(seed).entropy  # validates seed
    model, predict = [], []
    for child in np.random.SeedSequence(entropy).spawn(n_agents):
        model_seq, predict_seq = child.spawn(2)
        model.append(int(model_seq.generate_state(1, np.uint32)[0]))
        predict.append(int(predict_seq.generate_state(1, np.uint32)[0]))
    return PopulationSeeds(entropy, tuple(model), tuple(predict))


def _continuation_seed(seed: int, num_timesteps: int) -> int:
    """A fresh seed for an agent loaded at ``num_timesteps`` (deterministic, uint32)."""
    return int(np.random.SeedSequence([seed, num_timesteps]).generate_state(1, np.uint32)[0])


class _GlobalStreams:
    """One agent's states of the global generators SB3 draws from (Python's ``random``, numpy's
    legacy global ``RandomState``, torch's default CPU generator and, on CUDA, the device's)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.states: tuple[Any, Any, torch.Tensor, torch.Tensor | None] | None = None

    @classmethod
    def seeded(cls, seed: int, device: torch.device) -> _GlobalStreams:
        """The states that SB3's ``set_random_seed(seed)`` would set."""
        streams = cls(device)
        cuda = None
        if device.type == "cuda":
            cuda = torch.Generator(device=device).manual_seed(seed).get_state()
        streams.states = (
            random.Random(seed).getstate(),
            np.random.RandomState(seed).get_state(),
            torch.Generator().manual_seed(seed).get_state(),
            cuda,
        )
        return streams

    def _read(self) -> tuple[Any, Any, torch.Tensor, torch.Tensor | None]:
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda

    def _write(self, states: tuple[Any, Any, torch.Tensor, torch.Tensor | None]) -> None:
        python, numpy_state, torch_state, cuda = states
        random.setstate(python)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)
        if cuda is not None:
            torch.cuda.set_rng_state(cuda, self.device)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Swap these states into the global generators; on exit keep what they became and
        give the caller's states back. Empty streams start from whatever is there (SB3's
        constructor seeds them)."""
        outside = self._read()
        if self.states is not None:
            self._write(self.states)
        try:
            yield
        finally:
            self.states = self._read()
            self._write(outside)


@contextmanager
def _space_generator(space: gym.Space, generator: np.random.Generator) -> Iterator[None]:
    """Let ``space.sample()`` draw from ``generator`` (its bit generator's state is swapped)."""
    own = space.np_random.bit_generator
    saved = own.state
    own.state = generator.bit_generator.state
    try:
        yield
    finally:
        generator.bit_generator.state = own.state
        own.state = saved


# --------------------------------------------------------------------------------------------
# Environments and records
# --------------------------------------------------------------------------------------------


class RecordingWrapper(gym.Wrapper):
    """Counts one agent's env steps and episodes and, while ``recording``, keeps one record row
    per step (see the module docstring for the columns).

    Attributes:
        agent: the agent's index in the population.
        steps: env steps taken so far (the next row's ``step``).
        episode: index of the current episode (-1 before the first reset).
        recording: append rows while True.
        evaluate: ``evaluate(obs_t, action, reward, obs_t+1, terminated) -> (value, rpe)`` or
            None (NaN).
        rows: the recorded rows, dicts of column values.
    """

    def __init__(self, env: gym.Env, agent: int) -> None:
        super().__init__(env)
        self.agent = agent
        self.steps = 0
        self.episode = -1
        self.recording = False
        self.evaluate: Evaluate | None = None
        self.rows: list[dict[str, Any]] = []
        self._obs: Any = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.episode += 1
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not math.isfinite(float(reward)) or abs(float(reward)) > FLOAT32_MAX:
            raise NonFiniteError(
                f"agent {self.agent}'s environment returned the reward {float(reward)!r} at step "
                f"{self.steps}; rewards must be finite and within float32's range (3.4e38)"
            )
        array = np.asarray(obs)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise NonFiniteError(
                f"agent {self.agent}'s environment returned a non-finite observation at step "
                f"{self.steps} ({array.ravel()[:6]}...); observations must be finite"
            )
        if self.recording:
            self.rows.append(self._row(action, float(reward), bool(terminated), obs, info))
        self._obs = obs
        self.steps += 1
        return obs, reward, terminated, truncated, info

    def _row(
        self, action: Any, reward: float, terminated: bool, obs: Any, info: Mapping[str, Any]
    ) -> dict[str, Any]:
        value, rpe = math.nan, math.nan
        if self.evaluate is not None:
            value, rpe = self.evaluate(self._obs, action, reward, obs, terminated)
        action_array = np.asarray(action)
        row: dict[str, Any] = {
            "agent": self.agent,
            "step": self.steps,
            "episode": self.episode,
            "trial": -1,
            "phase": "",
            "t_in_trial": 0,
            "action": action_array.item() if action_array.ndim == 0 else action_array.copy(),
            "reward": reward,
            "rpe": rpe,
            "dopamine": math.nan,
            "value": value,
        }
        row.update((key, array.item()) for key, array in task_events(info) if array.ndim == 0)
        return row


def _agent_envs(
    env: str | gym.Env | Sequence[gym.Env],
    n_agents: int,
    env_kwargs: Mapping[str, Any] | None,
) -> tuple[list[gym.Env], str | None, dict[str, Any]]:
    """One single env per agent, the task id and its arguments."""
    if isinstance(env, str):
        check_env_id(env)
        kwargs = json_kwargs(env_kwargs or {})
        return [gym.make(env, **kwargs) for _ in range(n_agents)], env, kwargs
    if env_kwargs:
        raise ValueError("env_kwargs can only be given with an env id, not with env instances")
    if isinstance(env, gym.vector.VectorEnv):
        raise ValueError(
            "SB3Agent runs one single env per agent; pass the env id (it makes n_agents copies) "
            "or a list of n_agents gymnasium.Env instances, not a vector env"
        )
    if isinstance(env, gym.Env):
        if n_agents != 1:
            raise ValueError(
                f"a single env serves one agent, got n_agents={n_agents}; pass an env id or a "
                "list of n_agents envs"
            )
        envs = [env]
    elif isinstance(env, Sequence) and all(isinstance(e, gym.Env) for e in env):
        envs = list(env)
        if len(envs) != n_agents or len({id(e) for e in envs}) != n_agents:
            raise ValueError(f"give {n_agents} distinct envs (one per agent), got {len(envs)}")
    else:
        raise ValueError(f"env must be an env id, a gymnasium.Env or a list of them, got {env!r}")
    spec = envs[0].spec
    if spec is None:
        return envs, None, {}
    try:
        return envs, spec.id, json_kwargs(spec.kwargs)
    except ValueError:
        return envs, None, {}


# --------------------------------------------------------------------------------------------
# Hyperparameters as JSON
# --------------------------------------------------------------------------------------------

_TUPLE, _TORCH = "__tuple__", "__torch_class__"
_TORCH_MODULES = {"torch.nn": torch.nn, "torch.optim": torch.optim}


def _encode(value: Any, where: str) -> Any:
    """``value`` as JSON; tuples and torch.nn / torch.optim classes are tagged."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, type):
        for prefix, module in _TORCH_MODULES.items():
            if getattr(module, value.__name__, None) is value:
                return {_TORCH: f"{prefix}.{value.__name__}"}
    raise ValueError(
        f"cannot save: the SB3 argument {where}={value!r} cannot be stored as JSON (checkpoints "
        "rebuild the model from numbers, strings, lists, tuples, dicts with string keys and "
        "torch.nn / torch.optim classes; pass e.g. a constant learning rate, not a schedule)"
    )


def _decode(value: Any) -> Any:
    """Invert :func:`_encode`; only torch.nn modules and torch.optim optimizers are resolved."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_TUPLE} and isinstance(value[_TUPLE], list):
            return tuple(_decode(v) for v in value[_TUPLE])
        if set(value) == {_TORCH} and isinstance(value[_TORCH], str):
            prefix, _, name = value[_TORCH].rpartition(".")
            found = getattr(_TORCH_MODULES.get(prefix), name, None) if prefix else None
            bases = (torch.nn.Module, torch.optim.Optimizer)
            if not (isinstance(found, type) and issubclass(found, bases)):
                raise ValueError(f"{value[_TORCH]!r} is not a torch.nn or torch.optim class")
            return found
        return {k: _decode(v) for k, v in value.items()}
    return value


_INT_ARGS = {  # name: (low, high) of SB3's integer arguments
    "n_steps": (1, 2**31), "batch_size": (1, 2**31), "n_epochs": (1, 2**31),
    "buffer_size": (1, 2**40), "learning_starts": (0, 2**62), "gradient_steps": (-1, 2**31),
    "target_update_interval": (1, 2**62), "stats_window_size": (1, 2**31),
}  # fmt: skip
_REAL_ARGS = {  # name: (low, high, low_open) of SB3's real arguments
    "learning_rate": (0.0, math.inf, True), "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, False), "ent_coef": (0.0, math.inf, False),
    "vf_coef": (0.0, math.inf, False), "max_grad_norm": (0.0, math.inf, True),
    "clip_range": (0.0, math.inf, True), "tau": (0.0, 1.0, False),
    "exploration_fraction": (0.0, 1.0, False), "exploration_initial_eps": (0.0, 1.0, False),
    "exploration_final_eps": (0.0, 1.0, False), "rms_prop_eps": (0.0, math.inf, True),
}  # fmt: skip


def _check_algo_values(algo: str, algo_kwargs: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the argument if a numeric SB3 argument is out of range (SB3
    itself would fail later with an assertion or a division by zero, or diverge): integers and
    reals of :data:`_INT_ARGS` / :data:`_REAL_ARGS` (PPO's ``n_steps`` and ``batch_size`` at
    least 2) and ``train_freq``. A schedule (a callable) is accepted
    where SB3 takes one."""
    for name, value in algo_kwargs.items():
        if name in _INT_ARGS:
            low, high = _INT_ARGS[name]
            if algo == "PPO" and name in ("n_steps", "batch_size"):
                low = 2  # advantages are normalised over a minibatch (SB3 asserts > 1)
            check_number(name, value, low, high, integer=True)
            if name == "gradient_steps" and value == 0:
                raise ValueError("gradient_steps=0 is invalid: -1 (as many as steps) or >= 1")
        elif name in _REAL_ARGS and not callable(value):
            low, high, low_open = _REAL_ARGS[name]
            if name == "ent_coef" and isinstance(value, str) and value.startswith("auto"):
                continue
            check_number(name, value, low, high, low_open=low_open)
    if "train_freq" in algo_kwargs:
        freq = algo_kwargs["train_freq"]
        if isinstance(freq, Sequence) and not isinstance(freq, str) and len(freq) == 2:
            check_number("train_freq[0]", freq[0], 1, integer=True)
            if str(freq[1]).lower() not in ("step", "episode"):
                raise ValueError(f"train_freq[1]={freq[1]!r} is invalid: 'step' or 'episode'")
        else:
            check_number("train_freq", freq, 1, integer=True)


def _buffer_bytes(algo: str, algo_kwargs: Mapping[str, Any], env: gym.Env) -> int:
    """Bytes of one model's rollout buffer (PPO, A2C: ``n_steps`` x (observation, action and 6
    scalars, float32)) or replay buffer (DQN: ``buffer_size`` x (2 observations, an action,
    3 scalars; one observation with ``optimize_memory_usage``)), as SB3 allocates them."""
    defaults = inspect.signature(algo_class(algo).__init__).parameters

    def size(space: gym.Space) -> int:
        return 1 if isinstance(space, gym.spaces.Discrete) else gym.spaces.flatdim(space)

    def given(name: str) -> Any:
        return algo_kwargs.get(name, defaults[name].default)

    obs, action = size(env.observation_space), size(env.action_space)
    if algo == "DQN":
        dtype = getattr(env.observation_space, "dtype", None)
        itemsize = np.dtype(dtype).itemsize if dtype is not None else 4
        copies = 1 if given("optimize_memory_usage") else 2
        return int(given("buffer_size")) * (copies * obs * itemsize + action * 8 + 12)
    per_step = obs * 4 + action * 4 + 24
    if algo in RECURRENT_ALGOS:  # hidden and cell states of the actor's and critic's LSTMs
        policy_kwargs = algo_kwargs.get("policy_kwargs") or {}
        hidden = int(policy_kwargs.get("lstm_hidden_size", 256))
        per_step += 4 * 4 * hidden * int(policy_kwargs.get("n_lstm_layers", 1))
    return int(given("n_steps")) * per_step


MODEL_BYTES = 128 * 1024
"""At least this much memory per SB3 model besides its buffer (measured: 150 KB per PPO
MlpPolicy model on ReversalBandit-v0, networks, optimizer and Python objects)."""


def _checked_algo_kwargs(algo: str, algo_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``algo_kwargs`` if SB3's ``algo`` accepts every name and value, else ``ValueError``."""
    cls = algo_class(algo)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    reserved = sorted(set(algo_kwargs) & set(RESERVED_KWARGS))
    if reserved:
        raise ValueError(f"{reserved} are set by SB3Agent itself; use its own arguments")
    unknown = sorted(set(algo_kwargs) - set(accepted))
    if unknown:
        allowed = sorted(set(accepted) - set(RESERVED_KWARGS))
        raise ValueError(f"unknown {algo} argument(s) {unknown}; {algo} accepts: {allowed}")
    _check_algo_values(algo, algo_kwargs)
    return dict(algo_kwargs)


def rollout_steps(algo: str, algo_kwargs: Mapping[str, Any], total_timesteps: int) -> int | None:
    """The env steps each agent runs for ``learn(total_timesteps)``: SB3 collects whole
    rollouts, so ``total_timesteps`` rounded up to a multiple of ``n_steps`` (PPO, A2C) or of
    ``train_freq`` (DQN, counted in steps); ``None`` when DQN's ``train_freq`` counts episodes
    (then the count depends on episode lengths)."""
    algo = check_algo(algo)
    defaults = inspect.signature(algo_class(algo).__init__).parameters
    if algo == "DQN":
        chunk: Any = algo_kwargs.get("train_freq", defaults["train_freq"].default)
        if isinstance(chunk, Sequence) and not isinstance(chunk, str):
            if str(chunk[1]).lower() not in ("step", "trainfrequnit.step"):
                return None
            chunk = chunk[0]
    else:
        chunk = algo_kwargs.get("n_steps", defaults["n_steps"].default)
    chunk = int(chunk)
    return math.ceil(total_timesteps / chunk) * chunk


# --------------------------------------------------------------------------------------------
# SB3 glue (built lazily: SB3 is optional)
# --------------------------------------------------------------------------------------------


@functools.cache
def _step_hook_class() -> type:
    """An SB3 ``BaseCallback`` that calls a function after every env step."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StepHook(BaseCallback):
        def __init__(self, after_step: Callable[[], bool]) -> None:
            super().__init__()
            self.after_step = after_step

        def _on_step(self) -> bool:
            return self.after_step()

        def _on_rollout_start(self) -> None:  # after every update of the networks
            _check_finite_model(self.model, self.num_timesteps)

        def _on_training_end(self) -> None:
            _check_finite_model(self.model, self.num_timesteps)

    return StepHook


def _check_finite_model(model: Any, step: int) -> None:
    """Raise :class:`~plasticgym.guards.NonFiniteError` if a policy parameter of ``model`` is
    NaN or infinite (checked after every update, i.e. once per rollout), naming it and the
    extreme arguments that are the likely cause."""
    parameters = dict(model.policy.named_parameters())
    finite = torch.stack([torch.isfinite(p).all() for p in parameters.values()]).all()
    if bool(finite):
        return
    bad = nonfinite_tensors({name: p.detach() for name, p in parameters.items()})
    settings = {"learning_rate": model.learning_rate, "gamma": model.gamma}
    for name in ("ent_coef", "vf_coef", "max_grad_norm", "clip_range", "tau"):
        settings[name] = getattr(model, name, None)
    unusual = unusual_values(settings)
    cause = f"extreme arguments ({unusual})" if unusual else "too large a learning rate or rewards"
    raise NonFiniteError(
        f"{type(model).__name__}: the update before step {step} made the policy parameters "
        f"{bad[:4]} NaN or infinite. Likely cause: {cause}; the agent was stopped"
    )


def _transition_evaluator(model: Any, algo: str) -> Evaluate | None:
    """``(value, rpe)`` of one transition under ``model``'s current networks (see Records)."""
    from stable_baselines3.common.preprocessing import is_image_space

    space = model.observation_space
    if isinstance(space, gym.spaces.Dict) or is_image_space(space) or algo in RECURRENT_ALGOS:
        return None
    policy = model.policy
    gamma = float(model.gamma)

    def batch(obs: Any, next_obs: Any) -> torch.Tensor:
        tensor, _ = policy.obs_to_tensor(np.stack([np.asarray(obs), np.asarray(next_obs)]))
        return tensor

    if algo == "DQN":

        def evaluate_q(
            obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool
        ) -> tuple[float, float]:
            with torch.no_grad():
                both = batch(obs, next_obs)
                q = policy.q_net(both).double().cpu()
                target = policy.q_net_target(both[1:]).double().cpu()
            bootstrap = 0.0 if terminated else gamma * float(target[0].max())
            q_taken = float(q[0, int(np.asarray(action).reshape(()))])
            return float(q[1].max()), reward + bootstrap - q_taken

        return evaluate_q

    def evaluate_v(
        obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool
    ) -> tuple[float, float]:
        with torch.no_grad():
            values = policy.predict_values(batch(obs, next_obs)).reshape(-1).double().cpu()
        bootstrap = 0.0 if terminated else gamma * float(values[1])
        return float(values[1]), reward + bootstrap - float(values[0])

    return evaluate_v


def _optimizer_state(
    optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """Put the optimizer's state tensors into ``tensors``; return the rest as JSON."""
    state_dict = optimizer.state_dict()
    keys: dict[str, list[str]] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state_dict["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().clone()
                keys.setdefault(str(index), []).append(key)
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [_encode(dict(group), "param_group") for group in state_dict["param_groups"]]
    return {"param_groups": groups, "tensors": keys, "scalars": scalars}


def _restore_optimizer(
    optimizer: torch.optim.Optimizer,
    saved: Mapping[str, Any],
    prefix: str,
    tensors: Mapping[str, torch.Tensor],
    used: set[str],
) -> None:
    """Load what :func:`_optimizer_state` saved, checking every tensor against its parameter."""
    template = optimizer.state_dict()
    groups = [_decode(group) for group in saved["param_groups"]]
    if [g.get("params") for g in groups] != [g["params"] for g in template["param_groups"]]:
        raise CheckpointError(f"{prefix}: parameter groups do not fit the rebuilt model")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state: dict[int, dict[str, Any]] = {}
    for index, names in saved["tensors"].items():
        param = params[int(index)]
        for key in names:
            name = f"{prefix}.{index}.{key}"
            if name not in tensors:
                raise CheckpointError(f"checkpoint lacks tensor {name!r}")
            tensor = tensors[name]
            if tensor.shape not in (torch.Size(()), param.shape):
                raise CheckpointError(
                    f"checkpoint tensor {name!r} has shape {tuple(tensor.shape)}, expected () or "
                    f"{tuple(param.shape)}"
                )
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                raise CheckpointError(f"checkpoint tensor {name!r} contains NaN or Inf")
            state.setdefault(int(index), {})[key] = tensor
            used.add(name)
    for index, values in saved["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
        raise CheckpointError(f"{prefix}: cannot restore the optimizer: {error}") from None


def _model_checkpoint(
    i: int, model: Any, env: RecordingWrapper, tensors: dict[str, torch.Tensor]
) -> dict[str, Any]:
    """Put agent ``i``'s policy and optimizer tensors into ``tensors``; return its JSON part
    (counters, exploration rate, optimizer settings, record counters)."""
    for key, tensor in model.policy.state_dict().items():
        tensors[f"agent{i}.policy.{key}"] = tensor.detach().clone()
    optimizer = _optimizer_state(model.policy.optimizer, f"agent{i}.optimizer", tensors)
    counters = {name: int(getattr(model, name)) for name in _COUNTERS if hasattr(model, name)}
    floats = {"progress_remaining": float(model._current_progress_remaining)}
    if hasattr(model, "exploration_rate"):
        floats["exploration_rate"] = float(model.exploration_rate)
    return {"counters": counters, "floats": floats, "env_steps": env.steps,
            "env_episode": env.episode, "optimizer": optimizer}  # fmt: skip


def _restore_model(
    i: int,
    model: Any,
    env: RecordingWrapper,
    agent_meta: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    used: set[str],
    path: Any,
) -> None:
    """Load what :func:`_model_checkpoint` saved into agent ``i``'s rebuilt model and env,
    adding the names of the tensors it takes to ``used``."""
    prefix = f"agent{i}.policy."
    template = model.policy.state_dict()
    state = {}
    for key, like in template.items():
        state[key] = take_tensor(tensors, prefix + key, like)
        used.add(prefix + key)
    extra = sorted(n for n in tensors if n.startswith(prefix) and n[len(prefix) :] not in state)
    if extra:
        raise CheckpointError(f"{path} has tensors the rebuilt policy lacks: {extra[:5]}")
    try:
        model.policy.load_state_dict(state, strict=True)
        optimizer_meta = agent_meta["optimizer"]
        _restore_optimizer(model.policy.optimizer, optimizer_meta, f"agent{i}.optimizer",
                           tensors, used)  # fmt: skip
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as error:
        raise CheckpointError(f"{path}: cannot restore agent {i}: {error}") from None
    for name, value in agent_meta["counters"].items():
        if name not in _COUNTERS or not hasattr(model, name):
            raise CheckpointError(f"{path}: unknown counter {name!r} for {type(model).__name__}")
        setattr(model, name, int(value))
    model._current_progress_remaining = float(agent_meta["floats"].get("progress_remaining", 1.0))
    if "exploration_rate" in agent_meta["floats"] and hasattr(model, "exploration_rate"):
        model.exploration_rate = float(agent_meta["floats"]["exploration_rate"])
    env.steps = int(agent_meta["env_steps"])
    env.episode = int(agent_meta["env_episode"])


# --------------------------------------------------------------------------------------------
# Exact continuation: what a resumed model needs beyond weights and counters
# --------------------------------------------------------------------------------------------

_REPLAY_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
_MONITOR_FIELDS = ("rewards", "episode_returns", "episode_lengths", "episode_times")


def _streams_json(
    states: tuple[Any, Any, torch.Tensor, torch.Tensor | None],
    prefix: str,
    tensors: dict[str, torch.Tensor],
) -> dict[str, Any]:
    """One set of global-generator states (:class:`_GlobalStreams`) as JSON and tensors."""
    python, numpy_state, torch_state, cuda = states
    tensors[f"{prefix}.torch"] = torch_state.clone()
    if cuda is not None:
        tensors[f"{prefix}.cuda"] = cuda.clone()
    _, keys, pos, has_gauss, cached = numpy_state
    return {
        "python": [python[0], list(python[1]), python[2]],
        "numpy": [[int(k) for k in keys], int(pos), int(has_gauss), float(cached)],
        "cuda": cuda is not None,
    }


def _streams_from_json(
    saved: Mapping[str, Any], prefix: str, tensors: Mapping[str, torch.Tensor], used: set[str]
) -> tuple[Any, Any, torch.Tensor, torch.Tensor | None]:
    """Invert :func:`_streams_json` (``random.setstate`` and ``np.random.set_state`` check the
    values when the states are swapped in: checked here once by trying them)."""
    version, internal, gauss = saved["python"]
    python = (int(version), tuple(int(v) for v in internal), gauss)
    keys, pos, has_gauss, cached = saved["numpy"]
    numpy_state = ("MT19937", np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss),
                   float(cached))  # fmt: skip
    random.Random().setstate(python)
    np.random.RandomState().set_state(numpy_state)
    torch_state = tensors[f"{prefix}.torch"]
    torch.Generator().set_state(torch_state)
    used.add(f"{prefix}.torch")
    cuda = None
    if saved["cuda"]:
        cuda = tensors[f"{prefix}.cuda"]
        used.add(f"{prefix}.cuda")
    return python, numpy_state, torch_state, cuda


def _env_layers(env: gym.Env) -> list[Any]:
    """The wrappers of one agent's env from the outside in, then the unwrapped env."""
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def _exact_env(env: gym.Env) -> bool:
    """Whether every layer of ``env`` is one whose state :func:`_env_state` saves: SB3's
    Monitor, :class:`RecordingWrapper`, gymnasium's order, checker and time-limit wrappers
    around a plasticgym task (``TaskEnv``)."""
    from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
    from stable_baselines3.common.monitor import Monitor

    from plasticgym.envs._base import TaskEnv

    known = (Monitor, RecordingWrapper, OrderEnforcing, PassiveEnvChecker, TimeLimit)
    *wrappers, inner = _env_layers(env)
    return isinstance(inner, TaskEnv) and all(type(w) in known for w in wrappers)


def _env_state(env: gym.Env, prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The state of an env that :func:`_exact_env` accepts: each wrapper's counters, the
    task's state arrays, random stream and generator (JSON, arrays into ``tensors``)."""
    from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
    from stable_baselines3.common.monitor import Monitor

    state: dict[str, Any] = {}
    *wrappers, task = _env_layers(env)
    for layer in wrappers:
        if isinstance(layer, Monitor):
            state["monitor"] = {name: [float(v) for v in getattr(layer, name)]
                                for name in _MONITOR_FIELDS}  # fmt: skip
            state["monitor"]["needs_reset"] = bool(layer.needs_reset)
            state["monitor"]["total_steps"] = int(layer.total_steps)
        elif isinstance(layer, RecordingWrapper):
            state["recording_obs"] = layer._obs is not None
            if layer._obs is not None:
                tensors[f"{prefix}.recording_obs"] = torch.as_tensor(np.array(layer._obs))
        elif isinstance(layer, OrderEnforcing):
            state["has_reset"] = bool(layer._has_reset)
        elif isinstance(layer, TimeLimit):
            state["elapsed_steps"] = layer._elapsed_steps
        elif isinstance(layer, PassiveEnvChecker):
            state["checked"] = [bool(layer.checked_reset), bool(layer.checked_step)]
    state["task_started"] = task._state is not None
    if task._state is not None:
        for name, array in task._state._asdict().items():
            tensors[f"{prefix}.task.{name}"] = torch.as_tensor(np.array(array))
        arrays, rng_states = task._streams.get_state()
        for name, array in arrays.items():
            tensors[f"{prefix}.task.{name}"] = torch.as_tensor(array)
        state["task_rng"] = rng_states[0]
        state["task_done"] = bool(task._done)
    return state


def _restore_env_state(
    env: gym.Env,
    state: Mapping[str, Any],
    prefix: str,
    tensors: Mapping[str, torch.Tensor],
    used: set[str],
) -> None:
    """Load what :func:`_env_state` saved into a freshly made env of the same task."""
    from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
    from stable_baselines3.common.monitor import Monitor

    def take(name: str) -> np.ndarray:
        used.add(f"{prefix}.{name}")
        return tensors[f"{prefix}.{name}"].numpy().copy()

    *wrappers, task = _env_layers(env)
    for layer in wrappers:
        if isinstance(layer, Monitor):
            saved = state["monitor"]
            for name in _MONITOR_FIELDS:
                setattr(layer, name, [float(v) for v in saved[name]])
            layer.needs_reset = bool(saved["needs_reset"])
            layer.total_steps = int(saved["total_steps"])
        elif isinstance(layer, RecordingWrapper):
            layer._obs = take("recording_obs") if state["recording_obs"] else None
        elif isinstance(layer, OrderEnforcing):
            layer._has_reset = bool(state["has_reset"])
        elif isinstance(layer, TimeLimit):
            elapsed = state["elapsed_steps"]
            layer._elapsed_steps = None if elapsed is None else int(elapsed)
        elif isinstance(layer, PassiveEnvChecker):  # (its checks only warn: not repeated)
            layer.checked_reset, layer.checked_step = (bool(v) for v in state["checked"])
            if layer.checked_step:
                layer.checked_data_reuse, layer._previous_data = True, None
    if state["task_started"]:
        template = task.dynamics.empty_state(1)
        arrays = {name: take(f"task.{name}") for name in template._fields}
        for name, like in template._asdict().items():
            if arrays[name].shape != like.shape or arrays[name].dtype != like.dtype:
                raise ValueError(f"task state {name!r} must be {like.dtype} of shape {like.shape}")
        restored = type(template)(**arrays)
        task.dynamics.check_state(restored)
        streams = type(task._streams)(1, task._streams.block)
        stream_arrays = {name: take(f"task.{name}") for name in ("stream_buffer",
                                                                 "stream_position")}  # fmt: skip
        streams.set_state(stream_arrays, [state["task_rng"]])
        task._state, task._streams, task._done = restored, streams, bool(state["task_done"])
        task._np_random = streams.generators[0]  # (one generator, as after reset(seed=))


def _continuation(
    i: int,
    model: Any,
    env: RecordingWrapper,
    learn_states: tuple[Any, Any, torch.Tensor, torch.Tensor | None] | None,
    predict: tuple[_GlobalStreams, np.random.Generator],
    tensors: dict[str, torch.Tensor],
) -> dict[str, Any] | None:
    """What agent ``i`` needs, beyond :func:`_model_checkpoint`, to continue exactly as if it
    had never stopped, or None where that is not possible (an env whose state cannot be saved,
    dict observations): the global-generator states of learning and predicting, the action
    space's generator, the last observation and episode starts, SB3's episode-info buffers,
    DQN's replay buffer, the vector env's pending seeds and the env chain's state."""
    venv = model.env
    if learn_states is None or not _exact_env(venv.envs[0]) or isinstance(model._last_obs, dict):
        return None
    prefix = f"agent{i}.continue"
    predict_streams, predict_rng = predict
    assert predict_streams.states is not None
    state: dict[str, Any] = {
        "learn_streams": _streams_json(learn_states, f"{prefix}.learn", tensors),
        "predict_streams": _streams_json(predict_streams.states, f"{prefix}.predict", tensors),
        "predict_space_rng": predict_rng.bit_generator.state,
        "action_space_rng": model.action_space.np_random.bit_generator.state,
        "seeds": [None if s is None else int(s) for s in venv._seeds],
        "ep_info_buffer": None if model.ep_info_buffer is None else list(model.ep_info_buffer),
        "ep_success_buffer": (
            None if model.ep_success_buffer is None else list(model.ep_success_buffer)
        ),
        "last_obs": model._last_obs is not None,
        "env": _env_state(venv.envs[0], f"{prefix}.env", tensors),
    }
    for name in ("_last_obs", "_last_episode_starts", "_last_original_obs"):
        value = getattr(model, name, None)
        if value is not None:
            tensors[f"{prefix}.{name.lstrip('_')}"] = torch.as_tensor(np.array(value))
    state["last_original_obs"] = getattr(model, "_last_original_obs", None) is not None
    lstm = getattr(model, "_last_lstm_states", None)  # RecurrentPPO: the LSTMs' hidden/cell
    state["lstm"] = lstm is not None
    if lstm is not None:
        for name, tensor in _lstm_tensors(lstm).items():
            tensors[f"{prefix}.lstm.{name}"] = tensor.detach().cpu().clone()
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        n = buffer.buffer_size if buffer.full else buffer.pos
        for name in _REPLAY_FIELDS:
            array = getattr(buffer, name, None)
            if array is not None:
                tensors[f"{prefix}.replay.{name}"] = torch.as_tensor(np.array(array[:n]))
        state["replay"] = {"pos": int(buffer.pos), "full": bool(buffer.full)}
    return state


def _lstm_tensors(states: Any) -> dict[str, torch.Tensor]:
    """RecurrentPPO's ``RNNStates(pi=(hidden, cell), vf=(hidden, cell))`` by name."""
    return {
        f"{part}.{kind}": getattr(states, part)[k]
        for part in ("pi", "vf")
        for k, kind in enumerate(("hidden", "cell"))
    }


def _restore_continuation(
    i: int,
    agent: SB3Agent,
    state: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    used: set[str],
) -> None:
    """Load what :func:`_continuation` saved into agent ``i``'s rebuilt model and env."""
    model, prefix = agent.models[i], f"agent{i}.continue"

    def take(name: str) -> np.ndarray:
        used.add(f"{prefix}.{name}")
        return tensors[f"{prefix}.{name}"].numpy().copy()

    agent._learn_streams[i].states = _streams_from_json(
        state["learn_streams"], f"{prefix}.learn", tensors, used
    )
    agent._predict_streams[i].states = _streams_from_json(
        state["predict_streams"], f"{prefix}.predict", tensors, used
    )
    agent._predict_space_rngs[i].bit_generator.state = state["predict_space_rng"]
    model.action_space.np_random.bit_generator.state = state["action_space_rng"]
    venv = model.env
    seeds = state["seeds"]
    if not isinstance(seeds, list) or len(seeds) != venv.num_envs:
        raise ValueError(f"seeds={seeds!r} must be a list of {venv.num_envs}")
    venv._seeds = [None if s is None else int(s) for s in seeds]
    for name, size in (("ep_info_buffer", model._stats_window_size),
                       ("ep_success_buffer", model._stats_window_size)):  # fmt: skip
        saved = state[name]
        if saved is not None:
            from collections import deque

            setattr(model, name, deque(saved, maxlen=size))
    if state["last_obs"]:
        model._last_obs = take("last_obs")
        model._last_episode_starts = take("last_episode_starts")
        if state["last_original_obs"]:
            model._last_original_obs = take("last_original_obs")
        if model._last_obs.shape != (venv.num_envs, *model.observation_space.shape):
            raise ValueError(f"last_obs has shape {model._last_obs.shape}")
    _restore_env_state(venv.envs[0], state["env"], f"{prefix}.env", tensors, used)
    if state.get("lstm", False):
        lstm = getattr(model, "_last_lstm_states", None)
        if lstm is None:
            raise ValueError("the checkpoint holds LSTM states but the model has no LSTM")
        for name, target in _lstm_tensors(lstm).items():
            values = torch.as_tensor(take(f"lstm.{name}"))
            if values.shape != target.shape or values.dtype != target.dtype:
                raise ValueError(
                    f"lstm.{name} must be {target.dtype} of shape {tuple(target.shape)}"
                )
            target.copy_(values.to(target.device))
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        replay = state["replay"]
        n = buffer.buffer_size if replay["full"] else int(replay["pos"])
        check_number("replay.pos", replay["pos"], 0, buffer.buffer_size - 1, integer=True)
        for name in _REPLAY_FIELDS:
            array = getattr(buffer, name, None)
            if array is None:
                continue
            values = take(f"replay.{name}")
            if values.shape != (n, *array.shape[1:]) or values.dtype != array.dtype:
                raise ValueError(
                    f"replay {name} must be {array.dtype} of shape {(n, *array.shape[1:])}"
                )
            array[:n] = values
        buffer.pos, buffer.full = int(replay["pos"]), bool(replay["full"])


def _holds_agent_runs(run_dir: Path) -> bool:
    """True if ``run_dir`` still holds an agent's TensorBoard events (``agent_<i>/``)."""
    return any(run_dir.glob("agent_*/events.out.tfevents.*"))


def _checked_population(
    meta: Mapping[str, Any], n_agents: int
) -> tuple[PopulationSeeds, list[dict[str, Any]]]:
    """The seeds and each agent's saved counters from checkpoint metadata; KeyError,
    TypeError or ValueError if they are invalid."""
    seeds = PopulationSeeds(**meta["seeds"])
    seeds = PopulationSeeds(seeds.entropy, tuple(seeds.model), tuple(seeds.predict))
    agents = meta["agents"]
    if not (len(seeds.model) == len(seeds.predict) == len(agents) == n_agents):
        raise ValueError(f"seeds and counters must have n_agents={n_agents} entries")
    for agent_meta in agents:
        for name, value in agent_meta["counters"].items():
            check_number(name, value, 0, integer=True)
        check_number("env_steps", agent_meta["env_steps"], 0, integer=True)
        check_number("env_episode", agent_meta["env_episode"], -1, integer=True)
        for name, value in agent_meta["floats"].items():
            check_number(name, value)
    for value in (*seeds.model, *seeds.predict):
        check_number("seed", value, 0, 2**32 - 1, integer=True)
    return seeds, agents


def _split_callback(callback: Any) -> tuple[list[Any], Callback | None]:
    """The SB3 callbacks to pass to each ``model.learn`` and the function to call after every
    env step (see :meth:`SB3Agent.learn`)."""
    from stable_baselines3.common.callbacks import BaseCallback

    if isinstance(callback, BaseCallback):
        return [callback], None
    if isinstance(callback, list) and all(isinstance(c, BaseCallback) for c in callback):
        return list(callback), None
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function or SB3 BaseCallback, got {callback!r}")
    return [], callback


_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_n_calls")


# --------------------------------------------------------------------------------------------
# The agent
# --------------------------------------------------------------------------------------------


def _contrib_version(algo: str) -> dict[str, str]:
    """``{"sb3_contrib": version}`` for the algorithms of sb3-contrib, else empty."""
    if algo not in RECURRENT_ALGOS:
        return {}
    import sb3_contrib

    return {"sb3_contrib": sb3_contrib.__version__}


def _folderless_logger(verbose: int) -> Any:
    """An SB3 logger that writes to stdout (``verbose > 0``) or nowhere, and makes no folder.

    Without one, ``model.learn`` calls SB3's ``configure(None, ...)``, which creates
    ``<tempdir>/SB3-<date>`` for every model even when nothing is logged.
    """
    from stable_baselines3.common.logger import HumanOutputFormat, Logger

    return Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if verbose else [])


class SB3Agent:
    """A population of ``n_agents`` independent Stable-Baselines3 models (PPO, A2C or DQN) with
    plasticgym's agent API: ``learn``, ``predict``, ``records``, ``save``, ``load``.

    Args:
        env: a registered env id (``gym.make`` is called once per agent with ``env_kwargs``),
            a ``gymnasium.Env`` (``n_agents=1``) or a list of ``n_agents`` envs.
        algo: "PPO", "A2C", "DQN" or "RecurrentPPO" (case-insensitive; the last from
            sb3-contrib). DQN needs a ``Discrete`` action space; the others also take ``Box``
            actions.
        n_agents: independent models, one env copy each.
        seed: one seed for the population (see :func:`population_seeds`); ``None`` draws fresh
            entropy, kept in ``agent.seeds.entropy`` for replay.
        env_kwargs: keyword arguments for making ``env`` from its id.
        tensorboard_log: folder for TensorBoard runs (SB3's tags, one subfolder per agent);
            None disables logging.
        tb_log_name: the run's name in that folder (``tb_log_name_N``); default the algo.
        verbose: SB3's verbosity (0, 1, 2); >= 1 also prints a summary after each ``learn``.
        device: torch device of the models ("cpu" is the deterministic choice).
        **algo_kwargs: keyword arguments of SB3's algorithm class (``policy`` defaults to
            "MlpPolicy"; ``learning_rate``, ``n_steps``, ``batch_size``, ``policy_kwargs``...).

    Attributes:
        models: the SB3 models, one per agent (use them for anything SB3 offers).
        envs: each agent's env, wrapped in :class:`RecordingWrapper`.
        seeds: :class:`PopulationSeeds`.
        run_dir: the TensorBoard run folder or None.
        learning_agent: index of the agent being trained while ``learn`` runs, else None.
    """

    def __init__(
        self,
        env: str | gym.Env | Sequence[gym.Env],
        *,
        algo: str = "PPO",
        n_agents: int = 1,
        seed: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        tensorboard_log: str | Path | None = None,
        tb_log_name: str | None = None,
        verbose: int = 0,
        device: str | torch.device = "cpu",
        **algo_kwargs: Any,
    ) -> None:
        _require_sb3()
        self.algo = check_algo(algo)
        prefix = self.algo if tb_log_name is None else check_run_name(tb_log_name)
        check_number("n_agents", n_agents, 1, integer=True)
        check_number("verbose", verbose, 0, 2, integer=True)
        self.n_agents = n_agents
        self.verbose = verbose
        self.device = check_device(device)
        self.algo_kwargs = _checked_algo_kwargs(self.algo, algo_kwargs)
        self.seeds = population_seeds(seed, n_agents)
        self._check_memory(env, env_kwargs)
        envs, self.env_id, self.env_kwargs = _agent_envs(env, n_agents, env_kwargs)
        self._check_action_space(envs)
        self.run_dir = next_run_dir(tensorboard_log, prefix) if tensorboard_log else None
        self.run_id = write_run_marker(self.run_dir) if self.run_dir else None
        self._build(envs, self.seeds.model, self.seeds.predict)

    # ------------------------------------------------------------------ construction

    def _check_memory(self, env: Any, env_kwargs: Mapping[str, Any] | None) -> None:
        """Refuse (:class:`~plasticgym.guards.MemoryLimitError`) buffers that would not fit in
        memory: ``n_agents`` x (the buffer of :func:`_buffer_bytes` + :data:`MODEL_BYTES`),
        estimated on one env before any model or env copy is made."""
        if isinstance(env, str):
            check_env_id(env)
            probe = gym.make(env, **json_kwargs(env_kwargs or {}))
        else:
            probe = env if isinstance(env, gym.Env) else env[0] if env else None
        if probe is None:
            return
        try:
            per_agent = _buffer_bytes(self.algo, self.algo_kwargs, probe) + MODEL_BYTES
        finally:
            if isinstance(env, str):
                probe.close()
        size = "buffer_size" if self.algo == "DQN" else "n_steps"
        kind = "replay" if self.algo == "DQN" else "rollout"
        check_memory(
            f"SB3Agent({self.algo}) with n_agents={self.n_agents:,} (a {kind} buffer of "
            f"{format_bytes(per_agent - MODEL_BYTES)} per agent, from {size})",
            per_agent * self.n_agents,
            f"Use a smaller {size} (--set {size}=N) or fewer agents.",
        )

    def _check_action_space(self, envs: list[gym.Env]) -> None:
        space = envs[0].action_space
        if self.algo == "DQN" and not isinstance(space, gym.spaces.Discrete):
            for env in envs:
                env.close()
            raise ValueError(
                f"DQN needs a Discrete action space, but {self.env_id or 'the env'} has {space}; "
                "use algo='PPO' or 'A2C' for Box actions"
            )

    def _build(
        self, envs: list[gym.Env], model_seeds: Sequence[int], predict_seeds: Sequence[int]
    ) -> None:
        """Make one SB3 model per env, each with its own global streams."""
        cls = algo_class(self.algo)
        from stable_baselines3.common.logger import configure

        kwargs = dict(self.algo_kwargs)
        policy = kwargs.pop("policy", DEFAULT_POLICY.get(self.algo, "MlpPolicy"))
        self.envs = [RecordingWrapper(env, i) for i, env in enumerate(envs)]
        self.models: list[Any] = []
        self._learn_streams: list[_GlobalStreams] = []
        self._predict_streams: list[_GlobalStreams] = []
        self._predict_space_rngs: list[np.random.Generator] = []
        for i, env in enumerate(self.envs):
            streams = _GlobalStreams(self.device)
            with streams.active():  # SB3's constructor seeds the global generators
                try:
                    # a copy each: A2C writes its RMSprop settings into the policy_kwargs it
                    # is given, which would leak into the caller's dict and the next model
                    model = cls(policy, env, seed=model_seeds[i], device=self.device,
                                verbose=self.verbose, **copy.deepcopy(kwargs))  # fmt: skip
                except (AssertionError, ZeroDivisionError, TypeError, KeyError) as error:
                    reason = " ".join(str(error).split()) or type(error).__name__
                    raise ValueError(
                        f"Stable-Baselines3 {self.algo} refuses the arguments "
                        f"{self.algo_kwargs}: {reason}"
                    ) from None
            if self.run_dir is not None:
                formats = ["tensorboard", *(["stdout"] if self.verbose else [])]
                model.set_logger(configure(str(self.run_dir / f"agent_{i}"), formats))
            else:  # SB3's own default logger makes an SB3-<date> folder in the temp directory
                model.set_logger(_folderless_logger(self.verbose))
            env.evaluate = _transition_evaluator(model, self.algo)
            self.models.append(model)
            self._learn_streams.append(streams)
            self._predict_streams.append(_GlobalStreams.seeded(predict_seeds[i], self.device))
            self._predict_space_rngs.append(np.random.default_rng(predict_seeds[i]))
        self.learning_agent: int | None = None
        self._records_cache: pd.DataFrame | None = None
        self._user_callback: Callback | None = None
        self._bar: Any = None
        self._stop = False

    # ------------------------------------------------------------------ learning

    @property
    def num_timesteps(self) -> int:
        """Env steps taken by every agent (the fewest, if a callback stopped one early)."""
        return min(int(model.num_timesteps) for model in self.models)

    def learn(
        self,
        total_timesteps: int,
        *,
        callback: Callback | Any | None = None,
        progress_bar: bool = False,
        record: bool = False,
        record_to: str | Path | None = None,
    ) -> SB3Agent:
        """Train every agent for ``total_timesteps`` more env steps of its own, one agent after
        another. SB3 rounds up to whole rollouts: each agent runs
        :func:`rollout_steps` steps (e.g. 2048 for PPO's default ``n_steps=2048`` and
        ``total_timesteps=1000``), which the progress bar counts.

        Args:
            total_timesteps: env steps per agent.
            callback: a function called as ``callback(agent)`` after every env step of every
                agent (``agent.learning_agent`` says which); returning False stops this
                ``learn`` for the whole population. An SB3 ``BaseCallback`` (or a list of
                them) is passed to each model's ``learn`` instead: the same instance for
                every agent, so a stateful one (e.g. ``StopTrainingOnMaxEpisodes``) carries
                its counts from one agent to the next.
            progress_bar: show one tqdm bar over all agents' steps.
            record: append one row per agent per step to :attr:`records`.
            record_to: not supported (``ValueError``): SB3Agent's records stay in memory.
        """
        check_number("total_timesteps", total_timesteps, 0, integer=True)
        if record_to is not None:
            raise ValueError(
                f"record_to={str(record_to)!r}: SB3Agent keeps its records in memory; "
                "use record=True and save_records(agent.records, path)"
            )
        return self._learn_each([total_timesteps] * self.n_agents, callback, progress_bar, record)

    def learn_to(
        self,
        total_timesteps: int,
        *,
        callback: Callback | Any | None = None,
        progress_bar: bool = False,
        record: bool = False,
    ) -> SB3Agent:
        """Train each agent until it has run ``total_timesteps`` env steps of its own (those
        past it already are skipped): how a resumed run goes on from a checkpoint written
        while one agent was part-way (see :meth:`save`). With whole rollouts, as :meth:`learn`,
        each agent ends where an uninterrupted ``learn(total_timesteps)`` from 0 ends."""
        check_number("total_timesteps", total_timesteps, 0, integer=True)
        remaining = [max(0, total_timesteps - int(m.num_timesteps)) for m in self.models]
        return self._learn_each(remaining, callback, progress_bar, record)

    def _learn_each(
        self, steps: Sequence[int], callback: Any, progress_bar: bool, record: bool
    ) -> SB3Agent:
        """Train agent ``i`` for ``steps[i]`` more env steps, one agent after another."""
        sb3_callbacks, self._user_callback = _split_callback(callback)
        hook = _step_hook_class()(self._after_step)
        self._stop = False
        before = sum(int(model.num_timesteps) for model in self.models)
        started = time.perf_counter()
        try:
            bar_total = sum(rollout_steps(self.algo, self.algo_kwargs, n) or n for n in steps)
            with (
                step_bar(progress_bar, bar_total, self.algo) as self._bar,
                learning_threads(1, self.device),  # one small network at a time
            ):
                for i, (model, env) in enumerate(zip(self.models, self.envs, strict=True)):
                    if self._stop:
                        break
                    if steps[i] == 0:
                        continue
                    self.learning_agent = i
                    env.recording = record
                    with self._learn_streams[i].active():
                        model.learn(steps[i], callback=[hook, *sb3_callbacks],
                                    reset_num_timesteps=False, progress_bar=False)  # fmt: skip
                    env.recording = False
        finally:
            for env in self.envs:
                env.recording = False
            self.learning_agent, self._user_callback, self._bar = None, None, None
            self._records_cache = None
        if self.verbose:
            steps_run = sum(int(model.num_timesteps) for model in self.models) - before
            elapsed = time.perf_counter() - started
            print(
                f"SB3Agent({self.algo}): {steps_run} agent-steps ({self.n_agents} agents) in "
                f"{elapsed:.1f} s ({steps_run / max(elapsed, 1e-9):,.0f} agent-steps/s)"
            )
        return self

    def _after_step(self) -> bool:
        if self._bar is not None and self._bar.n < self._bar.total:  # never past 100%
            self._bar.update(1)
        if self._user_callback is not None and self._user_callback(self) is False:
            self._stop = True
            return False
        return True

    # ------------------------------------------------------------------ acting

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Actions for observations (Stable-Baselines3's signature).

        ``observation`` is one observation (every agent answers it) or a batch
        ``[n_agents, ...]`` (agent i answers row i). PPO, A2C and DQN are not recurrent:
        ``state`` and ``episode_start`` are ignored and the returned state is None. For
        RecurrentPPO, ``state`` is None (fresh LSTM states) or the list of per-agent states a
        previous call returned, ``episode_start`` (one bool per agent) resets them, and the
        returned state is the new list. Random draws (``deterministic=False``) come from each
        agent's predict streams, so they do not change what ``learn`` does.

        Returns:
            ``(actions, state)``: actions ``[n_agents, *action_shape]`` (just the action for a
            single agent given a single observation).
        """
        shape = tuple(self.envs[0].observation_space.shape or ())
        obs = np.asarray(observation)
        single = obs.shape == shape
        if not single and obs.shape != (self.n_agents, *shape):
            raise ValueError(
                f"observation has shape {obs.shape}; expected {shape} (one observation) or "
                f"{(self.n_agents, *shape)} (one per agent)"
            )
        recurrent = self.algo in RECURRENT_ALGOS
        states = list(state) if recurrent and state is not None else [None] * self.n_agents
        if len(states) != self.n_agents:
            raise ValueError(f"state has {len(states)} entries; expected one per agent")
        starts = None
        if recurrent and episode_start is not None:
            starts = np.asarray(episode_start, dtype=bool).reshape(self.n_agents)
        actions = []
        for i, model in enumerate(self.models):
            extra = {}
            if recurrent:
                start = None if starts is None else starts[i : i + 1]
                extra = {"state": states[i], "episode_start": start}
            with (
                self._predict_streams[i].active(),
                _space_generator(model.action_space, self._predict_space_rngs[i]),
            ):
                action, states[i] = model.predict(
                    obs if single else obs[i], deterministic=deterministic, **extra
                )
            actions.append(np.asarray(action))
        stacked = np.stack(actions)
        return (stacked[0] if single and self.n_agents == 1 else stacked), (
            states if recurrent else None
        )

    # ------------------------------------------------------------------ records

    @property
    def records(self) -> pd.DataFrame:
        """Rows recorded by every ``learn(record=True)``: one per agent per env step, ordered by
        agent then step; core columns first, then the task's scalar info entries (see the
        module docstring for ``value``, ``rpe`` and ``dopamine``)."""
        if self._records_cache is None:
            # each agent's rows are in step order, and the agents follow one another
            rows = [row for env in self.envs for row in env.rows]
            frame = record_table([pd.DataFrame.from_records(rows)] if rows else [])
            if self.learning_agent is not None:  # (read part-way: rows are still coming)
                return frame
            self._records_cache = frame
        return self._records_cache

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Save every model's policy and optimizer tensors and the JSON metadata to one
        ``.safetensors`` file, atomically (see the module docstring for what is restored).
        Returns the path."""
        import stable_baselines3

        tensors: dict[str, torch.Tensor] = {}
        pairs = enumerate(zip(self.models, self.envs, strict=True))
        agents = [_model_checkpoint(i, model, env, tensors) for i, (model, env) in pairs]
        continuation = []
        for i, (model, env) in enumerate(zip(self.models, self.envs, strict=True)):
            streams = self._learn_streams[i]
            live = streams._read() if i == self.learning_agent else streams.states
            predict = (self._predict_streams[i], self._predict_space_rngs[i])
            continuation.append(_continuation(i, model, env, live, predict, tensors))
        refuse_nonfinite(f"SB3Agent({self.algo})", tensors)
        meta = {
            "agent": type(self).__name__,
            "algo": self.algo,
            "algo_kwargs": _encode(self.algo_kwargs, "algo_kwargs"),
            "n_agents": self.n_agents,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seeds": self.seeds._asdict(),
            "agents": agents,
            "continuation": continuation,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "run_id": getattr(self, "run_id", None),
            "verbose": self.verbose,
            "device": self.device.type,
            "versions": {
                "stable_baselines3": stable_baselines3.__version__,
                "torch": torch.__version__,
                **_contrib_version(self.algo),
            },
        }
        check_json(meta)
        return save_checkpoint(path, tensors, meta)

    @classmethod
    def load(
        cls,
        path: str | Path,
        env: str | gym.Env | Sequence[gym.Env] | None = None,
        *,
        device: str | torch.device = "cpu",
    ) -> SB3Agent:
        """Rebuild an agent saved by :meth:`save` (weights, optimizer state, counters).

        With ``env=None`` each agent's env is made afresh from the saved id and arguments; a
        given ``env`` (an id, or env instances) is used instead. The agent starts a new episode
        at the next ``learn``, with fresh random streams: see the module docstring for what
        is not restored.
        """
        _require_sb3()
        tensors, meta, saved = open_checkpoint(path, cls)
        with invalid_metadata(path):
            algo = check_algo(meta["algo"])
            algo_kwargs = _checked_algo_kwargs(algo, _decode(meta["algo_kwargs"]))
            seeds, agents = _checked_population(meta, saved.n_agents)
        restoring_env = env is None
        env = saved.env_to_load(env, path)
        agent = cls.__new__(cls)
        agent.algo, agent.n_agents, agent.verbose = algo, saved.n_agents, saved.verbose
        agent.device = check_device(device)
        agent.algo_kwargs, agent.seeds = algo_kwargs, seeds
        env_kwargs = saved.env_kwargs if isinstance(env, str) else None
        with invalid_metadata(path):
            for name in ("run_dir", "run_id"):
                if meta.get(name) is not None and not isinstance(meta[name], str):
                    raise ValueError(f"{name}={meta[name]!r} must be a string or null")
            agent._check_memory(env, env_kwargs)
            envs, agent.env_id, agent.env_kwargs = _agent_envs(env, saved.n_agents, env_kwargs)
        agent._check_action_space(envs)
        agent.run_dir = checked_run_dir(meta.get("run_dir"), meta.get("run_id"), _holds_agent_runs)
        agent.run_id = meta.get("run_id") if agent.run_dir else None
        steps = [a["counters"].get("num_timesteps", 0) for a in agents]
        try:
            agent._build(
                envs,
                [_continuation_seed(s, n) for s, n in zip(seeds.model, steps, strict=True)],
                [_continuation_seed(s, n) for s, n in zip(seeds.predict, steps, strict=True)],
            )
        except (TypeError, ValueError, AssertionError) as error:
            raise CheckpointError(f"{path}: cannot rebuild the {algo} models: {error}") from None
        used: set[str] = set()
        triples = zip(agent.models, agent.envs, agents, strict=True)
        for i, (model, env, agent_meta) in enumerate(triples):
            _restore_model(i, model, env, agent_meta, tensors, used, path)
        continuation = meta.get("continuation")
        same_device = meta.get("device", "cpu") == agent.device.type
        if continuation is not None:
            if not isinstance(continuation, list) or len(continuation) != saved.n_agents:
                raise CheckpointError(f"{path}: continuation must list {saved.n_agents} entries")
            for i, state in enumerate(continuation):
                if state is None or not (restoring_env and same_device):
                    used.update(n for n in tensors if n.startswith(f"agent{i}.continue."))
                    continue
                try:
                    _restore_continuation(i, agent, state, tensors, used)
                except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
                    raise CheckpointError(
                        f"{path}: cannot restore agent {i}'s continuation state: {error}"
                    ) from None
        unexpected = sorted(set(tensors) - used)
        if unexpected:
            raise CheckpointError(f"{path} has unexpected tensors: {unexpected[:5]}")
        return agent

    def close(self) -> None:
        """Close every env and SB3 logger."""
        for model, env in zip(self.models, self.envs, strict=True):
            if self.run_dir is not None:
                model.logger.close()
            env.close()
