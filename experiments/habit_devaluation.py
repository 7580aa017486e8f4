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
   sensitive than ratio schedules (Dickinson, Nicholas & Adams 1983). As in that study this
   part has a single lever (``levers=1``) and compares devalued with non-devalued groups: the
   **devaluation effect** is the control groups' mean test press rate minus the devalued
   groups', and the verdict is the ratio effect minus the interval effect. Its agents' arbiter
   also weighs the experienced response-outcome rate correlation (Perez & Dickinson 2020;
   :data:`RATE_CORRELATION_ARBITER`), counted where the lever is present: the outcome rate
   follows the press rate on RR(``schedule_param``) but barely on RI(``single_lever_interval``),
   chosen so that both pay about the same outcomes per step (``steps_per_reinforcer``), so
   equal reinforcers mean equal practice and equal habit strength. The two-lever interval
   groups of the full design are reported too: with a choice between two levers, interval
   schedules reward alternating between them and the agents stay as sensitive as on ratio.

Verdicts 1-3 are labelled ``mechanism check`` (they hold by the goal-directed and habit
equations put in; 3 is the control without the habit pathway), 4 ``finding`` (:data:`KIND`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.agents import PlasticAgent
from plasticgym.agents.base import step_bar
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    tensorboard_folder,
)
from plasticgym.experiments.stats import (
    ci_row,
    difference_ci,
    estimate_row,
    format_ci,
    interaction_ci,
    mean_ci,
)

NAME = "habit_devaluation"
DESCRIPTION = (
    "outcome devaluation after moderate vs extended training, ratio vs interval, "
    "with and without the habit pathway"
)
ENV = "plasticgym/HabitFormation-v0"
AGENT = {"trace_lambda": 0.0, "actor_lr": 0.0, "goal_directed": True, "goal_weight": 3.0}
"""Goal-directed evaluation without cached action values (Miller, Shenhav & Ludvig 2019)."""
RATE_CORRELATION_ARBITER = {
    "contingency_weight": 0.5, "arbiter_threshold": 0.035, "arbiter_gain": 50.0,
    "contingency_context": 0,
}  # fmt: skip
"""The single-lever part's arbiter: ``w_H = sigmoid(50 (spread - 0.035 - 0.5 rho))`` with the
response-outcome rate correlation ``rho`` counted in the instrumental context (channel 0)."""


