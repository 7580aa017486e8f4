"""Addiction as a computational process gone awry: the drug's dopamine surge and its signatures.

Redish (2004) adds a non-compensable dopamine surge ``D`` to every drug delivery,
``DA = max(delta + D, D)``: no learned prediction cancels it, so the value of drug-taking grows
without bound, drug-paired cues escape Kamin blocking, and drug-taking should become insensitive
to costs as its value grows. Homeostatic RL (Keramati & Gutkin 2014) and an adapting basal
reward level (after Dezfouli et al. 2009) keep the value bounded. Populations of plastic agents
(``dopamine="td"``, ``"redish"``, ``"average_reward"``, ``"homeostatic"``; the Addiction-v0 preset,
``gamma=0``, without synaptic scaling) are run in four parts; every quantity is computed per
agent from the records and summarised by its mean and 95% CI over agents:

1. **Value of drug-taking** (``plasticgym/Addiction-v0``, a chamber with only the drug lever, or
   only the food lever for food under TD): the critic's value of the state from which the drug
   (food) was taken (the previous row's ``value`` at each delivery), per session. Signatures:
   ``redish_drug_value_grows`` (late - middle sessions > 0, and late Redish value > 5 x late TD
   value), ``food_value_converges`` (late food value within 0.05 of ``food_reward`` and no longer
   changing), ``homeostatic_bounded`` (late value below ``drug_reward``, not growing) and
   ``average_reward_growth_slows`` (growth over sessions 3-8 > growth over the last 5).
2. **Cost sensitivity** (Redish 2004): a chamber with the drug lever only, ``cost_short`` or
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
3. **Blocking with a drug US** (``plasticgym/Pavlovian-v0``, within-subject design of Waelti,
   Dickinson & Schultz 2001): cue A -> drug, then the compounds AB -> drug and CD -> drug at
   random, then B and D alone without the drug. B is blocked by the pretrained A; D (trained in
   compound with the new C) is the control. Per agent, the dopamine at each test cue's onset.
   Signatures: ``td_blocks`` (TD: control D - blocked B > 0, paired over agents) and
   ``no_blocking_under_redish`` (Redish B - TD B > 0: the surge teaches B although A predicts
   the drug).
4. **Addiction-like criteria** (Deroche-Gamonet, Belin & Piazza 2004) in a Redish population
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

5. **Escalation with long access** (Ahmed & Koob 1998): homeostatic agents (Keramati & Gutkin
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
6. **Relapse after extinction** (priming-induced reinstatement, Shaham et al. 2003; de Wit &
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

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.envs.addiction import OBS_CHANNELS
from plasticgym.experiments.stats import ci_row, difference_ci, estimate_row, format_ci, mean_ci
from plasticgym.population import LogUniform, Uniform

NAME = "addiction"
DESCRIPTION = (
    "Redish's drug surge: unbounded drug value, cost insensitivity, no blocking, "
    "addiction-like criteria in a population with individual differences, escalation with "
    "long access, and relapse after extinction with latent causes"
)
ADDICTION = "plasticgym/Addiction-v0"
PAVLOVIAN = "plasticgym/Pavlovian-v0"
AGENT = {**plastic_preset(ADDICTION), "homeostasis": False}
"""Operant agents: the Addiction-v0 preset (``gamma=0``, ``actor_lr=0.2``), no scaling."""
COST_AGENT = {**AGENT, "gamma": 0.9}
"""Part 2's agents look one step ahead, to the delayed infusion."""
VALUE_POPULATIONS = (
    ("td", "drug"),
    ("redish", "drug"),
    ("homeostatic", "drug"),
    ("average_reward", "drug"),
    ("td", "food"),
)
"""Part 1: (dopamine model, the chamber's only lever)."""
COST_MODES = ("td", "redish")
BLOCKING_MODES = ("td", "redish")
ESCALATION_GROUPS = (("short", True), ("long", True), ("long", False))
"""Part 5: (access, allostatic setpoint on)."""
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
CRITERIA_AGENT = {
    **AGENT, "latent_causes": 2, "cause_channels": RELAPSE_CAUSE_CHANNELS,
    "cause_split_threshold": 0.1,
}  # fmt: skip
"""Part 4's agents infer up to two latent causes of the drug level and context (as part 6's);
a cause forms when the running average TD error falls below -0.1."""
CRITERIA = ("persistence", "motivation", "compulsivity")
TRAITS = ("drug_surge", "dopamine_gain_negative")
DRUG_REWARD = 0.5
FOOD_REWARD = 1.0
_STATS = ["mean", "ci_low", "ci_high", "n"]
_LABELS = ["part", "quantity", "mode", "group"]


