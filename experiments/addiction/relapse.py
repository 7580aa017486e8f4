"""**Relapse after extinction** (priming-induced reinstatement, Shaham et al. 2003; de Wit &
Stewart 1981). TD agents in a chamber with the drug lever alone, every press costing
``press_cost`` (response effort; without it nothing tells the agents to stop pressing in
extinction): ``relapse_acquisition`` sessions with the drug, ``relapse_extinction``
without, then one test session without the drug that begins with a priming infusion of
``priming_dose`` doses, all in context A. Plain TD unlearns in extinction; with latent
causes (``latent_causes=2``, see :mod:`plasticgym.latent_causes`; Redish et al. 2007,
Gershman, Blei & Niv 2010) extinction forms a new cause and the priming dose's drug level
recalls the acquisition cause and its policy. Groups: latent causes over the drug level and
the context channels (:data:`RELAPSE_CAUSE_CHANNELS`), one cause (plain TD), and latent
causes over every channel (reported, not judged: the acquisition cause is then also
defined by the cue and the timeout, which a priming dose does not bring). Per agent, the
**relapse** = drug presses in the test session - in the last extinction session.
Signatures: ``priming_reinstates_with_latent_causes`` (extinction worked: last extinction
session below half the last acquisition session, CI; and relapse > 0, CI) and
``reinstatement_needs_latent_causes`` (latent - one cause relapse > 0, Welch interval).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from plasticgym.envs.addiction import OBS_CHANNELS
from plasticgym.experiments.addiction.common import (
    ADDICTION,
    AGENT,
    PartResult,
    train,
    values_of,
)
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.report import pyplot, run_name, save_figure
from plasticgym.experiments.stats import ci_row, difference_ci, estimate_row, format_ci, mean_ci

RELAPSE_CAUSE_CHANNELS = (
    OBS_CHANNELS.index("drug_level"),
    len(OBS_CHANNELS),
    len(OBS_CHANNELS) + 1,
)
"""Part 6: the drug level and the two context channels of Addiction-v0's observation."""
RELAPSE_GROUPS = (
    ("latent causes", 2, RELAPSE_CAUSE_CHANNELS),
    ("one cause", 1, None),
    ("latent causes, every channel", 2, None),
)
"""Part 6: (group, ``latent_causes``, ``cause_channels``)."""


def relapse_protocol(config: Config) -> list[dict[str, Any]]:
    """Acquisition -> extinction -> a drug-free test that begins with a priming infusion, all
    in context A, drug lever only, every press costing ``press_cost``."""
    common = {"food": False, "press_cost": config.press_cost}
    return [
        {"name": "acquisition", "sessions": config.relapse_acquisition, **common},
        {"name": "extinction", "sessions": config.relapse_extinction, "drug": False, **common},
        {"name": "test", "sessions": 1, "drug": False, "priming": True,
         "priming_dose": config.priming_dose, **common},
    ]  # fmt: skip