KIND = {
    # The goal-directed evaluation values actions by their outcomes' learned values: after
    # devaluation, with the habit pathway still weak, it moves away by its equations.
    "goal_directed_after_moderate": MECHANISM_CHECK,
    # Habit strength grows with every repetition (Miller et al. 2019's rule) and the arbiter
    # hands it control past a threshold: more training, less sensitivity, by design (the
    # verdict checks that the extended training is past the switch).
    "habitual_after_extended": MECHANISM_CHECK,
    # The control that removes the mechanism: without the habit pathway only the
    # goal-directed system acts.
    "no_habit_stays_sensitive": MECHANISM_CHECK,
    # Depends on the press patterns each schedule produces, the experienced rate correlation
    # and the schedules' parameters: could fail (and does at other training lengths, see
    # docs/experiments.md, "Robustness").
    "interval_more_habitual": FINDING,
}
"""Each verdict's label (:data:`plasticgym.experiments.report.VERDICT_KINDS`)."""


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
    single_lever_agents: int = 256
    single_lever_interval: float = 5.9

    def __post_init__(self) -> None:
        for name in ("n_agents", "moderate", "extended", "devaluation_pairings", "test_steps",
                     "late_training_steps", "max_steps", "single_lever_agents"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
        for name in ("n_agents", "single_lever_agents"):
            if getattr(self, name) < 2:
                raise ValueError(
                    f"{name}={getattr(self, name)} is invalid: the statistics need >= 2"
                )
        for name in ("schedule_param", "interval_param", "single_lever_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (
                isinstance(value, int | float) and math.isfinite(value) and value >= 1
            ):
                raise ValueError(f"{name}={value!r} is invalid: a number >= 1")
        if not self.moderate < self.extended:
            raise ValueError(
                f"moderate={self.moderate} and extended={self.extended}: need moderate < extended"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The groups the signatures compare: three of 32 agents (100 vs 400 reinforcers) and
        the single-lever part with 128 agents per group (about a minute on 2 cores)."""
        return cls(**{"n_agents": 32, "extended": 400, "full_design": False,
                      "single_lever_agents": 128, **overrides})  # fmt: skip

    def groups(self) -> list[dict[str, Any]]:
        """The two-lever populations (habit pathway, training, schedule): all eight
        combinations, or with ``full_design=False`` the three the signatures compare."""
        if not self.full_design:
            return [
                {"habit": True, "training": "moderate", "schedule": "ratio"},
                {"habit": True, "training": "extended", "schedule": "ratio"},
                {"habit": False, "training": "extended", "schedule": "ratio"},
            ]
        return [
            {"habit": habit, "training": training, "schedule": schedule}
            for habit, training, schedule in itertools.product(
                (True, False), ("moderate", "extended"), ("ratio", "interval")
            )
        ]

    @staticmethod
    def single_lever_groups() -> list[dict[str, Any]]:
        """The single-lever populations (schedule, devalued or control), moderately trained."""
        return [
            {"schedule": schedule, "devalued": devalued}
            for schedule, devalued in itertools.product(("ratio", "interval"), (True, False))
        ]


def _train_and_test(config: Config, n_agents: int, seed: int, env_kwargs: dict[str, Any], *,
                    tensorboard_log: str | None = None, tb_log_name: str | None = None,
                    **agent_kwargs: Any) -> pd.DataFrame:  # fmt: skip
    """One population through training, devaluation and test: its first episode's records
    (TensorBoard run ``tb_log_name`` under ``tensorboard_log`` if given)."""
    env_kwargs = {"devaluation_pairings": config.devaluation_pairings,
                  "test_steps": config.test_steps, **env_kwargs}  # fmt: skip
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=seed, env_kwargs=env_kwargs,
                         habit_lr=config.habit_lr, device=config.device,
                         tensorboard_log=tensorboard_log, tb_log_name=tb_log_name,
                         **{**AGENT, "habit": True, **agent_kwargs})  # fmt: skip
    agent.learn(config.max_steps, record=True,
                callback=lambda a: not bool((a.episodes_completed > 0).all()))  # fmt: skip
    records = agent.records
    agent.close()
    return records[records["episode"] == 0][["agent", "step", "phase", "action", "reward"]]


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train every group to the end of its test; records: one row per agent per step, two-lever
    groups (``records``) and single-lever groups (``single_lever``). TensorBoard: one run per
    group under ``out_dir/tensorboard`` (see :func:`group_run_name`)."""
    tensorboard_log = tensorboard_folder(out_dir)
    groups, single_groups = config.groups(), config.single_lever_groups()
    with step_bar(progress_bar, len(groups) + len(single_groups), NAME, unit="group") as bar:
        return _run_groups(config, groups, single_groups, bar, tensorboard_log)


def group_run_name(group: dict[str, Any]) -> str:
    """A group's TensorBoard run name: ``habit_devaluation_RR_extended_habit`` (two-lever:
    schedule, training, habit pathway or ``nohabit``) or ``habit_devaluation_single_RI_devalued``
    (single-lever: schedule, devalued or ``control``)."""
    schedule = {"ratio": "RR", "interval": "RI"}[group["schedule"]]
    if "devalued" in group:
        return f"{NAME}_single_{schedule}_{'devalued' if group['devalued'] else 'control'}"
    return f"{NAME}_{schedule}_{group['training']}_{'habit' if group['habit'] else 'nohabit'}"


def _run_groups(
    config: Config,
    groups: list[dict[str, Any]],
    single_groups: list[dict[str, Any]],
    bar: Any,
    tensorboard_log: str | None = None,
) -> dict[str, pd.DataFrame]:
    frames = []
    for index, group in enumerate(groups):
        interval = group["schedule"] == "interval"
        env_kwargs = {
            "schedule": group["schedule"],
            "schedule_param": config.interval_param if interval else config.schedule_param,
            "training_reinforcers": getattr(config, group["training"]),
        }
        records = _train_and_test(config, config.n_agents, config.seed + index, env_kwargs,
                                  tensorboard_log=tensorboard_log,
                                  tb_log_name=group_run_name(group),
                                  habit=group["habit"])  # fmt: skip
        frames.append(records.assign(**group))
        if bar is not None:
            bar.update(1)
    single = []
    for index, group in enumerate(single_groups):
        interval = group["schedule"] == "interval"
        env_kwargs = {
            "levers": 1,
            "devalued": 1 if group["devalued"] else 2,
            "schedule": group["schedule"],
            "schedule_param": config.single_lever_interval if interval else config.schedule_param,
            "training_reinforcers": config.moderate,
        }
        records = _train_and_test(config, config.single_lever_agents, config.seed + 100 + index,
                                  env_kwargs, tensorboard_log=tensorboard_log,
                                  tb_log_name=group_run_name(group),
                                  **RATE_CORRELATION_ARBITER)  # fmt: skip
        single.append(records.assign(**group))
        if bar is not None:
            bar.update(1)
    return {"records": pd.concat(frames, ignore_index=True),
            "single_lever": pd.concat(single, ignore_index=True)}  # fmt: skip


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


def press_rates(records: pd.DataFrame, late_training_steps: int) -> pd.DataFrame:
    """Per agent of every single-lever group: its press rate (presses per step) in its last
    ``late_training_steps`` training steps and in the test, and its steps per reinforcer in
    training."""
    rows = []
    keys = ["schedule", "devalued", "agent"]
    for key, agent_rows in records.groupby(keys, sort=False, observed=True):
        training = agent_rows[agent_rows["phase"] == "training"]
        test = agent_rows[agent_rows["phase"] == "test"]["action"]
        rows.append({
            **dict(zip(keys, key, strict=True)),
            "late_training_rate": float((training["action"].iloc[-late_training_steps:] == 1)
                                        .mean()) if len(training) else math.nan,
            "test_rate": float((test == 1).mean()) if len(test) else math.nan,
            "steps_per_reinforcer": len(training) / max(int((training["reward"] > 0).sum()), 1),
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


def _single_lever_group(
    table: pd.DataFrame, schedule: str, devalued: bool, column: str = "test_rate"
) -> np.ndarray:
    rows = table[(table["schedule"] == schedule) & (table["devalued"] == devalued)]
    values = rows[column].to_numpy(float)
    return values[np.isfinite(values)]


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Devaluation sensitivity per two-lever group, the single-lever groups' press rates and
    devaluation effects, and the four signatures."""
    table = sensitivity(records["records"], config.late_training_steps)
    single = press_rates(records["single_lever"], config.late_training_steps)
    test_rates = {
        (schedule, devalued): _single_lever_group(single, schedule, devalued)
        for schedule, devalued in itertools.product(("ratio", "interval"), (True, False))
    }
    effects = devaluation_effects(test_rates)
    estimates = signature_estimates(table, test_rates)
    without = _group(table, False, "extended")
    rows = [
        *_two_lever_rows(table, config),
        *_single_lever_rows(single, effects, config),
        *_signature_rows(estimates, table, config),
    ]
    verdicts = {name: bool(low > 0) for name, (_, low, _) in estimates.items()}
    verdicts["no_habit_stays_sensitive"] &= bool(mean_ci(without)[1] > 0)
    verdicts["interval_more_habitual"] &= bool(effects["ratio"][1] > 0)
    kinds = {name: KIND[name] for name in verdicts}
    lines = labelled(_lines(estimates, effects, without, config), kinds)
    return {"verdicts": verdicts, "verdict_kinds": kinds, "lines": lines,
            "table": pd.DataFrame(rows), "per_agent": table, "single_lever": single}  # fmt: skip


def devaluation_effects(
    test_rates: dict[tuple[str, bool], np.ndarray],
) -> dict[str, tuple[float, float, float]]:
    """Per schedule: the control group's test press rate minus the devalued group's
    (``test_rates``: each single-lever group's, ``(schedule, devalued)``, per agent)."""
    return {
        schedule: difference_ci(test_rates[schedule, False], test_rates[schedule, True])
        for schedule in ("ratio", "interval")
    }


def signature_estimates(
    table: pd.DataFrame, test_rates: dict[tuple[str, bool], np.ndarray]
) -> dict[str, tuple[float, float, float]]:
    """The estimate of each signature (see the module docstring) from the per-agent
    :func:`sensitivity` ``table`` and the single-lever ``test_rates``."""
    moderate = _group(table, True, "moderate")
    extended = _group(table, True, "extended")
    without = _group(table, False, "extended")
    return {
        "goal_directed_after_moderate": mean_ci(moderate),
        "habitual_after_extended": difference_ci(moderate, extended),
        "no_habit_stays_sensitive": difference_ci(without, extended),
        "interval_more_habitual": interaction_ci(
            test_rates["ratio", False], test_rates["ratio", True],
            test_rates["interval", False], test_rates["interval", True],
        ),
    }  # fmt: skip


def _two_lever_rows(table: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """Sensitivity, then steps per reinforcer, of every two-lever group."""
    rows = [
        ci_row(_group(table, **group), quantity="sensitivity", **group) for group in config.groups()
    ]
    rows += [
        ci_row(_group(table, **group, column="steps_per_reinforcer"),
               quantity="steps_per_reinforcer", **group)
        for group in config.groups()
    ]  # fmt: skip
    return rows


def _single_lever_rows(
    single: pd.DataFrame, effects: dict[str, tuple[float, float, float]], config: Config
) -> list[dict[str, Any]]:
    """Each single-lever group's press rates and steps per reinforcer, then each schedule's
    devaluation effect."""
    rows = []
    for column in ("late_training_rate", "test_rate", "steps_per_reinforcer"):
        for group in config.single_lever_groups():
            rows.append(ci_row(_single_lever_group(single, **group, column=column),
                               quantity=f"single_lever_{column}", habit=True,
                               training="moderate", **group))  # fmt: skip
    for schedule, effect in effects.items():
        rows.append(
            estimate_row(
                effect,
                config.single_lever_agents,
                quantity="single_lever_devaluation_effect",
                schedule=schedule,
            )
        )
    return rows


def _signature_rows(
    estimates: dict[str, tuple[float, float, float]], table: pd.DataFrame, config: Config
) -> list[dict[str, Any]]:
    """The signatures' estimates, then (full design) the two-lever ratio minus interval
    sensitivity after moderate training."""
    rows = []
    for name, estimate in estimates.items():
        n = config.single_lever_agents if name == "interval_more_habitual" else config.n_agents
        rows.append(estimate_row(estimate, n, quantity=name))
    two_lever_interval = _group(table, True, "moderate", "interval")
    if two_lever_interval.size >= 2:
        moderate = _group(table, True, "moderate")
        rows.append(estimate_row(difference_ci(moderate, two_lever_interval), config.n_agents,
                                 quantity="two_lever_ratio_minus_interval"))  # fmt: skip
    return rows


def _lines(
    estimates: dict[str, tuple[float, float, float]],
    effects: dict[str, tuple[float, float, float]],
    without: np.ndarray,
    config: Config,
) -> dict[str, str]:
    """One line per signature with its numbers; ``without``: the sensitivities after extended
    training without the habit pathway."""
    text = {name: format_ci(*estimate) for name, estimate in estimates.items()}
    return {
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
            f"one lever, {config.moderate} reinforcers: devaluation effect (control - devalued "
            f"test press rate) on RR({config.schedule_param:g}) "
            f"{format_ci(*effects['ratio'])} minus on RI({config.single_lever_interval:g}) "
            f"{format_ci(*effects['interval'])}: {text['interval_more_habitual']}"
        ),
    }


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Devaluation sensitivity per two-lever group and test press rates of the single-lever
    groups (means and 95% CIs over agents)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    del records
    table = result["table"]
    fig, (ax, ax_single) = plt.subplots(
        1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [2, 1]}
    )
    groups = table[table["quantity"] == "sensitivity"]
    labels = [f"{'habit' if r.habit else 'no habit'}\n{r.training}\n{r.schedule}"
              for r in groups.itertuples()]  # fmt: skip
    x = np.arange(len(groups))
    err = np.vstack([groups["mean"] - groups["ci_low"], groups["ci_high"] - groups["mean"]])
    colors = ["tab:red" if h else "tab:blue" for h in groups["habit"]]
    ax.bar(x, groups["mean"], yerr=err, color=colors, capsize=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("devaluation sensitivity\n(devalued share: training - test)")
    ax.set_title("Two levers: choice test")
    single = table[table["quantity"] == "single_lever_test_rate"]
    x = np.arange(len(single))
    err = np.vstack([single["mean"] - single["ci_low"], single["ci_high"] - single["mean"]])
    ax_single.bar(
        x,
        single["mean"],
        yerr=err,
        capsize=3,
        color=["tab:purple" if d else "tab:gray" for d in single["devalued"]],
    )
    ax_single.set_xticks(x, [f"{r.schedule}\n{'devalued' if r.devalued else 'control'}"
                             for r in single.itertuples()], fontsize=7)  # fmt: skip
    ax_single.set_ylabel("test presses per step")
    ax_single.set_title("One lever, moderate training")
    fig.suptitle("Outcome devaluation (HabitFormation-v0)")
    fig.tight_layout()
    path = Path(out_dir) / "habit_devaluation.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
