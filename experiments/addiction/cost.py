"""**Cost sensitivity** (Redish 2004): a chamber with the drug lever only, ``cost_short`` or
``cost_long`` acquisition sessions, then ``punished_sessions`` sessions in which each
completed ratio brings a footshock (``shock_prob``, ``cost_shock_magnitude``; calibrated so
that TD agents stop taking the drug after either acquisition and agents of every model do
after the short one). The infusion follows its press by one step
(``infusion_delay=1``): the cost precedes the drug, as in Redish's chain of states, and the
agents look one step ahead (:data:`COST_AGENT`, ``gamma=0.9``). Under TD the shock's error
``-shock + gamma V(cue) - V`` stays negative as ``V(cue)`` converges to the drug's reward;
under Redish ``V(cue)`` grows with every infusion until it outweighs the shock. (Were the
shock delivered with the infusion, ``max(delta + D, D)`` would clip it from the first
punished infusion: insensitivity from the start, not one that grows.) Per agent, the
**relative pressing** is its drug presses per punished session in the second half of the
punished sessions (once the punishment has been experienced) over its presses in the last
acquisition session. Signatures: ``punishment_suppresses_td`` (TD relative pressing <
0.5 after either acquisition; the protocol's calibration check) and
``redish_cost_insensitivity_grows`` (under Redish, long - short acquisition > 0, Welch
interval).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.experiments.addiction.common import (
    ADDICTION,
    AGENT,
    PartResult,
    bar_figure,
    train,
    values_of,
)
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.report import run_name
from plasticgym.experiments.stats import ci_row, difference_ci, estimate_row, format_ci, mean_ci

COST_AGENT = {**AGENT, "gamma": 0.9}
"""Part 2's agents look one step ahead, to the delayed infusion."""
COST_MODES = ("td", "redish")
ACQUISITIONS = ("short", "long")


def cost_protocol(config: Config, acquisition: str) -> list[dict[str, Any]]:
    """``acquisition`` ("short" or "long") sessions, then punished sessions; drug lever only,
    each infusion a step after its press."""
    sessions = config.cost_short if acquisition == "short" else config.cost_long
    chain = {"food": False, "infusion_delay": 1}
    return [
        {"name": "acquisition", "sessions": sessions, **chain},
        {
            "name": "punished",
            "sessions": config.punished_sessions,
            "shock_prob": config.shock_prob,
            "shock_magnitude": config.cost_shock_magnitude,
            **chain,
        },
    ]


def run_cost(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 2: short or long acquisition, then punished sessions, per model.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    frames = []
    for index, mode in enumerate(COST_MODES):
        for acquisition in ACQUISITIONS:
            seed = config.seed + 10 + 2 * index + (acquisition == "long")
            rows = train(
                ADDICTION,
                config,
                seed,
                {"protocol": cost_protocol(config, acquisition)},
                tensorboard_log=tensorboard_log,
                tb_log_name=run_name("addiction_cost", mode, acquisition),
                dopamine=mode,
                **COST_AGENT,
            )
            columns = ["agent", "trial", "phase", "session", "press", "infusion", "shock"]
            frames.append(rows[columns].assign(mode=mode, acquisition=acquisition))
    return pd.concat(frames, ignore_index=True)


def cost_sensitivity(records: pd.DataFrame, late_punished: int | None = None) -> pd.DataFrame:
    """Per population (``mode``, ``acquisition``) and agent: drug presses in the last
    acquisition session, per punished session (the last ``late_punished`` of them: once the
    punishment has been experienced; None: all), and their ratio (the relative pressing; the
    denominator is at least 1 press)."""
    rows = records.assign(drug_press=records["press"] == 1)
    keys = ["mode", "acquisition", "agent"]
    per_session = rows.groupby([*keys, "phase", "trial"], observed=True)["drug_press"].sum()
    per_session = per_session.reset_index()
    acquisition = per_session[per_session["phase"] == "acquisition"]
    last = acquisition.sort_values("trial").groupby(keys, observed=True)["drug_press"].last()
    punished = per_session[per_session["phase"] == "punished"].sort_values("trial")
    if late_punished is not None:
        punished = punished.groupby(keys, observed=True).tail(late_punished)
    punished = punished.groupby(keys, observed=True)["drug_press"].mean()
    out = pd.DataFrame({"last_acquisition": last, "punished": punished})
    out["relative"] = out["punished"] / out["last_acquisition"].clip(lower=1.0)
    return out.reset_index()


def late_punished_sessions(config: Config) -> int:
    """The punished sessions the relative pressing counts: the second half (at least one)."""
    return max(1, config.punished_sessions // 2)


def analyse_cost(records: pd.DataFrame, config: Config) -> PartResult:
    """Part 2's signatures; its per-agent table is :func:`cost_sensitivity`'s."""
    table = cost_sensitivity(records, late_punished_sessions(config))

    def relative(mode: str, acquisition: str) -> np.ndarray:
        return values_of(table, "relative", mode=mode, acquisition=acquisition)

    rows = [
        ci_row(relative(mode, a), part="cost", quantity="relative pressing", mode=mode, group=a)
        for mode in COST_MODES
        for a in ACQUISITIONS
    ]
    differences = {mode: difference_ci(relative(mode, "long"), relative(mode, "short"))
                   for mode in COST_MODES}  # fmt: skip
    for mode in COST_MODES:
        n = len(relative(mode, "long")) + len(relative(mode, "short"))
        rows.append(estimate_row(differences[mode], n, part="cost",
                                 quantity="relative pressing long - short", mode=mode))  # fmt: skip
    td = {a: mean_ci(relative("td", a)) for a in ACQUISITIONS}
    redish = {a: mean_ci(relative("redish", a)) for a in ACQUISITIONS}
    verdicts = {
        "punishment_suppresses_td": bool(max(td["short"][2], td["long"][2]) < 0.5),
        "redish_cost_insensitivity_grows": bool(differences["redish"][1] > 0),
    }
    shock = f"shock p={config.shock_prob}, magnitude {config.cost_shock_magnitude}"
    lines = {
        "punishment_suppresses_td": (
            f"TD drug presses per late punished session (last {late_punished_sessions(config)} "
            f"of {config.punished_sessions}) / last acquisition session ({shock}): after "
            f"{config.cost_short} sessions {format_ci(*td['short'])}, after {config.cost_long} "
            f"{format_ci(*td['long'])} (need < 0.5)"
        ),
        "redish_cost_insensitivity_grows": (
            f"Redish relative pressing after {config.cost_long} minus after {config.cost_short} "
            f"acquisition sessions: {format_ci(*differences['redish'])} (short "
            f"{format_ci(*redish['short'])}, long {format_ci(*redish['long'])}; TD long - short "
            f"{format_ci(*differences['td'])}; the shock precedes the infusion by a step)"
        ),
    }
    return PartResult(verdicts, lines, rows, table)


def plot_cost(table: pd.DataFrame, out_dir: Path) -> Path:
    """Relative pressing per model and acquisition (the result table's rows)."""
    rows = table[(table["part"] == "cost") & (table["quantity"] == "relative pressing")]
    labels = [f"{row.mode}\n{row.group}" for row in rows.itertuples()]
    ylabel = "drug presses: punished /\nlast acquisition session"
    title = "Cost sensitivity after short vs long acquisition"
    return bar_figure(rows, labels, ylabel, title, out_dir / "addiction_cost.png")
