"""**Addiction-like criteria** (Deroche-Gamonet, Belin & Piazza 2004) in a Redish population
of ``criteria_agents`` with individual differences in ``drug_surge`` (log-uniform) and
``dopamine_gain_negative`` (uniform), with latent causes (:data:`CRITERIA_AGENT`), on
Addiction-v0's default protocol (acquisition with signalled unavailability -> progressive
ratio -> punishment -> extinction -> priming reinstatement; the punishment's shock has
``shock_magnitude``), with extinction and the test in the acquisition context, effortful
presses (``press_cost``) and a priming dose of ``priming_dose``, as in part 6. Per agent:
**persistence** = drug presses per signalled unavailable step in the last
``late_sessions`` acquisition sessions; **motivation** = the progressive-ratio breakpoint;
**compulsivity** = drug presses per step under punishment. A criterion is met in the top
third of the population (rank ``<= n / 3``; breakpoint ties are broken by the PR session's
drug presses, other ties share the better rank); the **addiction score** is the sum of the
three z-scores; **relapse** = drug presses in the primed test session minus the last
extinction session. Signatures: ``criteria_distributed`` (0 < fraction meeting all three <
0.5) and ``score_predicts_reinstatement`` (relapse > 0, and Spearman rho of score and
relapse > 0 with p < 0.05).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plasticgym.experiments.addiction.common import ADDICTION, AGENT, PartResult, train
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.addiction.relapse import RELAPSE_CAUSE_CHANNELS
from plasticgym.experiments.report import pyplot, run_name, save_figure
from plasticgym.experiments.stats import (
    ci_row,
    estimate_row,
    format_ci,
    mean_ci,
    proportion_ci,
)
from plasticgym.population import LogUniform, Uniform

CRITERIA_AGENT = {
    **AGENT, "latent_causes": 2, "cause_channels": RELAPSE_CAUSE_CHANNELS,
    "cause_split_threshold": 0.1,
}  # fmt: skip
"""Part 4's agents infer up to two latent causes of the drug level and context (as part 6's);
a cause forms when the running average TD error falls below -0.1."""
CRITERIA = ("persistence", "motivation", "compulsivity")
DEROCHE_GAMONET_ALL_THREE = 0.17
"""Fraction of rats meeting all three criteria after about three months of cocaine
self-administration (Deroche-Gamonet, Belin & Piazza 2004: 17%)."""
INDEPENDENT_ALL_THREE = (1 / 3) ** 3
"""All three top thirds by chance, were the criteria independent: 1/27 = 0.037."""
TRAITS = ("drug_surge", "dopamine_gain_negative")


def criteria_protocol(config: Config) -> list[dict[str, Any]]:
    """Addiction-v0's default protocol with the config's acquisition, extinction and
    punishment, except that extinction and the priming test are in the acquisition context
    with effortful presses (``press_cost``) and a priming dose of ``priming_dose``, as in
    part 6."""
    return [
        {"name": "acquisition", "sessions": config.acquisition_sessions, "unavailable_period": 5},
        {
            "name": "progressive",
            "sessions": 1,
            "schedule": "PR",
            "session_length": 600,
            "unavailable_period": 0,
        },
        {
            "name": "punishment",
            "sessions": 2,
            "shock_prob": config.shock_prob,
            "shock_magnitude": config.shock_magnitude,
            "unavailable_period": 0,
        },
        {
            "name": "extinction",
            "sessions": config.extinction_sessions,
            "drug": False,
            "press_cost": config.press_cost,
        },
        {
            "name": "reinstatement",
            "sessions": 1,
            "drug": False,
            "priming": True,
            "priming_dose": config.priming_dose,
            "press_cost": config.press_cost,
        },
    ]


def run_criteria(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 4: a Redish population with individual differences and latent causes.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    traits = {
        "drug_surge": LogUniform(*config.drug_surge_range),
        "dopamine_gain_negative": Uniform(*config.gain_negative_range),
    }
    rows = train(
        ADDICTION,
        config,
        config.seed + 30,
        {"protocol": criteria_protocol(config)},
        n_agents=config.criteria_agents,
        tensorboard_log=tensorboard_log,
        tb_log_name=run_name("addiction_criteria", "redish"),
        dopamine="redish",
        **traits,
        **CRITERIA_AGENT,
    )
    rows = rows.assign(cause=rows.get("cause", 0))
    columns = [
        "agent",
        "trial",
        "phase",
        "session",
        "press",
        "unavailable",
        "infusion",
        "priming",
        "breakpoint",
        "session_end",
        "cause",
        *TRAITS,
    ]
    return rows[columns].reset_index(drop=True)


def meets_criterion(values: Any, tiebreak: Any = None) -> np.ndarray:
    """True for the agents in the top third of the population (Deroche-Gamonet et al. 2004's
    33% highest): rank at most ``n / 3``, where an agent's rank is 1 + the number of agents
    with a higher value, or the same value and a higher ``tiebreak``; agents tied on both share
    the better rank. NaN counts as the lowest value."""
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=-math.inf)
    ties = np.zeros_like(values) if tiebreak is None else np.asarray(tiebreak, dtype=float)
    ties = np.nan_to_num(ties, nan=-math.inf)
    higher = values[None, :] > values[:, None]
    higher |= (values[None, :] == values[:, None]) & (ties[None, :] > ties[:, None])
    ranks = 1 + higher.sum(axis=1)
    return ranks <= len(values) / 3


def addiction_score(table: pd.DataFrame, criteria: tuple[str, ...] = CRITERIA) -> np.ndarray:
    """Sum over the criteria of each agent's z-score (population mean and SD; a criterion with
    no spread contributes 0)."""
    total = np.zeros(len(table))
    for name in criteria:
        values = table[name].to_numpy(float)
        sd = values.std()
        if sd > 0:
            total += (values - values.mean()) / sd
    return total


def criteria_table(records: pd.DataFrame, late_sessions: int) -> pd.DataFrame:
    """Per agent: persistence, motivation (breakpoint) and the PR session's drug presses (the
    breakpoint's tie-break), compulsivity, the drug presses of the last extinction session and
    of the reinstatement session (and their difference, the relapse), the criteria met, their
    number and the addiction score; with its traits."""
    records = records.assign(drug_press=records["press"] == 1)
    agents = pd.Index(sorted(records["agent"].unique()), name="agent")

    def phase(name: str) -> pd.DataFrame:
        return records[records["phase"] == name]

    acquisition = phase("acquisition")
    late = acquisition[acquisition["session"] >= acquisition["session"].max() - late_sessions + 1]
    unavailable = late[late["unavailable"].astype(bool)]
    progressive = phase("progressive")
    ends = progressive[progressive["session_end"].astype(bool)]
    extinction = phase("extinction")
    last_extinction = extinction[extinction["session"] == extinction["session"].max()]
    table = pd.DataFrame(
        {
            "persistence": unavailable.groupby("agent")["drug_press"].mean(),
            "motivation": ends.groupby("agent")["breakpoint"].last().astype(float),
            "pr_presses": progressive.groupby("agent")["drug_press"].sum().astype(float),
            "compulsivity": phase("punishment").groupby("agent")["drug_press"].mean(),
            "extinction": last_extinction.groupby("agent")["drug_press"].sum().astype(float),
            "reinstatement": phase("reinstatement")
            .groupby("agent")["drug_press"]
            .sum()
            .astype(float),
        },
        index=agents,
    )
    table["relapse"] = table["reinstatement"] - table["extinction"]
    for trait in TRAITS:
        if trait in records:
            table[trait] = records.groupby("agent")[trait].first()
    for name in CRITERIA:
        tiebreak = table["pr_presses"] if name == "motivation" else None
        table[f"meets_{name}"] = meets_criterion(table[name], tiebreak)
    table["n_criteria"] = table[[f"meets_{name}" for name in CRITERIA]].sum(axis=1)
    table["score"] = addiction_score(table.fillna(0.0))
    return table.reset_index()


def criteria_fractions(table: pd.DataFrame) -> pd.Series:
    """Fraction of the agents meeting 0, 1, 2 and 3 criteria."""
    counts = table["n_criteria"].value_counts().reindex(range(len(CRITERIA) + 1), fill_value=0)
    return counts / len(table)


def spearman(x: Any, y: Any) -> tuple[float, float, float, float]:
    """Spearman's rho, its 95% interval (Fisher z with the Fieller-Hartley-Pearson variance
    ``1.06 / (n - 3)``) and its two-sided p-value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    n = int(keep.sum())
    if n < 4 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return math.nan, math.nan, math.nan, math.nan
    rho, p = stats.spearmanr(x[keep], y[keep])
    z, half = math.atanh(min(max(rho, -0.999999), 0.999999)), 1.96 * math.sqrt(1.06 / (n - 3))
    return float(rho), math.tanh(z - half), math.tanh(z + half), float(p)


