"""Model-free and model-based signatures in the two-step task (Daw et al. 2011).

Populations of five agent kinds learn ``plasticgym/TwoStep-v0`` (a first-stage choice leads to
one of two second-stage states by a common (0.7) or rare (0.3) transition; the second-stage
reward probabilities drift): the plastic three-factor actor-critic (with its task preset,
``plasticgym.agents.presets``), three tabular model-free learners whose eligibility trace spans
both stages — Watkins's Q(lambda), SARSA(lambda) (Daw's model-free learner) and the TD
actor-critic — and the model-based learner (learned transition and reward models, value
iteration). From each agent's records, whether it repeats its first-stage choice ("stay") is
related to the previous trial's reward and transition:

- stay probabilities in the four cells rewarded/unrewarded x common/rare;
- a logistic regression per agent, ``logit P(stay) = b0 + b_r r + b_t t + b_rt r t`` with
  ``r = +1`` after a reward (-1 otherwise) and ``t = +1`` after a common transition (-1 after
  a rare one), fitted by Newton's method with a small ridge (``l2``) that keeps an agent that
  always stays after a reward finite.

Signatures, judged over agents: the model-free kinds and the plastic agent show a reward main
effect (``b_r > 0``, 95% CI; a ``mechanism check``: the TD update credits the chosen
first-stage action) and no reward x transition interaction (a ``finding``: an equivalence test,
TOST of ``|b_rt| < 0.1``, less than half the model-based learner's own interaction); the
model-based agent shows the interaction (``b_rt > 0``, larger than its reward main effect; a
``mechanism check``: it plans through its transition model): after a rare transition a reward
makes it switch, because the other first-stage option is the one that commonly leads where the
reward was.

Not judged, but visible in the table: the plastic agent also stays more after a rare transition
whatever the reward (``b_t < 0``), a transition main effect rather than the model-based
interaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.agents import make_agent
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    pyplot,
    run_name,
    save_figure,
    tensorboard_folder,
)
from plasticgym.experiments.stats import (
    ci_row,
    estimate_row,
    format_ci,
    format_tost,
    logistic_regression,
    mean_ci,
    tost,
)

NAME = "two_step"
DESCRIPTION = (
    "two-step task: model-free learners and the plastic agent show a reward effect on staying, "
    "the model-based learner a reward x transition interaction (Daw 2011)"
)
TWO_STEP = "plasticgym/TwoStep-v0"
_MODEL_FREE = {"inverse_temperature": 3.0, "trace_lambda": 0.9}
KINDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "plastic": ("plastic", plastic_preset(TWO_STEP), "model-free"),
    "q_lambda": ("q_learning", {**_MODEL_FREE, "learning_rate": 0.5}, "model-free"),
    "sarsa_lambda": ("sarsa_lambda", {**_MODEL_FREE, "learning_rate": 0.5}, "model-free"),
    "actor_critic": (
        "td_actor_critic",
        {**_MODEL_FREE, "critic_lr": 0.5, "actor_lr": 0.5},
        "model-free",
    ),
    "model_based": (
        "model_based",
        {"inverse_temperature": 3.0, "reward_lr": 0.5},
        "model-based",
    ),
}
"""Agent kind -> (registry name, hyperparameters, expected signature)."""

COEFFICIENTS = ("intercept", "reward", "transition", "interaction")
CELLS = ("rewarded/common", "rewarded/rare", "unrewarded/common", "unrewarded/rare")


@dataclass(frozen=True)
class Config:
    """``n_agents`` agents of each kind learn for ``steps`` env steps (two per trial; an
    episode is ``trials`` trials). ``l2`` is the ridge of the per-agent logistic regressions.

    The populations are large (the tabular agents are cheap) because "no interaction" is an
    equivalence test: the interaction's 90% interval must be narrow enough to fit inside
    ``+-NO_INTERACTION_MARGIN``."""

    n_agents: int = 256
    seed: int = 0
    steps: int = 1000
    trials: int = 200
    kinds: tuple[str, ...] = tuple(KINDS)
    l2: float = 0.1
    device: str = "cpu"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown or not self.kinds:
            raise ValueError(f"kinds={self.kinds!r} is invalid: choose among {list(KINDS)}")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 10 s on 2 CPU cores): 400 steps (200 trials) per agent."""
        return cls(**{"steps": 400, **overrides})


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """One population per kind; returns ``{"trials": records}`` (every kind's step records,
    with a ``kind`` column). TensorBoard: one run per kind under ``out_dir/tensorboard``,
    ``two_step_<kind>``."""
    tensorboard_log = tensorboard_folder(out_dir)
    tables = []
    for kind in config.kinds:
        name, hyperparameters, _ = KINDS[kind]
        agent = make_agent(
            name,
            TWO_STEP,
            n_agents=config.n_agents,
            seed=config.seed,
            env_kwargs={"n_trials": config.trials},
            device=config.device,
            tensorboard_log=tensorboard_log,
            tb_log_name=run_name(NAME, kind),
            **hyperparameters,
        )
        agent.learn(config.steps, record=True, progress_bar=progress_bar)
        tables.append(agent.records.assign(kind=kind))
        agent.close()
    records = pd.concat(tables, ignore_index=True)
    records["kind"] = pd.Categorical(records["kind"], categories=list(config.kinds))
    return {"trials": records}


