"""What the six parts of the addiction experiment share: the tasks and agents, training one
population, what a part's analysis returns, and a bar figure of result-table rows."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from plasticgym.agents import PlasticAgent
from plasticgym.agents.plastic_config import PlasticAgentConfig
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments.report import pyplot, save_figure
from plasticgym.population import LogUniform

if TYPE_CHECKING:
    from plasticgym.experiments.addiction.config import Config

ADDICTION = "plasticgym/Addiction-v0"
PAVLOVIAN = "plasticgym/Pavlovian-v0"
AGENT = {**plastic_preset(ADDICTION), "homeostasis": False}
"""Operant agents: the Addiction-v0 preset (``gamma=0``, ``actor_lr=0.2``), no scaling."""
DRUG_REWARD = 0.5
MAX_STEPS = 100_000
"""Safety cap on a population's steps; each stops when all its agents finished the protocol."""


class PartResult(NamedTuple):
    """What the analysis of one part returns: its verdicts (``{signature: bool}``), one line
    per verdict, its rows of the result table, and its per-agent table."""

    verdicts: dict[str, bool]
    lines: dict[str, str]
    rows: list[dict[str, Any]]
    per_agent: pd.DataFrame


VARIED = ("critic_lr", "actor_lr")
"""The hyperparameters every population samples per agent (:func:`individual_differences`)."""
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(PlasticAgentConfig)}


def individual_differences(hp: dict[str, Any], spread: float) -> dict[str, Any]:
    """Each agent's :data:`VARIED` learning rates drawn log-uniformly over a factor ``spread``
    around the part's value ``x`` (``[x / sqrt(spread), x sqrt(spread)]``; the agent's
    default where the part sets none), so a population is not one model run many times.
    ``spread = 1`` gives every agent the part's value; values already given as a
    :class:`~plasticgym.population.Distribution` or per agent, and a zero rate, are kept."""
    out = dict(hp)
    if spread == 1.0:
        return out
    for name in VARIED:
        value = out.get(name, _DEFAULTS[name])
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            half = math.sqrt(spread)
            out[name] = LogUniform(value / half, value * half)
    return out


def train(
    env: str,
    config: Config,
    seed: int,
    env_kwargs: dict[str, Any],
    n_agents: int | None = None,
    *,
    tensorboard_log: str | None = None,
    tb_log_name: str | None = None,
    **hp: Any,
) -> pd.DataFrame:
    """One population (``n_agents``, default the config's), trained until every agent finished
    its episode; its episode's rows. Its agents differ in their learning rates
    (:func:`individual_differences` with the config's ``lr_spread``). It logs to TensorBoard
    as the run ``tb_log_name`` under ``tensorboard_log`` if given."""
    agent = PlasticAgent(
        env, n_agents=n_agents or config.n_agents, seed=seed, env_kwargs=env_kwargs,
        device=config.device, tensorboard_log=tensorboard_log, tb_log_name=tb_log_name,
        **individual_differences(hp, config.lr_spread),
    )  # fmt: skip
    agent.learn(
        MAX_STEPS, record=True, callback=lambda a: not bool((a.episodes_completed > 0).all())
    )
    records = agent.records
    agent.close()
    return records[records["episode"] == 0]


def values_of(table: pd.DataFrame, column: str, **where: Any) -> np.ndarray:
    """The finite values of ``column`` in the rows where every ``where`` column equals its
    value."""
    mask = np.ones(len(table), dtype=bool)
    for key, value in where.items():
        mask &= (table[key] == value).to_numpy()
    values = table.loc[mask, column].to_numpy(float)
    return values[np.isfinite(values)]


def bar_figure(rows: pd.DataFrame, labels: list[str], ylabel: str, title: str, path: Path) -> Path:
    """Means and 95% CIs of table rows as bars, TD blue and Redish red."""
    fig, ax = pyplot().subplots(figsize=(5, 3.5))
    x = np.arange(len(rows))
    err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
    colors = ["tab:blue" if mode == "td" else "tab:red" for mode in rows["mode"]]
    ax.bar(x, rows["mean"], yerr=err, color=colors, capsize=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(ylabel)
    counted = "n" in rows and rows["n"].notna().all()
    n = f", n={int(rows['n'].min())} agents per bar" if counted else ""
    ax.set_title(f"{title}\nerror bars: 95% CI over agents{n}", fontsize=10)
    return save_figure(fig, path)
