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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from plasticgym.agents import check_agent_kwargs, make_agent
from plasticgym.agents.vector_env import population_env
from plasticgym.config import check_number
from plasticgym.docs import task_ids
from plasticgym.experiments.stats import mean_ci
from plasticgym.guards import check_device, check_threads
from plasticgym.records import load_records, record_files, save_records
from plasticgym.seeding import seed_plan
from plasticgym.sweep import canonical_json
from plasticgym.threads import explicit_threads

LAST_FRACTION = 0.2
RECORD_COLUMNS = ("agent", "step", "episode", "reward")
"""Columns of :func:`random_records`."""


def run_trial(
    spec: dict[str, Any],
    out_dir: Path,
    *,
    progress_bar: bool = False,
    chance: bool = False,
    tensorboard: bool = False,
    checkpoint_every: int | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``spec["n_agents"]`` agents for ``spec["steps"]`` steps, write records and a
    checkpoint into ``out_dir``, return the metrics (see the module docstring);
    ``progress_bar`` shows the agent's bar (``plasticgym train`` does).

    With ``chance``, a uniform-random policy (:func:`random_records`: same task, population,
    steps and env seed) runs too, its records go to ``chance_records.parquet`` and the metrics
    gain ``chance_reward`` / ``chance_reward_last20`` (and their CIs: the same definitions as
    the agent's). With ``tensorboard``, the agent logs under ``out_dir / "tensorboard"``.

    The population agents stream their records to ``records.parquet`` as they learn
    (``learn(record_to=)``: memory bounded by one chunk of rows); Stable-Baselines3's keep them
    in memory and write them at each checkpoint and at the end.

    With ``checkpoint_every`` (steps per agent), ``agent.safetensors`` is written (atomically,
    after the records before it are on disk) whenever the step count is a multiple of it
    (Stable-Baselines3: at each model's first rollout start at or past a multiple), so a
    killed trial can go on: ``resume`` loads ``agent.safetensors`` and trains up to
    ``spec["steps"]``, dropping the rows the killed run recorded after the checkpoint.
    Records, weights and (population agents) TensorBoard curves then equal those of an
    uninterrupted trial; the caller checks that the spec is the checkpoint's.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    if checkpoint_every is not None:
        check_number("checkpoint_every", checkpoint_every, 1, integer=True)
    logs = {"tensorboard_log": str(out_dir / "tensorboard")} if tensorboard else {}
    checkpoint, records_path = out_dir / "agent.safetensors", out_dir / RECORDS
    streams = streams_records(spec["agent"])
    with explicit_threads(spec.get("threads")):  # None: each learn chooses (small: 1 thread)
        if resume:
            agent, earlier = resumed_agent(spec, out_dir)
        else:
            earlier = None
            agent = make_agent(
                spec["agent"],
                spec["env"],
                n_agents=spec["n_agents"],
                seed=spec["seed"],
                env_kwargs=spec["env_kwargs"],
                device=spec["device"],
                **logs,
                **spec["hyperparameters"],
            )
        first_step = agent.num_timesteps
        callback = None
        if checkpoint_every is not None and streams:

            def callback(trained: Any) -> None:
                step = trained.num_timesteps
                if step % checkpoint_every == 0 and step < spec["steps"]:
                    trained.save(checkpoint)  # (the stream's rows before it are on disk first)

        elif checkpoint_every is not None:

            def save(trained: Any) -> None:
                save_records(joined_records(earlier, trained.records), records_path)
                trained.save(checkpoint)

            callback = sb3_checkpoints(agent, checkpoint_every, save)
        learning = time.perf_counter()
        if streams:
            agent.learn(spec["steps"] - first_step, progress_bar=progress_bar,
                        callback=callback, record_to=records_path)  # fmt: skip
        else:  # (each agent up to the total: a resumed agent may be part-way)
            agent.learn_to(spec["steps"], progress_bar=progress_bar, callback=callback,
                           record=True)  # fmt: skip
        learn_s = time.perf_counter() - learning
        if streams:
            records = load_records(records_path, columns=METRIC_COLUMNS)
        else:
            records = joined_records(earlier, agent.records)
            save_records(records, records_path)
        agent.save(checkpoint)
        metrics = reward_metrics(records, agent.num_timesteps)
        del records
        agent.close()
    wall_s = time.perf_counter() - started  # the agent's trial, without the chance run
    if chance:
        rows = random_records(
            spec["env"], spec["n_agents"], agent.num_timesteps, spec["seed"], spec["env_kwargs"]
        )
        save_records(rows, out_dir / "chance_records.parquet")
        chance_metrics = reward_metrics(rows, agent.num_timesteps)
        metrics.update({f"chance_{k.removeprefix('mean_')}": v for k, v in chance_metrics.items()})
    learned = (agent.num_timesteps - first_step) * spec["n_agents"]
    return {
        **metrics,
        "agent_steps_per_s": learned / learn_s if learn_s > 0 else None,
        "wall_s": wall_s,
        "n_agents": spec["n_agents"],
        "steps": agent.num_timesteps,
    }


RECORDS = "records.parquet"
METRIC_COLUMNS = ("agent", "step", "reward")
"""The record columns :func:`reward_metrics` and :func:`plot_learning_curve` read."""


def streams_records(agent: str) -> bool:
    """Whether a trial of agent ``agent`` streams its records to ``records.parquet`` while it
    learns (the population agents: memory bounded by one chunk of rows) rather than keeping
    them in memory and writing them at each checkpoint (Stable-Baselines3's)."""
    from plasticgym.agents import agent_class
    from plasticgym.agents.base import PopulationAgent

    return issubclass(agent_class(agent), PopulationAgent)


def sb3_checkpoints(agent: Any, every: int, save: Callable[[Any], None]) -> Any:
    """A Stable-Baselines3 callback that calls ``save(agent)`` at the first rollout start of
    each model at or past every multiple of ``every`` of its env steps: between two rollouts,
    where nothing but what :meth:`~plasticgym.agents.sb3.SB3Agent.save` keeps is in flight
    (SB3 cannot stop inside a rollout), so a resumed run goes on exactly."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpoints(BaseCallback):
        def _on_training_start(self) -> None:
            self.mark = self.model.num_timesteps // every

        def _on_rollout_start(self) -> None:
            if self.model.num_timesteps // every > self.mark:
                self.mark = self.model.num_timesteps // every
                save(agent)

        def _on_step(self) -> bool:
            return True

    return Checkpoints()


def resumed_agent(spec: dict[str, Any], out_dir: Path) -> tuple[Any, pd.DataFrame | None]:
    """The agent of ``out_dir / agent.safetensors`` and the records before its step (None for
    an agent that streams them: its ``learn(record_to=)`` continues the file, dropping what a
    killed run wrote after the checkpoint), or ``ValueError`` if there is no checkpoint, it is
    not this spec's population, it is past ``spec["steps"]``, or the records lack steps before
    it."""
    from plasticgym.agents import agent_class

    path = out_dir / "agent.safetensors"
    if not path.is_file():
        raise ValueError(f"cannot resume: no checkpoint {path}; run without resuming to start")
    agent = agent_class(spec["agent"]).load(path, device=spec["device"])
    saved = {"n_agents": agent.n_agents, "env": agent.env_id, "env_kwargs": agent.env_kwargs,
             "seed": agent.seeds.entropy == seed_plan(spec["seed"]).entropy}  # fmt: skip
    given = {**{key: spec[key] for key in saved}, "seed": True}
    if saved != given:
        agent.close()
        raise ValueError(f"cannot resume: {path} holds {saved}, not the given {given}")
    step = agent.num_timesteps
    if step > spec["steps"]:
        agent.close()
        raise ValueError(
            f"cannot resume to steps={spec['steps']}: {path} has already run {step} steps"
        )
    lacks = f"cannot resume: {out_dir / RECORDS} lacks the records before step {step}"
    if streams_records(spec["agent"]):
        if step > 0 and not record_files(out_dir / RECORDS):
            agent.close()
            raise ValueError(lacks)
        return agent, None
    # Stable-Baselines3's agents, each at its own step (one may be part-way): every step of
    # theirs is a transition, so the rows before agent i's step are exactly that many
    steps = np.array([env.steps for env in agent.envs])
    records = load_records(out_dir / RECORDS) if (out_dir / RECORDS).is_file() else None
    if records is None and steps.sum() > 0:
        agent.close()
        raise ValueError(lacks)
    if records is None:
        return agent, None
    before = records[records["step"].to_numpy() < steps[records["agent"].to_numpy()]]
    if len(before) != steps.sum():
        agent.close()
        raise ValueError(f"{lacks} ({len(before)} rows for {int(steps.sum())} agent-steps)")
    return agent, before.reset_index(drop=True)


def joined_records(earlier: pd.DataFrame | None, later: pd.DataFrame) -> pd.DataFrame:
    """The records of a resumed trial: those saved before its checkpoint, then its own, as
    one table ordered by agent, then step (Stable-Baselines3's order; ``phase`` a category
    again, over both parts' values)."""
    if earlier is None:
        return later
    parts = [part.astype({"phase": object}) if "phase" in part else part
             for part in (earlier, later)]  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values(["agent", "step"], kind="stable", ignore_index=True)
    if "phase" in frame:
        frame["phase"] = frame["phase"].astype("category")
    return frame


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


def random_records(
    task: str, n_agents: int, steps: int, seed: int, env_kwargs: Mapping[str, Any]
) -> pd.DataFrame:
    """Records (``agent, step, episode, reward``) of ``n_agents`` uniform-random policies.

    The vector env's ``action_space.sample()`` draws from a generator seeded with ``seed``'s
    learn stream; the env is reset with its env seed, as the agents' envs are. As for the
    agents, the vector env's autoreset step (after an episode ended) is not a transition and
    gives no row.
    """
    env, _, _ = population_env(task, n_agents, env_kwargs)
    plan = seed_plan(seed)
    env.action_space.seed(plan.learn_seed)
    env.reset(seed=plan.env_seed)
    agents = np.arange(n_agents)
    autoreset = np.zeros(n_agents, dtype=bool)
    episode = np.zeros(n_agents, dtype=np.int64)
    chunks = []
    for step in range(steps):
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        episode += autoreset
        active = ~autoreset
        chunks.append((agents[active], np.full(active.sum(), step), episode[active].copy(),
                       np.asarray(reward, dtype=float)[active]))  # fmt: skip
        autoreset = np.asarray(terminated) | np.asarray(truncated)
    env.close()
    columns = (np.concatenate(parts) for parts in zip(*chunks, strict=True))
    frame = pd.DataFrame(dict(zip(RECORD_COLUMNS, columns, strict=True)))
    return frame.sort_values(["agent", "step"], kind="stable").reset_index(drop=True)


def learning_curve(rows: pd.DataFrame, window: int) -> pd.DataFrame:
    """Mean reward per step in consecutive bins of ``window`` steps: each agent's mean per bin,
    then the mean and 95% CI over agents. Index: the bin's first step; columns ``mean``,
    ``ci_low``, ``ci_high``."""
    bins = (rows["step"].to_numpy() // window) * window
    per_agent = rows.groupby([bins, rows["agent"].to_numpy()])["reward"].mean().unstack()
    stats = [mean_ci(values) for values in per_agent.to_numpy()]
    return pd.DataFrame(stats, index=per_agent.index, columns=["mean", "ci_low", "ci_high"])


def plot_learning_curve(
    records: pd.DataFrame,
    chance_records: pd.DataFrame | None,
    path: Path,
    *,
    title: str,
    agent_label: str = "agent",
    bins: int = 20,
) -> Path:
    """The reward per step over training in ``bins`` consecutive bins (each agent's mean per
    bin, then the mean and 95% CI band over agents; no band for one agent), with the random
    policy's curve when given; written as a PNG at ``path``."""
    from plasticgym.experiments.report import pyplot, save_figure

    plt = pyplot()
    steps = int(records["step"].max()) + 1
    window = max(1, math.ceil(steps / bins))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    n_agents = records["agent"].nunique()
    curves = [(agent_label, records, "C0")]
    if chance_records is not None:
        curves.append(("random policy (chance)", chance_records, "0.45"))
    for label, rows, color in curves:
        curve = learning_curve(rows, window)
        centres = curve.index + window / 2
        ax.plot(centres, curve["mean"], color=color, label=label, lw=1.4, marker="o", ms=3)
        if n_agents > 1:
            ax.fill_between(centres, curve["ci_low"], curve["ci_high"], color=color,
                            alpha=0.2, lw=0)  # fmt: skip
    ax.set_xlabel("step")
    ax.set_ylabel(f"reward per step ({window}-step bins)")
    band = f"mean and 95% CI over {n_agents} agents" if n_agents > 1 else "one agent"
    ax.set_title(f"{title}\n{band}", fontsize=10)
    ax.legend(frameon=False, fontsize=9)
    return save_figure(fig, path)