def analyse_criteria(records: pd.DataFrame, config: Config) -> PartResult:
    """Part 4's signatures; its per-agent table is :func:`criteria_table`'s."""
    table = criteria_table(records, config.late_sessions)
    correlations = {
        column: spearman(table["score"], table[column]) for column in ("relapse", "reinstatement")
    }
    rows = _criteria_rows(table, correlations)
    fractions = criteria_fractions(table)
    rho, low, high, p = correlations["relapse"]
    relapse = mean_ci(table["relapse"])
    all_three = float(fractions[len(CRITERIA)])
    verdicts = {
        "criteria_distributed": bool(0.0 < all_three < 0.5),
        "score_predicts_reinstatement": bool(rho > 0 and p < 0.05 and relapse[1] > 0),
    }
    shares = ", ".join(f"{k}: {fractions[k]:.2f}" for k in fractions.index)
    prevalence = proportion_ci((table["n_criteria"] == len(CRITERIA)).astype(float))
    lines = {
        "criteria_distributed": (
            f"fraction of {len(table)} Redish agents meeting 0/1/2/3 criteria (top third each): "
            f"{shares} (need 0 < all three < 0.5; at most 1/3 by the ranking); all three "
            "{:.2f} [{:.2f}, {:.2f}] (Wilson 95%) vs ".format(*prevalence)
            + f"{DEROCHE_GAMONET_ALL_THREE:.2f} of Deroche-Gamonet et al.'s rats and "
            f"{INDEPENDENT_ALL_THREE:.3f} were the criteria independent (not judged)"
        ),
        "score_predicts_reinstatement": (
            f"relapse (drug presses in the primed test - last extinction session) "
            f"{format_ci(*relapse)}; Spearman rho of addiction score and relapse "
            f"{format_ci(rho, low, high)}, p = {p:.2g} (last extinction session "
            f"{format_ci(*mean_ci(table['extinction']))} presses)"
        ),
    }
    return PartResult(verdicts, lines, rows, table)


