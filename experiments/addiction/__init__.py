"""Addiction as a computational process gone awry: the drug's dopamine surge and its signatures.

Redish (2004) adds a non-compensable dopamine surge ``D`` to every drug delivery,
``DA = max(delta + D, D)``: no learned prediction cancels it, so the value of drug-taking grows
without bound, drug-paired cues escape Kamin blocking, and drug-taking should become insensitive
to costs as its value grows. Homeostatic RL (Keramati & Gutkin 2014) and an adapting basal
reward level (after Dezfouli et al. 2009) keep the value bounded. Populations of plastic agents
(``dopamine="td"``, ``"redish"``, ``"average_reward"``, ``"homeostatic"``; the Addiction-v0 preset,
``gamma=0``, without synaptic scaling) are run in six parts. The agents of every population
differ in their critic and actor learning rates (log-uniform over a factor ``lr_spread = 2``
around the part's values), part 4's also in their drug surge and negative dopamine gain, so the
intervals describe populations, not one model run many times. Every quantity is computed per
agent from the records and summarised by its mean and 95% CI over agents; every verdict is
labelled (:data:`KIND`) ``finding`` (could fail) or ``mechanism check`` (holds by the
equations: the value, blocking and control verdicts):
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from plasticgym.agents.base import step_bar
from plasticgym.experiments.addiction import (
    blocking,
    cost,
    criteria,
    long_access,
    relapse,
    value,
)
from plasticgym.experiments.addiction.blocking import (
    BLOCKING_MODES,
    analyse_blocking,
    blocking_env,
    cue_responses,
    plot_blocking,
    run_blocking,
)
from plasticgym.experiments.addiction.common import (
    ADDICTION,
    AGENT,
    DRUG_REWARD,
    MAX_STEPS,
    PAVLOVIAN,
    PartResult,
)
from plasticgym.experiments.addiction.config import Config
from plasticgym.experiments.addiction.cost import (
    COST_AGENT,
    COST_MODES,
    analyse_cost,
    cost_protocol,
    cost_sensitivity,
    late_punished_sessions,
    plot_cost,
    run_cost,
)
from plasticgym.experiments.addiction.criteria import (
    CRITERIA,
    CRITERIA_AGENT,
    TRAITS,
    addiction_score,
    analyse_criteria,
    criteria_fractions,
    criteria_protocol,
    criteria_table,
    meets_criterion,
    plot_criteria,
    run_criteria,
    spearman,
)
from plasticgym.experiments.addiction.long_access import (
    ESCALATION_GROUPS,
    analyse_escalation,
    escalation,
    escalation_protocol,
    first_hour_intake,
    plot_escalation,
    run_escalation,
)
from plasticgym.experiments.addiction.relapse import (
    RELAPSE_CAUSE_CHANNELS,
    RELAPSE_GROUPS,
    analyse_relapse,
    plot_relapse,
    relapse_protocol,
    relapse_table,
    run_relapse,
)
from plasticgym.experiments.addiction.value import (
    FOOD_REWARD,
    VALUE_POPULATIONS,
    analyse_values,
    plot_values,
    run_values,
    value_of_taking,
    value_windows,
)
from plasticgym.experiments.report import FINDING, MECHANISM_CHECK, labelled, tensorboard_folder

PARTS = (value, cost, blocking, criteria, long_access, relapse)
"""The six parts in their order; each module's docstring describes its part."""
# The report's "What was run" is this docstring: the overview above, then the parts' own.
if __doc__ is not None:  # None under python -OO
    __doc__ += "\n" + "\n".join(
        f"{number}. " + textwrap.indent(inspect.cleandoc(part.__doc__), "   ").lstrip()
        for number, part in enumerate(PARTS, 1)
    )

