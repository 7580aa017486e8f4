"""Homeostatic synaptic scaling holds the actor's rates at their target (Turrigiano et al. 1998).

The plastic agents learn Pavlovian conditioning, with the actor's synaptic scaling switched on
or off (``homeostasis=``; nothing else changes). Each actor neuron keeps a running estimate of
its rate, ``a <- a + (rate - a) / tau``, and all its synapses are multiplied by the same
factor ``exp(eta (target - a) / target)`` each step. Three parts:

1. **Learning.** Three-factor learning drives the actor's synapses (the chosen action's
   synapses follow dopamine). Without scaling the rates drift far above the target; with it
   they stay near the target (a proportional controller against the drift of learning, so a
   small steady offset remains).
2. **Perturbation** (the TTX / bicuculline experiment). With learning paused (``actor_lr=0``,
   so only scaling changes the actor's synapses), each agent's actor synapses are multiplied
   by a factor at a fixed step, silencing (x0.3) or over-driving (x3) its neurons. With scaling
   the neurons' gain (the sum of their synapses relative to before the perturbation) returns to
   1; without it, it stays at the factor. The scaling is multiplicative: each neuron's
   synapses keep their rank order (Spearman correlation of the weights before vs after = 1)
   and their ratios. The synapses' hard upper bound is raised for this part
   (:data:`PERTURBATION_WEIGHT_MAX`): a synapse clipped at the bound by the x3 factor would stop
   scaling with its neuron, and the test would measure the bound, not the scaling.
3. **Time constant.** The agents of the perturbed population have rate estimates of different
   time constants ``tau``: the time to recover half of the perturbation (in log gain) grows
   with ``tau`` — the estimate must first register the change — and long ``tau`` overshoots
   (the slow oscillation of Zenke, Hennequin & Gerstner 2013; Harnack et al. 2015).

The rates, gains and weights are recorded per agent; every verdict is computed from them with
95% confidence intervals over agents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy import stats

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.report import pyplot, save_figure, tensorboard_folder
from plasticgym.experiments.stats import (
    ci_row,
    estimate_row,
    format_ci,
    mean_ci,
    regression_slope_ci,
)

NAME = "homeostasis"
DESCRIPTION = (
    "synaptic scaling holds the actor's rates at target against learning and perturbations, "
    "multiplicatively; recovery slows with its time constant (Turrigiano 1998)"
)
PAVLOVIAN = "plasticgym/Pavlovian-v0"


@dataclass(frozen=True)
class Config:
    """What to run. ``n_agents`` agents per population (learning with scaling, learning without,
    perturbed with scaling, perturbed without); in the perturbed populations agent ``i`` has
    time constant ``time_constants[i % len]`` and factor ``perturbation_factors[(i // len) %
    n_factors]``."""

    n_agents: int = 32
    seed: int = 0
    target_rate: float = 0.2
    scaling_rate: float = 0.05
    rate_time_constant: float = 50.0
    learning_steps: int = 6000
    time_constants: tuple[float, ...] = (10.0, 30.0, 100.0, 300.0)
    perturbation_factors: tuple[float, ...] = (0.3, 3.0)
    baseline_steps: int = 1500
    recovery_steps: int = 2000
    window: int = 100
    late_fraction: float = 0.2
    device: str = "cpu"

    def __post_init__(self) -> None:
        cells = len(self.time_constants) * len(self.perturbation_factors)
        if self.n_agents < 2 * cells:
            raise ValueError(
                f"n_agents={self.n_agents} is invalid: need >= {2 * cells} (two agents per time "
                "constant x perturbation factor)"
            )
        if any(f <= 0 or f == 1 for f in self.perturbation_factors):
            raise ValueError(
                f"perturbation_factors={self.perturbation_factors!r}: each must be > 0 and != 1"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 20 s on 2 CPU cores)."""
        short = {"n_agents": 16, "learning_steps": 3000, "baseline_steps": 1000,
                 "recovery_steps": 1200}  # fmt: skip
        return cls(**{**short, **overrides})

    def agent_kwargs(self) -> dict[str, Any]:
        return {"target_rate": self.target_rate, "scaling_rate": self.scaling_rate,
                "env_kwargs": {"n_trials": 10_000}, "device": self.device}  # fmt: skip

    def cells(self) -> tuple[list[float], list[float]]:
        """Per agent of the perturbed populations: its time constant and its factor."""
        n_tau, n_factor = len(self.time_constants), len(self.perturbation_factors)
        taus = [self.time_constants[i % n_tau] for i in range(self.n_agents)]
        factors = [self.perturbation_factors[(i // n_tau) % n_factor] for i in range(self.n_agents)]
        return taus, factors


def _mean_rates(agent: PlasticAgent) -> torch.Tensor:
    """Mean rate of each agent's actor neurons for the current observation, ``[B]``."""
    return agent.rates.mean(dim=1)


def run_learning(
    config: Config,
    homeostasis: bool,
    progress_bar: bool = False,
    tensorboard_log: str | None = None,
) -> pd.DataFrame:
    """Part 1: rows ``agent, homeostasis, step, rate, mean_weight`` per window of steps (the
    mean actor rate over the window and the mean actor weight at its end). TensorBoard: the
    run ``homeostasis_learning_scaling`` (or ``_noscaling``) under ``tensorboard_log`` if
    given."""
    agent = PlasticAgent(PAVLOVIAN, n_agents=config.n_agents, seed=config.seed,
                         homeostasis=homeostasis, rate_time_constant=config.rate_time_constant,
                         tensorboard_log=tensorboard_log,
                         tb_log_name=_run_name("learning", homeostasis),
                         **config.agent_kwargs())  # fmt: skip
    rows: list[pd.DataFrame] = []
    total = torch.zeros(config.n_agents)

    def sample(a: PlasticAgent) -> None:
        total.add_(_mean_rates(a).cpu())
        if a.num_timesteps % config.window == 0:
            rows.append(pd.DataFrame({
                "agent": np.arange(config.n_agents), "homeostasis": homeostasis,
                "step": a.num_timesteps, "rate": (total / config.window).numpy(),
                "mean_weight": a.actor_weights.mean(dim=(1, 2)).cpu().numpy(),
            }))  # fmt: skip
            total.zero_()

    agent.learn(config.learning_steps, callback=sample, progress_bar=progress_bar)
    agent.close()
    return pd.concat(rows, ignore_index=True)


def scale_actor_synapses(agent: PlasticAgent, factor: torch.Tensor) -> None:
    """Multiply every actor synapse of agent ``b`` by ``factor[b]`` (the perturbation)."""
    weights = agent.actor.weights * factor.to(agent.actor.weights).view(-1, 1, 1)
    agent.actor = agent.actor.with_weights(weights)


PERTURBATION_WEIGHT_MAX = 100.0
"""Hard upper bound of the perturbed agents' actor synapses, far above what x3 reaches."""


def _run_name(part: str, homeostasis: bool) -> str:
    return f"{NAME}_{part}_{'scaling' if homeostasis else 'noscaling'}"


def run_perturbation(
    config: Config,
    homeostasis: bool,
    progress_bar: bool = False,
    tensorboard_log: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parts 2-3: learning paused, ``baseline_steps`` steps, then the perturbation, then
    ``recovery_steps`` steps. Returns the recovery rows ``agent, homeostasis, tau, factor, step
    (since the perturbation), gain, rate`` (gain: mean over the actor neurons of the sum of
    their synapses relative to just before the perturbation) and the weight rows ``agent,
    homeostasis, neuron, synapse, before, after``. TensorBoard: the run
    ``homeostasis_perturbation_scaling`` (or ``_noscaling``) under ``tensorboard_log`` if
    given."""
    taus, factors = config.cells()
    agent = PlasticAgent(PAVLOVIAN, n_agents=config.n_agents, seed=config.seed,
                         homeostasis=homeostasis, rate_time_constant=taus, actor_lr=0.0,
                         actor_init_scale=0.4, actor_weight_max=PERTURBATION_WEIGHT_MAX,
                         tensorboard_log=tensorboard_log,
                         tb_log_name=_run_name("perturbation", homeostasis),
                         **config.agent_kwargs())  # fmt: skip
    agent.learn(config.baseline_steps, progress_bar=progress_bar)
    before = agent.actor_weights.clone()
    scale_actor_synapses(agent, torch.tensor(factors))
    gains, rates = [], []

    def sample(a: PlasticAgent) -> None:
        gains.append((a.actor_weights.sum(-1) / before.sum(-1)).mean(dim=1).cpu())
        rates.append(_mean_rates(a).cpu())

    agent.learn(config.recovery_steps, callback=sample, progress_bar=progress_bar)
    after = agent.actor_weights.clone()
    agent.close()
    n, steps = config.n_agents, len(gains)
    recovery = pd.DataFrame({
        "agent": np.tile(np.arange(n), steps), "homeostasis": homeostasis,
        "tau": np.tile(taus, steps), "factor": np.tile(factors, steps),
        "step": np.repeat(np.arange(1, steps + 1), n),
        "gain": torch.stack(gains).reshape(-1).numpy(),
        "rate": torch.stack(rates).reshape(-1).numpy(),
    })  # fmt: skip
    b, post, pre = np.meshgrid(*(np.arange(s) for s in before.shape), indexing="ij")
    weights = pd.DataFrame({
        "agent": b.reshape(-1), "homeostasis": homeostasis, "neuron": post.reshape(-1),
        "synapse": pre.reshape(-1), "before": before.reshape(-1).cpu().numpy(),
        "after": after.reshape(-1).cpu().numpy(),
    })  # fmt: skip
    return recovery, weights


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """Every part with scaling on and off: ``{"learning", "recovery", "weights"}`` tables.
    TensorBoard: one run per population under ``out_dir/tensorboard``."""
    tensorboard_log = tensorboard_folder(out_dir)
    learning, recovery, weights = [], [], []
    for homeostasis in (True, False):
        learning.append(run_learning(config, homeostasis, progress_bar, tensorboard_log))
        rec, w = run_perturbation(config, homeostasis, progress_bar, tensorboard_log)
        recovery.append(rec)
        weights.append(w)
    return {
        "learning": pd.concat(learning, ignore_index=True),
        "recovery": pd.concat(recovery, ignore_index=True),
        "weights": pd.concat(weights, ignore_index=True),
    }


# Margins of the verdicts (see ``analyse``).
DRIFT = 3.0
HELD = 1.5
RESTORED = 0.75
MULTIPLICATIVE = 0.99
RATIO_SPREAD = 0.01


def late_rates(learning: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per agent (rows) and scaling on/off (columns): the mean rate over the last
    ``late_fraction`` of the learning part, relative to the target."""
    last = learning["step"] > learning["step"].max() * (1 - config.late_fraction)
    late = learning[last].groupby(["agent", "homeostasis"])["rate"].mean().unstack()
    return late / config.target_rate


def recovered_fraction(recovery: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per agent and scaling on/off: the fraction of the perturbation undone over the last
    ``late_fraction`` of the recovery, ``1 - mean |log gain| / |log factor|`` (1: back to the
    gain before the perturbation, 0: still at the factor). Columns ``agent, homeostasis, tau,
    factor, recovered``."""
    last = recovery["step"] > recovery["step"].max() * (1 - config.late_fraction)
    rows = recovery[last].assign(log_gain=lambda r: np.log(r["gain"]).abs())
    keys = ["agent", "homeostasis", "tau", "factor"]
    table = rows.groupby(keys)["log_gain"].mean().reset_index()
    table["recovered"] = 1 - table["log_gain"] / np.log(table["factor"]).abs()
    return table.drop(columns="log_gain")


def half_recovery_times(recovery: pd.DataFrame) -> pd.DataFrame:
    """Per agent with scaling: the first step after the perturbation at which the gain has
    undone half of it in log terms, ``|log gain| < |log factor| / 2`` (the last step + 1 when
    it never does). Columns ``agent, tau, factor, half_time``."""
    scaled = recovery[recovery["homeostasis"]]
    out = []
    for (agent, tau, factor), rows in scaled.groupby(["agent", "tau", "factor"]):
        rows = rows.sort_values("step")
        done = np.abs(np.log(rows["gain"].to_numpy())) < 0.5 * abs(np.log(factor))
        steps = rows["step"].to_numpy()
        half = steps[np.argmax(done)] if done.any() else steps[-1] + 1
        out.append({"agent": agent, "tau": tau, "factor": factor, "half_time": float(half)})
    return pd.DataFrame(out)


def rank_preservation(weights: pd.DataFrame) -> pd.DataFrame:
    """Per agent, neuron and scaling on/off: Spearman correlation of the synapses before vs
    after, and the spread (coefficient of variation) of their ratios ``after / before`` over
    the synapses with ``before > 0`` (0 for a purely multiplicative change)."""
    out = []
    for (agent, homeostasis, neuron), rows in weights.groupby(["agent", "homeostasis", "neuron"]):
        before, after = rows["before"].to_numpy(), rows["after"].to_numpy()
        ratio = after[before > 0] / before[before > 0]
        out.append({"agent": agent, "homeostasis": homeostasis, "neuron": neuron,
                    "spearman": float(stats.spearmanr(before, after).statistic),
                    "ratio_spread": float(ratio.std() / ratio.mean())})  # fmt: skip
    return pd.DataFrame(out)


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Verdicts (95% CIs over agents; margins in the module's constants):

    - ``rates_drift_without_scaling``: learning without scaling, late rate / target: CI above
      ``DRIFT``;
    - ``rates_held_with_scaling``: learning with scaling, late rate / target: CI inside
      ``[1 / HELD, HELD]``;
    - ``perturbation_undone_only_with_scaling``: for each factor, the recovered fraction has
      its CI above ``RESTORED`` with scaling and below ``1 - RESTORED`` without;
    - ``scaling_is_multiplicative``: with scaling, every neuron's Spearman correlation of its
      weights before vs after is above ``MULTIPLICATIVE`` and its ratio spread below
      ``RATIO_SPREAD``;
    - ``recovery_slows_with_tau``: for each factor, the regression slope of log half-recovery
      time on log ``tau`` over agents has its CI above 0.
    """
    late = late_rates(records["learning"], config)
    recovered = recovered_fraction(records["recovery"], config)
    half = half_recovery_times(records["recovery"])
    ranks = rank_preservation(records["weights"])
    learning = analyse_learning(late)
    perturbation = analyse_perturbation(recovered, config)
    multiplicative = analyse_multiplicative(ranks[ranks["homeostasis"]])
    time_constant = analyse_time_constant(half, config)
    # the table lists the weights' rows last, the verdicts the time constant last
    rows = [*learning.rows, *perturbation.rows, *time_constant.rows, *multiplicative.rows]
    parts = (learning, perturbation, multiplicative, time_constant)
    return {
        "verdicts": {name: ok for part in parts for name, ok in part.verdicts.items()},
        "table": pd.DataFrame(rows),
        "lines": {name: line for part in parts for name, line in part.lines.items()},
        "late_rates": late,
        "half_times": half,
        "config": config,
    }


class PartResult(NamedTuple):
    """What the analysis of one part returns: its verdicts (``{signature: bool}``), one line
    per verdict and its rows of the result table (as the addiction experiment's parts do)."""

    verdicts: dict[str, bool]
    lines: dict[str, str]
    rows: list[dict[str, Any]]


def analyse_learning(late: pd.DataFrame) -> PartResult:
    """Part 1: the late rates of :func:`late_rates` drift without scaling and are held with it."""
    rows = [
        ci_row(late[True], part="learning", quantity="late rate / target", scaling="on"),
        ci_row(late[False], part="learning", quantity="late rate / target", scaling="off"),
    ]
    on, off = mean_ci(late[True]), mean_ci(late[False])
    verdicts = {
        "rates_drift_without_scaling": off[1] > DRIFT,
        "rates_held_with_scaling": on[1] > 1 / HELD and on[2] < HELD,
    }
    lines = {
        "rates_drift_without_scaling": f"late rate / target without scaling {format_ci(*off)} "
        f"(needs CI > {DRIFT})",
        "rates_held_with_scaling": f"late rate / target with scaling {format_ci(*on)} (needs CI "
        f"inside [{1 / HELD:.2f}, {HELD}])",
    }  # fmt: skip
    return PartResult(verdicts, lines, rows)


def analyse_perturbation(recovered: pd.DataFrame, config: Config) -> PartResult:
    """Part 2: for each factor, the :func:`recovered_fraction` is near 1 with scaling and near
    0 without."""
    rows, restored_ok, restored_text = [], True, []
    for factor in config.perturbation_factors:
        cell = {}
        for on in (True, False):
            values = recovered[(recovered["factor"] == factor) & (recovered["homeostasis"] == on)]
            cell[on] = mean_ci(values["recovered"])
            rows.append(
                ci_row(
                    values["recovered"],
                    part="perturbation",
                    quantity=f"recovered fraction, x{factor:g}",
                    scaling="on" if on else "off",
                )
            )
        restored_ok &= cell[True][1] > RESTORED and cell[False][2] < 1 - RESTORED
        restored_text.append(
            f"x{factor:g}: {format_ci(*cell[True])} with, {format_ci(*cell[False])} without"
        )
    name = "perturbation_undone_only_with_scaling"
    line = (
        "recovered fraction " + "; ".join(restored_text)
        + f" (needs CI > {RESTORED} with, < {1 - RESTORED:g} without)"
    )  # fmt: skip
    return PartResult({name: bool(restored_ok)}, {name: line}, rows)


def analyse_multiplicative(scaled: pd.DataFrame) -> PartResult:
    """Part 2: with scaling (``scaled``: the rows of :func:`rank_preservation` with scaling on),
    every neuron keeps the rank order and the ratios of its synapses."""
    rows = [
        ci_row(
            scaled["spearman"],
            part="perturbation",
            scaling="on",
            quantity="Spearman weights before vs after (per neuron)",
        ),
        ci_row(
            scaled["ratio_spread"],
            part="perturbation",
            scaling="on",
            quantity="spread of weight ratios after / before (per neuron)",
        ),
    ]
    name = "scaling_is_multiplicative"
    verdict = bool(
        scaled["spearman"].min() > MULTIPLICATIVE and scaled["ratio_spread"].max() < RATIO_SPREAD
    )
    line = (
        f"per neuron, Spearman before vs after min {scaled['spearman'].min():.4f} (needs > "
        f"{MULTIPLICATIVE}), ratio spread max {scaled['ratio_spread'].max():.2g} (needs < "
        f"{RATIO_SPREAD})"
    )
    return PartResult({name: verdict}, {name: line}, rows)


def analyse_time_constant(half: pd.DataFrame, config: Config) -> PartResult:
    """Part 3: for each factor, the :func:`half_recovery_times` grow with ``tau`` (the slope
    of log half-time on log ``tau`` over agents)."""
    rows, slope_ok, slope_text = [], True, []
    for factor in config.perturbation_factors:
        cell = half[half["factor"] == factor]
        for tau in config.time_constants:
            rows.append(
                ci_row(
                    cell[cell["tau"] == tau]["half_time"],
                    part="time constant",
                    quantity=f"half-recovery steps, x{factor:g}, tau={tau:g}",
                    scaling="on",
                )
            )
        slope = regression_slope_ci(np.log(cell["tau"]), np.log(cell["half_time"]))
        quantity = f"slope of log half-time on log tau, x{factor:g}"
        rows.append(estimate_row(slope, len(cell), part="time constant", quantity=quantity,
                                 scaling="on"))  # fmt: skip
        slope_ok &= slope[1] > 0.0
        means = cell.groupby("tau")["half_time"].mean()
        slope_text.append(
            f"x{factor:g}: slope {format_ci(*slope)} (means "
            + ", ".join(f"{m:.0f}" for m in means)
            + " steps)"
        )
    name = "recovery_slows_with_tau"
    line = "log half-recovery time on log tau: " + "; ".join(slope_text) + " (needs slope CI > 0)"
    return PartResult({name: bool(slope_ok)}, {name: line}, rows)


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Rates during learning, gains after the perturbation, weights before vs after, and the
    half-recovery time against ``tau``."""
    plt = pyplot()
    config = result["config"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    learning = records["learning"]
    colors = {True: "tab:blue", False: "tab:red"}
    for on in (True, False):
        by_step = learning[learning["homeostasis"] == on].groupby("step")["rate"]
        mean, sem, n = by_step.mean(), by_step.sem(), by_step.count()
        half_width = sem * stats.t.ppf(0.975, np.maximum(n - 1, 1))
        axes[0].plot(mean.index, mean, color=colors[on], label=f"scaling {'on' if on else 'off'}")
        axes[0].fill_between(mean.index, mean - half_width, mean + half_width, color=colors[on],
                             alpha=0.25, lw=0)  # fmt: skip
    axes[0].axhline(config.target_rate, color="0.3", ls="--", lw=1, label="target")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("mean actor rate")
    axes[0].set_title("1. three-factor learning (band: 95% CI)")
    axes[0].legend(frameon=False, fontsize=8)

    recovery = records["recovery"]
    cmap = plt.get_cmap("viridis")
    for i, tau in enumerate(config.time_constants):
        for factor in config.perturbation_factors:
            rows = recovery[recovery["homeostasis"] & (recovery["tau"] == tau)
                            & (recovery["factor"] == factor)]  # fmt: skip
            gain = rows.groupby("step")["gain"].mean()
            label = f"tau={tau:g}" if factor == config.perturbation_factors[0] else None
            axes[1].plot(gain.index, gain, color=cmap(i / max(1, len(config.time_constants) - 1)),
                         label=label)  # fmt: skip
    for factor in config.perturbation_factors:
        off = recovery[~recovery["homeostasis"] & (recovery["factor"] == factor)]
        gain = off.groupby("step")["gain"].mean()
        label = "scaling off" if factor == config.perturbation_factors[0] else None
        axes[1].plot(gain.index, gain, color="tab:red", ls="--", label=label)
    axes[1].axhline(1.0, color="0.3", lw=0.8)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("steps after the perturbation")
    axes[1].set_ylabel("gain (sum of synapses / before)")
    axes[1].set_title("2. perturbation (x" + ", x".join(f"{f:g}" for f in
                      config.perturbation_factors) + ")")  # fmt: skip
    axes[1].legend(frameon=False, fontsize=8)

    weights = records["weights"]
    scaled = weights[weights["homeostasis"] & (weights["before"] > 0)]
    axes[2].scatter(scaled["before"], scaled["after"], s=3, alpha=0.3)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("synapse before the perturbation")
    axes[2].set_ylabel("synapse at the end (scaling on)")
    axes[2].set_title("multiplicative: ratios kept per neuron")

    half = result["half_times"]
    for factor, marker in zip(config.perturbation_factors, "os", strict=False):
        cell = half[half["factor"] == factor]
        axes[3].scatter(cell["tau"], cell["half_time"], marker=marker, alpha=0.5,
                        label=f"x{factor:g}")  # fmt: skip
        means = cell.groupby("tau")["half_time"].mean()
        axes[3].plot(means.index, means, lw=1)
    axes[3].set_xscale("log")
    axes[3].set_yscale("log")
    axes[3].set_xlabel("time constant of the rate estimate (steps)")
    axes[3].set_ylabel("steps to undo half the perturbation")
    axes[3].set_title("3. recovery slows with tau")
    axes[3].legend(frameon=False, fontsize=8)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for ax, subs in ((axes[0], (1.0, 2.0, 5.0)), (axes[1], (1.0, 3.0)), (axes[3], (1.0, 2.0, 5.0))):
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))  # a few labelled ticks
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
    fig.suptitle(f"Homeostatic synaptic scaling, n={config.n_agents} agents per population",
                 fontsize=11)  # fmt: skip
    return [save_figure(fig, Path(out_dir) / "homeostasis.png")]
