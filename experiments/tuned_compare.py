"""Fair baselines: every agent tuned with the same budget, then compared on held-out seeds.

The ``compare`` experiment runs each agent with one fixed setting. Here every agent kind gets
the same tuning budget before it is compared, so that a win or a loss of the plastic agent is
not a matter of which agent happened to be tuned. Per task:

1. **Tuning.** Each agent kind of ``agents`` is run with ``n_configs`` configurations: its
   default setting (configuration 0: :func:`default_settings`, the setting ``compare`` runs)
   and ``n_configs - 1`` configurations drawn by seeded random search from its search space
   (:data:`SEARCH_SPACES`; :func:`plasticgym.sweep.sample_configs`, seed ``seed``). Every
   configuration is evaluated on the same ``tuning_seeds``, each seed a population of
   ``n_agents`` independent agents, for ``steps[task]`` env steps: the budget is
   ``n_configs x len(tuning_seeds) x n_agents x steps`` agent-steps for every agent kind,
   counted from the trials that ran (``equal_budget``). The objective is the reward per step
   over the whole run (:data:`OBJECTIVE`, ``mean_reward`` of
   :func:`plasticgym.experiments.trial.reward_metrics` on the steps before ``steps``: what an
   agent earns while learning, so both a fast learner and a high final level score), averaged
   over the tuning seeds; the winner is the configuration with the highest objective (ties:
   the lower index).
2. **Evaluation.** Each kind's winner runs again on ``eval_seeds``, which are disjoint from the
   tuning seeds (checked; ``seeds_disjoint``), with the same ``n_agents`` and steps. A
   uniform-random policy runs on the same seeds (the chance level).
3. **Comparison** (from the held-out records only): per task and kind, the final
   performance (reward per step over the last 20% of the steps, mean and 95% t CI over the
   ``len(eval_seeds) x n_agents`` held-out agents) and the steps-to-criterion of
   :func:`plasticgym.experiments.compare.steps_to_criterion` ("reached and kept": the median
   over agents, agents that never reach it counting as infinitely slow, and the fraction that
   reach it), with the criterion half-way from chance to the best kind's final performance
   (as in ``compare``). Each kind is ranked on both (1 = best; for speed, kinds whose median
   is undefined rank after the others, by their fraction reached); the plastic agent's ranks
   are stated in its verdict lines, win or lose.

Both stages are sweeps of :mod:`plasticgym.sweep` (:func:`~plasticgym.sweep.run_trials`; in
``out_dir/tuning`` and ``out_dir/evaluation``, with every trial's records and checkpoint, and
resumable like any sweep), each trial running :func:`budget_trial`: the sweep engine's default
trial with the metrics computed on the first ``steps`` steps (Stable-Baselines3 runs whole
rollouts and may run a few steps more, which no metric sees).

**Sampler.** Random search with a seeded numpy generator, not optuna's TPE: with the budgets a
2-core machine allows (3-6 configurations per agent) TPE would spend all of them on its
random start-up trials anyway (optuna's default ``n_startup_trials`` is 10), random search
needs no new dependency, every configuration is known before anything runs (so the whole
stage is one sweep, resumable and parallel, with a budget that is equal by construction), and
it is exactly reproducible from one seed (Bergstra & Bengio 2012).

**Tasks with memory** (:data:`MEMORY_TASKS`: the reversal bandit, whose observation never says
which arm is better now, and the two-step task, whose reward probabilities drift unseen) are
the ones where the LSTM baseline ``recurrent_ppo`` (sb3-contrib's RecurrentPPO) runs; on the
other tasks it is listed as skipped. Combinations an agent does not support (tabular learners
and DQN on Box actions) are skipped with the agent's message, as in ``compare``.

Verdicts: ``equal_budget``, ``seeds_disjoint`` and ``every_trial_done`` are mechanism checks;
per task ``plastic_above_chance_<task>`` (the plastic agent's held-out final CI lies above
chance) and ``plastic_noninferior_<task>`` (the Welch 95% CI of the plastic agent's final
performance minus the best other kind's lies above ``-NONINFERIORITY_FRACTION x (best -
chance)``) are findings. Usage::

    from plasticgym.experiments import tuned_compare

    config = tuned_compare.Config.quick()
    tables = tuned_compare.run(config, "runs/tuned_compare")
    result = tuned_compare.analyse(tables, config)
    print(tuned_compare.format_table(result))
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.agents import AGENTS, make_agent
from plasticgym.experiments.compare import (
    ACTIONS_IRRELEVANT,
    BANDIT,
    CRITERION_FRACTION,
    HABIT,
    RANDOM,
    TASK_ENV_KWARGS,
    TWO_STEP,
    _short,
    _speed_to_criterion,
    agent_settings,
)
from plasticgym.experiments.report import FINDING, MECHANISM_CHECK, labelled
from plasticgym.experiments.stats import difference_ci, format_ci, mean_ci
from plasticgym.experiments.trial import (  # check_spec: the sweep checks each trial with it
    LAST_FRACTION,
    random_records,
    reward_metrics,
    run_trial,
)
from plasticgym.experiments.trial import check_spec as check_spec
from plasticgym.extras import MissingExtraError
from plasticgym.records import load_records
from plasticgym.sweep import (
    Trial,
    canonical_json,
    check_space,
    run_trials,
    sample_configs,
    trial_id,
    trial_spec,
)

NAME = "tuned_compare"
DESCRIPTION = (
    "every agent tuned with the same budget (seeded random search through the sweep engine), "
    "then compared on held-out seeds: steps-to-criterion, final reward and the plastic rank"
)

TRIAL = "plasticgym.experiments.tuned_compare:budget_trial"
"""The trial function of both stages (see :func:`budget_trial`)."""
OBJECTIVE = "mean_reward"
"""The tuning objective: reward per step over the whole run, averaged over the tuning seeds."""
NONINFERIORITY_FRACTION = 0.25
"""The margin of ``plastic_noninferior_<task>``: this fraction of the best kind's gain over
chance."""
MEMORY_TASKS = (BANDIT, TWO_STEP)
"""Tasks whose observation does not determine the best action (a memory helps): the reversal
bandit (the better arm is hidden and reverses) and the two-step task (drifting reward
probabilities). RecurrentPPO runs on these."""
RECURRENT = ("recurrent_ppo",)
"""Agent kinds that run on :data:`MEMORY_TASKS` only."""
TUNED_AGENTS = ("plastic", "q_learning", "sarsa_lambda", "td_actor_critic", "model_based",
                "ppo", "a2c", "dqn", "recurrent_ppo")  # fmt: skip
"""The agent kinds of the full run: registry names of :data:`plasticgym.agents.AGENTS`."""

GAMMAS = [0.0, 0.5, 0.9, 0.99]
"""Discount factors every agent's search chooses from (the same horizon choices for all)."""
LEARNING_RATE = {"log_uniform": [0.02, 1.0]}
TEMPERATURE = {"log_uniform": [1.0, 20.0]}  # inverse temperature beta of the softmax
LAMBDA = {"uniform": [0.0, 0.95]}
SB3_LR = {"log_uniform": [1e-4, 1e-2]}
ENTROPY = {"uniform": [0.0, 0.05]}
GAE = {"uniform": [0.8, 1.0]}

