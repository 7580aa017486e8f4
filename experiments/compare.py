"""Every plasticity rule and every baseline on every task, in one table.

Each agent kind learns each task from scratch (a population of ``n_agents`` independent agents,
the seeds), with every step recorded. From the records alone come, per task and agent kind:

- **learning curves**: each agent's mean reward per step in consecutive windows of ``window``
  steps, as the mean and 95% t confidence band over agents;
- **final performance**: each agent's mean reward per step over the last 20% of the steps, as
  the mean and 95% t CI over agents (the definition of ``plasticgym train``,
  :func:`plasticgym.experiments.trial.reward_metrics`);
- **steps-to-criterion**: see :func:`steps_to_criterion` (the end of the first bin of
  ``window`` steps from which every later bin's mean reward meets the task's criterion, with
  at least :data:`HOLD_BINS` bins to the end: reached and kept), reported as the median over
  agents (agents that never reach it count as infinitely slow, so the median is NaN when half
  of them or more never do) and the fraction of agents that reach it. The random policy's row
  shows how often noise alone passes (an earlier version took a moving average's first
  crossing, which 69% of random agents passed);
- **throughput**: wall-clock seconds of ``learn`` and agent-steps per second;
- on TwoStep-v0, the **reward effect on staying** (``b_r`` of the stay regression of the
  ``two_step`` experiment; Daw et al. 2011) per agent kind, mean and 95% CI over agents. The
  plastic agent's verdict there is this effect (CI above 0), not its reward rate: with reward
  probabilities drifting in [0.25, 0.75] the reward rate barely separates learners from
  chance in a short run (the model-based learner itself earns ~0.28 per step vs ~0.26 for a
  random policy), while repeating rewarded choices is the task's signature of learning.

**Chance.** Every task also runs a uniform-random policy (agent kind ``"random"``: the vector
env's ``action_space.sample()`` with a seeded generator), through the same env with the same
seed. Its final performance is the task's chance level.

**Criterion.** ``chance + CRITERION_FRACTION * (best - chance)``, with ``best`` the highest final
performance of the learning agent kinds on the task: half of the way from chance to the best
agent. It is undefined (NaN) when no kind ends above chance, and on tasks whose reward does not
depend on the actions (:data:`ACTIONS_IRRELEVANT`: Pavlovian conditioning).

**Agent kinds** are registry names of :data:`plasticgym.agents.AGENTS` or the plasticity-rule
variants of :data:`VARIANTS` (the plastic actor-critic with homeostasis off, the
``"centered"`` policy-gradient post factor, weaker dopamine dips, ...). Settings per task:

- plastic kinds: :func:`~plasticgym.agents.presets.plastic_preset` of the task, then the
  variant's own hyperparameters;
- every other kind shares the plastic preset's ``gamma`` (and the tabular learners its
  ``trace_lambda``) when the preset sets them, so that all agents solve the same problem with the
  same horizon (``gamma=0`` on ReversalBandit-v0, whose trials are independent choices);
- Stable-Baselines3 kinds get small networks and short rollouts (:data:`SB3_SETTINGS`).

A combination an agent does not support (tabular learners and DQN on Box actions; tabular
learners on observations with too many states) raises ``ValueError`` when the agent is built:
it is recorded as skipped, with the agent's message, in the ``timing`` table. Hyperparameters
are checked before that, so a misspelt one is an error, not a skip.

**Tasks** run with :data:`TASK_ENV_KWARGS`: one long phase in which the reward measures how
well the task is being solved (a training-only protocol where the default protocol ends in
devaluation or extinction tests). Episodes that end start again (continuing learning).

Every kind runs one fixed setting, untuned; ``tuned_compare`` gives every kind the same
tuning budget first and compares the winners on held-out seeds.

Every agent kind uses the same ``seed`` (common random numbers: the same env seeds), and the
whole experiment is deterministic given the seed on one machine (timings aside). Usage::

    from plasticgym.experiments import compare

    config = compare.Config.quick()
    tables = compare.run(config, "runs/compare")
    result = compare.analyse(tables, config)
    print(result["table"].to_string())
    compare.plot(tables, result, "runs/compare")
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from plasticgym.agents import AGENTS, agent_class, make_agent
from plasticgym.agents.presets import plastic_preset
from plasticgym.docs import task_ids
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    run_name,
    tensorboard_folder,
)
from plasticgym.experiments.stats import format_ci, mean_ci
from plasticgym.experiments.trial import (
    LAST_FRACTION,
    RECORD_COLUMNS,
    check_spec,
    learning_curve,
    random_records,
    reward_metrics,
)
from plasticgym.experiments.two_step import stay_regressions, stay_trials
from plasticgym.extras import MissingExtraError

NAME = "compare"
DESCRIPTION = (
    "every plasticity rule and baseline on every task: learning curves, steps-to-criterion, "
    "final reward (95% CI over seeds) and agent-steps/s in one table"
)

RANDOM = "random"
"""Agent kind of the uniform-random policy that defines each task's chance level."""
CRITERION_FRACTION = 0.5
"""The criterion lies this fraction of the way from chance to the best agent kind."""
HOLD_BINS = 3
"""An agent reaches the criterion only if it keeps it for at least this many bins to the end."""
ACTIONS_IRRELEVANT = ("plasticgym/Pavlovian-v0",)
"""Tasks whose reward does not depend on the actions: no criterion, no above-chance verdict."""

