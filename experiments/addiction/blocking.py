"""**Blocking with a drug US** (``plasticgym/Pavlovian-v0``, within-subject design of Waelti,
Dickinson & Schultz 2001): cue A -> drug, then the compounds AB -> drug and CD -> drug at
random, then B and D alone without the drug. B is blocked by the pretrained A; D (trained in
compound with the new C) is the control. Per agent, the dopamine at each test cue's onset.
Signatures: ``td_blocks`` (TD: control D - blocked B > 0, paired over agents) and
``no_blocking_under_redish`` (Redish B - TD B > 0: the surge teaches B although A predicts
the drug).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from plasticgym.experiments.addiction.common import (
    DRUG_REWARD,
    PAVLOVIAN,
    PartResult,
    bar_figure,
    train,
    values_of,
)
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.report import run_name
from plasticgym.experiments.stats import ci_row, difference_ci, estimate_row, format_ci, mean_ci

BLOCKING_MODES = ("td", "redish")


def blocking_env(config: Config) -> dict[str, Any]:
    """Pavlovian-v0 with a drug US: A -> drug; AB, CD -> drug; test B, D without the drug."""
    protocol = [
        {"name": "pretraining", "trials": config.blocking_pretraining, "cs": "A"},
        {"name": "compound", "trials": config.blocking_compound, "cs": "AB,CD"},
        {"name": "test", "trials": config.blocking_test, "cs": "B,D", "reward_prob": 0.0},
    ]
    return {
        "cues": 4,
        "us": "drug",
        "reward": DRUG_REWARD,
        "cs_us_interval": 4,
        "iti": (10, 20),
        "protocol": protocol,
    }


def run_blocking(config: Config, tensorboard_log: str | None = None) -> pd.DataFrame:
    """Part 3: the cue-onset and US rows of a TD and a Redish population.
    TensorBoard: one run per population under ``tensorboard_log`` if given."""
    frames = []
    for index, mode in enumerate(BLOCKING_MODES):
        rows = train(
            PAVLOVIAN,
            config,
            config.seed + 20 + index,
            blocking_env(config),
            tensorboard_log=tensorboard_log,
            tb_log_name=run_name("addiction_blocking", mode),
            dopamine=mode,
        )
        rows = rows[rows["cs"] | rows["us"]]
        columns = ["agent", "trial", "phase", "cue", "cs", "us", "dopamine", "value"]
        frames.append(rows[columns].assign(mode=mode))
    return pd.concat(frames, ignore_index=True)


def cue_responses(records: pd.DataFrame, phase: str = "test") -> pd.DataFrame:
    """Per model, agent and cue: mean dopamine and value at the cue's onsets in ``phase``."""
    onsets = records[records["cs"].astype(bool) & (records["phase"] == phase)]
    keys = ["mode", "agent", "cue"]
    out = onsets.groupby(keys, observed=True)[["dopamine", "value"]].mean()
    return out.reset_index()


def analyse_blocking(records: pd.DataFrame) -> PartResult:
    """Part 3's signatures; its per-agent table is the test dopamine per cue (one column
    each)."""
    responses = cue_responses(records)
    wide = responses.pivot_table(
        index=["mode", "agent"], columns="cue", values="dopamine", observed=True
    ).reset_index()
    rows = [
        ci_row(values_of(wide, cue, mode=mode), part="blocking",
               quantity=f"test dopamine at {cue} ({role})", mode=mode)
        for mode in BLOCKING_MODES
        for cue, role in (("B", "blocked"), ("D", "control"))
    ]  # fmt: skip
    blocking = {}
    for mode in BLOCKING_MODES:
        of_mode = wide[wide["mode"] == mode]
        blocking[mode] = mean_ci((of_mode["D"] - of_mode["B"]).to_numpy(float))
        rows.append(estimate_row(blocking[mode], len(of_mode), part="blocking",
                                 quantity="control D - blocked B", mode=mode))  # fmt: skip
    redish_b, td_b = values_of(wide, "B", mode="redish"), values_of(wide, "B", mode="td")
    no_blocking = difference_ci(redish_b, td_b)
    rows.append(estimate_row(no_blocking, len(redish_b) + len(td_b), part="blocking",
                             quantity="blocked B: redish - td"))  # fmt: skip
    verdicts = {
        "td_blocks": bool(blocking["td"][1] > 0),
        "no_blocking_under_redish": bool(no_blocking[1] > 0),
    }
    lines = {
        "td_blocks": (
            f"TD test dopamine at B (blocked by A) {format_ci(*mean_ci(td_b))}; control D - B "
            f"{format_ci(*blocking['td'])}"
        ),
        "no_blocking_under_redish": (
            f"dopamine at the blocked B, Redish - TD: {format_ci(*no_blocking)} (Redish B "
            f"{format_ci(*mean_ci(redish_b))}, Redish D - B {format_ci(*blocking['redish'])})"
        ),
    }
    return PartResult(verdicts, lines, rows, wide)


def plot_blocking(table: pd.DataFrame, out_dir: Path) -> Path:
    """Test dopamine at B and D per model (the result table's rows)."""
    rows = table[(table["part"] == "blocking") & table["quantity"].str.startswith("test")]
    labels = [f"{row.mode}\n{row.quantity.split(' at ')[1]}" for row in rows.itertuples()]
    title = "Blocking with a drug US (Pavlovian-v0)"
    path = out_dir / "addiction_blocking.png"
    return bar_figure(rows, labels, "dopamine at cue onset (test)", title, path)
