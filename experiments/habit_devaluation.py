"""Outcome devaluation after moderate vs extended training: habits without values.

Rats trained to press a lever for food press less in an extinction test after the food has been
devalued by pairing it with illness (goal-directed control; Adams & Dickinson 1981); after
extended training they no longer do (a habit; Adams 1982). Miller, Shenhav & Ludvig (2019)
explain the transition with a value-free habit pathway whose stimulus-response strengths grow
with the repetition of an action and take control from the goal-directed system.

Populations of plastic agents with a goal-directed evaluation (actions valued by the outcomes
they bring, outcomes valued by the dopamine-trained critic and a reward model; no cached action
values, ``actor_lr=0``) are trained on ``plasticgym/HabitFormation-v0`` for ``moderate`` or
``extended`` numbers of reinforcers, on a ratio or an interval schedule, with the habit pathway
on or off; then outcome 1 is devalued in a separate context and the levers are tested in
extinction. Per agent, the **devaluation sensitivity** is the share of its presses on the
devalued lever in late training minus that share in the test (positive: it moved away from the
devalued lever). Signatures, each with a 95% confidence interval over agents:

1. ``goal_directed_after_moderate``: with habits, moderately trained agents are sensitive;
2. ``habitual_after_extended``: with habits, extended training lowers the sensitivity;
3. ``no_habit_stays_sensitive``: without the habit pathway, extended training leaves the agents
   sensitive, more so than with it;
4. ``interval_more_habitual``: after moderate training, interval schedules leave the agents less
   sensitive than ratio schedules (Dickinson, Nicholas & Adams 1983). The interval schedule is
   RI(``interval_param``) per lever, chosen so that both schedules pay about the same outcomes
   per step at the press rates the agents reach (reported as ``steps_per_reinforcer``): equal
   reinforcers then mean equal practice. The experienced response-outcome rate correlation is
   lower on the interval schedule, and the arbiter can weigh it
   (``contingency_weight``, :func:`plasticgym.habits.rate_correlation_update`), but with two
   concurrent levers interval schedules reward alternating between them, which keeps habits
   from favouring either lever: the verdict reports what the agents do.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.stats import ci_row, estimate_row, format_ci, mean_ci

NAME = "habit_devaluation"
DESCRIPTION = (
    "outcome devaluation after moderate vs extended training, ratio vs interval, "
    "with and without the habit pathway"
)
ENV = "plasticgym/HabitFormation-v0"
AGENT = {"trace_lambda": 0.0, "actor_lr": 0.0, "goal_directed": True, "goal_weight": 3.0}
"""Goal-directed evaluation without cached action values (Miller, Shenhav & Ludvig 2019)."""


@dataclass(frozen=True)
class Config:
    """What to run: every combination of habit pathway x training x schedule is one population
    of ``n_agents`` agents (seeds ``seed``, ``seed + 1``, ...)."""

    seed: int = 0
    n_agents: int = 64
    device: str = "cpu"
    moderate: int = 100
    extended: int = 500
    schedule_param: float = 5.0
    interval_param: float = 10.0
    devaluation_pairings: int = 10
    test_steps: int = 60
    late_training_steps: int = 200
    habit_lr: float = 0.001
    max_steps: int = 20_000
    full_design: bool = True

    def __post_init__(self) -> None:
        for name in ("n_agents", "moderate", "extended", "devaluation_pairings", "test_steps",
                     "late_training_steps", "max_steps"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
        if self.n_agents < 2:
            raise ValueError(f"n_agents={self.n_agents} is invalid: the statistics need >= 2")
        if not self.moderate < self.extended:
            raise ValueError(
                f"moderate={self.moderate} and extended={self.extended}: need moderate < extended"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The four groups the signatures compare, 32 agents each, 100 vs 400 reinforcers
        (about a minute on 2 cores)."""
        return cls(**{"n_agents": 32, "extended": 400, "full_design": False, **overrides})

    def groups(self) -> list[dict[str, Any]]:
        """The populations (habit pathway, training, schedule): all eight combinations, or
        with ``full_design=False`` the four the signatures compare."""
        if not self.full_design:
            return [
                {"habit": True, "training": "moderate", "schedule": "ratio"},
                {"habit": True, "training": "extended", "schedule": "ratio"},
                {"habit": False, "training": "extended", "schedule": "ratio"},
                {"habit": True, "training": "moderate", "schedule": "interval"},
            ]
        return [
            {"habit": habit, "training": training, "schedule": schedule}
            for habit, training, schedule in itertools.product(
                (True, False), ("moderate", "extended"), ("ratio", "interval")
            )
        ]


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train every group to the end of its test; records: one row per agent per step."""
    del out_dir, progress_bar
    frames = []
    for index, group in enumerate(config.groups()):
        env_kwargs = {
            "schedule": group["schedule"],
            "schedule_param": (
                config.interval_param if group["schedule"] == "interval" else config.schedule_param
            ),
            "training_reinforcers": getattr(config, group["training"]),
            "devaluation_pairings": config.devaluation_pairings,
            "test_steps": config.test_steps,
        }
        agent = PlasticAgent(ENV, n_agents=config.n_agents, seed=config.seed + index,
                             env_kwargs=env_kwargs, habit=group["habit"],
                             habit_lr=config.habit_lr, device=config.device,
                             **AGENT)  # fmt: skip
        agent.learn(config.max_steps, record=True,
                    callback=lambda a: not bool((a.episodes_completed > 0).all()))  # fmt: skip
        records = agent.records
        records = records[records["episode"] == 0][["agent", "step", "phase", "action", "reward"]]
        frames.append(records.assign(**group))
        agent.close()
    return {"records": pd.concat(frames, ignore_index=True)}


def _devalued_share(actions: pd.Series) -> float:
    presses = actions[actions > 0]
    return float((presses == 1).mean()) if len(presses) else math.nan


def sensitivity(records: pd.DataFrame, late_training_steps: int) -> pd.DataFrame:
    """Per agent of every group: the share of presses on the devalued lever (1) in its last
    ``late_training_steps`` training steps and in the test, their difference (the devaluation
    sensitivity) and the test's press rates on each lever."""
    rows = []
    keys = ["habit", "training", "schedule", "agent"]
    for key, agent_rows in records.groupby(keys, sort=False, observed=True):
        training = agent_rows[agent_rows["phase"] == "training"]["action"]
        test = agent_rows[agent_rows["phase"] == "test"]["action"]
        late = _devalued_share(training.iloc[-late_training_steps:])
        rows.append({
            **dict(zip(keys, key, strict=True)),
            "late_training_share": late,
            "test_share": _devalued_share(test),
            "sensitivity": late - _devalued_share(test),
            "devalued_presses": float((test == 1).mean()) if len(test) else math.nan,
            "other_presses": float((test == 2).mean()) if len(test) else math.nan,
            "test_steps": len(test),
            "steps_per_reinforcer": len(training) / max(
                int((agent_rows["phase"].eq("training") & agent_rows["reward"].gt(0)).sum()), 1
            ),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _group(
    table: pd.DataFrame,
    habit: bool,
    training: str,
    schedule: str = "ratio",
    column: str = "sensitivity",
) -> np.ndarray:
    rows = table[(table["habit"] == habit) & (table["training"] == training)
                 & (table["schedule"] == schedule)]  # fmt: skip
    values = rows[column].to_numpy(float)
    return values[np.isfinite(values)]


def difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a`` minus mean of ``b`` (independent groups) with Welch's 95% interval."""
    interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    return float(a.mean() - b.mean()), float(interval.low), float(interval.high)


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Devaluation sensitivity per group and the four signatures."""
    table = sensitivity(records["records"], config.late_training_steps)
    rows = [
        ci_row(_group(table, **group), quantity="sensitivity", **group) for group in config.groups()
    ]
    rows += [
        ci_row(_group(table, **group, column="steps_per_reinforcer"),
               quantity="steps_per_reinforcer", **group)
        for group in config.groups()
    ]  # fmt: skip
    moderate = _group(table, True, "moderate")
    extended = _group(table, True, "extended")
    without = _group(table, False, "extended")
    interval = _group(table, True, "moderate", "interval")
    estimates = {
        "goal_directed_after_moderate": mean_ci(moderate),
        "habitual_after_extended": difference_ci(moderate, extended),
        "no_habit_stays_sensitive": difference_ci(without, extended),
        "interval_more_habitual": difference_ci(moderate, interval),
    }
    for name, estimate in estimates.items():
        rows.append(estimate_row(estimate, config.n_agents, quantity=name))
    verdicts = {name: bool(low > 0) for name, (_, low, _) in estimates.items()}
    verdicts["no_habit_stays_sensitive"] &= bool(mean_ci(without)[1] > 0)
    text = {name: format_ci(*estimate) for name, estimate in estimates.items()}
    lines = {
        "goal_directed_after_moderate": (
            f"with habits, after {config.moderate} reinforcers the agents moved away from the "
            f"devalued lever by {text['goal_directed_after_moderate']} (share of presses, "
            "late training - test)"
        ),
        "habitual_after_extended": (
            f"sensitivity after {config.moderate} minus after {config.extended} reinforcers: "
            f"{text['habitual_after_extended']}"
        ),
        "no_habit_stays_sensitive": (
            f"after {config.extended} reinforcers, without minus with the habit pathway: "
            f"{text['no_habit_stays_sensitive']} (without: {format_ci(*mean_ci(without))})"
        ),
        "interval_more_habitual": (
            f"after {config.moderate} reinforcers, ratio minus interval schedule: "
            f"{text['interval_more_habitual']} (interval RI({config.interval_param:g}) per lever, "
            f"ratio RR({config.schedule_param:g}): matched outcome rates)"
        ),
    }
    return {"verdicts": verdicts, "lines": lines, "table": pd.DataFrame(rows),
            "per_agent": table}  # fmt: skip


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Devaluation sensitivity per group (mean and 95% CI over agents)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    del records
    table = result["table"]
    groups = table[table["quantity"] == "sensitivity"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    labels = [f"{'habit' if r.habit else 'no habit'}\n{r.training}\n{r.schedule}"
              for r in groups.itertuples()]  # fmt: skip
    x = np.arange(len(groups))
    err = np.vstack([groups["mean"] - groups["ci_low"], groups["ci_high"] - groups["mean"]])
    colors = ["tab:red" if h else "tab:blue" for h in groups["habit"]]
    ax.bar(x, groups["mean"], yerr=err, color=colors, capsize=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("devaluation sensitivity\n(devalued share: training - test)")
    ax.set_title("Outcome devaluation (HabitFormation-v0)")
    fig.tight_layout()
    path = Path(out_dir) / "habit_devaluation.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