SEARCH_SPACES: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "plastic": {"actor_lr": LEARNING_RATE, "critic_lr": {"log_uniform": [0.02, 0.5]},
                "inverse_temperature": TEMPERATURE, "trace_lambda": LAMBDA,
                "stimulus_trace_decay": {"uniform": [0.01, 0.95]},
                "gamma": {"choice": GAMMAS}},
    "q_learning": {"learning_rate": LEARNING_RATE, "inverse_temperature": TEMPERATURE,
                   "trace_lambda": LAMBDA, "gamma": {"choice": GAMMAS}},
    "sarsa_lambda": {"learning_rate": LEARNING_RATE, "inverse_temperature": TEMPERATURE,
                     "trace_lambda": LAMBDA, "gamma": {"choice": GAMMAS}},
    "td_actor_critic": {"critic_lr": LEARNING_RATE, "actor_lr": LEARNING_RATE,
                        "inverse_temperature": TEMPERATURE, "trace_lambda": LAMBDA,
                        "gamma": {"choice": GAMMAS}},
    "model_based": {"reward_lr": LEARNING_RATE, "inverse_temperature": TEMPERATURE,
                    "n_sweeps": {"int_uniform": [1, 10]}, "gamma": {"choice": GAMMAS}},
    "ppo": {"learning_rate": SB3_LR, "n_steps": {"choice": [64, 128, 256]},
            "batch_size": {"choice": [16, 32, 64]}, "n_epochs": {"choice": [1, 4, 10]},
            "ent_coef": ENTROPY, "gae_lambda": GAE, "gamma": {"choice": GAMMAS}},
    "a2c": {"learning_rate": SB3_LR, "n_steps": {"choice": [4, 8, 16, 32]},
            "ent_coef": ENTROPY, "gae_lambda": GAE, "gamma": {"choice": GAMMAS}},
    "dqn": {"learning_rate": SB3_LR, "batch_size": {"choice": [16, 32, 64]},
            "train_freq": {"choice": [1, 4]},
            "target_update_interval": {"choice": [50, 200, 500]},
            "exploration_fraction": {"uniform": [0.05, 0.5]},
            "exploration_final_eps": {"uniform": [0.01, 0.1]},
            "gamma": {"choice": GAMMAS}},
    "recurrent_ppo": {"learning_rate": SB3_LR, "n_steps": {"choice": [32, 64, 128]},
                      "batch_size": {"choice": [16, 32]}, "n_epochs": {"choice": [1, 4, 10]},
                      "ent_coef": ENTROPY, "gae_lambda": GAE, "gamma": {"choice": GAMMAS}},
}  # fmt: skip
"""Each agent kind's search space (:func:`plasticgym.sweep.check_space`): learning rates,
softmax inverse temperature, eligibility-trace and stimulus-trace decays, discount; for the
Stable-Baselines3 kinds learning rate, rollout length, minibatch size, epochs, entropy bonus,
GAE lambda, discount (DQN: minibatch, update frequency, target updates, exploration). The
hyperparameters a space leaves out keep the kind's default setting."""