@dataclass(frozen=True)
class Config:
    """What to run. Every population has ``n_agents`` agents (part 4's has
    ``criteria_agents``: its rank statistics need more); population ``i`` of the experiment is
    seeded ``seed + i``."""

    seed: int = 0
    n_agents: int = 64
    device: str = "cpu"
    # part 1: value of drug-taking
    value_sessions: int = 30
    # part 2: cost sensitivity
    cost_short: int = 1
    cost_long: int = 20
    punished_sessions: int = 4
    cost_shock_magnitude: float = 3.0
    shock_prob: float = 0.5
    shock_magnitude: float = 2.0
    # part 3: blocking (Pavlovian trials per phase)
    blocking_pretraining: int = 40
    blocking_compound: int = 60
    blocking_test: int = 10
    # part 4: addiction-like criteria
    acquisition_sessions: int = 10
    late_sessions: int = 3
    extinction_sessions: int = 12
    criteria_agents: int = 64
    drug_surge_range: tuple[float, float] = (0.05, 0.5)
    gain_negative_range: tuple[float, float] = (0.25, 1.0)
    # part 5: escalation with long access
    baseline_days: int = 3
    access_days: int = 12
    late_days: int = 3
    day_length: int = 240
    short_access: int = 20
    long_access: int = 120
    allostatic_gain: float = 1.0
    # part 6: relapse after extinction
    relapse_acquisition: int = 10
    relapse_extinction: int = 12
    press_cost: float = 0.1
    priming_dose: float = 5.0

    def __post_init__(self) -> None:
        for name in (
            "value_sessions",
            "cost_short",
            "cost_long",
            "punished_sessions",
            "blocking_pretraining",
            "blocking_compound",
            "blocking_test",
            "acquisition_sessions",
            "late_sessions",
            "extinction_sessions",
            "criteria_agents",
            "baseline_days",
            "access_days",
            "late_days",
            "day_length",
            "short_access",
            "long_access",
            "relapse_acquisition",
            "relapse_extinction",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is invalid: an integer >= 1")
        if self.n_agents < 3 or self.criteria_agents < 3:
            raise ValueError(
                f"n_agents={self.n_agents}, criteria_agents={self.criteria_agents} are invalid: "
                "the statistics need >= 3"
            )
        if self.value_sessions < 15:
            raise ValueError(
                f"value_sessions={self.value_sessions} is invalid: middle and late windows of "
                "5 sessions need >= 15"
            )
        if not self.cost_short < self.cost_long:
            raise ValueError(
                f"cost_short={self.cost_short} and cost_long={self.cost_long}: need short < long"
            )
        if self.late_sessions > self.acquisition_sessions:
            raise ValueError(
                f"late_sessions={self.late_sessions} > acquisition_sessions="
                f"{self.acquisition_sessions}"
            )
        if not 0.0 <= self.shock_prob <= 1.0 or self.shock_magnitude < 0:
            raise ValueError(
                f"shock_prob={self.shock_prob} must be in [0, 1] and shock_magnitude="
                f"{self.shock_magnitude} >= 0"
            )
        if not self.cost_shock_magnitude >= 0:
            raise ValueError(f"cost_shock_magnitude={self.cost_shock_magnitude!r} must be >= 0")
        LogUniform(*self.drug_surge_range)
        Uniform(*self.gain_negative_range)
        if not self.short_access < self.long_access < self.day_length:
            raise ValueError(
                f"short_access={self.short_access}, long_access={self.long_access}, "
                f"day_length={self.day_length}: need short_access < long_access < day_length "
                "(a day has a drug-free period)"
            )
        if self.late_days > self.access_days:
            raise ValueError(f"late_days={self.late_days} > access_days={self.access_days}")
        if not self.allostatic_gain >= 0:
            raise ValueError(f"allostatic_gain={self.allostatic_gain!r} is invalid: >= 0")
        if not 0 <= self.press_cost < math.inf:
            raise ValueError(f"press_cost={self.press_cost!r} is invalid: a number >= 0")
        if not 0 < self.priming_dose < math.inf:
            raise ValueError(f"priming_dose={self.priming_dose!r} is invalid: a number > 0")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """32 agents (cheap: a population costs little more than one agent; part 4 keeps its
        64), 20 value sessions, 12 long-acquisition sessions, shorter blocking phases (about 45 s
        on 2 cores)."""
        return cls(
            **{
                "n_agents": 32,
                "value_sessions": 20,
                "cost_long": 12,
                "blocking_pretraining": 30,
                "blocking_compound": 40,
                "blocking_test": 8,
                "baseline_days": 2,
                "access_days": 8,
                "relapse_acquisition": 6,
                "relapse_extinction": 8,
                **overrides,
            }
        )

    def criteria_protocol(self) -> list[dict[str, Any]]:
        """Addiction-v0's default protocol with this config's acquisition, extinction and
        punishment, except that extinction and the priming test are in the acquisition context
        with effortful presses (``press_cost``) and a priming dose of ``priming_dose``, as in
        part 6."""
        return [
            {"name": "acquisition", "sessions": self.acquisition_sessions, "unavailable_period": 5},
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
                "shock_prob": self.shock_prob,
                "shock_magnitude": self.shock_magnitude,
                "unavailable_period": 0,
            },
            {
                "name": "extinction",
                "sessions": self.extinction_sessions,
                "drug": False,
                "press_cost": self.press_cost,
            },
            {
                "name": "reinstatement",
                "sessions": 1,
                "drug": False,
                "priming": True,
                "priming_dose": self.priming_dose,
                "press_cost": self.press_cost,
            },
        ]


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


