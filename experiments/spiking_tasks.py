"""A spiking actor-critic learns the plasticgym tasks with reward-modulated plasticity, and raw
reward as the dopamine fails where learning needs a baseline (Fremaux, Sprekeler & Gerstner
2010).

Populations of :class:`~plasticgym.agents.SpikingAgent` (LIF actor neurons fed by Poisson
spikes of the microstimulus code, one group per action, choice by a softmax over the groups'
spike counts; eligibility from each plasticity rule in ``rules``; a rate-based TD critic) learn:

1. ``plasticgym/ReversalBandit-v0`` (p = 0.8 vs 0.2, the contingency reversing every
   ``reversal_every`` trials): per agent, the fraction of correct choices over the session;
   chance is 0.5.
2. ``plasticgym/HabitFormation-v0`` acquisition (two levers on RR5 and "do nothing",
   training only): per agent, the fraction of steps with a lever press in the second half;
   chance (random choice among the 3 actions) is 2/3.

Each population learns once with the critic's TD error as the dopamine (``dopamine="td"``, the
RPE) and once with the raw reward (``dopamine="reward"``, the control). R-STDP changes weights
by ``reward x eligibility``; when the reward is not zero-mean, the mean reward times the mean
eligibility is a drift unrelated to the task (Fremaux et al. 2010's "unsupervised bias"), here
an unchecked potentiation of the chosen group's active synapses that saturates the weights and
cannot unlearn a reversed contingency. The RPE has no such mean.

3. ``plasticgym/Pavlovian-v0`` (one population, TD dopamine): the dopamine's transfer from the
   reward to the cue, judged by :func:`plasticgym.experiments.rpe_transfer.analyse_session`
   on the spiking agent's records (the critic is rate-based, so this checks that the critic
   inside the spiking agent is the TD model; it says nothing about the spikes).

Verdicts (95% t intervals over agents; :data:`MARGIN` above chance):

- ``<rule>_reversal_above_chance`` (finding): TD agents' fraction correct, CI above 0.5 +
  margin.
- ``<rule>_raw_reward_worse_on_reversal`` (finding): TD minus raw-reward fraction correct,
  Welch CI above 0.
- ``<rule>_habit_acquired`` (finding): TD agents' press fraction, CI above 2/3 + margin.
- ``rpe_removes_mean_reward`` (mechanism check): on the reversal task, the TD dopamine's mean
  per agent is inside +-``MEAN_DOPAMINE_BOUND`` while the raw-reward dopamine's mean (the
  reward rate) is above ``3 x MEAN_DOPAMINE_BOUND``.
- ``pavlovian_*``: the five session verdicts of ``rpe_transfer`` with its labels.

The raw-reward control on lever pressing is reported in the table without a verdict: pressing
is always right there, so a reward-only potentiation is not expected to fail (measured: calcium's
presses more than its TD agents, mstdpet's at the tuned rate less; docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.agents import SpikingAgent
from plasticgym.experiments import rpe_transfer
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    pyplot,
    run_name,
    save_figure,
    tensorboard_folder,
)
from plasticgym.experiments.stats import ci_row, difference_ci, format_ci, mean_ci

NAME = "spiking_tasks"
DESCRIPTION = (
    "a spiking actor-critic (R-STDP / calcium) learns reversal and lever pressing; raw reward as "
    "dopamine fails on reversal (Fremaux 2010)"
)
REVERSAL = "plasticgym/ReversalBandit-v0"
HABIT = "plasticgym/HabitFormation-v0"
PAVLOVIAN = "plasticgym/Pavlovian-v0"
DOPAMINES = ("td", "reward")
MARGIN = 0.05
"""How far above chance the CI must lie (fraction of choices)."""
MEAN_DOPAMINE_BOUND = 0.1
"""Bound on the TD dopamine's mean per agent (reward units) in ``rpe_removes_mean_reward``."""
REVERSAL_CHANCE = 0.5
HABIT_CHANCE = 2.0 / 3.0