RECURRENT_DEFAULTS: Mapping[str, Any] = {
    "n_steps": 64, "batch_size": 32, "n_epochs": 4, "learning_rate": 0.003,
    "policy_kwargs": {"net_arch": [32], "lstm_hidden_size": 32},
}  # fmt: skip
"""RecurrentPPO's default setting: as ``compare``'s PPO (small networks, short rollouts),
with a 32-unit LSTM."""

DEFAULT_STEPS: Mapping[str, int] = {BANDIT: 1000, TWO_STEP: 1000, HABIT: 1000}
"""Env steps per agent of the full run."""


def default_settings(kind: str, task: str) -> dict[str, Any]:
    """Configuration 0 of ``kind`` on ``task``: the setting ``compare`` runs
    (:func:`plasticgym.experiments.compare.agent_settings`: the plastic preset, the preset's
    ``gamma`` / ``trace_lambda`` for the tabular kinds, small SB3 networks), and
    :data:`RECURRENT_DEFAULTS` (with the preset's ``gamma``) for RecurrentPPO."""
    _, settings = agent_settings(kind, task)
    if kind in RECURRENT:
        settings = {**RECURRENT_DEFAULTS, **settings}
    return copy.deepcopy(settings)  # SB3's A2C adds entries to the policy_kwargs it is given


def configurations(kind: str, task: str, n_configs: int, seed: int) -> list[dict[str, Any]]:
    """The ``n_configs`` configurations of ``kind`` on ``task``: :func:`default_settings`, then
    ``n_configs - 1`` draws of :data:`SEARCH_SPACES` (``sample_configs(space, n_configs - 1,
    kind_seed(seed, kind))``) on top of it. The draws depend on the kind and ``seed`` only,
    so every task gets the same ones."""
    base = default_settings(kind, task)
    if n_configs == 1:
        return [base]
    drawn = sample_configs(SEARCH_SPACES[kind], n_configs - 1, kind_seed(seed, kind))
    return [base, *({**base, **point} for point in drawn)]


def kind_seed(seed: int, kind: str) -> int:
    """The sampler seed of agent kind ``kind``: ``SeedSequence([seed, crc32(kind)])``, so that
    kinds with the same space (Q-learning and SARSA) draw different configurations."""
    entropy = [seed, zlib.crc32(kind.encode())]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0])