NAME = "addiction"
DESCRIPTION = (
    "Redish's drug surge: unbounded drug value, cost insensitivity, no blocking, "
    "addiction-like criteria in a population with individual differences, escalation with "
    "long access, and relapse after extinction with latent causes"
)
KIND = {
    # Redish's DA = max(delta + D, D) >= D > 0 at every infusion: the value grows by design.
    "redish_drug_value_grows": MECHANISM_CHECK,
    # TD with gamma = 0 converges to the reward; the homeostatic reward and the basal level
    # bound or slow the value by their equations.
    "food_value_converges": MECHANISM_CHECK,
    "homeostatic_bounded": MECHANISM_CHECK,
    "average_reward_growth_slows": MECHANISM_CHECK,
    # Behaviour: whether the actor learns to stop (or not) within the sessions given depends
    # on the learning rates, the shock and the sessions, not on one equation.
    "punishment_suppresses_td": FINDING,
    "redish_cost_insensitivity_grows": FINDING,
    # Blocking under TD (delta = 0 once A predicts the drug) and its absence under the surge
    # (delta >= D) are the rules' algebra.
    "td_blocks": MECHANISM_CHECK,
    "no_blocking_under_redish": MECHANISM_CHECK,
    # Top thirds: at most 1/3 meet all three, so "< 0.5" holds by the ranking rule.
    "criteria_distributed": MECHANISM_CHECK,
    "score_predicts_reinstatement": FINDING,
    "long_access_escalates": FINDING,
    # Controls that remove the mechanism: a fixed setpoint, a single latent cause.
    "escalation_needs_allostasis": MECHANISM_CHECK,
    "priming_reinstates_with_latent_causes": FINDING,
    "reinstatement_needs_latent_causes": MECHANISM_CHECK,
}
"""Each verdict's label (:data:`plasticgym.experiments.report.VERDICT_KINDS`)."""
_STATS = ["mean", "ci_low", "ci_high", "n"]
_LABELS = ["part", "quantity", "mode", "group"]


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train the populations of the six parts; records: one table per part. TensorBoard: one
    run per population under ``out_dir/tensorboard`` (``addiction_<part>_<group>``)."""
    tensorboard_log = tensorboard_folder(out_dir)
    parts = {
        "values": run_values,
        "cost": run_cost,
        "blocking": run_blocking,
        "criteria": run_criteria,
        "escalation": run_escalation,
        "relapse": run_relapse,
    }
    records = {}
    with step_bar(progress_bar, len(parts), NAME, unit="part") as bar:
        for name, run_part in parts.items():
            records[name] = run_part(config, tensorboard_log)
            if bar is not None:
                bar.update(1)
    return records


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """The six parts' signatures, a table of means and 95% CIs over agents, and each part's
    per-agent table: ``values``, ``cost``, ``blocking``, ``per_agent`` (the criteria),
    ``escalation`` and ``relapse``."""
    parts = {
        "values": analyse_values(records["values"], config),
        "cost": analyse_cost(records["cost"], config),
        "blocking": analyse_blocking(records["blocking"]),
        "per_agent": analyse_criteria(records["criteria"], config),
        "escalation": analyse_escalation(records["escalation"], config),
        "relapse": analyse_relapse(records["relapse"], config),
    }
    rows = [row for part in parts.values() for row in part.rows]
    table = pd.DataFrame(rows).reindex(columns=_LABELS + _STATS)
    table[_LABELS] = table[_LABELS].fillna("")
    verdicts = {k: v for part in parts.values() for k, v in part.verdicts.items()}
    kinds = {name: KIND[name] for name in verdicts}
    lines = {k: v for part in parts.values() for k, v in part.lines.items()}
    return {
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "lines": labelled(lines, kinds),
        "table": table,
        **{key: part.per_agent for key, part in parts.items()},
    }


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Value of taking over sessions per model; cost sensitivity; blocking; criteria;
    first-hour intake over days (escalation); drug presses per session (relapse)."""
    out_dir = Path(out_dir)
    return [
        plot_values(result["values"], out_dir),
        plot_cost(result["table"], out_dir),
        plot_blocking(result["table"], out_dir),
        plot_criteria(result["per_agent"], out_dir),
        plot_escalation(records["escalation"], out_dir),
        plot_relapse(records["relapse"], out_dir),
    ]


__all__ = [
    "ADDICTION",
    "AGENT",
    "BLOCKING_MODES",
    "COST_AGENT",
    "COST_MODES",
    "CRITERIA",
    "CRITERIA_AGENT",
    "DESCRIPTION",
    "DRUG_REWARD",
    "ESCALATION_GROUPS",
    "FOOD_REWARD",
    "KIND",
    "MAX_STEPS",
    "NAME",
    "PARTS",
    "PAVLOVIAN",
    "RELAPSE_CAUSE_CHANNELS",
    "RELAPSE_GROUPS",
    "TRAITS",
    "VALUE_POPULATIONS",
    "Config",
    "PartResult",
    "addiction_score",
    "analyse",
    "analyse_blocking",
    "analyse_cost",
    "analyse_criteria",
    "analyse_escalation",
    "analyse_relapse",
    "analyse_values",
    "blocking_env",
    "cost_protocol",
    "cost_sensitivity",
    "criteria_fractions",
    "criteria_protocol",
    "criteria_table",
    "cue_responses",
    "escalation",
    "escalation_protocol",
    "first_hour_intake",
    "late_punished_sessions",
    "meets_criterion",
    "plot",
    "plot_blocking",
    "plot_cost",
    "plot_criteria",
    "plot_escalation",
    "plot_relapse",
    "plot_values",
    "relapse_protocol",
    "relapse_table",
    "run",
    "run_blocking",
    "run_cost",
    "run_criteria",
    "run_escalation",
    "run_relapse",
    "run_values",
    "spearman",
    "value_of_taking",
    "value_windows",
]
