"""Aging and dysregulation: cohorts of agents with less dopamine gain, plasticity and
consolidation learn more slowly, control their choices less model-based and consolidate less;
an L-DOPA-like gain increase restores part of it; an enriched environment helps, stress hurts
(Eppinger, Walter, Heekeren & Li 2013; Chowdhury et al. 2013; Li, Lindenberger & Backman 2010).

**Cohorts.** Every agent samples its own base parameters (individual differences) and its own
cohort factors, each uniform in the ranges of :data:`COHORTS` (``Config`` can change them):
``gain`` multiplies both dopamine gains (the RPE's gain on plasticity), ``plasticity`` every
learning rate (actor, critic, fast learner; the reward model of the model-based learner),
``consolidation`` the replay rate of the fast-to-slow consolidation
(:class:`~plasticgym.systems.ComplementaryLearning`), and on the two-step task ``gain`` also
multiplies the inverse temperature (dopamine as the gain of action selection; Wunderlich,
Smittenaar & Dolan 2012, L-DOPA increases model-based control). ``young`` has factors near 1;
``old`` about 0.5 gain (striatal D1/D2 binding falls by 5-10% per decade: Backman et al. 2006),
0.6 plasticity (LTP induction is impaired in aged rodents: Burke & Barnes 2006) and 0.5
consolidation (replay of recent sequences is reduced in aged rats: Gerrard et al. 2008);
``old_ldopa`` is ``old`` with the gain doubled (L-DOPA raises dopamine release; Chowdhury et
al. 2013); ``old_enriched`` is ``old`` with plasticity and consolidation x 1.3 (enrichment
raises hippocampal plasticity and neurogenesis in old animals: Kempermann, Kuhn & Gage 1998;
van Praag, Kempermann & Gage 2000); ``old_stressed`` is ``old`` with gain x 0.7 and plasticity
x 0.8 (chronic stress blunts reward responsiveness and plasticity: Pizzagalli 2014; Kim &
Diamond 2002). ``young_replica`` (the control that removes the mechanism: factors as
``young``, other agents) must behave like ``young``. Spine turnover (the issue's fourth
factor) is left out: the structural-plasticity part is not part of this module.

**Tasks.** (1) ``ReversalBandit-v0`` without reversals (arm 0 pays with ``p_high``, arm 1 with
``p_low``): :class:`~plasticgym.agents.PlasticAgent` with a fast learner and replay learns
``training_trials`` trials (learning curves, trials to criterion: the first trial at which
the last ``criterion_window`` choices were ``criterion`` correct, censored at the number of
trials), then rests ``rest_steps`` steps (the fast learner decays, replay consolidates) and is
tested (``test_trials`` predicted choices: retention). (2) ``TwoStep-v0``: by default
(``two_step_agent="model_based"``) the tabular model-based learner
(:class:`~plasticgym.agents.tabular.ModelBasedAgent`) with the cohort's reward-model rate and
choice gain. With ``two_step_agent="plastic"`` it is played by
:class:`~plasticgym.agents.PlasticAgent` s with the task's preset, a goal-directed part
(:class:`~plasticgym.habits.GoalDirected`: an action -> outcome model and outcome values, rate
``outcome_lr``) and habits under the arbiter (:class:`~plasticgym.habits.Habit`, defaults), so
that a model-based signature would come from within one agent; ``plasticity`` multiplies the
actor, critic, outcome-model and habit rates, ``gain`` both dopamine gains. Measured (issue
14): the young plastic agents show no reward x transition interaction in 300 trials (b_rt
-0.05 to +0.07, CIs including 0, full seeds 0-2): their reward model credits each reward to
the first-stage state it arrives with, never to a second-stage state. With
``two_step_agent="plastic_planner"`` the goal part credits the second-stage state
(``GoalDirected(reward_stimuli="preceding")``) at the tabular learner's reward rate x
plasticity, and ``gain`` also multiplies the inverse temperature: the young agents then show
the interaction (+0.16 to +0.19, full seeds 0-2), smaller in the old, but the model-based share
does not fall with age (dopamine gates only the model-free pathway here).
``two_step_agent="plastic_planner_dopamine"`` is the planner whose reward model learns from a
dopamine-carried prediction error (``GoalDirected(reward_dopamine=True)``), so that the
cohort's gain acts on both controllers. The default stays the tabular learner
(docs/experiments.md). The model-based index is the reward x transition
interaction ``b_rt`` of the two_step experiment's per-agent logistic regression (reused from
:mod:`plasticgym.experiments.two_step`), the model-based share ``b_rt / (|b_r| + |b_rt|)``.

**Verdicts**, each labelled: ``mechanism check`` (close to holding by the equations: a cohort
whose every rate and gain is lower learns more slowly) or ``finding`` (a consequence of the
dynamics that could fail: how much a gain increase on top of reduced plasticity buys, whether
less plasticity and gain show as a smaller reward x transition interaction or a smaller
model-based share, whether less replay shows as less retention). :func:`agents_for_power`
gives the agents per cohort a verdict needs at a measured effect and spread. See
docs/experiments.md for what each says and does not say.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from plasticgym.agents import PlasticAgent, PlasticAgentConfig, make_agent
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments.consolidation_behaviour import trained_arm_choices
from plasticgym.experiments.report import pyplot, save_figure, tensorboard_folder
from plasticgym.experiments.stats import (
    ci_row,
    difference_ci,
    estimate_row,
    format_ci,
    format_tost,
    mean_ci,
    tost,
)
from plasticgym.experiments.two_step import TWO_STEP, stay_regressions, stay_trials
from plasticgym.habits import GoalDirected, Habit
from plasticgym.systems import ComplementaryLearning

NAME = "aging"
DESCRIPTION = (
    "aging cohorts (less dopamine gain, plasticity, consolidation) learn a bandit more slowly, "
    "are less model-based on the two-step task and consolidate less; L-DOPA-like gain restores "
    "part of it (Eppinger 2013; Chowdhury 2013)"
)
BANDIT = "plasticgym/ReversalBandit-v0"
FACTORS = ("gain", "plasticity", "consolidation")
COHORTS: dict[str, dict[str, tuple[float, float]]] = {
    "young": {"gain": (0.9, 1.1), "plasticity": (0.9, 1.1), "consolidation": (0.9, 1.1)},
    "young_replica": {"gain": (0.9, 1.1), "plasticity": (0.9, 1.1),
                      "consolidation": (0.9, 1.1)},
    "old": {"gain": (0.4, 0.6), "plasticity": (0.5, 0.7), "consolidation": (0.4, 0.6)},
    "old_ldopa": {"gain": (0.8, 1.2), "plasticity": (0.5, 0.7), "consolidation": (0.4, 0.6)},
    "old_enriched": {"gain": (0.4, 0.6), "plasticity": (0.65, 0.91),
                     "consolidation": (0.52, 0.78)},
    "old_stressed": {"gain": (0.28, 0.42), "plasticity": (0.4, 0.56),
                     "consolidation": (0.4, 0.6)},
}  # fmt: skip
"""Cohort -> factor -> (low, high) of its uniform distribution over agents."""
KIND = {
    "control_replica_matches_young": "mechanism check",
    "old_learns_slower": "mechanism check",
    "old_less_model_based": "finding",
    "old_consolidates_less": "finding",
    "ldopa_speeds_learning": "finding",
    "ldopa_restores_learning_to_young": "finding",
    "ldopa_restores_model_based": "finding",
    "young_model_based": "finding",
    "old_shifts_to_model_free": "finding",
    "ldopa_raises_model_based_share": "finding",
    "ldopa_restores_share_to_young": "finding",
    "enriched_learns_faster": "finding",
    "stressed_learns_slower": "mechanism check",
}


TWO_STEP_AGENTS = ("plastic", "plastic_planner", "plastic_planner_dopamine", "model_based")
"""Who plays the two-step task: ``plastic``, a :class:`~plasticgym.agents.PlasticAgent` with a
goal-directed part and habits under arbitration (:mod:`plasticgym.habits`), whose model-based
signature would come from within one agent (it shows none: its reward model credits the
reward to the first-stage state it arrives with); ``plastic_planner``, the same agent whose
goal-directed reward model credits the reward to the second-stage state it was earned in, at
the model-based learner's reward rate (``GoalDirected(reward_stimuli="preceding",
reward_lr=...)``), so that its goal values plan through the learned transitions (Daw et al.
2011's model-based values, summed with the model-free drive); ``plastic_planner_dopamine``,
the planner whose reward model learns from a dopamine-carried prediction error
(``GoalDirected(reward_dopamine=True)``: the cohort's dopamine gain scales model-based learning
as it scales model-free learning; Daw et al. 2011, Deserno et al. 2015); ``model_based``, the
tabular model-based learner (the earlier version of this study)."""


@dataclass(frozen=True)
class Config:
    """What to run (see the module docstring); ``n_agents`` per cohort."""

    n_agents: int = 64
    seed: int = 0
    device: str = "cpu"
    cohorts: tuple[str, ...] = tuple(COHORTS)
    p_high: float = 0.7
    p_low: float = 0.3
    training_trials: int = 150
    criterion: float = 0.8
    criterion_window: int = 20
    rest_steps: int = 2000
    test_trials: int = 100
    two_step_steps: int = 600
    equivalence_margin: float = 0.05
    share_margin: float = 0.1  # TOST margin of ldopa_restores_share_to_young (share w)
    model_based_margin: float = 0.3
    actor_lr: tuple[float, float] = (0.002, 0.004)  # LogUniform, the young base values
    critic_lr: tuple[float, float] = (0.08, 0.12)  # Uniform
    inverse_temperature: tuple[float, float] = (8.0, 12.0)  # Uniform
    fast_lr: tuple[float, float] = (0.01, 0.02)  # LogUniform
    fast_decay: tuple[float, float] = (1e-3, 2e-3)  # LogUniform
    replay_rate: tuple[float, float] = (2e-4, 4e-4)  # LogUniform
    reward_lr: tuple[float, float] = (0.4, 0.6)  # Uniform, model-based learner
    two_step_temperature: tuple[float, float] = (2.5, 3.5)  # Uniform, model-based learner
    two_step_agent: str = "model_based"
    outcome_lr: tuple[float, float] = (0.04, 0.06)  # Uniform, the plastic agent's goal part

    def __post_init__(self) -> None:
        if self.two_step_agent not in TWO_STEP_AGENTS:
            raise ValueError(
                f"two_step_agent={self.two_step_agent!r} is invalid: choose one of "
                f"{', '.join(TWO_STEP_AGENTS)}"
            )
        unknown = sorted(set(self.cohorts) - set(COHORTS))
        needed = {"young", "young_replica", "old", "old_ldopa", "old_enriched", "old_stressed"}
        if unknown or set(self.cohorts) != needed:
            raise ValueError(
                f"cohorts={self.cohorts!r} is invalid: the verdicts need exactly {sorted(needed)}"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        return dataclasses.replace(cls(n_agents=32, test_trials=60), **overrides)


def sample_cohorts(config: Config, rng: np.random.Generator) -> pd.DataFrame:
    """One row per agent: ``cohort``, its factors and its base parameters (before the
    factors), all sampled from ``rng``."""
    n = config.n_agents
    cohort = np.repeat(np.array(config.cohorts), n)
    table = pd.DataFrame({"agent": np.arange(len(cohort)), "cohort": cohort})
    for factor in FACTORS:
        ranges = np.array([COHORTS[c][factor] for c in cohort])
        table[factor] = rng.uniform(ranges[:, 0], ranges[:, 1])

    def log_uniform(bounds: tuple[float, float]) -> np.ndarray:
        return np.exp(rng.uniform(*np.log(bounds), size=len(cohort)))

    table["actor_lr"] = log_uniform(config.actor_lr)
    table["critic_lr"] = rng.uniform(*config.critic_lr, size=len(cohort))
    table["inverse_temperature"] = rng.uniform(*config.inverse_temperature, size=len(cohort))
    table["fast_lr"] = log_uniform(config.fast_lr)
    table["fast_decay"] = log_uniform(config.fast_decay)
    table["replay_rate"] = log_uniform(config.replay_rate)
    table["reward_lr"] = rng.uniform(*config.reward_lr, size=len(cohort))
    table["two_step_temperature"] = rng.uniform(*config.two_step_temperature, size=len(cohort))
    table["outcome_lr"] = rng.uniform(*config.outcome_lr, size=len(cohort))
    return table


def _per_agent(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values))


def _bandit(
    config: Config, agents: pd.DataFrame, seed: int, tensorboard_log: str | None = None
) -> dict[str, pd.DataFrame]:
    """Learning curves, then retention after the rest (TensorBoard run ``aging_bandit`` under
    ``tensorboard_log`` if given)."""
    plasticity, gain = agents["plasticity"], agents["gain"]
    systems = ComplementaryLearning(
        fast_lr=_per_agent(agents["fast_lr"] * plasticity),
        fast_decay=_per_agent(agents["fast_decay"]),
        replay_rate=_per_agent(agents["replay_rate"] * agents["consolidation"]),
        capacity=config.criterion_window * 10,
    )  # fmt: skip
    agent = PlasticAgent(
        BANDIT, n_agents=len(agents), seed=seed, device=config.device, scaling=None, gamma=0.0,
        actor_weight_max=1.0, actor_init_scale=0.05, systems=systems,
        actor_lr=_per_agent(agents["actor_lr"] * plasticity),
        critic_lr=_per_agent(agents["critic_lr"] * plasticity),
        dopamine_gain_positive=_per_agent(gain), dopamine_gain_negative=_per_agent(gain),
        inverse_temperature=_per_agent(agents["inverse_temperature"]),
        env_kwargs={"reversal_rule": "none", "p_high": config.p_high, "p_low": config.p_low,
                    "initial_arm": 0, "n_trials": 100_000},
        tensorboard_log=tensorboard_log, tb_log_name=f"{NAME}_bandit",
    )  # fmt: skip
    agent.learn(config.training_trials, record=True)
    records = agent.records
    curves = pd.DataFrame({
        "agent": records["agent"].to_numpy(), "trial": records["step"].to_numpy(),
        "correct": (records["action"].to_numpy() == 0).astype(float),
    })  # fmt: skip
    after_training = trained_arm_choices(agent, config.test_trials)
    agent.rest(config.rest_steps)
    after_rest = trained_arm_choices(agent, config.test_trials)
    retention = pd.DataFrame({"agent": agents["agent"].to_numpy(), "after_rest": after_rest,
                              "after_training": after_training})  # fmt: skip
    agent.close()
    return {"curves": curves, "retention": retention}


def _two_step(
    config: Config, agents: pd.DataFrame, seed: int, tensorboard_log: str | None = None
) -> pd.DataFrame:
    if config.two_step_agent != "model_based":
        return _two_step_plastic(config, agents, seed, tensorboard_log)
    agent = make_agent(
        "model_based", TWO_STEP, n_agents=len(agents), seed=seed, device=config.device,
        env_kwargs={"n_trials": config.two_step_steps // 2},
        reward_lr=_per_agent((agents["reward_lr"] * agents["plasticity"]).clip(1e-3, 1.0)),
        inverse_temperature=_per_agent(agents["two_step_temperature"] * agents["gain"]),
        tensorboard_log=tensorboard_log, tb_log_name=f"{NAME}_two_step",
    )  # fmt: skip
    return _play_two_step(agent, config.two_step_steps)


def _play_two_step(agent: Any, steps: int) -> pd.DataFrame:
    """``steps`` recorded steps of the two-step task; the trial columns the regression reads
    (and, for an agent with habits, ``habit_share``: the arbiter's share of control given to
    habits after the last step, per agent)."""
    agent.learn(steps, record=True)
    keep = ["agent", "step", "episode", "stage", "first_choice", "transition", "rewarded"]
    trials = agent.records[keep]
    share = getattr(agent, "habit_share", lambda: None)()
    if share is not None:
        trials = trials.assign(habit_share=share.cpu().numpy()[trials["agent"].to_numpy()])
    agent.close()
    return trials


PLANNERS = ("plastic_planner", "plastic_planner_dopamine")
"""The two-step players whose goal part plans through the second-stage states."""


def _two_step_plastic(
    config: Config, agents: pd.DataFrame, seed: int, tensorboard_log: str | None = None
) -> pd.DataFrame:
    """The two-step task played by one :class:`~plasticgym.agents.PlasticAgent` per agent with
    the task's preset, a goal-directed part (outcome model, ``outcome_lr``) and habits under
    the arbiter (``Habit`` defaults): ``plasticity`` multiplies every learning rate (actor,
    critic, outcome model, habits), ``gain`` both dopamine gains. ``plastic_planner``: the
    reward model credits the second-stage state (``reward_stimuli="preceding"``) at rate
    ``reward_lr x plasticity``, and ``gain`` also multiplies the inverse temperature, as for
    the tabular learner. ``plastic_planner_dopamine``: the planner whose reward-model error
    passes through the dopamine gains (``reward_dopamine=True``)."""
    plasticity, gain = agents["plasticity"], agents["gain"]
    preset = plastic_preset(TWO_STEP)
    defaults = PlasticAgentConfig()
    outcome_lr = _per_agent((agents["outcome_lr"] * plasticity).clip(0.0, 1.0))
    goal = GoalDirected(learning_rate=outcome_lr)
    extra: dict[str, Any] = {}
    if config.two_step_agent in PLANNERS:
        reward_lr = _per_agent((agents["reward_lr"] * plasticity).clip(0.0, 1.0))
        dopamine = config.two_step_agent == "plastic_planner_dopamine"
        goal = GoalDirected(learning_rate=outcome_lr, reward_lr=reward_lr,
                            reward_stimuli="preceding", reward_dopamine=dopamine)  # fmt: skip
        beta = preset.get("inverse_temperature", defaults.inverse_temperature)
        extra["inverse_temperature"] = _per_agent(beta * gain)
    agent = PlasticAgent(
        TWO_STEP, n_agents=len(agents), seed=seed, device=config.device,
        env_kwargs={"n_trials": config.two_step_steps // 2},
        **{**preset, "actor_lr": _per_agent(preset["actor_lr"] * plasticity)},
        critic_lr=_per_agent(defaults.critic_lr * plasticity),
        dopamine_gain_positive=_per_agent(gain), dopamine_gain_negative=_per_agent(gain),
        goal_directed=goal,
        habit=Habit(learning_rate=_per_agent(Habit().learning_rate * plasticity)),
        tensorboard_log=tensorboard_log, tb_log_name=f"{NAME}_two_step", **extra,
    )  # fmt: skip
    return _play_two_step(agent, config.two_step_steps)


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """The cohorts (young and old agents in one population per task); TensorBoard runs
    ``aging_bandit`` and ``aging_two_step`` under ``out_dir/tensorboard``."""
    del progress_bar
    tensorboard_log = tensorboard_folder(out_dir)
    sequence = np.random.SeedSequence(config.seed)
    cohort_seed, bandit_seed, two_step_seed = sequence.generate_state(3)
    agents = sample_cohorts(config, np.random.default_rng(int(cohort_seed)))
    bandit = _bandit(config, agents, int(bandit_seed), tensorboard_log)
    two_step = _two_step(config, agents, int(two_step_seed), tensorboard_log)
    return {"agents": agents, **bandit, "two_step": two_step}


TABULAR_MECHANISM_CHECKS = (
    "young_model_based", "old_shifts_to_model_free", "ldopa_raises_model_based_share",
    "ldopa_restores_share_to_young",
)  # fmt: skip
"""Verdicts that are mechanism checks with the tabular model-based player: it plans through
its transition model by construction (a positive interaction), and it has no model-free
controller, so its model-based share moves with the interaction only because the interaction
meets the regression's noise floor of ``|b_r|`` (found by review)."""
DOPAMINE_PLANNER_MECHANISM_CHECKS = ("old_less_model_based", "ldopa_restores_model_based")
"""Verdicts that are mechanism checks with ``plastic_planner_dopamine``: its reward model's
rate and its inverse temperature are both multiplied by the dopamine gain, so the one-trial
model-based effect ``b_rt`` falls with a lower gain and rises with L-DOPA by the equations (the
model-based *share* does not: the model-free pathway carries the same gain)."""


def verdict_kinds(config: Config) -> dict[str, str]:
    """:data:`KIND`, with :data:`TABULAR_MECHANISM_CHECKS` mechanism checks when the tabular
    learner plays the two-step task (``two_step_agent="model_based"``) and
    :data:`DOPAMINE_PLANNER_MECHANISM_CHECKS` with ``plastic_planner_dopamine``."""
    checks = {"model_based": TABULAR_MECHANISM_CHECKS,
              "plastic_planner_dopamine": DOPAMINE_PLANNER_MECHANISM_CHECKS}  # fmt: skip
    return {**KIND, **dict.fromkeys(checks.get(config.two_step_agent, ()), "mechanism check")}


def trials_to_criterion(curves: pd.DataFrame, window: int, criterion: float) -> pd.Series:
    """Per agent: the first trial (1-based) at which the mean of the last ``window`` choices
    reached ``criterion`` correct; agents that never did get the number of trials (censored)."""
    out = {}
    for agent, rows in curves.sort_values(["agent", "trial"]).groupby("agent"):
        correct = rows["correct"].to_numpy()
        running = np.convolve(correct, np.ones(window) / window, mode="valid")
        reached = np.flatnonzero(running >= criterion - 1e-12)
        out[agent] = float(reached[0] + window) if reached.size else float(len(correct))
    return pd.Series(out, name="trials_to_criterion")


def per_agent_measures(records: dict[str, pd.DataFrame], config: Config) -> pd.DataFrame:
    """One row per agent: cohort, trials to criterion, learning (mean correct over training),
    retention after the rest, and the two-step regression coefficients."""
    agents = records["agents"].set_index("agent")
    curves = records["curves"]
    table = agents[["cohort"]].copy()
    table["trials_to_criterion"] = trials_to_criterion(curves, config.criterion_window,
                                                       config.criterion)  # fmt: skip
    table["learning"] = curves.groupby("agent")["correct"].mean()
    retention = records["retention"].set_index("agent")
    table["after_training"] = retention["after_training"]
    table["retention"] = retention["after_rest"]
    trials = records["two_step"].assign(kind="model_based")
    coefficients = stay_regressions(stay_trials(trials), l2=0.1).loc["model_based"]
    table["b_reward"] = coefficients["reward"]
    table["model_based_index"] = coefficients["interaction"]
    table["model_based_share"] = model_based_share(coefficients["reward"],
                                                   coefficients["interaction"])  # fmt: skip
    if "habit_share" in trials:
        table["habit_share"] = trials.groupby("agent")["habit_share"].first()
    return table


def agents_for_power(
    difference: float, sd_a: float, sd_b: float, power: float = 0.8, margin: float | None = None
) -> float:
    """Agents per cohort for a verdict to pass with probability ``power`` if the true
    difference and SDs are the given ones (normal approximation; Chow, Shao & Wang 2008).

    ``margin`` None: a Welch 95% CI > 0, ``n = (z_0.975 + z_power)^2 (s_a^2 + s_b^2) / d^2``
    (infinite for ``d <= 0``). ``margin`` given: a TOST at 5% inside ``+-margin``,
    ``n = (z_0.95 + z_power)^2 (s_a^2 + s_b^2) / (margin - |d|)^2`` (the nearer bound
    dominates; infinite when ``|d| >= margin``). Returns ``ceil(n)`` or ``inf``.
    """
    from scipy.stats import norm

    variance = sd_a**2 + sd_b**2
    if margin is None:
        gap, alpha = difference, 0.025
    else:
        gap, alpha = margin - abs(difference), 0.05
    if gap <= 0:
        return float("inf")
    return float(np.ceil((norm.ppf(1 - alpha) + norm.ppf(power)) ** 2 * variance / gap**2))


def model_based_share(b_reward: Any, b_interaction: Any) -> Any:
    """Per agent, the model-based share of first-stage control read from the stay regression,
    ``w = b_rt / (|b_r| + |b_rt|)`` (in [-1, 1]; NaN where both are 0).

    A behavioural stand-in for the weight ``w`` of Daw et al.'s (2011) hybrid
    ``Q_net = w Q_MB + (1 - w) Q_MF``: a purely model-free agent has ``b_rt = 0`` (``w = 0``),
    a purely model-based one ``b_r = 0`` (``w = 1``; Daw et al. 2011, Fig. 2). Unlike ``b_rt``
    alone it does not shrink when both controllers learn or choose less sharply (a lower
    inverse temperature scales both coefficients), so a drop with age is a shift of control
    from model-based to model-free (Eppinger et al. 2013), not just less learning.
    """
    b_reward, b_interaction = np.asarray(b_reward, float), np.asarray(b_interaction, float)
    total = np.abs(b_reward) + np.abs(b_interaction)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, b_interaction / total, np.nan)


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    table = per_agent_measures(records, config)

    def values(cohort: str, column: str) -> np.ndarray:
        return table.loc[table["cohort"] == cohort, column].to_numpy(dtype=float)

    rows = [ci_row(values(c, m), cohort=c, quantity=m) for c in config.cohorts
            for m in ("trials_to_criterion", "learning", "after_training", "retention",
                      "b_reward", "model_based_index", "model_based_share")
            + (("habit_share",) if "habit_share" in table else ())]  # fmt: skip
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    kinds = verdict_kinds(config)

    def _label(verdict: str) -> str:
        return f"({kinds[verdict]})"

    def greater(name: str, a: str, b: str, column: str, text: str) -> None:
        """Verdict ``name``: cohort ``a``'s ``column`` above cohort ``b``'s (Welch CI > 0)."""
        finite = [v[np.isfinite(v)] for v in (values(a, column), values(b, column))]
        difference = difference_ci(*finite)
        n = min(len(finite[0]), len(finite[1]))
        dropped = sum(len(values(c, column)) for c in (a, b)) - len(finite[0]) - len(finite[1])
        quantity = f"{column} difference (Welch 95%)" + (
            f"; {dropped} NaN dropped" if dropped else ""
        )
        rows.append(estimate_row(difference, n, cohort=f"{a} - {b}", quantity=quantity))
        verdicts[name] = bool(difference[1] > 0)
        lines[name] = f"{_label(name)} {text}: {a} - {b} {format_ci(*difference)} (CI > 0)"

    def same(name: str, a: str, b: str, column: str, margin: float, text: str) -> None:
        """Verdict ``name``: cohorts ``a`` and ``b`` equivalent in ``column`` (TOST)."""
        test = tost(values(a, column), values(b, column), margin)
        rows.append({"cohort": f"{a} - {b}", "quantity": f"{column} (TOST: 90% interval, p)",
                     "mean": test.difference, "ci_low": test.low, "ci_high": test.high,
                     "n": config.n_agents, "p": test.p})  # fmt: skip
        verdicts[name] = test.equivalent
        lines[name] = f"{_label(name)} {text}, {a} - {b}: {format_tost(test, margin)}"

    margin, mb_margin = config.equivalence_margin, config.model_based_margin
    same("control_replica_matches_young", "young_replica", "young", "learning", margin,
         "learning (mean correct over training)")  # fmt: skip
    greater("old_learns_slower", "young", "old", "learning",
            "learning (mean correct over training)")  # fmt: skip
    lines["old_learns_slower"] += "; trials to criterion " + ", ".join(
        f"{c} {format_ci(*mean_ci(values(c, 'trials_to_criterion')), 1)}" for c in ("young", "old")
    )
    greater("old_less_model_based", "young", "old", "model_based_index",
            "two-step model-based index b_rt")  # fmt: skip
    greater("old_consolidates_less", "young", "old", "retention",
            f"trained-arm choices after {config.rest_steps} rest steps")  # fmt: skip
    greater("ldopa_speeds_learning", "old_ldopa", "old", "learning",
            "learning (mean correct over training)")  # fmt: skip
    same("ldopa_restores_learning_to_young", "old_ldopa", "young", "learning", margin,
         "learning (mean correct over training)")  # fmt: skip
    greater("ldopa_restores_model_based", "old_ldopa", "old", "model_based_index",
            "two-step model-based index b_rt")  # fmt: skip
    young_index = mean_ci(values("young", "model_based_index"))
    verdicts["young_model_based"] = bool(young_index[1] > 0)
    lines["young_model_based"] = (
        f"{_label('young_model_based')} two-step model-based index b_rt of the young cohort "
        f"({config.two_step_agent}): {format_ci(*young_index)} (CI > 0)"
    )
    greater("old_shifts_to_model_free", "young", "old", "model_based_share",
            "model-based share b_rt / (|b_r| + |b_rt|)")  # fmt: skip
    greater("ldopa_raises_model_based_share", "old_ldopa", "old", "model_based_share",
            "model-based share b_rt / (|b_r| + |b_rt|)")  # fmt: skip
    restored_share(table, config, rows, verdicts, lines, _label("ldopa_restores_share_to_young"))
    greater("enriched_learns_faster", "old_enriched", "old", "learning",
            "learning (mean correct over training)")  # fmt: skip
    greater("stressed_learns_slower", "old", "old_stressed", "learning",
            "learning (mean correct over training)")  # fmt: skip
    lines["control_replica_matches_young"] += (
        f"; model-based index young {format_ci(*mean_ci(values('young', 'model_based_index')))}"
        f", replica {format_ci(*mean_ci(values('young_replica', 'model_based_index')))}"
        f" (margin for b_rt comparisons {mb_margin:g}, reported)"
    )
    return {"verdicts": verdicts, "table": pd.DataFrame(rows), "lines": lines,
            "verdict_kinds": kinds, "measures": table}  # fmt: skip