def stay_trials(records: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of consecutive trials of one agent and episode: ``kind``, ``agent``,
    ``stay`` (same first-stage choice), ``rewarded`` and ``common`` (of the earlier trial).

    Uses the second-stage rows (one per trial: ``first_choice``, ``transition``,
    ``rewarded``)."""
    trials = records[records["stage"] == 1].sort_values(["kind", "agent", "step"])
    same = (
        (trials["kind"].to_numpy()[1:] == trials["kind"].to_numpy()[:-1])
        & (trials["agent"].to_numpy()[1:] == trials["agent"].to_numpy()[:-1])
        & (trials["episode"].to_numpy()[1:] == trials["episode"].to_numpy()[:-1])
    )
    choice = trials["first_choice"].to_numpy()
    return pd.DataFrame(
        {
            "kind": trials["kind"].to_numpy()[1:][same],
            "agent": trials["agent"].to_numpy()[1:][same],
            "stay": (choice[1:] == choice[:-1])[same],
            "rewarded": trials["rewarded"].to_numpy().astype(bool)[:-1][same],
            "common": (trials["transition"] == "common").to_numpy()[:-1][same],
        }
    )


def stay_probabilities(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per kind and agent: P(stay) in each cell of :data:`CELLS` (the previous trial's
    outcome/transition)."""
    cell = np.where(pairs["rewarded"], "rewarded", "unrewarded").astype(object) + np.where(
        pairs["common"], "/common", "/rare"
    ).astype(object)
    table = pairs.assign(cell=cell).groupby(["kind", "agent", "cell"], observed=True)["stay"]
    return table.mean().unstack("cell").reindex(columns=list(CELLS))


def stay_regressions(pairs: pd.DataFrame, l2: float) -> pd.DataFrame:
    """Per kind and agent: the logistic-regression coefficients :data:`COEFFICIENTS` of stay on
    reward (+-1), transition (+-1) and their product."""
    rows = {}
    for (kind, agent), group in pairs.groupby(["kind", "agent"], observed=True):
        r = np.where(group["rewarded"], 1.0, -1.0)
        t = np.where(group["common"], 1.0, -1.0)
        design = np.column_stack([np.ones_like(r), r, t, r * t])
        fit = logistic_regression(design, group["stay"].to_numpy(float), l2=l2)
        rows[(kind, agent)] = fit.coef
    index = pd.MultiIndex.from_tuples(list(rows), names=["kind", "agent"])
    return pd.DataFrame(np.array(list(rows.values())), index=index, columns=list(COEFFICIENTS))


NO_INTERACTION_MARGIN = 0.1
"""Equivalence margin of ``<kind>_no_interaction`` (logistic-regression units): the TOST asks
whether ``b_rt`` lies inside ``+-0.1``. The contrasted effect is the model-based learner's own
interaction (``b_rt`` +0.22 [+0.19, +0.24] in the quick run, +0.22 [+0.21, +0.24] in the full
one): the margin is less than half of it, so an agent passes only if its interaction is much
closer to none than to the model-based one. When the model-based kind runs, the verdict also
requires the margin to lie below the model-based interaction's 95% interval (the contrast was
present)."""

KIND: dict[str, str] = {}
"""Each verdict's label (:data:`plasticgym.experiments.report.VERDICT_KINDS`), filled below."""
for _kind, (_, _, _signature) in KINDS.items():
    if _signature == "model-free":
        # A model-free learner credits the first-stage choice with the reward: its sign is set
        # by the TD update whatever the parameters.
        KIND[f"{_kind}_reward_effect"] = MECHANISM_CHECK
        # Could fail: with lambda < 1 the first-stage value bootstraps from the second stage,
        # and the plastic agent's shared representation could pick up the transition.
        KIND[f"{_kind}_no_interaction"] = FINDING
    else:
        # The model-based learner plans through its transition model: the interaction is the
        # definition of its choice rule.
        KIND[f"{_kind}_interaction"] = MECHANISM_CHECK


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Stay probabilities and regression coefficients per agent, summarised per kind.

    Verdicts (over the agents of a kind): for each model-free kind and the plastic agent,
    ``<kind>_reward_effect`` (95% CI of ``b_r`` above 0; a mechanism check) and
    ``<kind>_no_interaction`` (a finding: TOST of ``|b_rt| < NO_INTERACTION_MARGIN`` at 5%, and
    the margin below the model-based interaction's 95% CI when that kind runs); for the
    model-based kind, ``model_based_interaction`` (CI of ``b_rt`` above 0 and of
    ``b_rt - |b_r|`` above 0; a mechanism check).
    """
    pairs = stay_trials(records["trials"])
    stays = stay_probabilities(pairs)
    coefficients = stay_regressions(pairs, config.l2)
    margin = NO_INTERACTION_MARGIN
    contrast = _model_based_contrast(coefficients, config)
    rows, verdicts, lines = [], {}, {}
    for kind in config.kinds:
        for cell in CELLS:
            rows.append(ci_row(stays.loc[kind, cell], kind=kind, quantity=f"P(stay) {cell}"))
        for name in COEFFICIENTS:
            rows.append(ci_row(coefficients.loc[kind, name], kind=kind, quantity=f"b_{name}"))
        reward = mean_ci(coefficients.loc[kind, "reward"])
        interaction = mean_ci(coefficients.loc[kind, "interaction"])
        effects = f"b_reward {format_ci(*reward)}, b_interaction {format_ci(*interaction)}"
        if KINDS[kind][2] == "model-free":
            verdicts[f"{kind}_reward_effect"] = reward[1] > 0.0
            lines[f"{kind}_reward_effect"] = f"{effects} (needs CI of b_reward > 0)"
            test = tost(coefficients.loc[kind, "interaction"], None, margin)
            rows.append(estimate_row((test.difference, test.low, test.high),
                                     int(coefficients.loc[kind].shape[0]), kind=kind,
                                     quantity=f"b_interaction, 90% interval (TOST +-{margin:g}, "
                                     f"p = {test.p:.2g})"))  # fmt: skip
            contrast_ok = contrast is None or contrast[1] > margin
            verdicts[f"{kind}_no_interaction"] = bool(test.equivalent and contrast_ok)
            against = (
                "model-based interaction not run"
                if contrast is None
                else f"model-based interaction {format_ci(*contrast)}, needs CI > {margin:g}"
            )
            lines[f"{kind}_no_interaction"] = (
                f"b_interaction {format_tost(test, margin)} (equivalence to 0 needs p < 0.05; "
                f"{against})"
            )  # fmt: skip
        else:
            excess = mean_ci(
                coefficients.loc[kind, "interaction"] - coefficients.loc[kind, "reward"].abs()
            )
            verdicts[f"{kind}_interaction"] = interaction[1] > 0.0 and excess[1] > 0.0
            lines[f"{kind}_interaction"] = (
                f"{effects}; b_interaction - |b_reward| {format_ci(*excess)} (needs both CIs > 0)"
            )
    kinds = {name: KIND[name] for name in verdicts}
    return {
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "table": pd.DataFrame(rows),
        "lines": labelled(lines, kinds),
        "stay_probabilities": stays,
        "coefficients": coefficients,
        "kinds": list(config.kinds),
    }


def _model_based_contrast(
    coefficients: pd.DataFrame, config: Config
) -> tuple[float, float, float] | None:
    """Mean and 95% CI of the model-based kinds' interaction (None when none ran)."""
    based = [kind for kind in config.kinds if KINDS[kind][2] == "model-based"]
    if not based:
        return None
    return mean_ci(pd.concat([coefficients.loc[kind, "interaction"] for kind in based]))


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Stay probabilities (Daw et al.'s 2x2 bars) and regression coefficients per kind."""
    plt = pyplot()
    kinds, out = result["kinds"], Path(out_dir)
    stays, coefficients = result["stay_probabilities"], result["coefficients"]
    colors = {"common": "tab:blue", "rare": "tab:red"}
    fig, axes = plt.subplots(1, len(kinds), figsize=(3 * len(kinds), 3.4), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, kind in zip(axes[0], kinds, strict=True):
        for offset, transition in ((-0.2, "common"), (0.2, "rare")):
            means, errors = [], []
            for outcome in ("rewarded", "unrewarded"):
                mean, _, high = mean_ci(stays.loc[kind, f"{outcome}/{transition}"])
                means.append(mean)
                errors.append(high - mean)
            ax.bar(np.arange(2) + offset, means, width=0.4, yerr=errors, capsize=3,
                   color=colors[transition], label=transition)  # fmt: skip
        ax.set_xticks([0, 1], ["rewarded", "unrewarded"])
        ax.set_title(f"{kind} ({KINDS[kind][2]})", fontsize=9)
        ax.set_ylim(0.4, 1.0)
    axes[0, 0].set_ylabel("P(stay)")
    axes[0, 0].legend(frameon=False, fontsize=8, title="previous transition", title_fontsize=8)
    fig.suptitle(
        "Stay probabilities after the previous trial's outcome and transition", fontsize=10
    )
    stay_path = save_figure(fig, out / "stay_probabilities.png")

    fig, ax = plt.subplots(figsize=(1.6 * len(kinds) + 2, 3.4))
    names = ("reward", "transition", "interaction")
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        summary = np.array([mean_ci(coefficients.loc[kind, name]) for kind in kinds])
        ax.bar(np.arange(len(kinds)) + (j - 1) * width, summary[:, 0], width=width,
               yerr=[summary[:, 0] - summary[:, 1], summary[:, 2] - summary[:, 0]], capsize=3,
               label=f"b_{name}")  # fmt: skip
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(np.arange(len(kinds)), kinds)
    ax.set_ylabel("logistic regression coefficient")
    ax.set_title("Stay ~ reward x transition, per agent (mean and 95% CI over agents)", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    return [stay_path, save_figure(fig, out / "stay_regression.png")]
