"""The vector env a population of agents learns on: one copy of the task per agent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym


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