MAX_STEPS = 100_000
"""Safety cap on a population's steps; each stops when all its agents finished the protocol."""


def _train(
    env: str,
    config: Config,
    seed: int,
    env_kwargs: dict[str, Any],
    n_agents: int | None = None,
    **hp: Any,
) -> pd.DataFrame:
    """One population (``n_agents``, default the config's), trained until every agent finished
    its episode; its episode's rows."""
    agent = PlasticAgent(
        env, n_agents=n_agents or config.n_agents, seed=seed, env_kwargs=env_kwargs,
        device=config.device, **hp,
    )  # fmt: skip
    agent.learn(
        MAX_STEPS, record=True, callback=lambda a: not bool((a.episodes_completed > 0).all())
    )
    records = agent.records
    agent.close()
    return records[records["episode"] == 0]


def run_values(config: Config) -> pd.DataFrame:
    """Part 1: one population per (model, lever) in a one-lever chamber."""
    frames = []
    for index, (mode, lever) in enumerate(VALUE_POPULATIONS):
        other = "food" if lever == "drug" else "drug"
        protocol = [{"name": "access", "sessions": config.value_sessions, other: False}]
        rows = _train(
            ADDICTION,
            config,
            config.seed + index,
            {"protocol": protocol},
            dopamine=mode,
            **AGENT,
        )
        columns = ["agent", "step", "trial", "value", "infusion", "food"]
        frames.append(rows[columns].assign(mode=mode, lever=lever))
    return pd.concat(frames, ignore_index=True)


def run_cost(config: Config) -> pd.DataFrame:
    """Part 2: short or long acquisition, then punished sessions, per model."""
    frames = []
    for index, mode in enumerate(COST_MODES):
        for acquisition in ("short", "long"):
            sessions = config.cost_short if acquisition == "short" else config.cost_long
            chain = {"food": False, "infusion_delay": 1}
            protocol = [
                {"name": "acquisition", "sessions": sessions, **chain},
                {
                    "name": "punished",
                    "sessions": config.punished_sessions,
                    "shock_prob": config.shock_prob,
                    "shock_magnitude": config.cost_shock_magnitude,
                    **chain,
                },
            ]
            seed = config.seed + 10 + 2 * index + (acquisition == "long")
            rows = _train(
                ADDICTION,
                config,
                seed,
                {"protocol": protocol},
                dopamine=mode,
                **COST_AGENT,
            )
            columns = ["agent", "trial", "phase", "session", "press", "infusion", "shock"]
            frames.append(rows[columns].assign(mode=mode, acquisition=acquisition))
    return pd.concat(frames, ignore_index=True)


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