BANDIT, TWO_STEP = "plasticgym/ReversalBandit-v0", "plasticgym/TwoStep-v0"
HABIT, ADDICTION = "plasticgym/HabitFormation-v0", "plasticgym/Addiction-v0"
SKILL, REACHING = "plasticgym/SkillLearning-v0", "plasticgym/Reaching-v0"
PAVLOVIAN = "plasticgym/Pavlovian-v0"
TONE = "plasticgym/ToneDiscrimination-v0"
LONG = 100_000  # phases longer than any run: the task is never over

TASK_ENV_KWARGS: Mapping[str, Mapping[str, Any]] = {
    PAVLOVIAN: {},
    BANDIT: {},  # 400 trials, reversals every 40, p = 0.8 / 0.2
    TWO_STEP: {},  # 200 trials of Daw et al. (2011), drifting reward probabilities
    HABIT: {"protocol": [{"name": "training", "kind": "train", "length": LONG}]},
    ADDICTION: {"protocol": [{"name": "acquisition", "sessions": LONG}]},
    SKILL: {"protocol": [{"name": "training", "blocks": LONG}]},
    REACHING: {"n_units": 16, "n_targets": 4,
               "protocol": [{"name": "baseline", "trials": LONG}]},
    TONE: {"n_trials": LONG},  # 7 tones, the middle one rewarded, no stimulation
}  # fmt: skip
"""Arguments of each task: one phase whose reward measures performance (see the docstring)."""

DEFAULT_STEPS: Mapping[str, int] = {
    PAVLOVIAN: 2000, BANDIT: 2000, TWO_STEP: 2000, HABIT: 2000, ADDICTION: 3000, SKILL: 3000,
    REACHING: 4000, TONE: 2000,
}  # fmt: skip
"""Env steps per agent on each task in the full run."""


class Variant(NamedTuple):
    """An agent kind: a registry name with hyperparameters on top of its task settings."""

    agent: str
    hyperparameters: Mapping[str, Any]
    description: str


VARIANTS: Mapping[str, Variant] = {
    "plastic": Variant("plastic", {}, "three-factor actor-critic with homeostatic scaling"),
    "plastic_no_homeostasis": Variant(
        "plastic", {"homeostasis": False}, "the same without synaptic scaling"
    ),
    "plastic_centered": Variant(
        "plastic", {"actor_post": "centered"}, "post factor onehot(a) - pi (policy gradient)"
    ),
    "plastic_weak_dips": Variant(
        "plastic", {"dopamine_gain_negative": 0.3}, "dopamine dips at 0.3 x the bursts' gain"
    ),
}
"""The plasticity rules compared: plastic agents with one mechanism changed."""

NET = {"policy_kwargs": {"net_arch": [32]}}
SB3_SETTINGS: Mapping[str, Mapping[str, Any]] = {
    "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 4, "learning_rate": 0.003, **NET},
    "a2c": {"n_steps": 8, "learning_rate": 0.003, **NET},
    "dqn": {"learning_starts": 100, "buffer_size": 10_000, "batch_size": 32, "train_freq": 4,
            "target_update_interval": 200, "exploration_fraction": 0.3, **NET},
}  # fmt: skip
"""Small networks and short rollouts for the Stable-Baselines3 baselines (short runs)."""
SHARED = ("gamma", "trace_lambda")
"""Preset hyperparameters every agent that has them shares (SB3 shares only ``gamma``)."""

