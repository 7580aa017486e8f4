"""The vector env a population of agents learns on: one copy of the task per agent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import concatenate, iterate
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit


def population_env(
    env: str | gym.Env | gym.vector.VectorEnv,
    n_agents: int,
    env_kwargs: Mapping[str, Any] | None,
) -> tuple[gym.vector.VectorEnv, str | None, dict[str, Any]]:
    """A vector env with one copy of the task per agent, its id and its arguments."""
    if isinstance(env, str):
        kwargs = dict(env_kwargs or {})
        check_env_id(env)
        mode = "vector_entry_point" if gym.registry[env].vector_entry_point else "sync"
        vector_env = gym.make_vec(env, num_envs=n_agents, vectorization_mode=mode, **kwargs)
        if mode == "sync":
            vector_env = LoopVectorEnv.adopt(vector_env)
        return vector_env, env, json_kwargs(kwargs)
    if env_kwargs:
        raise ValueError("env_kwargs can only be given with an env id, not with an env instance")
    if isinstance(env, gym.vector.VectorEnv):
        if env.num_envs != n_agents:
            raise ValueError(
                f"the vector env has num_envs={env.num_envs} but n_agents={n_agents}; "
                "they must match"
            )
        spec = getattr(env, "spec", None)
        skip = ("num_envs", "vectorization_mode", "max_episode_steps")
        kwargs = {k: v for k, v in spec.kwargs.items() if k not in skip} if spec else {}
        return env, spec.id if spec else None, json_kwargs(kwargs)
    if isinstance(env, gym.Env):
        if n_agents != 1:
            raise ValueError(
                f"a single env serves one agent, got n_agents={n_agents}; pass an env id or a "
                "vector env for a population"
            )
        spec = env.spec
        kwargs = json_kwargs(dict(spec.kwargs)) if spec is not None else {}
        return gym.vector.SyncVectorEnv([lambda: env]), spec.id if spec else None, kwargs
    raise ValueError(
        f"env must be an env id, a gymnasium.Env or a gymnasium.vector.VectorEnv, got {env!r}"
    )


class LoopVectorEnv(gym.vector.SyncVectorEnv):
    """:class:`gymnasium.vector.SyncVectorEnv` with a leaner ``step`` for a task that has no
    native vector env: the same sub-envs stepped one after the other, with the same results
    (observations, rewards, flags, info, NEXT_STEP autoreset: the step after an episode ended
    resets that env, reward 0, not terminated).

    SyncVectorEnv's step writes each result into numpy arrays element by element, builds the
    info dict env by env and deep-copies the observations; here each step collects the results
    in Python lists, converts them once, builds the info only for sub-envs that report any
    (Gymnasium's ``_add_info``, so the same dict) and copies the observation array. A sub-env
    whose wrappers are only ``gym.make``'s standard ones (``TimeLimit``, ``OrderEnforcing``,
    ``PassiveEnvChecker``) is stepped through them until they have nothing left to check (it
    was reset, the checker saw its first steps), then its core env is stepped directly with
    ``TimeLimit``'s count kept in the wrapper itself (``_elapsed_steps += 1``; truncated once
    it reaches ``max_episode_steps``), exactly what the wrappers would do. Resets always go
    through the wrappers. Other autoreset modes use SyncVectorEnv's own step; ``reset``,
    ``render``, ``call`` and the rest are SyncVectorEnv's.
    """

    _bypass: list[Any] | None = None  # per sub-env: (core env, TimeLimit or None) or None

    @classmethod
    def adopt(cls, env: gym.vector.SyncVectorEnv) -> LoopVectorEnv:
        """Turn a SyncVectorEnv (e.g. from ``gym.make_vec(..., vectorization_mode="sync")``,
        whose spec and arguments it keeps) into a LoopVectorEnv, in place; returns it."""
        if type(env) is not gym.vector.SyncVectorEnv:
            raise ValueError(f"LoopVectorEnv.adopt needs a SyncVectorEnv, got {type(env).__name__}")
        env.__class__ = cls
        return env  # type: ignore[return-value]

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self.autoreset_mode != gym.vector.AutoresetMode.NEXT_STEP:
            return super().step(actions)
        n = self.num_envs
        rewards: list[Any] = [0.0] * n
        terminations = [False] * n
        truncations = [False] * n
        observations = self._env_obs
        autoreset = self._autoreset_envs.tolist()
        infos: dict[str, Any] = {}
        if self._bypass is None:
            self._bypass = [None] * n
        bypass = self._bypass
        actions_iter = iterate(self.action_space, actions)
        for i, (action, env) in enumerate(zip(actions_iter, self.envs, strict=True)):
            direct = bypass[i]
            if autoreset[i]:
                observations[i], info = env.reset()
            elif direct is not None:
                core, limit = direct
                observations[i], rewards[i], terminations[i], truncated, info = core.step(action)
                if limit is not None:  # TimeLimit.step
                    limit._elapsed_steps += 1
                    if limit._elapsed_steps >= limit._max_episode_steps:
                        truncated = True
                truncations[i] = truncated
            else:
                observations[i], rewards[i], terminations[i], truncations[i], info = env.step(
                    action
                )
                bypass[i] = direct_step(env)
            if info:
                infos = self._add_info(infos, info, i)
        self._rewards = np.array(rewards, dtype=np.float64)
        self._terminations = np.array(terminations, dtype=np.bool_)
        self._truncations = np.array(truncations, dtype=np.bool_)
        self._observations = concatenate(
            self.single_observation_space, observations, self._observations
        )
        self._autoreset_envs = np.logical_or(self._terminations, self._truncations)
        obs = self._observations
        plain = isinstance(obs, np.ndarray) and obs.dtype != object
        copied = obs.copy() if plain else deepcopy(obs)  # (deepcopy: SyncVectorEnv's copy)
        return (
            copied if self.copy else obs,
            self._rewards.copy(),
            self._terminations.copy(),
            self._truncations.copy(),
            infos,
        )


def direct_step(env: gym.Env) -> tuple[gym.Env, TimeLimit | None] | None:
    """``(core env, its TimeLimit or None)`` when ``env``'s wrappers are only ``TimeLimit``,
    ``OrderEnforcing`` and ``PassiveEnvChecker`` and none of them checks anything more (reset
    done, the checker's first steps seen), so that stepping the core env and counting the
    time limit is what ``env.step`` does; else None."""
    limit = None
    while isinstance(env, gym.Wrapper):
        kind = type(env)
        if kind is TimeLimit:
            limit = env
        elif kind is OrderEnforcing:
            if not env._has_reset:
                return None
        elif kind is PassiveEnvChecker:
            if not (env.checked_step and env.checked_data_reuse):
                return None
        else:
            return None
        env = env.env
    return env, limit


def json_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Env arguments as JSON would give them back (tuples become lists)."""
    try:
        return json.loads(json.dumps(dict(kwargs), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"env arguments must be JSON-serialisable to be checkpointed: {error}"
        ) from None


# ---------------------------------------------------------------------- shared by every agent
# (PopulationAgent above; SB3Agent, which trains by Stable-Baselines3's rollouts, uses them too)


def check_env_id(env_id: str) -> None:
    """Raise ValueError listing the plasticgym tasks unless ``env_id`` is registered."""
    if env_id not in gym.registry:
        registered = sorted(k for k in gym.registry if k.startswith("plasticgym/"))
        raise ValueError(f"unknown env id {env_id!r}; registered plasticgym tasks: {registered}")