def _criteria_rows(
    table: pd.DataFrame, correlations: dict[str, tuple[float, float, float, float]]
) -> list[dict[str, Any]]:
    """Means and CIs of the criteria, the relapse and the fractions meeting 0-3 criteria; the
    Spearman correlations of the score with the relapse and the reinstatement, and of each
    trait with the score."""
    labels = {"part": "criteria", "mode": "redish"}
    rows = [
        ci_row(table[name], quantity=name, **labels)
        for name in (*CRITERIA, "extinction", "reinstatement", "relapse")
    ]
    rows += [
        ci_row((table["n_criteria"] == k).astype(float), quantity=f"fraction meeting {k} criteria",
               **labels)
        for k in range(len(CRITERIA) + 1)
    ]  # fmt: skip
    all_three = (table["n_criteria"] == len(CRITERIA)).astype(float)
    rows += [
        estimate_row(proportion_ci(all_three), len(table),
                     quantity="fraction meeting all three criteria (Wilson 95%)", **labels),
        estimate_row((DEROCHE_GAMONET_ALL_THREE, math.nan, math.nan), 0,
                     quantity="fraction meeting all three: Deroche-Gamonet et al. 2004's rats "
                     "(reference value)", **labels),
        estimate_row((INDEPENDENT_ALL_THREE, math.nan, math.nan), 0,
                     quantity="fraction meeting all three were the criteria independent "
                     "(reference value)", **labels),
    ]  # fmt: skip
    rows += [
        estimate_row(correlation[:3], len(table), quantity=f"spearman(score, {column})", **labels)
        for column, correlation in correlations.items()
    ]
    rows += [
        estimate_row(spearman(table[trait], table["score"])[:3], len(table),
                     quantity=f"spearman({trait}, score)", **labels)
        for trait in TRAITS
        if trait in table
    ]  # fmt: skip
    return rows


def plot_criteria(per_agent: pd.DataFrame, out_dir: Path) -> Path:
    """Fraction of agents meeting 0-3 criteria; addiction score vs relapse."""
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(9, 3.5))
    fractions = criteria_fractions(per_agent)
    left.bar(fractions.index, fractions.to_numpy(), color="tab:purple")
    left.set_xticks(fractions.index)
    left.set_xlabel("criteria met (top third each)")
    left.set_ylabel("fraction of agents")
    left.set_title("Addiction-like criteria (Redish)")
    scatter = right.scatter(
        per_agent["score"],
        per_agent["relapse"],
        c=per_agent.get("drug_surge"),
        cmap="viridis",
        s=18,
    )
    if "drug_surge" in per_agent:
        fig.colorbar(scatter, ax=right, label="drug_surge")
    right.set_xlabel("addiction score (sum of z-scores)")
    right.set_ylabel("relapse (primed test - last extinction presses)")
    return save_figure(fig, out_dir / "addiction_criteria.png")