def run_blocking(config: Config) -> pd.DataFrame:
    """Part 3: the cue-onset and US rows of a TD and a Redish population."""
    frames = []
    for index, mode in enumerate(BLOCKING_MODES):
        rows = _train(
            PAVLOVIAN,
            config,
            config.seed + 20 + index,
            blocking_env(config),
            dopamine=mode,
        )
        rows = rows[rows["cs"] | rows["us"]]
        columns = ["agent", "trial", "phase", "cue", "cs", "us", "dopamine", "value"]
        frames.append(rows[columns].assign(mode=mode))
    return pd.concat(frames, ignore_index=True)


def run_criteria(config: Config) -> pd.DataFrame:
    """Part 4: a Redish population with individual differences and latent causes."""
    protocol = config.criteria_protocol()
    traits = {
        "drug_surge": LogUniform(*config.drug_surge_range),
        "dopamine_gain_negative": Uniform(*config.gain_negative_range),
    }
    rows = _train(
        ADDICTION,
        config,
        config.seed + 30,
        {"protocol": protocol},
        n_agents=config.criteria_agents,
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


def run_escalation(config: Config) -> pd.DataFrame:
    """Part 5: homeostatic populations with short or long daily access."""
    frames = []
    for index, (access, allostatic) in enumerate(ESCALATION_GROUPS):
        rows = _train(
            ADDICTION,
            config,
            config.seed + 40 + index,
            {"protocol": escalation_protocol(config, access)},
            dopamine="homeostatic",
            allostatic_gain=config.allostatic_gain if allostatic else 0.0,
            **AGENT,
        )
        rows = rows[rows["t_in_trial"] < config.short_access]
        columns = ["agent", "trial", "phase", "t_in_trial", "infusion"]
        frames.append(rows[columns].assign(access=access, allostatic=allostatic))
    return pd.concat(frames, ignore_index=True)


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


def run_relapse(config: Config) -> pd.DataFrame:
    """Part 6: TD populations with and without latent causes."""
    frames = []
    for index, (group, n_causes, channels) in enumerate(RELAPSE_GROUPS):
        rows = _train(
            ADDICTION,
            config,
            config.seed + 50 + index,
            {"protocol": relapse_protocol(config)},
            dopamine="td",
            latent_causes=n_causes,
            cause_channels=channels,
            **AGENT,
        )
        rows = rows.assign(cause=rows.get("cause", 0))
        columns = ["agent", "trial", "phase", "t_in_trial", "press", "cause"]
        frames.append(rows[columns].assign(group=group))
    return pd.concat(frames, ignore_index=True)


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    """Train the populations of the six parts; records: one table per part."""
    del out_dir, progress_bar
    return {
        "values": run_values(config),
        "cost": run_cost(config),
        "blocking": run_blocking(config),
        "criteria": run_criteria(config),
        "escalation": run_escalation(config),
        "relapse": run_relapse(config),
    }


# --------------------------------------------------------------------------------------------
# analysis: pure functions of the records
# --------------------------------------------------------------------------------------------


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


def cue_responses(records: pd.DataFrame, phase: str = "test") -> pd.DataFrame:
    """Per model, agent and cue: mean dopamine and value at the cue's onsets in ``phase``."""
    onsets = records[records["cs"].astype(bool) & (records["phase"] == phase)]
    keys = ["mode", "agent", "cue"]
    out = onsets.groupby(keys, observed=True)[["dopamine", "value"]].mean()
    return out.reset_index()


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


# --------------------------------------------------------------------------------------------
# analyse
# --------------------------------------------------------------------------------------------


def _values_of(table: pd.DataFrame, column: str, **where: Any) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    for key, value in where.items():
        mask &= (table[key] == value).to_numpy()
    values = table.loc[mask, column].to_numpy(float)
    return values[np.isfinite(values)]


def _analyse_values(records: pd.DataFrame, config: Config) -> tuple[dict, dict, list, pd.DataFrame]:
    values = value_of_taking(records)
    windows = value_windows(values, config.value_sessions)
    rows = []
    for mode, lever in VALUE_POPULATIONS:
        for column in ("middle", "late", "late_minus_middle"):
            rows.append(
                ci_row(
                    _values_of(windows, column, mode=mode, lever=lever),
                    part="value",
                    quantity=f"{lever} value {column}",
                    mode=mode,
                )
            )

    def est(column: str, mode: str, lever: str = "drug") -> tuple[float, float, float]:
        return mean_ci(_values_of(windows, column, mode=mode, lever=lever))

    growth = est("late_minus_middle", "redish")
    redish_late, td_late = est("late", "redish"), est("late", "td")
    food_late, food_change = est("late", "td", "food"), est("late_minus_middle", "td", "food")
    home_late, home_change = est("late", "homeostatic"), est("late_minus_middle", "homeostatic")
    avg = windows[windows["mode"] == "average_reward"]
    slowing = mean_ci((avg["early_growth"] - avg["late_growth"]).to_numpy(float))
    rows.append(
        estimate_row(
            slowing,
            len(avg),
            part="value",
            quantity="growth 3->8 - growth last 5",
            mode="average_reward",
        )
    )
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
    return verdicts, lines, rows, values


def late_punished_sessions(config: Config) -> int:
    """The punished sessions the relative pressing counts: the second half (at least one)."""
    return max(1, config.punished_sessions // 2)


def _analyse_cost(records: pd.DataFrame, config: Config) -> tuple[dict, dict, list, pd.DataFrame]:
    table = cost_sensitivity(records, late_punished_sessions(config))
    rows = []
    for mode in COST_MODES:
        for acquisition in ("short", "long"):
            rel = _values_of(table, "relative", mode=mode, acquisition=acquisition)
            rows.append(
                ci_row(rel, part="cost", quantity="relative pressing", mode=mode, group=acquisition)
            )
    differences = {}
    for mode in COST_MODES:
        long = _values_of(table, "relative", mode=mode, acquisition="long")
        short = _values_of(table, "relative", mode=mode, acquisition="short")
        differences[mode] = difference_ci(long, short)
        rows.append(
            estimate_row(
                differences[mode],
                len(long) + len(short),
                part="cost",
                quantity="relative pressing long - short",
                mode=mode,
            )
        )
    td = {
        a: mean_ci(_values_of(table, "relative", mode="td", acquisition=a))
        for a in ("short", "long")
    }
    redish = {
        a: mean_ci(_values_of(table, "relative", mode="redish", acquisition=a))
        for a in ("short", "long")
    }
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
    return verdicts, lines, rows, table


def _analyse_blocking(records: pd.DataFrame) -> tuple[dict, dict, list, pd.DataFrame]:
    responses = cue_responses(records)
    wide = responses.pivot_table(
        index=["mode", "agent"], columns="cue", values="dopamine", observed=True
    ).reset_index()
    rows = []
    for mode in BLOCKING_MODES:
        for cue, role in (("B", "blocked"), ("D", "control")):
            rows.append(
                ci_row(
                    _values_of(wide, cue, mode=mode),
                    part="blocking",
                    quantity=f"test dopamine at {cue} ({role})",
                    mode=mode,
                )
            )
    blocking = {}
    for mode in BLOCKING_MODES:
        of_mode = wide[wide["mode"] == mode]
        blocking[mode] = mean_ci((of_mode["D"] - of_mode["B"]).to_numpy(float))
        rows.append(
            estimate_row(
                blocking[mode],
                len(of_mode),
                part="blocking",
                quantity="control D - blocked B",
                mode=mode,
            )
        )
    redish_b, td_b = _values_of(wide, "B", mode="redish"), _values_of(wide, "B", mode="td")
    no_blocking = difference_ci(redish_b, td_b)
    rows.append(
        estimate_row(
            no_blocking,
            len(redish_b) + len(td_b),
            part="blocking",
            quantity="blocked B: redish - td",
        )
    )
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
    return verdicts, lines, rows, wide


def _analyse_criteria(records: pd.DataFrame, config: Config) -> tuple[dict, dict, list, Any]:
    table = criteria_table(records, config.late_sessions)
    rows = [
        ci_row(table[name], part="criteria", quantity=name, mode="redish")
        for name in (*CRITERIA, "extinction", "reinstatement", "relapse")
    ]
    for k in range(len(CRITERIA) + 1):
        rows.append(
            ci_row(
                (table["n_criteria"] == k).astype(float),
                part="criteria",
                quantity=f"fraction meeting {k} criteria",
                mode="redish",
            )
        )
    fractions = criteria_fractions(table)
    correlations = {
        column: spearman(table["score"], table[column]) for column in ("relapse", "reinstatement")
    }
    rho, low, high, p = correlations["relapse"]
    for column, correlation in correlations.items():
        rows.append(
            estimate_row(
                correlation[:3],
                len(table),
                part="criteria",
                quantity=f"spearman(score, {column})",
                mode="redish",
            )
        )
    relapse = mean_ci(table["relapse"])
    for trait in TRAITS:
        if trait in table:
            estimate = spearman(table[trait], table["score"])[:3]
            rows.append(
                estimate_row(
                    estimate,
                    len(table),
                    part="criteria",
                    quantity=f"spearman({trait}, score)",
                    mode="redish",
                )
            )
    all_three = float(fractions[len(CRITERIA)])
    verdicts = {
        "criteria_distributed": bool(0.0 < all_three < 0.5),
        "score_predicts_reinstatement": bool(rho > 0 and p < 0.05 and relapse[1] > 0),
    }
    shares = ", ".join(f"{k}: {fractions[k]:.2f}" for k in fractions.index)
    lines = {
        "criteria_distributed": (
            f"fraction of {len(table)} Redish agents meeting 0/1/2/3 criteria (top third each): "
            f"{shares} (need 0 < all three < 0.5)"
        ),
        "score_predicts_reinstatement": (
            f"relapse (drug presses in the primed test - last extinction session) "
            f"{format_ci(*relapse)}; Spearman rho of addiction score and relapse "
            f"{format_ci(rho, low, high)}, p = {p:.2g} (last extinction session "
            f"{format_ci(*mean_ci(table['extinction']))} presses)"
        ),
    }
    return verdicts, lines, rows, table


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


def _analyse_escalation(
    records: pd.DataFrame, config: Config
) -> tuple[dict, dict, list, pd.DataFrame]:
    table = escalation(records, config.late_days)
    rows = []
    groups = {}
    for access, allostatic in ESCALATION_GROUPS:
        label = f"{access} access, {'allostatic' if allostatic else 'fixed'} setpoint"
        values = _values_of(table, "escalation", access=access, allostatic=allostatic)
        groups[(access, allostatic)] = values
        for column in ("baseline", "late", "escalation"):
            rows.append(ci_row(_values_of(table, column, access=access, allostatic=allostatic),
                               part="escalation", quantity=f"first-hour infusions: {column}",
                               mode="homeostatic", group=label))  # fmt: skip
    short, long, fixed = (groups[g] for g in ESCALATION_GROUPS)
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
    return verdicts, lines, rows, table


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


def _analyse_relapse(records: pd.DataFrame, config: Config) -> tuple[dict, dict, list, Any]:
    table = relapse_table(records)
    rows = []
    for group, n_causes, _ in RELAPSE_GROUPS:
        columns = ["acquisition", "extinction", "test", "relapse"]
        columns += ["recall"] if n_causes > 1 else []
        for column in columns:
            quantity = "test steps in the acquisition cause" if column == "recall" else (
                f"drug presses: {column}" if column != "relapse" else "relapse (test - extinction)"
            )  # fmt: skip
            rows.append(ci_row(_values_of(table, column, group=group), part="relapse",
                               quantity=quantity, mode="td", group=group))  # fmt: skip
    latent, single, every = (_values_of(table, "relapse", group=g) for g, _, _ in RELAPSE_GROUPS)
    needs = difference_ci(latent, single)
    rows.append(estimate_row(needs, len(latent) + len(single), part="relapse",
                             quantity="relapse: latent causes - one cause", mode="td"))  # fmt: skip
    acquired = mean_ci(_values_of(table, "acquisition", group=RELAPSE_GROUPS[0][0]))
    extinguished = mean_ci(_values_of(table, "extinction", group=RELAPSE_GROUPS[0][0]))
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
    return verdicts, lines, rows, table


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """The six parts' signatures, a table of means and 95% CIs over agents, and the per-agent
    criteria (``per_agent``) and relapse (``relapse``) tables."""
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    v_verdicts, v_lines, v_rows, values = _analyse_values(records["values"], config)
    c_verdicts, c_lines, c_rows, cost = _analyse_cost(records["cost"], config)
    b_verdicts, b_lines, b_rows, blocking = _analyse_blocking(records["blocking"])
    k_verdicts, k_lines, k_rows, per_agent = _analyse_criteria(records["criteria"], config)
    e_verdicts, e_lines, e_rows, escalated = _analyse_escalation(records["escalation"], config)
    r_verdicts, r_lines, r_rows, relapsed = _analyse_relapse(records["relapse"], config)
    for part_verdicts, part_lines, part_rows in (
        (v_verdicts, v_lines, v_rows),
        (c_verdicts, c_lines, c_rows),
        (b_verdicts, b_lines, b_rows),
        (k_verdicts, k_lines, k_rows),
        (e_verdicts, e_lines, e_rows),
        (r_verdicts, r_lines, r_rows),
    ):
        verdicts.update(part_verdicts)
        lines.update(part_lines)
        rows.extend(part_rows)
    table = pd.DataFrame(rows).reindex(columns=_LABELS + _STATS)
    table[_LABELS] = table[_LABELS].fillna("")
    return {
        "verdicts": verdicts,
        "lines": lines,
        "table": table,
        "values": values,
        "cost": cost,
        "blocking": blocking,
        "per_agent": per_agent,
        "escalation": escalated,
        "relapse": relapsed,
    }


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------


def _bar_figure(rows: pd.DataFrame, labels: list[str], ylabel: str, title: str, path: Path) -> Path:
    """Means and 95% CIs of table rows as bars, TD blue and Redish red."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    x = np.arange(len(rows))
    err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
    colors = ["tab:blue" if mode == "td" else "tab:red" for mode in rows["mode"]]
    ax.bar(x, rows["mean"], yerr=err, color=colors, capsize=3)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path)


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Value of taking over sessions per model; cost sensitivity; blocking; criteria;
    first-hour intake over days (escalation); drug presses per session (relapse)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    table = result["table"]
    paths = []

    fig, ax = plt.subplots(figsize=(6, 4))
    for (mode, lever), rows in result["values"].groupby(["mode", "lever"], observed=True):
        per = rows.groupby("session")["value"]
        mean, sem = per.mean(), per.sem().fillna(0.0)
        ax.plot(mean.index, mean, label=f"{lever} ({mode})")
        ax.fill_between(mean.index, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("session")
    ax.set_ylabel("value of taking (critic)")
    ax.set_title("Value of drug- and food-taking (Addiction-v0, one lever)")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / "addiction_values.png"))

    rows = table[(table["part"] == "cost") & (table["quantity"] == "relative pressing")]
    labels = [f"{row.mode}\n{row.group}" for row in rows.itertuples()]
    ylabel = "drug presses: punished /\nlast acquisition session"
    title = "Cost sensitivity after short vs long acquisition"
    paths.append(_bar_figure(rows, labels, ylabel, title, out_dir / "addiction_cost.png"))

    rows = table[(table["part"] == "blocking") & table["quantity"].str.startswith("test")]
    labels = [f"{row.mode}\n{row.quantity.split(' at ')[1]}" for row in rows.itertuples()]
    title = "Blocking with a drug US (Pavlovian-v0)"
    path = out_dir / "addiction_blocking.png"
    paths.append(_bar_figure(rows, labels, "dopamine at cue onset (test)", title, path))

    per_agent = result["per_agent"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
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
    paths.append(_save(fig, out_dir / "addiction_criteria.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    intake = first_hour_intake(records["escalation"])
    for (access, allostatic), rows in intake.groupby(["access", "allostatic"], observed=True):
        per_day = rows.groupby("trial")["infusions"]
        mean, sem = per_day.mean(), per_day.sem().fillna(0.0)
        label = f"{access} access, {'allostatic' if allostatic else 'fixed'} setpoint"
        ax.plot(mean.index + 1, mean, marker="o", ms=3, label=label)
        ax.fill_between(mean.index + 1, mean - 1.96 * sem, mean + 1.96 * sem, alpha=0.2)
    baseline_days = int(intake.loc[intake["phase"] == "baseline", "trial"].max()) + 1
    ax.axvline(baseline_days + 0.5, color="k", lw=0.8, ls=":")
    ax.set_xlabel("day (baseline: short access for all)")
    ax.set_ylabel("infusions in the first hour")
    ax.set_title("Escalation with long access (homeostatic agents)")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / "addiction_escalation.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    relapse = records["relapse"].assign(drug_press=records["relapse"]["press"] == 1)
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
    ax.set_title("Relapse after extinction (TD agents)")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out_dir / "addiction_relapse.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
