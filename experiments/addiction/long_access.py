"""**Escalation with long access** (Ahmed & Koob 1998): homeostatic agents (Keramati & Gutkin
2014) whose setpoint is displaced by drug exposure, ``h* = h*_0 + g A`` with ``A`` a slow
average of the drug level (``allostatic_gain`` ``g``; the change in hedonic set point Ahmed &
Koob proposed). Each session is a day of ``day_length`` steps (drug lever only), of which
the first ``short_access`` (ShA, the "hour") or ``long_access`` (LgA) steps have the drug
and the rest are a signalled drug-free period in which the drug wears off and ``A``
recovers. After ``baseline_days`` ShA days every group gets ``access_days`` days of its
access. Per agent, **escalation** = infusions in the first ``short_access`` steps of a day,
mean of the last ``late_days`` days minus the mean of the baseline days. Populations: ShA
and LgA with ``g = allostatic_gain``, and LgA with ``g = 0`` (a fixed setpoint). Signatures:
``long_access_escalates`` (LgA - ShA escalation > 0, Welch interval, and LgA escalation > 0)
and ``escalation_needs_allostasis`` (LgA with ``g`` - LgA with ``g = 0`` > 0). With FR1 and a
2-step timeout the first 20 steps allow at most 7 infusions; a homeostatic agent titrates
below that ceiling, where intake can still rise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

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

ESCALATION_GROUPS = (("short", True), ("long", True), ("long", False))
"""Part 5: (access, allostatic setpoint on)."""


def group_label(access: str, allostatic: bool) -> str:
    """``long access, allostatic setpoint``."""
    return f"{access} access, {'allostatic' if allostatic else 'fixed'} setpoint"


def escalation_protocol(config: Config, access: str) -> list[dict[str, Any]]:
    """Baseline ShA days, then days of ``access`` ("short" or "long"); drug lever only."""

    def days(name: str, sessions: int, available: int) -> dict[str, Any]:
        return {"name": name, "sessions": sessions, "session_length": config.day_length,
                "available_period": available,
                "unavailable_period": config.day_length - available, "food": False}  # fmt: skip

    available = config.short_access if access == "short" else config.long_access
    return [
        days("baseline", config.baseline_days, config.short_access),
        days("access", config.access_days, available),
    ]


def run_escalation(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 5: homeostatic populations with short or long daily access.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    frames = []
    for index, (access, allostatic) in enumerate(ESCALATION_GROUPS):
        rows = train(
            ADDICTION,
            config,
            config.seed + 40 + index,
            {"protocol": escalation_protocol(config, access)},
            tensorboard_log=tensorboard_log,
            tb_log_name=run_name(
                "addiction_escalation", access, "allostatic" if allostatic else "fixed"
            ),
            dopamine="homeostatic",
            allostatic_gain=config.allostatic_gain if allostatic else 0.0,
            **AGENT,
        )
        rows = rows[rows["t_in_trial"] < config.short_access]
        columns = ["agent", "trial", "phase", "t_in_trial", "infusion"]
        frames.append(rows[columns].assign(access=access, allostatic=allostatic))
    return pd.concat(frames, ignore_index=True)


def first_hour_intake(records: pd.DataFrame) -> pd.DataFrame:
    """Per group (``access``, ``allostatic``), agent and day: infusions in the day's first
    ``short_access`` steps (the records hold only those steps)."""
    keys = ["access", "allostatic", "agent", "trial"]
    intake = records.groupby(keys, observed=True).agg(
        phase=("phase", "first"), infusions=("infusion", "sum")
    )
    return intake.reset_index()


def escalation(records: pd.DataFrame, late_days: int) -> pd.DataFrame:
    """Per group and agent: first-hour infusions over the baseline days, over the last
    ``late_days`` days, and their difference (the escalation)."""
    intake = first_hour_intake(records)
    keys = ["access", "allostatic", "agent"]
    baseline = intake[intake["phase"] == "baseline"].groupby(keys, observed=True)["infusions"]
    access = intake[intake["phase"] == "access"].sort_values("trial")
    late = access.groupby(keys, observed=True)["infusions"].apply(
        lambda days: days.iloc[-late_days:].mean()
    )
    out = pd.DataFrame({"baseline": baseline.mean(), "late": late})
    out["escalation"] = out["late"] - out["baseline"]
    return out.reset_index()


def analyse_escalation(records: pd.DataFrame, config: Config) -> PartResult:
    """Part 5's signatures; its per-agent table is :func:`escalation`'s."""
    table = escalation(records, config.late_days)
    rows = [
        ci_row(values_of(table, column, access=access, allostatic=allostatic),
               part="escalation", quantity=f"first-hour infusions: {column}",
               mode="homeostatic", group=group_label(access, allostatic))
        for access, allostatic in ESCALATION_GROUPS
        for column in ("baseline", "late", "escalation")
    ]  # fmt: skip
    short, long, fixed = (values_of(table, "escalation", access=access, allostatic=allostatic)
                          for access, allostatic in ESCALATION_GROUPS)  # fmt: skip
    long_minus_short = difference_ci(long, short)
    long_minus_fixed = difference_ci(long, fixed)
    for name, estimate, n in (("LgA - ShA escalation", long_minus_short, len(long) + len(short)),
                              ("LgA: allostatic - fixed setpoint", long_minus_fixed,
                               len(long) + len(fixed))):  # fmt: skip
        rows.append(estimate_row(estimate, n, part="escalation", quantity=name, mode="homeostatic"))
    verdicts = {
        "long_access_escalates": bool(long_minus_short[1] > 0 and mean_ci(long)[1] > 0),
        "escalation_needs_allostasis": bool(long_minus_fixed[1] > 0),
    }
    hour = f"infusions in the first {config.short_access} steps of a day"
    lines = {
        "long_access_escalates": (
            f"{hour}, last {config.late_days} of {config.access_days} days - "
            f"{config.baseline_days} baseline days: LgA ({config.long_access} steps a day) "
            f"{format_ci(*mean_ci(long))}, ShA ({config.short_access}) "
            f"{format_ci(*mean_ci(short))}; LgA - ShA {format_ci(*long_minus_short)}"
        ),
        "escalation_needs_allostasis": (
            f"LgA escalation with the allostatic setpoint (g={config.allostatic_gain:g}) minus "
            f"with a fixed one: {format_ci(*long_minus_fixed)} (fixed: "
            f"{format_ci(*mean_ci(fixed))})"
        ),
    }
    return PartResult(verdicts, lines, rows, table)


def plot_escalation(records: pd.DataFrame, out_dir: Path) -> Path:
    """First-hour infusions per day per group; the end of the baseline days marked."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = pyplot().subplots(figsize=(6, 4))
    intake = first_hour_intake(records)
    for (access, allostatic), rows in intake.groupby(["access", "allostatic"], observed=True):
        per_day = rows.groupby("trial")["infusions"]
        mean, sem = per_day.mean(), per_day.sem().fillna(0.0)
        ax.plot(mean.index + 1, mean, marker="o", ms=3, label=group_label(access, allostatic))
        ax.fill_between(mean.index + 1, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)
    baseline_days = int(intake.loc[intake["phase"] == "baseline", "trial"].max()) + 1
    ax.axvline(baseline_days + 0.5, color="k", lw=0.8, ls=":")
    ax.set_xlabel("day (baseline: short access for all)")
    ax.set_ylabel("infusions in the first hour")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    n = int(intake.groupby(["access", "allostatic"], observed=True)["agent"].nunique().min())
    ax.set_title(f"Escalation with long access (homeostatic agents, {n} per group)\n"
                 "bands: 95% CI over agents", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir / "addiction_escalation.png")