BASELINES = ("q_learning", "sarsa_lambda", "td_actor_critic", "model_based", "ppo", "a2c", "dqn")
COMPARED_ELSEWHERE: Mapping[str, str] = {
    "spiking": "spiking_tasks (its learning vs the raw-reward control; discrete actions only)",
    "recurrent_ppo": "tuned_compare (on the tasks with memory, with the same tuning budget)",
}
"""Agent kinds the full config leaves out, and the experiment that compares each (a config
may still name them)."""
TRIAL_COLUMNS = ("agent", "step", "episode", "stage", "first_choice", "transition", "rewarded")
"""Columns of the two-step trials kept for the stay analysis (second-stage rows only)."""


def agent_kinds() -> dict[str, Variant]:
    """Every agent kind a config may name: :data:`VARIANTS`, then the other registry names."""
    kinds = dict(VARIANTS)
    for name, entry in AGENTS.items():
        kinds.setdefault(name, Variant(name, {}, entry.description))
    return kinds


@dataclass(frozen=True)
class Config:
    """What to run.

    Attributes:
        seed: one seed for every agent kind and the random baseline.
        n_agents: population (seeds) of the batched agents (plastic, tabular, random), >= 2.
        sb3_n_agents: population of the Stable-Baselines3 agents (one model each: slow), >= 2.
        device: torch device of the agents.
        tasks: registered task ids.
        agents: agent kinds (:func:`agent_kinds`); the random baseline always runs too.
        steps: env steps per agent on each task (every task of ``tasks`` needs one).
        env_kwargs: task arguments, per task (default :data:`TASK_ENV_KWARGS`, else none).
        window: steps of the moving average (steps-to-criterion) and of the curves' bins.
        threads: torch threads while running (tiny models run fastest on one); None: as is.
    """

    seed: int = 0
    n_agents: int = 16
    sb3_n_agents: int = 4
    device: str = "cpu"
    tasks: tuple[str, ...] = tuple(DEFAULT_STEPS)
    agents: tuple[str, ...] = (*VARIANTS, *BASELINES)
    steps: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STEPS))
    env_kwargs: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: {task: dict(kwargs) for task, kwargs in TASK_ENV_KWARGS.items()}
    )
    window: int = 100
    threads: int | None = 1

    def __post_init__(self) -> None:
        for name in ("n_agents", "sb3_n_agents"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"{name}={value!r} is invalid: need an int >= 2 (for a CI)")
        if not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"window={self.window!r} is invalid: need an int >= 1")
        known_tasks, kinds = task_ids(), agent_kinds()
        for task in self.tasks:
            if task not in known_tasks:
                raise ValueError(f"tasks: unknown task {task!r}; registered: {known_tasks}")
            steps = self.steps.get(task)
            if not isinstance(steps, int) or steps < self.window:
                raise ValueError(f"steps[{task!r}]={steps!r} is invalid: need an int >= window")
        for kind in self.agents:
            if kind not in kinds or kind == RANDOM:
                raise ValueError(f"agents: unknown agent kind {kind!r}; known: {list(kinds)}")
        if len(set(self.agents)) != len(self.agents) or len(set(self.tasks)) != len(self.tasks):
            raise ValueError("tasks and agents must not repeat")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """A small run (about 15 s on 2 cores): the bandit and reaching, the plastic agent with
        and without homeostasis, Q-learning (skipped on reaching's Box actions) and PPO."""
        tasks = (BANDIT, REACHING)
        quick = {
            "n_agents": 16,
            "sb3_n_agents": 2,
            "tasks": tasks,
            "agents": ("plastic", "plastic_no_homeostasis", "q_learning", "ppo"),
            "steps": dict.fromkeys(tasks, 320),
            "window": 40,
        }
        return cls(**{**quick, **overrides})

    def population(self, kind: str) -> int:
        """Agents of ``kind``: ``sb3_n_agents`` for the Stable-Baselines3 kinds."""
        entry = AGENTS.get(agent_kinds()[kind].agent) if kind != RANDOM else None
        return self.sb3_n_agents if entry is not None and entry.extra == "sb3" else self.n_agents


