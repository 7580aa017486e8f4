"""Systems consolidation: a memory first held by a fast (hippocampus-like) learner comes to rely
on a slow (cortex-like) one through replay, so lesioning the fast learner soon after learning
impairs it and lesioning it later does not: a temporal gradient of retrograde amnesia
(McClelland, McNaughton & O'Reilly 1995; Kim & Fanselow 1992; Kumaran, Hassabis & McClelland
2016).

**Task and agents.** ``ReversalBandit-v0`` without reversals: arm 0 always pays 1, arm 1 never.
The agents are :class:`~plasticgym.agents.PlasticAgent` actor-critics with
``systems=ComplementaryLearning(...)`` (:mod:`plasticgym.systems`): the slow learner is the
dopamine-gated actor (rate ``actor_lr``), the fast learner a second three-factor pathway onto
the same action neurons with a rate about 50 times higher (``fast_lr``) and a passive decay
per step (``fast_decay``), which also stores the situations of its recent steps. During rest
each step replays one stored situation: the fast pathway reinstates its output pattern and the
actor learns it at ``replay_rate`` (:func:`plasticgym.systems.replay_update`). Every agent
samples its own actor, critic, fast and replay rates, fast decay and inverse temperature
(``Config``): a population with individual differences. Scaling is off (rest would scale the
silent neurons up).

**Protocol.** Two populations, ``replay`` and the control that removes the mechanism,
``no_replay`` (``replay_rate = 0``, all else sampled alike). Each is split into groups of
``n_agents``: ``lesion_<d>`` for every delay ``d`` in ``delays`` (rest steps after training)
and ``sham`` (never lesioned). All agents train ``training_trials`` trials, then rest; at each
delay the group ``lesion_<d>`` is lesioned (:meth:`PlasticAgent.lesion_fast_learner`) and every
agent is tested: ``test_trials`` predicted choices (no learning); the memory is the fraction of
choices of the trained arm (chance 0.5). The lesion effect at ``d`` is ``sham(d) -
lesion_<d>(d)`` (Welch 95% interval).

**Verdicts** (``mechanism check``: holds by the equations and rates put in; ``finding``: follows
from the replay dynamics and could fail): the task is learned; right after training the lesion
impairs (the fast learner holds the memory: the rates were chosen so); after the last delay it
does not (TOST, ``equivalence_margin``); the lesioned groups' memory rises with the delay (OLS
slope on ``log10(1 + d)`` with its 95% CI, one point per lesioned agent); without replay the
last lesion still impairs and the slope is smaller than with replay (the control). The
gradient is not put in as a curve: it is what the replays have moved into the actor by the
time of the lesion.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.consolidation_behaviour import trained_arm_choices
from plasticgym.experiments.report import pyplot, save_figure, tensorboard_folder
from plasticgym.experiments.stats import (
    ci_row,
    difference_ci,
    estimate_row,
    format_ci,
    format_tost,
    mean_ci,
    regression_slope_ci,
    tost,
)
from plasticgym.population import LogUniform, Uniform
from plasticgym.systems import ComplementaryLearning

NAME = "systems_consolidation"
DESCRIPTION = (
    "complementary learning systems: lesioning the fast learner soon after learning impairs a "
    "bandit memory, later it does not, because replay moved it into the slow learner "
    "(temporal gradient; McClelland 1995)"
)
ENV = "plasticgym/ReversalBandit-v0"
CONDITIONS = ("replay", "no_replay")
KIND = {
    "training_learned": "mechanism check",
    "early_lesion_impairs": "mechanism check",
    "late_lesion_spared": "finding",
    "temporal_gradient": "finding",
    "no_replay_late_lesion_impairs": "mechanism check",
    "gradient_needs_replay": "finding",
}
LEARNED = 0.8  # the after-training CI must be above this fraction of trained-arm choices


@dataclass(frozen=True)
class Config:
    """What to run (see the module docstring). Ranges are ``(low, high)`` of the sampled
    individual differences (LogUniform for rates and the decay, Uniform otherwise)."""

    n_agents: int = 24
    seed: int = 0
    device: str = "cpu"
    training_trials: int = 30
    delays: tuple[int, ...] = (0, 100, 300, 1000, 3000)
    test_trials: int = 100
    equivalence_margin: float = 0.1
    actor_lr: tuple[float, float] = (0.002, 0.004)
    critic_lr: tuple[float, float] = (0.08, 0.12)
    inverse_temperature: tuple[float, float] = (8.0, 12.0)
    fast_lr: tuple[float, float] = (0.1, 0.2)
    fast_decay: tuple[float, float] = (3e-4, 6e-4)
    replay_rate: tuple[float, float] = (2e-4, 4e-4)
    capacity: int = 100

    def __post_init__(self) -> None:
        if len(self.delays) < 2 or list(self.delays) != sorted(set(self.delays)):
            raise ValueError(
                f"delays={self.delays!r} is invalid: need at least two increasing rest-step counts"
            )
        if self.delays[0] < 0:
            raise ValueError(f"delays={self.delays!r} is invalid: delays must be >= 0")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        return dataclasses.replace(cls(n_agents=12, test_trials=60), **overrides)


def lesion_group(delay: int) -> str:
    """The group lesioned ``delay`` rest steps after training."""
    return f"lesion_{delay}"


def _groups(config: Config) -> tuple[str, ...]:
    return (*(lesion_group(d) for d in config.delays), "sham")


def _agent(
    config: Config, n_agents: int, seed: int, replay: bool, tensorboard_log: str | None = None
) -> PlasticAgent:
    systems = ComplementaryLearning(
        fast_lr=LogUniform(*config.fast_lr), fast_decay=LogUniform(*config.fast_decay),
        replay_rate=LogUniform(*config.replay_rate) if replay else 0.0, replays=1,
        capacity=config.capacity,
    )  # fmt: skip
    return PlasticAgent(
        ENV, n_agents=n_agents, seed=seed, device=config.device, scaling=None, gamma=0.0,
        actor_weight_max=1.0, actor_init_scale=0.05, actor_lr=LogUniform(*config.actor_lr),
        critic_lr=Uniform(*config.critic_lr),
        inverse_temperature=Uniform(*config.inverse_temperature), systems=systems,
        env_kwargs={"reversal_rule": "none", "p_high": 1.0, "p_low": 0.0, "initial_arm": 0,
                    "n_trials": 100_000},
        tensorboard_log=tensorboard_log,
        tb_log_name=f"{NAME}_{'replay' if replay else 'no_replay'}",
    )  # fmt: skip


def _population(
    config: Config, condition: str, seed: int, tensorboard_log: str | None = None
) -> pd.DataFrame:
    """Train one condition's groups, rest, lesion each group at its delay and test everyone
    at every delay. One row per agent per test."""
    groups = _groups(config)
    group = np.repeat(np.array(groups), config.n_agents)
    agent = _agent(config, len(group), seed, condition == "replay", tensorboard_log)
    agent.learn(config.training_trials)
    after_training = trained_arm_choices(agent, config.test_trials)
    params = agent.individual_parameters.reset_index(drop=True)
    rows, rested = [], 0
    for delay in config.delays:
        agent.rest(delay - rested)
        rested = delay
        agent.lesion_fast_learner(torch.tensor(group == lesion_group(delay), device=agent.device))
        rows.append(
            pd.DataFrame({
                "agent": np.arange(len(group)), "condition": condition, "group": group,
                "delay": delay, "lesioned": agent.fast_learner_lesioned,
                "choices": trained_arm_choices(agent, config.test_trials),
                "after_training": after_training,
            })
        )  # fmt: skip
    table = pd.concat(rows, ignore_index=True)
    names = {"actor_lr": "actor_lr", "cls_fast_lr": "fast_lr", "cls_fast_decay": "fast_decay",
             "cls_replay_rate": "replay_rate",
             "inverse_temperature": "inverse_temperature"}  # fmt: skip
    for flat, column in names.items():
        table[column] = params[flat].to_numpy()[table["agent"].to_numpy()]
    return table


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Both conditions (each one population batching its lesion groups); TensorBoard runs
    ``systems_consolidation_replay`` and ``systems_consolidation_no_replay`` under
    ``out_dir/tensorboard``."""
    del progress_bar
    tensorboard_log = tensorboard_folder(out_dir)
    seeds = np.random.SeedSequence(config.seed).generate_state(len(CONDITIONS))
    tables = [
        _population(config, c, int(s), tensorboard_log)
        for c, s in zip(CONDITIONS, seeds, strict=True)
    ]
    tables[1]["agent"] += len(_groups(config)) * config.n_agents
    return {"tests": pd.concat(tables, ignore_index=True)}


