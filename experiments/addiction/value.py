"""**Value of drug-taking** (``plasticgym/Addiction-v0``, a chamber with only the drug lever, or
only the food lever for food under TD): the critic's value of the state from which the drug
(food) was taken (the previous row's ``value`` at each delivery), per session. Signatures:
``redish_drug_value_grows`` (late - middle sessions > 0, and late Redish value > 5 x late TD
value), ``food_value_converges`` (late food value within 0.05 of ``food_reward`` and no longer
changing), ``homeostatic_bounded`` (late value below ``drug_reward``, not growing) and
``average_reward_growth_slows`` (growth over sessions 3-8 > growth over the last 5).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from plasticgym.experiments.addiction.common import (
    ADDICTION,
    AGENT,
    DRUG_REWARD,
    PartResult,
    train,
    values_of,
)
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.report import pyplot, run_name, save_figure
from plasticgym.experiments.stats import ci_row, estimate_row, format_ci, mean_ci

VALUE_POPULATIONS = (
    ("td", "drug"),
    ("redish", "drug"),
    ("homeostatic", "drug"),
    ("average_reward", "drug"),
    ("td", "food"),
)
"""Part 1: (dopamine model, the chamber's only lever)."""
FOOD_REWARD = 1.0


def run_values(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 1: one population per (model, lever) in a one-lever chamber.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    frames = []
    for index, (mode, lever) in enumerate(VALUE_POPULATIONS):
        other = "food" if lever == "drug" else "drug"
        protocol = [{"name": "access", "sessions": config.value_sessions, other: False}]
        rows = train(
            ADDICTION,
            config,
            config.seed + index,
            {"protocol": protocol},
            tensorboard_log=tensorboard_log,
            tb_log_name=run_name("addiction_values", mode, lever),
            dopamine=mode,
            **AGENT,
        )
        columns = ["agent", "step", "trial", "value", "infusion", "food"]
        frames.append(rows[columns].assign(mode=mode, lever=lever))
    return pd.concat(frames, ignore_index=True)


def value_of_taking(records: pd.DataFrame) -> pd.DataFrame:
    """Per population (``mode``, ``lever``), agent and session (``trial``): the mean critic
    value of the state from which the drug or the food was taken — the previous row's
    ``value``, at rows with an infusion or a food delivery (Redish 2004's "value of
    drug-taking"; rows of one agent in step order, its first row has no previous one)."""
    keys = ["mode", "lever", "agent"]
    rows = records.sort_values([*keys, "step"])
    before = rows.groupby(keys, sort=False, observed=True)["value"].shift(1)
    delivered = (rows["infusion"] | rows["food"]).to_numpy(bool) & before.notna().to_numpy()
    taken = rows.loc[delivered, [*keys, "trial"]].assign(value=before[delivered])
    out = taken.groupby([*keys, "trial"], observed=True)["value"].mean().reset_index()
    return out.rename(columns={"trial": "session"})


def value_windows(values: pd.DataFrame, n_sessions: int) -> pd.DataFrame:
    """Per population and agent: mean value over the middle (sessions ``n/3 .. n/3 + 4``) and
    late (last 5) sessions, and the growth over sessions 3 -> 8 and over the last 5."""
    middle = range(n_sessions // 3, n_sessions // 3 + 5)
    late = range(n_sessions - 5, n_sessions)
    table = values.pivot_table(
        index=["mode", "lever", "agent"], columns="session", values="value", observed=True
    )
    table = table.reindex(columns=range(n_sessions))
    out = pd.DataFrame(
        {
            "middle": table[list(middle)].mean(axis=1),
            "late": table[list(late)].mean(axis=1),
            "early_growth": table[8] - table[3],
            "late_growth": table[n_sessions - 1] - table[n_sessions - 6],
        }
    )
    out["late_minus_middle"] = out["late"] - out["middle"]
    return out.reset_index()


def analyse_values(records: pd.DataFrame, config: Config) -> PartResult:
    """Part 1's signatures; its per-agent table is the value of taking per session."""
    values = value_of_taking(records)
    windows = value_windows(values, config.value_sessions)

    def est(column: str, mode: str, lever: str = "drug") -> tuple[float, float, float]:
        return mean_ci(values_of(windows, column, mode=mode, lever=lever))

    growth = est("late_minus_middle", "redish")
    redish_late, td_late = est("late", "redish"), est("late", "td")
    food_late, food_change = est("late", "td", "food"), est("late_minus_middle", "td", "food")
    home_late, home_change = est("late", "homeostatic"), est("late_minus_middle", "homeostatic")
    avg = windows[windows["mode"] == "average_reward"]
    slowing = mean_ci((avg["early_growth"] - avg["late_growth"]).to_numpy(float))
    rows = [
        *_window_rows(windows),
        estimate_row(slowing, len(avg), part="value", quantity="growth 3->8 - growth last 5",
                     mode="average_reward"),
    ]  # fmt: skip
    verdicts = {
        "redish_drug_value_grows": bool(growth[1] > 0 and redish_late[1] > 5 * td_late[2]),
        "food_value_converges": bool(
            abs(food_late[1] - FOOD_REWARD) < 0.05
            and abs(food_late[2] - FOOD_REWARD) < 0.05
            and food_change[1] > -0.05
            and food_change[2] < 0.05
        ),
        "homeostatic_bounded": bool(home_late[2] < DRUG_REWARD and home_change[2] < 0.1),
        "average_reward_growth_slows": bool(slowing[1] > 0),
    }
    n = config.value_sessions
    late = f"sessions {n - 5}-{n - 1}"
    lines = {
        "redish_drug_value_grows": (
            f"Redish drug value, late ({late}) - middle: {format_ci(*growth)}; late Redish "
            f"{format_ci(*redish_late)} vs late TD {format_ci(*td_late)} (need > 5x)"
        ),
        "food_value_converges": (
            f"TD food value late {format_ci(*food_late)} (food_reward {FOOD_REWARD}), late - "
            f"middle {format_ci(*food_change)}; TD drug value late {format_ci(*td_late)} "
            f"(drug_reward {DRUG_REWARD})"
        ),
        "homeostatic_bounded": (
            f"homeostatic drug value late {format_ci(*home_late)} (< drug_reward "
            f"{DRUG_REWARD}), late - middle {format_ci(*home_change)} (< 0.1)"
        ),
        "average_reward_growth_slows": (
            f"average-reward drug value: growth over sessions 3->8 minus growth over the last 5: "
            f"{format_ci(*slowing)}"
        ),
    }
    return PartResult(verdicts, lines, rows, values)


def _window_rows(windows: pd.DataFrame) -> list[dict]:
    """Means and CIs of each population's middle and late values and their difference."""
    return [
        ci_row(values_of(windows, column, mode=mode, lever=lever), part="value",
               quantity=f"{lever} value {column}", mode=mode)
        for mode, lever in VALUE_POPULATIONS
        for column in ("middle", "late", "late_minus_middle")
    ]  # fmt: skip


def plot_values(values: pd.DataFrame, out_dir: Path) -> Path:
    """Value of taking over sessions, per model and lever."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = pyplot().subplots(figsize=(6, 4))
    for (mode, lever), rows in values.groupby(["mode", "lever"], observed=True):
        per = rows.groupby("session")["value"]
        mean, sem = per.mean(), per.sem().fillna(0.0)
        ax.plot(mean.index, mean, label=f"{lever} ({mode})")
        ax.fill_between(mean.index, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2, lw=0)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("session")
    ax.set_ylabel("value of taking (critic)")
    n = values["agent"].nunique() if "agent" in values else None
    agents = f", {n} agents per model" if n else ""
    ax.set_title(f"Value of drug- and food-taking (Addiction-v0, one lever{agents})\n"
                 "bands: 95% CI over agents", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir / "addiction_values.png")