def agent_settings(kind: str, task: str) -> tuple[str, dict[str, Any]]:
    """The registry name and hyperparameters of agent kind ``kind`` on ``task`` (see the module
    docstring)."""
    variant = agent_kinds()[kind]
    preset = plastic_preset(task)
    if variant.agent == "plastic":
        return variant.agent, {**preset, **variant.hyperparameters}
    config_class = getattr(agent_class(variant.agent), "config_class", None)
    if config_class is None:  # Stable-Baselines3
        accepted, settings = {"gamma"}, dict(SB3_SETTINGS.get(variant.agent, {}))
    else:
        accepted, settings = {f.name for f in dataclasses.fields(config_class)}, {}
    shared = {name: preset[name] for name in SHARED if name in preset and name in accepted}
    return variant.agent, {**settings, **shared, **variant.hyperparameters}


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run(config: Config, out_dir: Any = None, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train every agent kind on every task; return the tables.

    The learning agents log to TensorBoard under ``out_dir/tensorboard`` (nothing when
    ``out_dir`` is None), one run per task x agent kind, ``compare_<task>_<kind>`` (e.g.
    ``compare_ReversalBandit_ppo``; the random baseline logs nothing). Returns ``"records"``:
    one row per agent per step (``task, agent_kind, agent, step, episode, reward``; steps beyond the
    task's ``steps``, which Stable-Baselines3 runs to finish a rollout, are dropped), and
    ``"timing"``: one row per task x agent kind (``task, agent_kind, agent_name, status``
    (``"done"`` or ``"skipped"``), ``reason`` (why it was skipped), ``n_agents``, ``steps``,
    ``wall_s`` (``learn`` only), ``agent_steps_per_s``); when TwoStep-v0 ran,
    ``"two_step_trials"``: its learning agents' second-stage rows (:data:`TRIAL_COLUMNS` and
    ``agent_kind``) for the stay analysis.
    """
    combos = [(task, kind) for task in config.tasks for kind in (RANDOM, *config.agents)]
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(combos), unit="run", desc=NAME)
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    records, trials, timing = [], [], []
    tensorboard_log = tensorboard_folder(out_dir)
    try:
        for task, kind in combos:
            rows, row = _run_one(config, task, kind, tensorboard_log)
            timing.append(row)
            if rows is not None:
                if task == TWO_STEP and set(TRIAL_COLUMNS) <= set(rows.columns):
                    stage_two = rows.loc[rows["stage"] == 1, list(TRIAL_COLUMNS)]
                    trials.append(stage_two.assign(agent_kind=kind))
                rows = rows.loc[:, list(RECORD_COLUMNS)]
                rows.insert(0, "agent_kind", kind)
                rows.insert(0, "task", task)
                records.append(rows)
            if bar is not None:
                bar.update(1)
    finally:
        torch.set_num_threads(threads)
        if bar is not None:
            bar.close()
    table = pd.concat(records, ignore_index=True)
    for name in ("task", "agent_kind"):
        table[name] = pd.Categorical(table[name], categories=list(dict.fromkeys(table[name])))
    table = table.astype({"agent": np.int32, "step": np.int32, "episode": np.int32,
                          "reward": np.float32})  # fmt: skip
    tables = {"records": table, "timing": pd.DataFrame(timing)}
    if trials:
        tables["two_step_trials"] = pd.concat(trials, ignore_index=True)
    return tables


def _run_one(
    config: Config, task: str, kind: str, tensorboard_log: str | None = None
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Records and the timing row of one task x agent kind (records None when skipped); the
    agent logs to TensorBoard under ``tensorboard_log`` if given."""
    steps, n_agents = config.steps[task], config.population(kind)
    env_kwargs = dict(config.env_kwargs.get(task, {}))
    row: dict[str, Any] = {"task": task, "agent_kind": kind, "agent_name": kind, "status": "done",
                           "reason": "", "n_agents": n_agents, "steps": steps}  # fmt: skip
    if kind == RANDOM:
        started = time.perf_counter()
        rows, ran = random_records(task, n_agents, steps, config.seed, env_kwargs), steps
    else:
        try:
            name, hyperparameters = agent_settings(kind, task)
            # hyperparameters and task arguments first: a mistake there is an error, not a skip
            check_spec({"agent": name, "hyperparameters": hyperparameters, "env": task,
                        "env_kwargs": env_kwargs})  # fmt: skip
        except MissingExtraError as error:  # e.g. Stable-Baselines3 is not installed
            return None, _skipped(row, error)
        row["agent_name"] = name
        try:
            agent = make_agent(name, task, n_agents=n_agents, seed=config.seed,
                               env_kwargs=env_kwargs, device=config.device,
                               tensorboard_log=tensorboard_log,
                               tb_log_name=run_name(NAME, _task_name(task), kind),
                               **hyperparameters)  # fmt: skip
        except ValueError as error:  # the agent cannot handle the task's spaces
            return None, _skipped(row, error)
        started = time.perf_counter()
        agent.learn(steps, record=True)
        rows, ran = agent.records, agent.num_timesteps
        agent.close()
    wall_s = time.perf_counter() - started
    rows = rows.loc[rows["step"] < steps].reset_index(drop=True)
    return rows, {**row, "wall_s": wall_s, "agent_steps_per_s": ran * n_agents / wall_s}


def _skipped(row: dict[str, Any], error: Exception) -> dict[str, Any]:
    return {**row, "status": "skipped", "reason": str(error), "wall_s": math.nan,
            "agent_steps_per_s": math.nan}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def steps_to_criterion(
    steps: np.ndarray, rewards: np.ndarray, criterion: float, window: int, hold: int = HOLD_BINS
) -> float:
    """The step at which one agent reaches ``criterion`` and keeps it.

    Rows are taken in step order and cut into consecutive bins of ``window`` rows (a last,
    partial bin is dropped). The agent reaches the criterion at the first bin from which the
    mean reward of every later bin, that one included, is ``>= criterion``, provided at least
    ``hold`` bins remain from it to the end; the step of that bin's last row is returned, NaN
    if there is none (or ``criterion`` is NaN). A learned policy must stay learned ("reached
    and maintained"); a single lucky bin (a moving average's first crossing, which a random
    policy also achieves) or a lucky last bin is not enough.

    Example: rewards ``0, 0, 1, 1, 1, 0, 1, 1`` at steps ``0, 1, 2, 4, 5, 6, 8, 9`` with
    ``window=2``, ``hold=2`` and ``criterion=1``: bin means ``0, 1, 0.5, 1`` (ending at steps
    1, 4, 6, 9); only the last bin stays at 1, and one bin is less than ``hold``: NaN. With
    ``criterion=0.5`` it is reached at the second bin, step 4.
    """
    order = np.argsort(steps, kind="stable")
    steps, rewards = np.asarray(steps)[order], np.asarray(rewards, dtype=float)[order]
    n_bins = rewards.size // window
    if not math.isfinite(criterion) or n_bins < hold:
        return math.nan
    means = rewards[: n_bins * window].reshape(n_bins, window).mean(axis=1)
    below = np.flatnonzero(means < criterion - 1e-9 * max(1.0, abs(criterion)))
    first = int(below[-1]) + 1 if below.size else 0  # the bins from here on all meet it
    if n_bins - first < hold:
        return math.nan
    return float(steps[(first + 1) * window - 1])


def _tables(
    records: Mapping[str, pd.DataFrame] | pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(records, timing)`` from what :func:`run` returned (or a bare records table)."""
    if isinstance(records, pd.DataFrame):
        return records, pd.DataFrame()
    return records["records"], records.get("timing", pd.DataFrame())


def _short(task: str) -> str:
    return task.rpartition("/")[2]


def _task_name(task: str) -> str:
    """``plasticgym/ReversalBandit-v0`` -> ``ReversalBandit`` (for run names)."""
    return _short(task).rsplit("-v", 1)[0]


def analyse(records: Mapping[str, pd.DataFrame] | pd.DataFrame, config: Config) -> dict[str, Any]:
    """The comparison table and verdicts, computed from the tables :func:`run` returned.

    Returns:
        ``"table"``: one row per task x agent kind (the random baseline first): ``status``,
        ``n_agents``, ``final_reward`` with ``final_ci_low`` / ``final_ci_high`` (last 20% of
        the steps), ``mean_reward`` (whole run), ``chance``, ``criterion``,
        ``steps_to_criterion`` (median over agents), ``reached_fraction``, ``wall_s``,
        ``stay_reward_effect`` with ``stay_ci_low`` / ``stay_ci_high`` (TwoStep-v0 only),
        ``agent_steps_per_s``. ``"verdicts"``: ``plastic_above_chance_<task>`` (the plastic
        agent's final-performance CI lies above chance; tasks of :data:`ACTIONS_IRRELEVANT`
        have none; on TwoStep-v0, when its trials were recorded,
        ``plastic_reward_effect_TwoStep-v0`` instead: the CI of ``b_r`` lies above 0) and
        ``every_agent_ran`` (every combination that was not skipped has records of all its
        agents). ``"lines"``: ``{verdict: one line with its numbers}``.
        ``"skipped"``: ``{"task / agent_kind": reason}``. ``"window"``: the config's window.

    A bare records table is accepted too; then ``wall_s`` and the throughput are NaN and
    ``every_agent_ran`` asks for records of every configured combination.
    """
    rows, timing = _tables(records)
    if timing.empty:
        timing = _configured_timing(config)
    groups = {key: group for key, group in rows.groupby(["task", "agent_kind"], observed=True)}
    table = _reward_table(timing, groups, config.steps)
    chance = table[table["agent_kind"] == RANDOM].set_index("task")["final_reward"]
    table["chance"] = table["task"].map(chance)
    criterion = _criteria(table, chance)
    table["criterion"] = table["task"].map(criterion)
    speeds = [
        _speed_to_criterion(groups.get((task, kind)), criterion[task], config.window)
        for task, kind in zip(table["task"], table["agent_kind"], strict=True)
    ]
    table["steps_to_criterion"] = [median for median, _ in speeds]
    table["reached_fraction"] = [fraction for _, fraction in speeds]
    stay = _stay_reward_effects(records)
    for name in STAY_COLUMNS:
        table[name] = _two_step_column(table, stay, name)
    verdicts, lines = _verdicts(table, config, stay_analysed=bool(stay))
    kinds = {name: verdict_kind(name) for name in verdicts}
    skipped = timing[timing["status"] == "skipped"]
    return {
        "table": table[list(TABLE_COLUMNS)],
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "lines": labelled(lines, kinds),
        "window": config.window,
        "skipped": {f"{r.task} / {r.agent_kind}": r.reason for r in skipped.itertuples()},
    }


TABLE_COLUMNS = (
    "task", "agent_kind", "status", "n_agents", "final_reward", "final_ci_low", "final_ci_high",
    "mean_reward", "chance", "criterion", "steps_to_criterion", "reached_fraction",
    "stay_reward_effect", "stay_ci_low", "stay_ci_high", "wall_s", "agent_steps_per_s",
)  # fmt: skip
"""Columns of the comparison table (see :func:`analyse`)."""
REWARD_COLUMNS = ("final_reward", "final_ci_low", "final_ci_high", "mean_reward")
STAY_COLUMNS = ("stay_reward_effect", "stay_ci_low", "stay_ci_high")


def _configured_timing(config: Config) -> pd.DataFrame:
    """The timing table that a bare records table stands for: every configured task x agent
    kind, done, without wall-clock times."""
    return pd.DataFrame(
        [{"task": t, "agent_kind": k, "status": "done", "n_agents": config.population(k)}
         for t in config.tasks for k in (RANDOM, *config.agents)]
    )  # fmt: skip


def _reward_table(
    timing: pd.DataFrame,
    groups: Mapping[tuple[str, str], pd.DataFrame],
    steps: Mapping[str, int],
) -> pd.DataFrame:
    """One row per row of ``timing``: its status, population and throughput, and the reward
    metrics of its records in ``groups`` (NaN without records)."""
    table = pd.DataFrame(
        [_reward_row(item, groups.get((item["task"], item["agent_kind"])), steps)
         for item in timing.to_dict("records")]
    )  # fmt: skip
    for name in REWARD_COLUMNS:
        table[name] = pd.to_numeric(table.get(name), errors="coerce")
    table["agents_with_records"] = table.get("agents_with_records", np.nan)
    return table


def _reward_row(
    item: Mapping[str, Any], group: pd.DataFrame | None, steps: Mapping[str, int]
) -> dict[str, Any]:
    """The table row of one timing row, with the reward metrics of its records ``group``."""
    row = {"task": item["task"], "agent_kind": item["agent_kind"], "status": item["status"],
           "n_agents": item["n_agents"], "wall_s": item.get("wall_s", math.nan),
           "agent_steps_per_s": item.get("agent_steps_per_s", math.nan)}  # fmt: skip
    if group is not None:
        metrics = reward_metrics(group, steps[item["task"]])
        row.update(
            final_reward=metrics["mean_reward_last20"],
            final_ci_low=metrics["mean_reward_last20_ci_low"],
            final_ci_high=metrics["mean_reward_last20_ci_high"],
            mean_reward=metrics["mean_reward"],
            agents_with_records=group["agent"].nunique(),
        )
    return row


def _criteria(table: pd.DataFrame, chance: pd.Series) -> dict[str, float]:
    """Per task: ``CRITERION_FRACTION`` of the way from ``chance`` to the best final reward of
    the learning kinds that ran; NaN when none ends above chance or the actions do not
    matter."""
    learners = table[(table["agent_kind"] != RANDOM) & (table["status"] == "done")]
    best = learners.groupby("task")["final_reward"].max()
    criterion = {}
    for task in table["task"].unique():
        low, high = chance.get(task, math.nan), best.get(task, math.nan)
        useful = task not in ACTIONS_IRRELEVANT and high > low
        criterion[task] = low + CRITERION_FRACTION * (high - low) if useful else math.nan
    return criterion


def _speed_to_criterion(
    group: pd.DataFrame | None, criterion: float, window: int
) -> tuple[float, float]:
    """The median over the agents of ``group`` of :func:`steps_to_criterion` (NaN when half of
    them or more never reach it) and the fraction that reach it; NaNs without records or
    criterion."""
    if group is None or not math.isfinite(criterion):
        return math.nan, math.nan
    per_agent = np.array([
        steps_to_criterion(own["step"].to_numpy(), own["reward"].to_numpy(), criterion, window)
        for _, own in group.groupby("agent")
    ])  # fmt: skip
    reached = np.isfinite(per_agent)
    median = float(np.median(np.where(reached, per_agent, np.inf)))
    return (median if math.isfinite(median) else math.nan), float(reached.mean())


def _two_step_column(
    table: pd.DataFrame, stay: Mapping[str, Mapping[str, float]], name: str
) -> list[float]:
    """Column ``name`` of the stay reward effects per agent kind, on the TwoStep-v0 rows (NaN
    on the others and for kinds without an effect)."""
    return [
        stay.get(kind, {}).get(name, math.nan) if task == TWO_STEP else math.nan
        for task, kind in zip(table["task"], table["agent_kind"], strict=True)
    ]


STAY_L2 = 0.1
"""Ridge of the per-agent stay regressions (as in the ``two_step`` experiment)."""


def _stay_reward_effects(
    records: Mapping[str, pd.DataFrame] | pd.DataFrame,
) -> dict[str, dict[str, float]]:
    """Per agent kind on TwoStep-v0: the reward main effect on staying, ``b_r`` of
    ``logit P(stay) = b0 + b_r r + b_t t + b_rt r t`` (Daw et al. 2011; fitted per agent by
    :func:`plasticgym.experiments.two_step.stay_regressions`), as the mean and 95% CI over
    agents. Empty when the tables hold no two-step trials."""
    if isinstance(records, pd.DataFrame) or "two_step_trials" not in records:
        return {}
    trials = records["two_step_trials"].rename(columns={"agent_kind": "kind"})
    if trials.empty:
        return {}
    coefficients = stay_regressions(stay_trials(trials), STAY_L2)["reward"]
    effects = {}
    for kind, values in coefficients.groupby(level="kind", observed=True):
        mean, low, high = mean_ci(values.to_numpy(float))
        effects[str(kind)] = {"stay_reward_effect": mean, "stay_ci_low": low, "stay_ci_high": high}
    return effects


def verdict_kind(name: str) -> str:
    """A comparison verdict's kind: ``every_agent_ran`` is a mechanism check (it fails only
    when the harness loses an agent's records); the plastic agent's above-chance and
    reward-effect verdicts are findings (learning could fail)."""
    return MECHANISM_CHECK if name == "every_agent_ran" else FINDING


def _verdicts(
    table: pd.DataFrame, config: Config, stay_analysed: bool
) -> tuple[dict[str, bool], dict[str, str]]:
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    if "plastic" in config.agents:
        for row in table[table["agent_kind"] == "plastic"].itertuples():
            if row.task in ACTIONS_IRRELEVANT:
                continue
            if row.task == TWO_STEP and stay_analysed:
                name = f"plastic_reward_effect_{_short(row.task)}"
                verdicts[name] = bool(row.stay_ci_low > 0.0)  # False when NaN
                lines[name] = (
                    "plastic reward effect on staying with the first-stage choice, b_reward "
                    f"{format_ci(row.stay_reward_effect, row.stay_ci_low, row.stay_ci_high)} "
                    f"(95% CI over {row.n_agents} agents; needs CI > 0); final reward per step "
                    f"{row.final_reward:+.3f} vs chance {row.chance:+.3f}, not judged"
                )
                continue
            name = f"plastic_above_chance_{_short(row.task)}"
            verdicts[name] = bool(row.final_ci_low > row.chance)  # False when either is NaN
            lines[name] = (
                f"plastic final reward per step "
                f"{format_ci(row.final_reward, row.final_ci_low, row.final_ci_high, 3)} "
                f"(95% CI over {row.n_agents} agents, last {LAST_FRACTION:.0%} of "
                f"{config.steps[row.task]} steps) vs chance {row.chance:+.3f} (random policy)"
            )
    done = table[table["status"] == "done"]
    complete = done["agents_with_records"] == done["n_agents"]
    missing = ", ".join(
        f"{kind} on {_short(task)}" for task, kind in done.loc[~complete, ["task", "agent_kind"]]
        .itertuples(index=False)
    )  # fmt: skip
    verdicts["every_agent_ran"] = bool(complete.all())
    lines["every_agent_ran"] = (
        f"{int(complete.sum())} of {len(done)} supported task x agent kind combinations "
        f"produced records of all their agents{f' (missing: {missing})' if missing else ''}; "
        f"{int((table['status'] == 'skipped').sum())} skipped as unsupported"
    )
    return verdicts, lines


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot(
    records: Mapping[str, pd.DataFrame] | pd.DataFrame, result: Mapping[str, Any], out_dir: Any
) -> list[Path]:
    """Learning curves (:func:`learning_curve`), one panel per task, one line per agent kind,
    with the chance level (dotted) and the criterion (dashed); written as
    ``compare_learning_curves.png`` in ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, _ = _tables(records)
    table = result["table"]
    tasks = list(dict.fromkeys(table["task"]))
    window = int(result["window"])
    n_cols = min(3, len(tasks))
    n_rows = math.ceil(len(tasks) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5 * n_cols, 3.6 * n_rows), squeeze=False)
    tab20 = plt.get_cmap("tab20").colors
    colors = (*tab20[0::2], *tab20[1::2])  # ten strong colours first
    learners = [kind for kind in dict.fromkeys(table["agent_kind"]) if kind != RANDOM]
    for ax, task in zip(axes.flat, tasks, strict=False):
        info = table[table["task"] == task].iloc[0]
        levels = [info["chance"], info["criterion"]]
        for kind, group in rows[rows["task"] == task].groupby("agent_kind", observed=True):
            curve = learning_curve(group, window)
            color = "0.4" if kind == RANDOM else colors[learners.index(kind) % len(colors)]
            ax.plot(curve.index, curve["mean"], color=color, label=kind, lw=1.2)
            ax.fill_between(curve.index, curve["ci_low"], curve["ci_high"], color=color,
                            alpha=0.15, lw=0)  # fmt: skip
            levels.extend(curve["mean"])
        ax.axhline(info["chance"], color="0.3", ls=":", lw=1)
        if math.isfinite(info["criterion"]):
            ax.axhline(info["criterion"], color="0.3", ls="--", lw=1)
        # the means set the scale; the bands of small populations may run off it
        low, high = np.nanmin(levels), np.nanmax(levels)
        pad = max(0.3 * (high - low), 0.01 * max(abs(low), abs(high)), 1e-3)
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(_short(task))
        ax.set_xlabel("step")
        ax.set_ylabel(f"reward per step ({window}-step bins)")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    legend = {}  # one entry per agent kind, whichever panel has it
    for ax in axes.flat:
        legend.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=min(6, len(legend)),
               frameon=False)  # fmt: skip
    fig.suptitle("Learning curves: mean and 95% CI over agents (dotted: chance, dashed: "
                 "criterion)", fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "compare_learning_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def format_table(result: Mapping[str, Any]) -> str:
    """The comparison table as text, then the verdict lines."""
    table = result["table"].copy()
    table["task"] = table["task"].map(_short)
    text = table.to_string(index=False, float_format=lambda v: f"{v:.3g}")
    verdicts = [f"[{'PASS' if ok else 'FAIL'}] {name}: {result['lines'][name]}"
                for name, ok in result["verdicts"].items()]  # fmt: skip
    return "\n".join([text, "", *verdicts])