def _label(verdict: str) -> str:
    return f"({KIND[verdict]})"


def _memory(tests: pd.DataFrame, condition: str, group: str, delay: int) -> np.ndarray:
    """One group's per-agent trained-arm choices at the test after ``delay`` (agent order)."""
    rows = tests[(tests["condition"] == condition) & (tests["group"] == group)
                 & (tests["delay"] == delay)]  # fmt: skip
    return rows.sort_values("agent")["choices"].to_numpy(dtype=float)


def lesion_effects(tests: pd.DataFrame, config: Config, condition: str) -> pd.DataFrame:
    """Per delay: sham minus the group lesioned at that delay, tested then (Welch 95%)."""
    rows = []
    for delay in config.delays:
        lesioned = _memory(tests, condition, lesion_group(delay), delay)
        sham = _memory(tests, condition, "sham", delay)
        with warnings.catch_warnings():  # at ceiling both groups may have no variance
            warnings.simplefilter("ignore", RuntimeWarning)
            effect = difference_ci(sham, lesioned)
        quantity = "lesion effect: sham - lesioned (Welch 95%)"
        rows.append(estimate_row(effect, len(lesioned), condition=condition, delay=delay,
                                 quantity=quantity))  # fmt: skip
    return pd.DataFrame(rows)


def gradient(tests: pd.DataFrame, config: Config, condition: str) -> tuple[np.ndarray, np.ndarray]:
    """The points of the gradient: ``log10(1 + delay)`` and each lesioned agent's memory
    tested right after its lesion (one point per lesioned agent)."""
    x, y = [], []
    for delay in config.delays:
        memory = _memory(tests, condition, lesion_group(delay), delay)
        x += [math.log10(1 + delay)] * len(memory)
        y += list(memory)
    return np.array(x), np.array(y)


