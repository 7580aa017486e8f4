"""One trial: train a population of one agent on one task, save it, summarise its reward.

The unit of ``plasticgym train`` and of sweeps (:mod:`plasticgym.sweep`). A trial is a spec::

    spec = {"env": "plasticgym/ReversalBandit-v0", "agent": "q_learning", "seed": 0,
            "steps": 2000, "n_agents": 8, "env_kwargs": {}, "hyperparameters": {"gamma": 0.0},
            "device": "cpu", "threads": 1}
    metrics = run_trial(spec, Path("out"))

``agent`` is a name of :data:`plasticgym.agents.AGENTS`. The trial writes into its folder
``records.parquet`` (one row per agent per step) and ``agent.safetensors`` (the checkpoint),
and returns its metrics:

- ``mean_reward``: each agent's reward per step over the whole run, averaged over agents, with
  ``mean_reward_ci_low`` / ``mean_reward_ci_high`` (95% t interval over agents; null for one
  agent);
- ``mean_reward_last20`` (and its CI): the same over the last 20% of the steps, i.e. what the
  agents do once they have learned;
- ``agent_steps_per_s`` (learning only), ``wall_s`` (the whole trial), ``n_agents``, ``steps``
  (steps run per agent: Stable-Baselines3 agents round up to whole rollouts).

Rows are transitions: the vector env's autoreset step after an episode is not one.
"""

from __future__ import annotations

import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from plasticgym.agents import check_agent_kwargs, make_agent
from plasticgym.docs import task_ids
from plasticgym.experiments.stats import mean_ci
from plasticgym.guards import check_device, check_threads
from plasticgym.records import save_records
from plasticgym.sweep import canonical_json
from plasticgym.threads import explicit_threads

LAST_FRACTION = 0.2


def run_trial(spec: dict[str, Any], out_dir: Path, *, progress_bar: bool = False) -> dict[str, Any]:
    """Train ``spec["n_agents"]`` agents for ``spec["steps"]`` steps, write records and a
    checkpoint into ``out_dir``, return the metrics (see the module docstring);
    ``progress_bar`` shows the agent's bar (``plasticgym train`` does)."""
    started = time.perf_counter()
    with explicit_threads(spec.get("threads")):  # None: each learn chooses (small: 1 thread)
        agent = make_agent(
            spec["agent"],
            spec["env"],
            n_agents=spec["n_agents"],
            seed=spec["seed"],
            env_kwargs=spec["env_kwargs"],
            device=spec["device"],
            **spec["hyperparameters"],
        )
        learning = time.perf_counter()
        agent.learn(spec["steps"], record=True, progress_bar=progress_bar)
        learn_s = time.perf_counter() - learning
        out_dir = Path(out_dir)
        save_records(agent.records, out_dir / "records.parquet")
        agent.save(out_dir / "agent.safetensors")
        metrics = reward_metrics(agent.records, agent.num_timesteps)
        agent.close()
    return {
        **metrics,
        "agent_steps_per_s": agent.num_timesteps * spec["n_agents"] / learn_s,
        "wall_s": time.perf_counter() - started,
        "n_agents": spec["n_agents"],
        "steps": agent.num_timesteps,
    }


def reward_metrics(records: pd.DataFrame, steps: int) -> dict[str, float | None]:
    """Mean reward per step of each agent, over the run and over its last 20% of steps, as the
    mean and 95% CI over agents (None where undefined)."""
    last = records[records["step"] >= steps - max(1, math.ceil(LAST_FRACTION * steps))]
    metrics: dict[str, float | None] = {}
    for name, rows in (("mean_reward", records), ("mean_reward_last20", last)):
        per_agent = rows.groupby("agent")["reward"].mean().to_numpy()
        mean, low, high = mean_ci(per_agent)
        if len(per_agent) == 1:
            mean = float(per_agent[0])
        for key, value in ((name, mean), (f"{name}_ci_low", low), (f"{name}_ci_high", high)):
            metrics[key] = value if np.isfinite(value) else None
    return metrics


def check_spec(spec: dict[str, Any]) -> None:
    """Raise ``ValueError`` if the spec's agent, hyperparameters, env or env arguments are
    invalid, without training (a sweep checks every trial with it before running any)."""
    check_device(spec.get("device", "cpu"))
    if spec.get("threads") is not None:
        check_threads(spec["threads"])
    check_agent_kwargs(spec["agent"], spec["hyperparameters"])
    _check_env(spec["env"], canonical_json(spec["env_kwargs"]))


@functools.cache
def _check_env(env_id: str, env_kwargs: str) -> None:
    """Make the single env once (cached per id and arguments): arguments are checked then."""
    if env_id not in gym.registry:
        raise ValueError(f"unknown env id {env_id!r}; registered plasticgym tasks: {task_ids()}")
    gym.make(env_id, **json.loads(env_kwargs)).close()