@dataclass(frozen=True)
class Config:
    """What to run.

    Attributes:
        seed: the sampler's seed (which configurations are drawn).
        n_agents: agents of each trial's population (every kind the same), >= 2.
        device: torch device of the agents.
        tasks: registered task ids with :data:`TASK_ENV_KWARGS`.
        agents: agent kinds (registry names with a :data:`SEARCH_SPACES` entry).
        steps: env steps per agent on each task (the same for every kind).
        n_configs: configurations per kind and task, the default one included.
        tuning_seeds: seeds every configuration runs with during tuning.
        eval_seeds: seeds of the held-out evaluation; disjoint from ``tuning_seeds``.
        window: bin width (steps) of steps-to-criterion and of the curves.
        workers: trials at a time (1: in this process, no start-up cost per trial; more:
            one spawned process per trial, which costs ~5 s of imports each).
    """

    seed: int = 0
    n_agents: int = 4
    device: str = "cpu"
    tasks: tuple[str, ...] = tuple(DEFAULT_STEPS)
    agents: tuple[str, ...] = TUNED_AGENTS
    steps: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STEPS))
    n_configs: int = 6
    tuning_seeds: tuple[int, ...] = (0, 1)
    eval_seeds: tuple[int, ...] = (1000, 1001, 1002)
    window: int = 50
    workers: int = 1

    def __post_init__(self) -> None:
        for name, low in (("n_agents", 2), ("n_configs", 1), ("window", 1), ("workers", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name}={value!r} is invalid: need an int >= {low}")
        for name in ("tuning_seeds", "eval_seeds"):
            seeds = getattr(self, name)
            ok = all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
            if not seeds or not ok or len(set(seeds)) != len(seeds):
                raise ValueError(f"{name}={seeds!r} is invalid: non-repeating ints >= 0")
        shared = sorted(set(self.tuning_seeds) & set(self.eval_seeds))
        if shared:
            raise ValueError(
                f"eval_seeds={self.eval_seeds!r} is invalid: seeds {shared} are tuning seeds "
                "too; the evaluation must use held-out seeds"
            )
        for task in self.tasks:
            if task not in TASK_ENV_KWARGS:
                raise ValueError(f"tasks: unknown task {task!r}; known: {list(TASK_ENV_KWARGS)}")
            steps = self.steps.get(task)
            if not isinstance(steps, int) or steps < self.window * 3:
                raise ValueError(f"steps[{task!r}]={steps!r} is invalid: need an int >= 3 x window")
        for kind in self.agents:
            if kind not in SEARCH_SPACES or kind not in AGENTS:
                raise ValueError(f"agents: unknown agent kind {kind!r}; known: "
                                 f"{list(SEARCH_SPACES)}")  # fmt: skip
        if len(set(self.agents)) != len(self.agents) or len(set(self.tasks)) != len(self.tasks):
            raise ValueError("tasks and agents must not repeat")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """A tiny budget (about 30 s of CPU): the reversal bandit, every agent kind, two
        configurations on one tuning seed, two held-out seeds, 2 agents each, 200 steps."""
        quick = {
            "n_agents": 2,
            "tasks": (BANDIT,),
            "steps": {BANDIT: 200},
            "n_configs": 2,
            "tuning_seeds": (0,),
            "eval_seeds": (1000, 1001),
            "window": 20,
        }
        return cls(**{**quick, **overrides})


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------


def budget_trial(spec: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """:func:`plasticgym.experiments.trial.run_trial`, with the reward metrics recomputed on
    the first ``spec["steps"]`` steps only (``ran_steps``: what the agent ran; SB3 finishes
    its last rollout)."""
    metrics = run_trial(spec, out_dir)
    records = load_records(Path(out_dir) / "records.parquet")[["agent", "step", "reward"]]
    budget = records[records["step"] < spec["steps"]]
    return {**metrics, **reward_metrics(budget, spec["steps"]), "ran_steps": metrics["steps"],
            "steps": spec["steps"]}  # fmt: skip


def _spec(config: Config, task: str, kind: str, seed: int, settings: Mapping[str, Any]) -> dict:
    return trial_spec(env=task, agent=kind, seed=seed, steps=config.steps[task],
                      n_agents=config.n_agents, env_kwargs=dict(TASK_ENV_KWARGS[task]),
                      hyperparameters=settings, device=config.device,
                      threads=1)  # fmt: skip


def unsupported(kind: str, task: str, n_agents: int = 1) -> str | None:
    """Why ``kind`` does not run on ``task`` (a recurrent kind off :data:`MEMORY_TASKS`, a
    missing extra, or the agent's own ``ValueError`` on the task's spaces), None if it runs."""
    if kind in RECURRENT and task not in MEMORY_TASKS:
        return f"{kind} runs on the tasks with memory only ({[_short(t) for t in MEMORY_TASKS]})"
    try:
        env_kwargs = dict(TASK_ENV_KWARGS[task])
        agent = make_agent(kind, task, n_agents=n_agents, seed=0, env_kwargs=env_kwargs,
                           **default_settings(kind, task))  # fmt: skip
    except MissingExtraError as error:
        return str(error)
    except ValueError as error:
        return str(error)
    agent.close()
    return None


def tuning_trials(config: Config) -> tuple[list[Trial], list[dict[str, Any]]]:
    """Every tuning trial (task x kind x configuration x tuning seed) of the kinds that run,
    with ``point`` the configuration's index, and one row per task x kind that does not run
    (``task, agent_kind, reason``)."""
    trials, skipped = [], []
    for task in config.tasks:
        for kind in config.agents:
            reason = unsupported(kind, task, config.n_agents)
            if reason is not None:
                skipped.append({"task": task, "agent_kind": kind, "reason": reason})
                continue
            for point, settings in enumerate(configurations(kind, task, config.n_configs,
                                                            config.seed)):  # fmt: skip
                for seed in config.tuning_seeds:
                    spec = _spec(config, task, kind, seed, settings)
                    trials.append(Trial(trial_id(spec, TRIAL), spec, point))
    return trials, skipped


def _trial_rows(summary_results: pd.DataFrame, trials: list[Trial], stage: str) -> pd.DataFrame:
    """One row per trial: ``stage, task, agent_kind, point, seed, n_agents, steps, status``,
    the objective and the final reward, and the hyperparameters as canonical JSON."""
    results = summary_results.set_index("id")
    rows = []
    for item in trials:
        result = results.loc[item.id]
        done = result["status"] == "done"
        rows.append({
            "stage": stage, "task": item.spec["env"], "agent_kind": item.spec["agent"],
            "point": item.point, "seed": item.spec["seed"], "n_agents": item.spec["n_agents"],
            "steps": item.spec["steps"], "status": str(result["status"]),
            "objective": float(result[OBJECTIVE]) if done else math.nan,
            "final_reward": float(result["mean_reward_last20"]) if done else math.nan,
            "wall_s": float(result["wall_s"]) if done else math.nan,
            "hyperparameters": canonical_json(item.spec["hyperparameters"]), "id": item.id,
        })  # fmt: skip
    return pd.DataFrame(rows)


def winners(tuning: pd.DataFrame) -> pd.DataFrame:
    """Per task x kind, the configuration with the highest mean objective over its tuning seeds
    (ties: the lower ``point``): ``task, agent_kind, point, objective, hyperparameters``.
    Configurations with a failed trial are not eligible."""
    rows = []
    for (task, kind), group in tuning.groupby(["task", "agent_kind"], sort=False):
        scores = []
        for point, trials in group.groupby("point"):
            if (trials["status"] != "done").any():
                continue
            scores.append((-trials["objective"].mean(), point, trials["hyperparameters"].iloc[0]))
        if scores:
            score, point, settings = min(scores)
            rows.append({"task": task, "agent_kind": kind, "point": int(point),
                         "objective": -score, "hyperparameters": settings})  # fmt: skip
    return pd.DataFrame(rows, columns=["task", "agent_kind", "point", "objective",
                                       "hyperparameters"])  # fmt: skip


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run(config: Config, out_dir: Any = None, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Tune every kind, evaluate the winners on the held-out seeds; return the tables.

    The sweeps go to ``out_dir/tuning`` and ``out_dir/evaluation`` (a temporary folder when
    ``out_dir`` is None). Returns ``"records"``: the held-out records, one row per agent per
    step (``task, agent_kind, seed, agent, step, episode, reward``; ``agent`` numbers the
    held-out agents of a kind 0..len(eval_seeds) x n_agents - 1; the random policy's rows
    too); ``"trials"``: one row per trial of both stages (see :func:`_trial_rows`); and
    ``"budget"``: one row per task x kind with ``status`` (``done`` / ``skipped``) and the
    ``reason`` of a skip.
    """
    with tempfile.TemporaryDirectory(prefix="tuned_compare-") as scratch:
        root = Path(out_dir) if out_dir is not None else Path(scratch)
        trials, skipped = tuning_trials(config)
        options = {"trial": TRIAL, "workers": config.workers, "progress": progress_bar,
                   "config": {"experiment": NAME, "stage": "tuning"}}  # fmt: skip
        tuned = run_trials(trials, root / "tuning", **options)
        tuning = _trial_rows(tuned.results, trials, "tuning")
        best = winners(tuning)
        evaluation = []
        for row in best.itertuples():
            settings = json.loads(row.hyperparameters)
            for seed in config.eval_seeds:
                spec = _spec(config, row.task, row.agent_kind, seed, settings)
                evaluation.append(Trial(trial_id(spec, TRIAL), spec, row.point))
        options["config"] = {"experiment": NAME, "stage": "evaluation"}
        evaluated = run_trials(evaluation, root / "evaluation", **options)
        trial_rows = pd.concat([tuning, _trial_rows(evaluated.results, evaluation, "evaluation")],
                               ignore_index=True)  # fmt: skip
        records = _held_out_records(config, evaluation, root / "evaluation")
    budget = _budget_rows(config, skipped)
    return {"records": records, "trials": trial_rows, "budget": budget}


def _held_out_records(config: Config, evaluation: list[Trial], folder: Path) -> pd.DataFrame:
    """The records of the evaluation trials (first ``steps`` steps) and of the random policy on
    the same seeds, with every kind's held-out agents numbered in seed order."""
    parts = []
    for task in config.tasks:
        for index, seed in enumerate(config.eval_seeds):
            rows = random_records(task, config.n_agents, config.steps[task], seed,
                                  TASK_ENV_KWARGS[task])  # fmt: skip
            parts.append(_numbered(rows, task, RANDOM, seed, index, config.n_agents))
    for item in evaluation:
        path = folder / "trials" / item.id / "records.parquet"
        if not path.is_file():
            continue  # a failed trial: every_trial_done says so
        rows = load_records(path)[["agent", "step", "episode", "reward"]]
        rows = rows[rows["step"] < item.spec["steps"]]
        index = config.eval_seeds.index(item.spec["seed"])
        parts.append(_numbered(rows, item.spec["env"], item.spec["agent"], item.spec["seed"],
                               index, config.n_agents))  # fmt: skip
    table = pd.concat(parts, ignore_index=True)
    for name in ("task", "agent_kind"):
        table[name] = pd.Categorical(table[name], categories=list(dict.fromkeys(table[name])))
    return table.astype({"seed": np.int32, "agent": np.int32, "step": np.int32,
                         "episode": np.int32, "reward": np.float32})  # fmt: skip


def _numbered(
    rows: pd.DataFrame, task: str, kind: str, seed: int, index: int, n_agents: int
) -> pd.DataFrame:
    rows = rows.loc[:, ["agent", "step", "episode", "reward"]].copy()
    rows["agent"] = rows["agent"].astype(np.int64) + index * n_agents
    rows.insert(0, "seed", seed)
    rows.insert(0, "agent_kind", kind)
    rows.insert(0, "task", task)
    return rows


def _budget_rows(config: Config, skipped: list[dict[str, Any]]) -> pd.DataFrame:
    reasons = {(row["task"], row["agent_kind"]): row["reason"] for row in skipped}
    return pd.DataFrame([
        {"task": task, "agent_kind": kind,
         "status": "skipped" if (task, kind) in reasons else "done",
         "reason": reasons.get((task, kind), "")}
        for task in config.tasks for kind in config.agents
    ])  # fmt: skip


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------

TABLE_COLUMNS = (
    "task", "agent_kind", "status", "final_rank", "speed_rank", "n_ranked", "final_reward",
    "final_ci_low", "final_ci_high", "chance", "criterion", "steps_to_criterion",
    "reached_fraction", "eval_agents", "n_configs", "tuning_trials", "tuning_agent_steps",
    "tuning_objective", "winner_point", "winner",
)  # fmt: skip
"""Columns of the comparison table (see :func:`analyse`)."""


def _per_agent_final(group: pd.DataFrame, steps: int) -> np.ndarray:
    """Each agent's reward per step over the last 20% of ``steps`` (the definition of
    :func:`~plasticgym.experiments.trial.reward_metrics`)."""
    last = group[group["step"] >= steps - max(1, math.ceil(LAST_FRACTION * steps))]
    return last.groupby("agent")["reward"].mean().to_numpy(float)


def analyse(records: Mapping[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """The side-by-side table, the ranks and the verdicts, from the tables of :func:`run`.

    Returns ``"table"``: one row per task x kind (the random policy first) with the columns
    :data:`TABLE_COLUMNS`: ranks (1 = best; ``n_ranked`` kinds ranked), final reward and CI
    over the held-out agents, chance, criterion, steps-to-criterion (median over agents) and
    fraction reached, the held-out agents, the budget used (configurations, tuning trials and
    agent-steps, counted from the trials), the winner's tuning objective, index and
    hyperparameters; ``"ranks"``: the plastic agent's ranks per task; ``"verdicts"``,
    ``"verdict_kinds"``, ``"lines"`` (labelled), ``"window"``.
    """
    rows, trials, budget = records["records"], records["trials"], records["budget"]
    groups = {key: group for key, group in rows.groupby(["task", "agent_kind"], observed=True)}
    tuning = trials[trials["stage"] == "tuning"]
    best = winners(tuning).set_index(["task", "agent_kind"])
    finals: dict[tuple[str, str], np.ndarray] = {}
    table_rows = []
    for task in config.tasks:
        steps = config.steps[task]
        kinds = [RANDOM, *config.agents]
        for kind in kinds:
            group = groups.get((task, kind))
            status = "done" if kind == RANDOM else budget.set_index(
                ["task", "agent_kind"]).loc[(task, kind), "status"]  # fmt: skip
            row: dict[str, Any] = {"task": task, "agent_kind": kind, "status": status}
            if group is not None:
                finals[(task, kind)] = _per_agent_final(group, steps)
                mean, low, high = mean_ci(finals[(task, kind)])
                row.update(final_reward=mean, final_ci_low=low, final_ci_high=high,
                           eval_agents=int(group["agent"].nunique()))  # fmt: skip
            mine = tuning[(tuning["task"] == task) & (tuning["agent_kind"] == kind)]
            row.update(
                n_configs=int(mine["point"].nunique()),
                tuning_trials=len(mine),
                tuning_agent_steps=int((mine["n_agents"] * mine["steps"]).sum()),
            )
            if (task, kind) in best.index:
                won = best.loc[(task, kind)]
                row.update(
                    tuning_objective=float(won["objective"]),
                    winner_point=int(won["point"]),
                    winner=won["hyperparameters"],
                )
            table_rows.append(row)
    table = pd.DataFrame(table_rows)
    for name in TABLE_COLUMNS:
        if name not in table:
            table[name] = math.nan
    table = _with_criteria(table, groups, config.window)
    table = _with_ranks(table)
    verdicts, lines, kinds = _verdicts(table, finals, trials, config)
    ranks = table[table["agent_kind"] == "plastic"][["task", "final_rank", "speed_rank",
                                                     "n_ranked"]]  # fmt: skip
    return {
        "table": table[list(TABLE_COLUMNS)],
        "ranks": ranks.reset_index(drop=True),
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "lines": labelled(lines, kinds),
        "window": config.window,
    }


def _with_criteria(
    table: pd.DataFrame, groups: Mapping[tuple[str, str], pd.DataFrame], window: int
) -> pd.DataFrame:
    """Chance, criterion (``CRITERION_FRACTION`` of the way from chance to the best learner's
    final reward; NaN when none beats chance or the actions do not matter) and each kind's
    steps-to-criterion (median over agents) and fraction reached."""
    table = table.copy()
    chance = table[table["agent_kind"] == RANDOM].set_index("task")["final_reward"]
    table["chance"] = table["task"].map(chance)
    learners = table[(table["agent_kind"] != RANDOM) & table["final_reward"].notna()]
    best = learners.groupby("task")["final_reward"].max()
    criteria = {}
    for task in table["task"].unique():
        low, high = chance.get(task, math.nan), best.get(task, math.nan)
        useful = task not in ACTIONS_IRRELEVANT and high > low
        criteria[task] = low + CRITERION_FRACTION * (high - low) if useful else math.nan
    table["criterion"] = table["task"].map(criteria)
    speeds = [_speed_to_criterion(groups.get((task, kind)), criteria[task], window)
              for task, kind in zip(table["task"], table["agent_kind"], strict=True)]  # fmt: skip
    table["steps_to_criterion"] = [median for median, _ in speeds]
    table["reached_fraction"] = [fraction for _, fraction in speeds]
    return table


def rank_kinds(table: pd.DataFrame) -> pd.DataFrame:
    """``final_rank`` (1 = highest final reward), ``speed_rank`` (1 = fewest median steps to
    criterion; kinds whose median is undefined rank after those with one, by their fraction
    reached, higher first; then by final reward) and ``n_ranked`` for the learning kinds
    with held-out records of one task (``table``'s rows of that task, random policy
    excluded). Ties share the lower rank."""
    ranked = table.copy()
    learners = (ranked["agent_kind"] != RANDOM) & ranked["final_reward"].notna()
    ranked["final_rank"] = math.nan
    ranked["speed_rank"] = math.nan
    ranked["n_ranked"] = int(learners.sum())
    mine = ranked[learners]
    ranked.loc[learners, "final_rank"] = mine["final_reward"].rank(ascending=False, method="min")
    median = mine["steps_to_criterion"].fillna(np.inf)
    reached = mine["reached_fraction"].fillna(0.0)
    keys = list(zip(median, -reached, -mine["final_reward"], strict=True))
    ranked.loc[learners, "speed_rank"] = [1 + sum(other < key for other in keys) for key in keys]
    return ranked


def _with_ranks(table: pd.DataFrame) -> pd.DataFrame:
    parts = [rank_kinds(group) for _, group in table.groupby("task", sort=False)]
    return pd.concat(parts).sort_index()


def _verdicts(
    table: pd.DataFrame,
    finals: Mapping[tuple[str, str], np.ndarray],
    trials: pd.DataFrame,
    config: Config,
) -> tuple[dict[str, bool], dict[str, str], dict[str, str]]:
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    kinds: dict[str, str] = {}
    tuning = trials[trials["stage"] == "tuning"]
    # the budget of every kind that ran, per task, counted from its trials
    budgets = {}
    for (task, kind), group in tuning.groupby(["task", "agent_kind"], sort=False):
        budgets[(task, kind)] = (group["point"].nunique(), len(group),
                                 tuple(sorted(group["seed"].unique().tolist())),
                                 tuple(sorted(group["n_agents"].unique().tolist())),
                                 tuple(sorted(group["steps"].unique().tolist())))  # fmt: skip
    per_task_ok = []
    for task in config.tasks:
        found = {v for (t, _), v in budgets.items() if t == task}
        expected = (config.n_configs, config.n_configs * len(config.tuning_seeds),
                    tuple(sorted(config.tuning_seeds)), (config.n_agents,),
                    (config.steps[task],))  # fmt: skip
        per_task_ok.append(found == {expected})
    evaluated = trials[trials["stage"] == "evaluation"]
    held_out = {
        key: (tuple(sorted(group["seed"])), tuple(sorted(set(group["n_agents"]))))
        for key, group in evaluated.groupby(["task", "agent_kind"], sort=False)
    }
    same_evaluation = set(held_out) == set(budgets) and set(held_out.values()) == {
        (tuple(sorted(config.eval_seeds)), (config.n_agents,))}  # fmt: skip
    name = "equal_budget"
    verdicts[name] = bool(budgets) and all(per_task_ok) and same_evaluation
    kinds[name] = MECHANISM_CHECK
    counts = sorted({v[1] for v in budgets.values()})
    steps = {_short(t): s for t, s in config.steps.items() if t in config.tasks}
    lines[name] = (
        f"every agent kind that ran had {config.n_configs} configurations x "
        f"{len(config.tuning_seeds)} tuning seeds = {counts} tuning trials (counted) of "
        f"{config.n_agents} agents x the task's steps ({steps}); {len(budgets)} task x kind "
        f"combinations tuned; every winner evaluated on the same {len(config.eval_seeds)} "
        f"held-out seeds x {config.n_agents} agents: {same_evaluation}"
    )
    tuned_seeds = set(tuning["seed"])
    held_out = set(evaluated["seed"])
    name = "seeds_disjoint"
    verdicts[name] = bool(held_out) and not (tuned_seeds & held_out)
    kinds[name] = MECHANISM_CHECK
    lines[name] = (f"tuning seeds {sorted(tuned_seeds)}, held-out seeds {sorted(held_out)}: "
                   f"{len(tuned_seeds & held_out)} shared")  # fmt: skip
    name = "every_trial_done"
    failed = trials[trials["status"] != "done"]
    verdicts[name] = failed.empty
    kinds[name] = MECHANISM_CHECK
    lines[name] = (f"{len(trials) - len(failed)} of {len(trials)} trials done "
                   f"({len(tuning)} tuning, {len(evaluated)} evaluation)")  # fmt: skip
    for task in config.tasks:
        if task in ACTIONS_IRRELEVANT or "plastic" not in config.agents:
            continue
        rows = table[table["task"] == task].set_index("agent_kind")
        if "plastic" not in rows.index or not math.isfinite(rows.loc["plastic", "final_reward"]):
            continue
        plastic = rows.loc["plastic"]
        chance = float(plastic["chance"])
        name = f"plastic_above_chance_{_short(task)}"
        verdicts[name] = bool(plastic["final_ci_low"] > chance)
        kinds[name] = FINDING
        lines[name] = (
            f"tuned plastic final reward per step "
            f"{format_ci(plastic['final_reward'], plastic['final_ci_low'], plastic['final_ci_high'], 3)} "  # noqa: E501
            f"(95% CI over {int(plastic['eval_agents'])} held-out agents) vs chance {chance:+.3f}"
        )
        others = rows[(rows.index != "plastic") & (rows.index != RANDOM)
                      & rows["final_reward"].notna()]  # fmt: skip
        name = f"plastic_noninferior_{_short(task)}"
        kinds[name] = FINDING
        rank_text = (f"plastic ranks {int(plastic['final_rank'])} of {int(plastic['n_ranked'])} "
                     f"on final reward and {int(plastic['speed_rank'])} of "
                     f"{int(plastic['n_ranked'])} on steps-to-criterion")  # fmt: skip
        if others.empty:
            verdicts[name] = False
            lines[name] = f"no other kind to compare with; {rank_text}"
            continue
        rival = str(others["final_reward"].idxmax())
        best = float(max(others["final_reward"].max(), plastic["final_reward"]))
        margin = NONINFERIORITY_FRACTION * (best - chance)
        diff, low, high = difference_ci(finals[(task, "plastic")], finals[(task, rival)])
        verdicts[name] = bool(margin > 0 and low > -margin)
        speed = plastic["steps_to_criterion"]
        lines[name] = (
            f"{rank_text} (median {speed:.0f} steps, {plastic['reached_fraction']:.0%} reach it; "
            f"criterion {plastic['criterion']:+.3f}). Plastic minus the best other kind "
            f"({rival}) final reward {format_ci(diff, low, high, 3)} (Welch 95% CI), needs > "
            f"-{margin:.3f} ({NONINFERIORITY_FRACTION:g} x best - chance)"
        )
    return verdicts, lines, kinds


# --------------------------------------------------------------------------------------------
# Figures and text
# --------------------------------------------------------------------------------------------


def plot(records: Mapping[str, pd.DataFrame], result: Mapping[str, Any], out_dir: Any) -> list:
    """Held-out learning curves per task (mean and 95% CI over the held-out agents), chance
    (dotted) and criterion (dashed): ``tuned_compare_learning_curves.png``."""
    from plasticgym.experiments.compare import plot as compare_plot

    paths = compare_plot(records["records"], result, out_dir)
    target = Path(out_dir) / "tuned_compare_learning_curves.png"
    paths[0].replace(target)
    return [target]


def format_table(result: Mapping[str, Any]) -> str:
    """The side-by-side table as text, then the verdict lines."""
    table = result["table"].drop(columns=["winner"]).copy()
    table["task"] = table["task"].map(_short)
    text = table.to_string(index=False, float_format=lambda v: f"{v:.3g}")
    verdicts = [f"[{'PASS' if ok else 'FAIL'}] {name}: {result['lines'][name]}"
                for name, ok in result["verdicts"].items()]  # fmt: skip
    return "\n".join([text, "", *verdicts])


def search_spaces() -> dict[str, dict[str, Any]]:
    """:data:`SEARCH_SPACES`, each checked by :func:`plasticgym.sweep.check_space`."""
    return {kind: check_space(space, f"SEARCH_SPACES[{kind!r}]")
            for kind, space in SEARCH_SPACES.items()}  # fmt: skip