def slope_difference_ci(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], level: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two independent OLS slopes with a t interval,
    ``se = sqrt(se_a^2 + se_b^2)``, ``n_a + n_b - 4`` degrees of freedom."""
    fit_a, fit_b = stats.linregress(*a), stats.linregress(*b)
    difference = float(fit_a.slope - fit_b.slope)
    se = math.hypot(fit_a.stderr, fit_b.stderr)
    half = float(stats.t.ppf(0.5 + level / 2, len(a[0]) + len(b[0]) - 4)) * se
    return difference, difference - half, difference + half


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    tests = records["tests"]
    first, last, margin = config.delays[0], config.delays[-1], config.equivalence_margin
    rows: list[dict[str, Any]] = []
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    for condition in CONDITIONS:
        for group in _groups(config):
            for delay in config.delays:
                rows.append(ci_row(_memory(tests, condition, group, delay), condition=condition,
                                   group=group, delay=delay,
                                   quantity="trained-arm choices"))  # fmt: skip
    effects = {c: lesion_effects(tests, config, c) for c in CONDITIONS}
    rows += [row for c in CONDITIONS for row in effects[c].to_dict("records")]
    learned = mean_ci(tests.drop_duplicates("agent")["after_training"])
    verdicts["training_learned"] = learned[1] > LEARNED
    lines["training_learned"] = (
        f"{_label('training_learned')} trained-arm choices right after training, all agents: "
        f"{format_ci(*learned)} (CI > {LEARNED:g})"
    )
    early = effects["replay"].iloc[0]
    verdicts["early_lesion_impairs"] = bool(early["ci_low"] > margin)
    lines["early_lesion_impairs"] = (
        f"{_label('early_lesion_impairs')} lesion {first} rest steps after training: sham - "
        f"lesioned {format_ci(early['mean'], early['ci_low'], early['ci_high'])} (CI > "
        f"{margin:g}, the equivalence margin)"
    )
    spared = tost(_memory(tests, "replay", "sham", last),
                  _memory(tests, "replay", lesion_group(last), last), margin)  # fmt: skip
    rows.append({"condition": "replay", "delay": last, "quantity": "lesion effect (TOST: 90% "
                 "interval, p)", "mean": spared.difference, "ci_low": spared.low,
                 "ci_high": spared.high, "n": config.n_agents, "p": spared.p})  # fmt: skip
    verdicts["late_lesion_spared"] = spared.equivalent
    lines["late_lesion_spared"] = (
        f"{_label('late_lesion_spared')} lesion {last} rest steps after training, sham - "
        f"lesioned: {format_tost(spared, margin)}"
    )
    points = {c: gradient(tests, config, c) for c in CONDITIONS}
    slope = {c: regression_slope_ci(*points[c]) for c in CONDITIONS}
    for c in CONDITIONS:
        rows.append(estimate_row(slope[c], len(points[c][0]), condition=c, quantity="slope of "
                                 "lesioned memory on log10(1 + delay) (OLS 95%)"))  # fmt: skip
    verdicts["temporal_gradient"] = slope["replay"][1] > 0
    lines["temporal_gradient"] = (
        f"{_label('temporal_gradient')} lesioned groups' memory vs log10(1 + delay), slope "
        f"{format_ci(*slope['replay'], 3)} per decade (CI > 0)"
    )
    control = effects["no_replay"].iloc[-1]
    verdicts["no_replay_late_lesion_impairs"] = bool(control["ci_low"] > margin)
    lines["no_replay_late_lesion_impairs"] = (
        f"{_label('no_replay_late_lesion_impairs')} without replay, lesion {last} rest steps "
        f"after training: sham - lesioned "
        f"{format_ci(control['mean'], control['ci_low'], control['ci_high'])} (CI > {margin:g})"
    )
    difference = slope_difference_ci(points["replay"], points["no_replay"])
    rows.append(estimate_row(difference, len(points["replay"][0]), condition="replay - no_replay",
                             quantity="slope difference (t 95%)"))  # fmt: skip
    verdicts["gradient_needs_replay"] = difference[1] > 0
    lines["gradient_needs_replay"] = (
        f"{_label('gradient_needs_replay')} slope without replay "
        f"{format_ci(*slope['no_replay'], 3)}; replay minus no replay "
        f"{format_ci(*difference, 3)} (CI > 0)"
    )
    return {"verdicts": verdicts, "table": pd.DataFrame(rows), "lines": lines}


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Memory of sham and lesioned groups over the delay (the gradient), and the lesion effect
    per delay, with and without replay."""
    plt = pyplot()
    tests = records["tests"]
    table = pd.DataFrame(result["table"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"replay": "tab:blue", "no_replay": "tab:red"}
    for condition in CONDITIONS:
        at = tests[tests["condition"] == condition]
        delays = sorted(at["delay"].unique())
        lesioned = [mean_ci(at[(at["group"] == lesion_group(d)) & (at["delay"] == d)]["choices"])
                    for d in delays]  # fmt: skip
        sham = [mean_ci(at[(at["group"] == "sham") & (at["delay"] == d)]["choices"])
                for d in delays]  # fmt: skip
        x = np.log10(1 + np.array(delays, dtype=float))
        for series, style, label in ((lesioned, "-o", "lesioned at delay"),
                                     (sham, "--s", "sham")):  # fmt: skip
            means = np.array([s[0] for s in series])
            errors = [means - [s[1] for s in series], [s[2] for s in series] - means]
            axes[0].errorbar(x, means, yerr=errors, fmt=style, color=colors[condition],
                             capsize=3, label=f"{condition}: {label}")  # fmt: skip
        effect = table[(table["condition"] == condition)
                       & table["quantity"].str.startswith("lesion effect: sham")]  # fmt: skip
        axes[1].errorbar(np.log10(1 + effect["delay"].astype(float)), effect["mean"],
                         yerr=[effect["mean"] - effect["ci_low"],
                               effect["ci_high"] - effect["mean"]], fmt="-o",
                         color=colors[condition], capsize=3, label=condition)  # fmt: skip
    axes[0].axhline(0.5, color="grey", lw=0.8, ls=":")
    axes[0].set_xlabel("log10(1 + rest steps from training to lesion)")
    axes[0].set_ylabel("trained-arm choices (mean, 95% CI)")
    axes[0].legend(fontsize=7)
    axes[1].axhline(0.0, color="grey", lw=0.8, ls=":")
    axes[1].set_xlabel("log10(1 + rest steps from training to lesion)")
    axes[1].set_ylabel("lesion effect: sham - lesioned (95% CI)")
    axes[1].legend(fontsize=8)
    fig.suptitle("Retrograde amnesia after a fast-learner lesion", fontsize=10)
    return [save_figure(fig, Path(out_dir) / "systems_consolidation.png")]