def run_relapse(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 6: TD populations with and without latent causes.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    frames = []
    for index, (group, n_causes, channels) in enumerate(RELAPSE_GROUPS):
        rows = train(
            ADDICTION,
            config,
            config.seed + 50 + index,
            {"protocol": relapse_protocol(config)},
            tensorboard_log=tensorboard_log,
            tb_log_name=run_name("addiction_relapse", group),
            dopamine="td",
            latent_causes=n_causes,
            cause_channels=channels,
            **AGENT,
        )
        rows = rows.assign(cause=rows.get("cause", 0))
        columns = ["agent", "trial", "phase", "t_in_trial", "press", "cause"]
        frames.append(rows[columns].assign(group=group))
    return pd.concat(frames, ignore_index=True)


def relapse_table(records: pd.DataFrame) -> pd.DataFrame:
    """Per group and agent: drug presses in the last acquisition session, the last extinction
    session and the test session, the relapse (test - last extinction), and the share of the
    test session's steps whose most believed cause is the first one (the acquisition cause)."""
    rows = records.assign(drug_press=records["press"] == 1, recalled=records["cause"] == 0)
    keys = ["group", "agent"]

    def last_session(phase: str) -> pd.Series:
        of_phase = rows[rows["phase"] == phase]
        last = of_phase.groupby(keys, observed=True)["trial"].transform("max")
        return of_phase[of_phase["trial"] == last].groupby(keys, observed=True)["drug_press"].sum()

    test = rows[rows["phase"] == "test"].groupby(keys, observed=True)
    out = pd.DataFrame(
        {
            "acquisition": last_session("acquisition").astype(float),
            "extinction": last_session("extinction").astype(float),
            "test": test["drug_press"].sum().astype(float),
            "recall": test["recalled"].mean(),
        }
    )
    out["relapse"] = out["test"] - out["extinction"]
    return out.reset_index()


def analyse_relapse(records: pd.DataFrame, config: Config) -> PartResult:
    """Part 6's signatures; its per-agent table is :func:`relapse_table`'s."""
    table = relapse_table(records)
    rows = _group_rows(table)
    latent, single, every = (values_of(table, "relapse", group=g) for g, _, _ in RELAPSE_GROUPS)
    needs = difference_ci(latent, single)
    rows.append(estimate_row(needs, len(latent) + len(single), part="relapse",
                             quantity="relapse: latent causes - one cause", mode="td"))  # fmt: skip
    acquired = mean_ci(values_of(table, "acquisition", group=RELAPSE_GROUPS[0][0]))
    extinguished = mean_ci(values_of(table, "extinction", group=RELAPSE_GROUPS[0][0]))
    relapse = mean_ci(latent)
    verdicts = {
        "priming_reinstates_with_latent_causes": bool(
            extinguished[2] < 0.5 * acquired[1] and relapse[1] > 0
        ),
        "reinstatement_needs_latent_causes": bool(needs[1] > 0),
    }
    prime = f"a priming dose of {config.priming_dose:g}"
    lines = {
        "priming_reinstates_with_latent_causes": (
            f"latent causes (drug level, context): drug presses in the last acquisition "
            f"session {format_ci(*acquired)}, last extinction session "
            f"{format_ci(*extinguished)} (need < half), test after {prime} - last extinction "
            f"{format_ci(*relapse)}"
        ),
        "reinstatement_needs_latent_causes": (
            f"relapse, latent causes - one cause: {format_ci(*needs)} (one cause "
            f"{format_ci(*mean_ci(single))}; latent causes over every channel "
            f"{format_ci(*mean_ci(every))})"
        ),
    }
    return PartResult(verdicts, lines, rows, table)


def _group_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per group: means and CIs of the drug presses per phase, the relapse and (with latent
    causes) the test steps in the acquisition cause."""
    quantities = {
        "acquisition": "drug presses: acquisition",
        "extinction": "drug presses: extinction",
        "test": "drug presses: test",
        "relapse": "relapse (test - extinction)",
        "recall": "test steps in the acquisition cause",
    }
    rows = []
    for group, n_causes, _ in RELAPSE_GROUPS:
        columns = [c for c in quantities if c != "recall" or n_causes > 1]
        for column in columns:
            rows.append(ci_row(values_of(table, column, group=group), part="relapse",
                               quantity=quantities[column], mode="td", group=group))  # fmt: skip
    return rows


def plot_relapse(records: pd.DataFrame, out_dir: Path) -> Path:
    """Drug presses per session per group, the phases marked."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = pyplot().subplots(figsize=(6, 4))
    relapse = records.assign(drug_press=records["press"] == 1)
    per_session = relapse.groupby(["group", "agent", "trial"], observed=True)["drug_press"].sum()
    for group, rows in per_session.reset_index().groupby("group", observed=True, sort=False):
        per = rows.groupby("trial")["drug_press"]
        mean, sem = per.mean(), per.sem().fillna(0.0)
        ax.plot(mean.index + 1, mean, marker="o", ms=3, label=group)
        ax.fill_between(mean.index + 1, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)
    phases = relapse.groupby("phase", observed=True)["trial"].min().sort_values()
    for start in phases.iloc[1:]:
        ax.axvline(start + 0.5, color="k", lw=0.8, ls=":")
    ax.set_xlabel("session (acquisition | extinction | priming test)")
    ax.set_ylabel("drug presses per session")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Relapse after extinction (TD agents)\nbands: 95% CI over the agents of each "
                 "group", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir / "addiction_relapse.png")