@dataclass(frozen=True)
class Config:
    """What to run: for every rule in ``rules`` and both dopamine signals, one population of
    ``n_agents`` on the reversal task and one on lever pressing; plus one Pavlovian population
    (TD, the first rule) when ``pavlovian``.

    ``gamma`` is the critic's discount on the two instrumental tasks: 0 (default) makes the
    critic the reward baseline of each situation, ``delta = r - V(x)`` (each choice is one
    step and its reward comes with it). The Pavlovian population uses ``gamma = 0.95`` (the
    cue predicts a reward steps later) and a finer temporal code
    (``pavlovian_microstimuli``, ``pavlovian_width``); ``pavlovian_substeps`` ms per step.
    """

    seed: int = 0
    n_agents: int = 32
    device: str = "cpu"
    rules: tuple[str, ...] = ("calcium", "mstdpet")
    neuron: str = "lif"
    substeps: int = 20
    gamma: float = 0.0
    reversal_trials: int = 600
    reversal_every: int = 100
    habit_steps: int = 600
    pavlovian: bool = True
    pavlovian_substeps: int = 10
    pavlovian_training_trials: int = 150
    pavlovian_probe_trials: int = 60
    pavlovian_iti: tuple[int, int] = (20, 40)
    pavlovian_microstimuli: int = 20
    pavlovian_width: float = 0.05

    def __post_init__(self) -> None:
        if not self.rules or len(set(self.rules)) != len(self.rules):
            raise ValueError(f"rules={self.rules!r} is invalid: one or more distinct rules")
        if self.reversal_trials <= self.reversal_every:
            raise ValueError(
                f"reversal_trials={self.reversal_trials} is invalid: more than reversal_every="
                f"{self.reversal_every} (the session must contain a reversal)"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 25 s on 2 busy CPU cores) with every verdict."""
        short = {
            "n_agents": 16,
            "rules": ("calcium",),
            "reversal_trials": 200,
            "habit_steps": 150,
            "pavlovian_substeps": 5,
            "pavlovian_training_trials": 60,
            "pavlovian_probe_trials": 30,
            "pavlovian_iti": (8, 12),
        }
        return cls(**{**short, **overrides})

    def agent_kwargs(self, rule: str, dopamine: str) -> dict[str, Any]:
        return {"n_agents": self.n_agents, "seed": self.seed, "device": self.device,
                "rule": rule, "dopamine": dopamine, "neuron": self.neuron,
                "substeps": self.substeps, "gamma": self.gamma}  # fmt: skip

    def transfer_config(self) -> rpe_transfer.RpeTransferConfig:
        """The Pavlovian session, in rpe_transfer's terms (its margins and analysis)."""
        return rpe_transfer.RpeTransferConfig(
            n_agents=self.n_agents, seed=self.seed,
            training_trials=self.pavlovian_training_trials,
            probe_trials=self.pavlovian_probe_trials, iti=self.pavlovian_iti,
            early_trials=5, late_trials=min(40, self.pavlovian_training_trials // 2),
        )  # fmt: skip


def _learn(env: str, env_kwargs: dict[str, Any], steps: int, kwargs: dict[str, Any],
           out_dir: Path | None, name: str, progress_bar: bool) -> pd.DataFrame:  # fmt: skip
    agent = SpikingAgent(env, env_kwargs=env_kwargs, tensorboard_log=tensorboard_folder(out_dir),
                         tb_log_name=run_name(NAME, name), **kwargs)  # fmt: skip
    agent.learn(steps, record=True, progress_bar=progress_bar)
    agent.close()
    return agent.records


def run(
    config: Config, out_dir: Path | None, progress_bar: bool = False
) -> dict[str, pd.DataFrame]:
    """Train every population; returns ``{"reversal", "habit"}`` tables (one row per agent
    per step, with ``rule`` and ``dopamine`` columns) and ``"pavlovian"`` when asked."""
    reversal, habit = [], []
    reversal_env = {"n_trials": config.reversal_trials, "reversal_every": config.reversal_every}
    habit_env = {"training_reinforcers": 10 * config.habit_steps}  # training only
    for rule in config.rules:
        for dopamine in DOPAMINES:
            kwargs = config.agent_kwargs(rule, dopamine)
            rows = _learn(REVERSAL, reversal_env, config.reversal_trials, kwargs, out_dir,
                          f"reversal {rule} {dopamine}", progress_bar)  # fmt: skip
            reversal.append(rows.assign(rule=rule, dopamine_signal=dopamine))
            rows = _learn(HABIT, habit_env, config.habit_steps, kwargs, out_dir,
                          f"habit {rule} {dopamine}", progress_bar)  # fmt: skip
            habit.append(rows.assign(rule=rule, dopamine_signal=dopamine))
    records = {"reversal": pd.concat(reversal, ignore_index=True),
               "habit": pd.concat(habit, ignore_index=True)}  # fmt: skip
    if config.pavlovian:
        records["pavlovian"] = _pavlovian(config, out_dir, progress_bar)
    return records


def _pavlovian(config: Config, out_dir: Path | None, progress_bar: bool) -> pd.DataFrame:
    transfer = config.transfer_config()
    kwargs = {**config.agent_kwargs(config.rules[0], "td"), "substeps": config.pavlovian_substeps,
              "gamma": 0.95, "n_microstimuli": config.pavlovian_microstimuli,
              "microstimulus_width": config.pavlovian_width}  # fmt: skip
    agent = SpikingAgent(PAVLOVIAN, env_kwargs=transfer.env_kwargs(),
                         tensorboard_log=tensorboard_folder(out_dir),
                         tb_log_name=run_name(NAME, "pavlovian"), **kwargs)  # fmt: skip
    agent.learn(transfer.max_steps(), record=True, progress_bar=progress_bar,
                callback=lambda a: not bool((a.episodes_completed >= 1).all()))  # fmt: skip
    agent.close()
    records = agent.records
    return records[records["episode"] == 0].reset_index(drop=True)


# ------------------------------------------------------------------------------ analysis


def reversal_scores(records: pd.DataFrame) -> pd.DataFrame:
    """Per agent and condition: ``correct`` (fraction of correct choices over the session) and
    ``after_reversal`` (over the trials after the first reversal)."""
    first = records.groupby(["rule", "dopamine_signal", "agent"])["reversals"].transform("min")
    after = records["reversals"] > first
    keys = ["rule", "dopamine_signal", "agent"]
    out = records.groupby(keys)["correct"].mean().to_frame("correct")
    out["after_reversal"] = records[after].groupby(keys)["correct"].mean()
    return out.reset_index()


def habit_scores(records: pd.DataFrame) -> pd.DataFrame:
    """Per agent and condition: ``press`` (fraction of steps with a lever press in the second
    half of the steps)."""
    late = records[records["step"] >= (records["step"].max() + 1) // 2]
    keys = ["rule", "dopamine_signal", "agent"]
    press = (late["action"] > 0).groupby([late[k] for k in keys]).mean()
    return press.to_frame("press").reset_index()


def _values(scores: pd.DataFrame, rule: str, dopamine: str, column: str) -> np.ndarray:
    rows = scores[(scores["rule"] == rule) & (scores["dopamine_signal"] == dopamine)]
    return rows[column].to_numpy(dtype=float)


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """The experiment interface: verdicts, table and lines (see the module docstring)."""
    reversal, habit = reversal_scores(records["reversal"]), habit_scores(records["habit"])
    verdicts: dict[str, bool] = {}
    kinds: dict[str, str] = {}
    lines: dict[str, str] = {}
    rows = []
    for rule in config.rules:
        for dopamine in DOPAMINES:
            for column in ("correct", "after_reversal"):
                rows.append(ci_row(_values(reversal, rule, dopamine, column), task="reversal",
                                   rule=rule, dopamine=dopamine, measure=column))  # fmt: skip
            rows.append(ci_row(_values(habit, rule, dopamine, "press"), task="habit",
                               rule=rule, dopamine=dopamine, measure="press"))  # fmt: skip
        td = _values(reversal, rule, "td", "correct")
        raw = _values(reversal, rule, "reward", "correct")
        m = mean_ci(td)
        name = f"{rule}_reversal_above_chance"
        verdicts[name], kinds[name] = bool(m[1] > REVERSAL_CHANCE + MARGIN), FINDING
        lines[name] = (
            f"{rule}, TD dopamine: fraction correct over {config.reversal_trials} "
            f"trials {format_ci(*m)} (needs CI > {REVERSAL_CHANCE + MARGIN:g})"
        )
        d = difference_ci(td, raw)
        name = f"{rule}_raw_reward_worse_on_reversal"
        verdicts[name], kinds[name] = bool(d[1] > 0), FINDING
        lines[name] = (
            f"{rule}: TD minus raw-reward fraction correct {format_ci(*d)} (raw "
            f"{format_ci(*mean_ci(raw))}; needs CI > 0)"
        )
        rows.append({"task": "reversal", "rule": rule, "dopamine": "td - reward",
                     "measure": "correct", "mean": d[0], "ci_low": d[1], "ci_high": d[2],
                     "n": td.size + raw.size})  # fmt: skip
        press = _values(habit, rule, "td", "press")
        m = mean_ci(press)
        name = f"{rule}_habit_acquired"
        verdicts[name], kinds[name] = bool(m[1] > HABIT_CHANCE + MARGIN), FINDING
        raw_press = _values(habit, rule, "reward", "press")
        lines[name] = (f"{rule}, TD dopamine: press fraction in the second half of "
                       f"{config.habit_steps} steps {format_ci(*m)} (needs CI > "
                       f"{HABIT_CHANCE + MARGIN:.3f}; raw reward, no verdict: "
                       f"{format_ci(*mean_ci(raw_press))})")  # fmt: skip
        d = difference_ci(press, raw_press)
        rows.append({"task": "habit", "rule": rule, "dopamine": "td - reward", "measure": "press",
                     "mean": d[0], "ci_low": d[1], "ci_high": d[2],
                     "n": press.size + raw_press.size})  # fmt: skip
    name, mean_da = "rpe_removes_mean_reward", _mean_dopamine(records["reversal"], config.rules[0])
    td_da, raw_da = mean_ci(mean_da["td"]), mean_ci(mean_da["reward"])
    verdicts[name] = bool(td_da[1] > -MEAN_DOPAMINE_BOUND and td_da[2] < MEAN_DOPAMINE_BOUND
                          and raw_da[1] > 3 * MEAN_DOPAMINE_BOUND)  # fmt: skip
    kinds[name] = MECHANISM_CHECK
    lines[name] = (
        f"{config.rules[0]}, reversal: mean dopamine per agent, TD {format_ci(*td_da)}"
        f" (needs CI inside +-{MEAN_DOPAMINE_BOUND:g}), raw reward "
        f"{format_ci(*raw_da)} (needs CI > {3 * MEAN_DOPAMINE_BOUND:g})"
    )
    for dopamine, values in mean_da.items():
        rows.append(ci_row(values, task="reversal", rule=config.rules[0], dopamine=dopamine,
                           measure="mean dopamine"))  # fmt: skip
    transfer = None
    if config.pavlovian:
        transfer = rpe_transfer.analyse_session(records["pavlovian"], config.transfer_config())
        for key, value in transfer["verdicts"].items():
            verdicts[f"pavlovian_{key}"] = bool(value)
            kinds[f"pavlovian_{key}"] = rpe_transfer.KIND[key]
        r = transfer["responses"]
        for key, entry in r.items():
            rows.append({"task": "pavlovian", "rule": config.rules[0], "dopamine": "td",
                         "measure": key, "mean": entry["mean"], "ci_low": entry["ci_low"],
                         "ci_high": entry["ci_high"], "n": transfer["n_agents"]})  # fmt: skip
        lines.update(_pavlovian_lines(transfer))
    return {
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "table": pd.DataFrame(rows),
        "lines": labelled(lines, kinds),
        "config": config,
        "reversal_scores": reversal,
        "habit_scores": habit,
    }


def _mean_dopamine(records: pd.DataFrame, rule: str) -> dict[str, np.ndarray]:
    rows = records[records["rule"] == rule]
    means = rows.groupby(["dopamine_signal", "agent"])["dopamine"].mean()
    return {d: means.loc[d].to_numpy(dtype=float) for d in DOPAMINES}


def _pavlovian_lines(transfer: dict[str, Any]) -> dict[str, str]:
    r = transfer["responses"]

    def ci(entry: dict[str, float]) -> str:
        return format_ci(entry["mean"], entry["ci_low"], entry["ci_high"])

    shift_early, shift_late = transfer["early_us_minus_cs"], transfer["late_cs_minus_us"]
    return {
        "pavlovian_at_reward_early": f"early: reward - cue {ci(shift_early)} (needs CI > "
        f"{rpe_transfer.EARLY_MARGIN})",
        "pavlovian_at_cue_late": f"late: cue - reward {ci(shift_late)} (needs CI > "
        f"{rpe_transfer.LATE_MARGIN})",
        "pavlovian_predicted_reward_near_zero": f"predicted reward {ci(r['late_us'])} (needs CI"
        f" inside +-{rpe_transfer.NEAR_ZERO})",
        "pavlovian_omission_dip": f"omitted reward {ci(r['omission'])} (needs CI < "
        f"-{rpe_transfer.DIP})",
        "pavlovian_free_reward_full": f"free reward {ci(r['free'])} (needs CI > "
        f"{rpe_transfer.FULL_RESPONSE})",
    }


# ------------------------------------------------------------------------------ figures


def _curve(records: pd.DataFrame, column: str, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per agent mean of ``column`` in ``bins`` consecutive step bins; mean and 95% CI."""
    steps = int(records["step"].max()) + 1
    width = max(1, steps // bins)
    index = np.minimum(records["step"].to_numpy() // width, bins - 1)
    table = records.groupby([index, records["agent"].to_numpy()])[column].mean().unstack()
    stats = np.array([mean_ci(row) for row in table.to_numpy()])
    return (table.index.to_numpy() + 0.5) * width, stats


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """The reversal and lever-pressing learning curves (mean and 95% CI band over agents) of
    every rule and dopamine signal, and the Pavlovian session figure of rpe_transfer."""
    plt = pyplot()
    config: Config = result["config"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    habit = records["habit"].assign(press=records["habit"]["action"] > 0)
    panels = ((axes[0], records["reversal"], "correct", REVERSAL_CHANCE, "fraction correct"),
              (axes[1], habit, "press", HABIT_CHANCE, "fraction of steps pressing"))  # fmt: skip
    for ax, table, column, chance, ylabel in panels:
        for i, rule in enumerate(config.rules):
            for dopamine, style in zip(DOPAMINES, ("-", "--"), strict=True):
                rows = table[(table["rule"] == rule) & (table["dopamine_signal"] == dopamine)]
                x, stats = _curve(rows.astype({column: float}), column, 20)
                color = f"C{i}"
                ax.plot(x, stats[:, 0], style, color=color, label=f"{rule}, {dopamine}")
                ax.fill_between(x, stats[:, 1], stats[:, 2], color=color, alpha=0.15, lw=0)
        ax.axhline(chance, color="0.5", lw=0.8, ls=":", label="chance")
        ax.set_xlabel("step (trial)")
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=8)
    axes[0].set_title(
        f"ReversalBandit-v0 (reversal every {config.reversal_every})\n"
        f"mean and 95% CI over {config.n_agents} agents",
        fontsize=10,
    )
    axes[1].set_title(f"HabitFormation-v0 acquisition\nmean and 95% CI over {config.n_agents}"
                      " agents", fontsize=10)  # fmt: skip
    out = Path(out_dir)
    paths = [save_figure(fig, out / "spiking_tasks.png")]
    if "pavlovian" in records:
        paths.append(rpe_transfer.plot_session(records["pavlovian"], config.transfer_config(),
                                               out / "spiking_rpe_transfer.png"))  # fmt: skip
    return paths