def restored_share(
    table: pd.DataFrame,
    config: Config,
    rows: list[dict[str, Any]],
    verdicts: dict[str, bool],
    lines: dict[str, str],
    label: str,
) -> None:
    """Verdict ``ldopa_restores_share_to_young``: old_ldopa's model-based share equivalent to
    young's (TOST inside ``+-share_margin``) *and* the aging deficit it restores larger than
    the margin (young - old share above ``share_margin``): otherwise "restored" would be
    claimed for a deficit the margin already covers (pre-registered, issue 14)."""

    def finite(cohort: str) -> np.ndarray:
        values = table.loc[table["cohort"] == cohort, "model_based_share"].to_numpy(dtype=float)
        return values[np.isfinite(values)]

    margin = config.share_margin
    test = tost(finite("old_ldopa"), finite("young"), margin)
    deficit = float(finite("young").mean() - finite("old").mean())
    rows.append({"cohort": "old_ldopa - young", "quantity": "model_based_share (TOST: 90% "
                 "interval, p)", "mean": test.difference, "ci_low": test.low,
                 "ci_high": test.high, "n": config.n_agents, "p": test.p})  # fmt: skip
    verdicts["ldopa_restores_share_to_young"] = bool(test.equivalent and deficit > margin)
    lines["ldopa_restores_share_to_young"] = (
        f"{label} model-based share, old_ldopa - young: {format_tost(test, margin)}; "
        f"and the deficit young - old {deficit:+.3f} must exceed the margin {margin:g}"
    )


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Learning curves per cohort; trials to criterion, retention and the model-based index."""
    plt = pyplot()
    agents = records["agents"].set_index("agent")
    curves = records["curves"].join(agents["cohort"], on="agent")
    measures = pd.DataFrame(result["measures"])
    cohorts = list(dict.fromkeys(agents["cohort"]))
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    for cohort in cohorts:
        at = curves[curves["cohort"] == cohort].copy()
        at["block"] = at["trial"] // 10
        block = at.groupby(["block", "agent"])["correct"].mean().groupby("block").mean()
        axes[0].plot(block.index * 10 + 5, block.to_numpy(), marker="o", ms=3, label=cohort)
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("P(better arm), 10-trial blocks")
    axes[0].legend(fontsize=7)
    for ax, column, label in zip(axes[1:], ("trials_to_criterion", "retention",
                                            "model_based_index"),
                                 ("trials to criterion", "choices after the rest",
                                  "two-step b_rt (model-based index)"), strict=True):  # fmt: skip
        summary = [mean_ci(measures.loc[measures["cohort"] == c, column]) for c in cohorts]
        means = np.array([s[0] for s in summary])
        errors = [means - [s[1] for s in summary], [s[2] for s in summary] - means]
        ax.bar(np.arange(len(cohorts)), means, yerr=errors, capsize=3, color="tab:gray")
        ax.set_xticks(np.arange(len(cohorts)), [c.replace("_", "\n") for c in cohorts],
                      fontsize=7)  # fmt: skip
        ax.set_ylabel(f"{label} (mean, 95% CI)")
    fig.suptitle("Aging cohorts: learning, consolidation and model-based control", fontsize=10)
    return [save_figure(fig, Path(out_dir) / "aging.png")]
