"""Spine turnover during motor-skill learning (Xu et al. 2009; Yang, Pan & Gan 2009; Holtmaat
et al. 2005), with the actor's synapses under structural plasticity
(:class:`plasticgym.structure.StructuralPlasticity`).

**Preparation.** Populations of plastic agents on BCI reaching (``Reaching-v0``, 16 units, 4
targets; the task's preset), whose actor synapses live in a fixed pool of slots, half of which
hold a spine (the budget). One env step lasts ``dt = 2`` s, so a trial of at most 25 steps
lasts up to 50 s, about a mouse's reach with its inter-trial interval; structural events every
``interval = 30`` min. A spine's elimination hazard is ``lambda_0 exp(-w / w_s)`` per day; new
spines start at ``new_weight`` (weaker than most initial synapses, so new spines are the
transient ones unless potentiated) and form toward recently active inputs (``activity_bias``).
Formation is also driven by the learning signal itself (``activity_formation``): each empty
slot forms a spine with probability ``1 - exp(-g P)``, ``P`` the potentiation the three-factor
rule would have given a synapse there since the last event, on top of and beyond the budget;
and a neuron above its set point ``K`` raises every spine's hazard by ``competition_rate * (N
- K) / K`` (times the same ``exp(-w / w_s)``: the weakest go first). Neither is switched by the
protocol: at rest ``P = 0`` and the density is at the set point, so both act only through what
training does to the synapses. ``g = 3.5`` per unit weight was set before any verdict was
computed from a pilot of ``P`` in a first session (8 agents, ``g`` negligible; sum of ``P``
over a neuron's empty slots 0.35) so that the first session forms about as many spines as one
baseline day (3% of the budget, ~1.2 per neuron); before capture ``competition_rate = 20``
per day so that this excess (3% of ``K``) doubled the base hazard ``lambda_0``; with capture
it was 1 per day in the first and second rounds and is 20 again, on the unmarked spines
only, in the third (below).
**Capture** (``capture_ratio = 2``, :class:`~plasticgym.structure.StructuralPlasticity`,
issue 14): at each event a spine whose growth since the previous event ``w(t) / w(t_last)``
is at least twice its neuron's median growth is consolidated for good; consolidated spines are
exempt from the competition, which falls on every other spine with the same hazard ``c (N -
K) / K`` whatever its weight (the base hazard keeps ``exp(-w / w_s)``). Dividing by the
neuron's median removes multiplicative scaling (one factor per neuron); what remains is the
three-factor rule's own potentiation relative to the spine's size (structural LTP enlarges
small spines most, Matsuzaki et al. 2004). Reasons, written before any verdict was computed
with capture: the ratio 2 is "twice the neuron's typical growth" (an a priori round number; a
pilot of the marker alone, 8 agents, quick protocol, no verdict, showed it marks ~1% of the
pre-existing and 12-27% of the new spines per session, i.e. some but not all); with the
marker the competition acts on ~all of a neuron's ~40 spines, not only on the weakest, so its
total rate is ~``c`` times the excess, and ``c = 1`` per day (was 20 with the weight-weighted
competition) makes the excess decay with a time constant of about a day, as the elimination
in Xu et al. 2009 and Yang et al. 2009 follows the formation over days.
**Stabilisation** (``consolidated_hazard = 0.1``, issue 14, second round): the marker also
multiplies the spine's base hazard by ``h = 0.1``. Measured with the marker alone (previous
round; docs/experiments.md), exempting marked spines from a competition of ~0.05 /day did
nothing next to a new spine's base hazard of ~0.34 /day (``capture_ratio = 1e9`` gave the same
numbers). Persistent spines turn over far less than transient ones (Trachtenberg et al. 2002;
Holtmaat et al. 2005: transient spines live <= 4 days, persistent ones >= 8 days and mostly for
months), learning-induced spines that survive stay (Xu et al. 2009; Yang et al. 2009) and
enlarged spines are the stable ones (Kasai et al. 2003); ``h = 0.1`` ("ten times more
stable", a round number; written down and committed before any run with it, no pilot) makes a
marked new spine (w ~ 0.004) last ~40 days instead of ~4. A stabilised new spine keeps its
neuron above the set point, and the competition, which spares it, falls on the unmarked spines,
most of them pre-existing. ``c = 1``, ``capture_ratio = 2`` and everything else are unchanged.
Against its control, ``trained_unstabilised`` (``h = 1``, the one change), ``h`` barely
mattered at quick seeds 0, 1, 2 (training-day spines kept -0.03, -0.03, +0.05, pre-existing
gone +0.002, -0.005, -0.010) and full seed 0 (+0.05 [+0.01, +0.09], -0.005; docs/experiments.md
for all): the spines the marker picks are the potentiated ones, which the weight-dependent
base hazard already protects (a spine at ``w = 0.02`` has ``0.5 e^-4 = 0.009`` /day).
**A competition the marker decides** (``competition_rate = 20`` /day, issue 14, third round;
written down and committed before any run with it): at a training excess of ~5% of ``K`` the
competition's hazard on an unmarked spine is then ~1 /day, above a new weak spine's base
hazard (0.34 /day), so the competition, not the base hazard, restores the density, and the
marker decides who bears it: the marked (mostly new, potentiated) spines are spared and the
unmarked ones, most of them pre-existing, are removed (Xu et al. 2009; Yang et al. 2009). 20 is
the value this experiment used before capture (not tuned on any run). ``h = 0.1`` and
everything else as in the second round. The control that removes the mechanism,
``trained_unmarked``, is the trained group with ``capture_ratio = 1e9`` (no spine is ever
marked) and everything else equal: the ONE change is the marker (the competition stays
weight-independent at ``c = 20``, and ``h`` has no spine to act on). The constant-hazard groups
get the same values.
Agents differ: ``lambda_0``, ``w_s``, the actor's learning rate and exploration noise are
drawn per agent (uniform, see :class:`Config`), and each has its own initial weights and slots.

**Protocol** (task time; "rest": :meth:`~plasticgym.agents.PlasticAgent.pass_time`, no synaptic
activity, weights change only by elimination and formation): ``settle_days`` of rest (the
initial weakest spines turn over), ``baseline_days`` of rest (the baseline turnover), then
``training_days`` days, each starting with a ``session_minutes`` training session, then rest
until the next day; then ``follow_up_days`` of rest. Groups, each an independent population:

- ``trained`` / ``untrained`` (the untrained rest through the sessions: Xu's controls, which
  are not trained), with weight-dependent elimination;
- ``trained_unmarked``: trained, no spine ever marked (``capture_ratio = 1e9``; the one
  change); its untrained twin would be bit-identical to ``untrained``: at rest nothing
  grows, nothing is captured and nothing competes;
- ``trained_constant`` / ``untrained_constant``: elimination independent of weight (the same
  hazard ``control_elimination_rate`` for every spine, chosen to give a baseline turnover of the
  same few percent per day): the control that removes selection by synaptic strength.

Every spine's lifetime is recorded (birth and death times; initial spines are born at 0).

**Verdicts** (each labelled: ``mechanism check``, holds by the equations and the parameters put
in; ``finding``, follows from learning and could fail), 95% t intervals over agents, Welch
intervals between groups, TOST (90% interval inside the margin) for "no difference":

- ``baseline_turnover_few_percent`` (mechanism check): before training, the turnover
  ``(formed + eliminated) / 2 / spines`` per day is inside ``TURNOVER_RANGE``.
- ``reaching_learned`` (finding): the trained agents' angular error falls from the first
  ``learning_trials`` trials to the last ones.
- ``training_forms_spines`` (mechanism check): spines formed per 100 within ``early_hours`` of
  the first session's start, trained minus untrained, CI > 0. With ``activity_formation > 0``
  its sign follows from the rule (rest delivers no potentiation); with it 0 formation only
  refills the budget and the verdict is a finding (it failed: see docs/experiments.md).
- ``training_spines_kept`` (finding): of the spines formed during the training days, the
  fraction still there at the end of the follow-up, trained minus untrained, CI > 0: new
  spines on the inputs of the task are potentiated by the three-factor rule and so stabilised.
- ``no_keeping_without_weight_dependence`` (finding; a mechanism check without competition):
  the same difference in the constant-hazard groups is equivalent to 0 (TOST, margin
  ``KEPT_MARGIN``, smaller than the weight-dependent difference: checked). With competition the
  trained constant-hazard agents' excess raises their hazard, so the equations no longer fix it.
- ``preexisting_spines_removed`` (finding): of the spines present when training starts, the
  fraction eliminated by the end of the follow-up, trained minus untrained, CI > 0.
- ``marker_keeps_new_spines`` (mechanism check): the training-day spines kept (as above),
  trained minus ``trained_unmarked``, CI > 0: marked spines are spared a competition of ~1
  /day and have a tenth of the base hazard (the sign is the equations' given that training
  marks spines, not a learning result). (Second round: ``stabilisation_keeps_new_spines``,
  control ``h = 1``.)
- ``marker_shifts_removal_to_preexisting`` (mechanism check): the fraction of pre-existing
  spines eliminated (as above), trained minus ``trained_unmarked``, CI > 0: the marked new
  spines hold the excess, which the competition removes from the unmarked ones, mostly
  pre-existing. (Second round: ``stabilisation_shifts_removal_to_preexisting``, control ``h =
  1``; first: ``capture_shifts_removal_to_preexisting``, whose control, ``capture_ratio = 0``,
  changed the marker and the competition's weight dependence together.)
- ``density_constant`` (finding): the trained agents' density at the end of the follow-up
  minus that before training, TOST inside ``+-DENSITY_MARGIN``: activity-driven formation
  raises it above the budget, and only competition (which spares potentiated spines) can bring
  it back.
- ``persistence_rises_with_age`` (mechanism check in untrained agents: new spines start
  weaker than the survivors): at the start of training, the fraction of the spines older than
  ``settle_days + baseline_days - 1`` days that survive the next ``survival_days`` minus that of
  the spines younger than 1 day, CI > 0 (Holtmaat et al. 2005).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
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
from plasticgym.population import Uniform
from plasticgym.structure import SECONDS_PER_DAY, StructuralPlasticity

NAME = "spine_turnover"
DESCRIPTION = (
    "structural plasticity in BCI reaching: a few percent of spines turn over per day; does "
    "training form spines that potentiation keeps while density stays constant and "
    "pre-existing spines are removed (Xu 2009; Yang 2009)? persistence rises with age "
    "(Holtmaat 2005)"
)

ENV = "plasticgym/Reaching-v0"
DAY = SECONDS_PER_DAY
HOUR = 3600.0
GROUPS = ("trained", "untrained", "trained_unmarked", "trained_constant", "untrained_constant")
UNMARKED_RATIO = 1e9
"""``capture_ratio`` of ``trained_unmarked``: no spine ever grows a billion times its
neuron's median growth in 30 min, so none is marked."""
KIND = {
    "baseline_turnover_few_percent": "mechanism check",
    "reaching_learned": "finding",
    "training_forms_spines": "mechanism check",
    "training_spines_kept": "finding",
    "no_keeping_without_weight_dependence": "finding",
    "preexisting_spines_removed": "finding",
    "marker_keeps_new_spines": "mechanism check",
    "marker_shifts_removal_to_preexisting": "mechanism check",
    "density_constant": "finding",
    "persistence_rises_with_age": "mechanism check",
}
TURNOVER_RANGE = (0.01, 0.10)  # "a few percent per day"
KEPT_MARGIN = 0.05  # survival fraction, for the constant-hazard control
DENSITY_MARGIN = 0.02  # fraction of slots (the budget is 0.5 of them)


@dataclass(frozen=True)
class Config:
    """What to run: ``n_agents`` agents per group (see the module docstring); times in days,
    minutes and hours of task time; per-agent parameters uniform in ``value * (1 +- spread)``."""

    n_agents: int = 24
    seed: int = 0
    dt: float = 2.0
    interval_minutes: float = 30.0
    settle_days: int = 3
    baseline_days: int = 2
    training_days: int = 4
    session_minutes: float = 30.0
    follow_up_days: int = 4
    early_hours: float = 2.0
    survival_days: float = 2.0
    learning_trials: int = 20
    density: float = 0.5
    elimination_rate: float = 0.5
    stable_weight: float = 0.005
    control_elimination_rate: float = 0.03
    new_weight: float = 0.002
    formation_rate: float = 24.0
    activity_bias: float = 1.0
    activity_formation: float = 3.5
    competition_rate: float = 20.0
    capture_ratio: float = 2.0
    consolidated_hazard: float = 0.1
    actor_lr: float = 0.5
    exploration_noise: float = 0.1
    spread: float = 0.2
    n_units: int = 16
    n_targets: int = 4
    device: str = "cpu"

    def __post_init__(self) -> None:
        interval = self.interval_minutes * 60.0
        for name, seconds in (("session_minutes", self.session_minutes * 60.0),
                              ("one day", DAY), ("early_hours", self.early_hours * HOUR),
                              ("survival_days", self.survival_days * DAY)):  # fmt: skip
            if seconds <= 0 or abs(seconds / interval - round(seconds / interval)) > 1e-9:
                raise ValueError(
                    f"{name} must be a positive multiple of interval_minutes="
                    f"{self.interval_minutes:g} (structural events), got {seconds:g} s"
                )
        if abs(interval / self.dt - round(interval / self.dt)) > 1e-9:
            raise ValueError(f"interval_minutes must be a whole number of steps of dt={self.dt}")
        if self.session_minutes * 60.0 >= DAY:
            raise ValueError("session_minutes must be shorter than a day")
        if min(self.settle_days + self.baseline_days, self.training_days, self.follow_up_days) < 1:
            raise ValueError("need at least one day of rest before, of training and of follow-up")
        if not 0.0 <= self.spread < 1.0:
            raise ValueError(f"spread={self.spread!r} must be in [0, 1)")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 90 s of CPU time on one thread)."""
        short = {"n_agents": 16, "settle_days": 2, "baseline_days": 1, "training_days": 2,
                 "follow_up_days": 2}  # fmt: skip
        return cls(**{**short, **overrides})

    @property
    def interval(self) -> float:
        return self.interval_minutes * 60.0

    @property
    def training_start(self) -> float:
        """Seconds from the start to the first session."""
        return (self.settle_days + self.baseline_days) * DAY

    @property
    def training_end(self) -> float:
        return self.training_start + self.training_days * DAY

    @property
    def end(self) -> float:
        return self.training_end + self.follow_up_days * DAY


def _spread(value: float, config: Config) -> Any:
    if config.spread == 0.0:
        return value
    return Uniform(value * (1.0 - config.spread), value * (1.0 + config.spread))


def make_agent(
    config: Config, group: str, seed: int, tensorboard_log: str | None = None
) -> PlasticAgent:
    """A population of one group (weight-dependent or constant elimination); TensorBoard run
    ``spine_turnover_<group>`` under ``tensorboard_log`` if given."""
    constant = group.endswith("_constant")
    structure = StructuralPlasticity(
        dt=config.dt, interval=config.interval, density=config.density,
        elimination_rate=_spread(
            config.control_elimination_rate if constant else config.elimination_rate, config
        ),
        stable_weight=_spread(config.stable_weight, config), weight_dependent=not constant,
        formation_rate=config.formation_rate, new_weight=config.new_weight,
        activity_bias=config.activity_bias, activity_formation=config.activity_formation,
        competition_rate=config.competition_rate,
        capture_ratio=UNMARKED_RATIO if group == "trained_unmarked" else config.capture_ratio,
        consolidated_hazard=config.consolidated_hazard,
    )  # fmt: skip
    hyperparameters = {
        **plastic_preset(ENV),
        "actor_lr": _spread(config.actor_lr, config),
        "exploration_noise": _spread(config.exploration_noise, config),
    }
    env_kwargs = {"n_units": config.n_units, "n_targets": config.n_targets,
                  "protocol": [{"name": "training", "trials": 1_000_000}]}  # fmt: skip
    return PlasticAgent(ENV, n_agents=config.n_agents, seed=seed, env_kwargs=env_kwargs,
                        device=config.device, structure=structure,
                        tensorboard_log=tensorboard_log, tb_log_name=f"{NAME}_{group}",
                        **hyperparameters)  # fmt: skip


class SpineLog:
    """Every spine's lifetime, from the structural state read right after each event: a spine
    that exists with age 0 formed at that event; one that existed and now does not (or was
    replaced by a new one) was eliminated at it. Initial spines are born at time 0."""

    def __init__(self, agent: PlasticAgent) -> None:
        state = agent.structure_state
        self.exists = state.exists.cpu().numpy().copy()
        self.born = np.where(self.exists, 0.0, np.nan)
        self.weights = agent.actor.weights.cpu().numpy().copy()
        self.consolidated = state.consolidated.cpu().numpy().copy()
        self.rows: list[pd.DataFrame] = []

    def _close(self, mask: np.ndarray, died: float) -> None:
        agent, neuron, slot = np.nonzero(mask)
        self.rows.append(pd.DataFrame({
            "agent": agent, "neuron": neuron, "slot": slot, "born": self.born[mask],
            "died": np.full(agent.size, died), "weight": self.weights[mask],
            "consolidated": self.consolidated[mask],
        }))  # fmt: skip

    def poll(self, agent: PlasticAgent, time: float) -> None:
        state = agent.structure_state
        if state.elapsed.item() != 0.0:
            raise RuntimeError("SpineLog.poll must read the state right after an event")
        exists, age = state.exists.cpu().numpy(), state.age.cpu().numpy()
        new = exists & (age == 0.0)
        self._close(self.exists & ~(exists & ~new), time)
        self.born = np.where(new, time, np.where(exists, self.born, np.nan))
        self.exists = exists.copy()
        self.weights = agent.actor.weights.cpu().numpy().copy()
        self.consolidated = state.consolidated.cpu().numpy().copy()

    def table(self) -> pd.DataFrame:
        """One row per spine: agent, neuron, slot, born, died (NaN: alive at the end), its
        weight and whether it was consolidated at the last reading before it died (or at the
        end)."""
        self._close(self.exists, np.nan)
        return pd.concat(self.rows, ignore_index=True)


class GroupRecords(NamedTuple):
    spines: pd.DataFrame
    timeline: pd.DataFrame
    trials: pd.DataFrame
    agents: pd.DataFrame


def run_group(
    config: Config, group: str, seed: int, tensorboard_log: str | None = None
) -> GroupRecords:
    """The protocol for one group (see the module docstring). A trained group logs to
    TensorBoard under ``tensorboard_log`` if given; an untrained one never learns (only time
    passes), so it writes no run."""
    trained = group.startswith("trained")
    agent = make_agent(config, group, seed, tensorboard_log if trained else None)
    log, timeline, time = SpineLog(agent), [], 0.0
    steps = round(config.interval / config.dt)

    def record(session: int) -> None:
        stats = agent.spine_statistics()
        timeline.append(pd.DataFrame({
            "agent": np.arange(agent.n_agents), "time_d": time / DAY, "session": session,
            "spines": stats.spines, "density": stats.density, "formed": stats.formed,
            "eliminated": stats.eliminated,
        }))  # fmt: skip

    def advance(seconds: float, train: bool, session: int = -1) -> None:
        nonlocal time
        for _ in range(round(seconds / config.interval)):
            if train:
                agent.learn(steps, record=True)
            else:
                agent.pass_time(config.interval)
            time += config.interval
            log.poll(agent, time)
            record(session)

    record(-1)
    advance(config.training_start, train=False)
    session_s = config.session_minutes * 60.0
    for day in range(config.training_days):
        advance(session_s, train=trained, session=day)
        advance(DAY - session_s, train=False)
    advance(config.follow_up_days * DAY, train=False)
    trials = _trial_errors(agent) if trained else pd.DataFrame(
        {"agent": pd.Series(dtype=int), "trial": pd.Series(dtype=int),
         "angular_error": pd.Series(dtype=float)}
    )  # fmt: skip
    agents = agent.individual_parameters.reset_index()
    return GroupRecords(log.table(), pd.concat(timeline, ignore_index=True), trials, agents)


def _trial_errors(agent: PlasticAgent) -> pd.DataFrame:
    """Mean angular error of each trial (degrees), per agent."""
    records = agent.records
    records = records[records["trial"] >= 0]
    return records.groupby(["agent", "trial"])["angular_error"].mean().reset_index()


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """Every group; TensorBoard runs ``spine_turnover_trained``,
    ``spine_turnover_trained_unmarked`` and ``spine_turnover_trained_constant`` under
    ``out_dir/tensorboard``."""
    del progress_bar
    tensorboard_log = tensorboard_folder(out_dir)
    seeds = np.random.SeedSequence(config.seed).generate_state(len(GROUPS))
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in GroupRecords._fields}
    for group, seed in zip(GROUPS, seeds, strict=True):
        records = run_group(config, group, int(seed), tensorboard_log)
        for name, table in zip(GroupRecords._fields, records, strict=True):
            tables[name].append(table.assign(group=group))
    return {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}


# -------------------------------------------------------------------------------- analysis


def _label(verdict: str) -> str:
    return f"({KIND[verdict]})"


def _per_agent(values: pd.Series, config: Config) -> np.ndarray:
    """A per-agent series as an array over every agent (0 where an agent has none)."""
    return values.reindex(pd.RangeIndex(config.n_agents), fill_value=0).to_numpy(dtype=float)


def alive(spines: pd.DataFrame, time: float) -> pd.Series:
    """Spines that exist at ``time`` (born at or before it, not dead by it)."""
    return (spines["born"] <= time) & ~(spines["died"] <= time)


def spine_counts(spines: pd.DataFrame, time: float, config: Config) -> np.ndarray:
    """Spines per agent at ``time``."""
    return _per_agent(spines[alive(spines, time)].groupby("agent").size(), config)


def baseline_turnover(spines: pd.DataFrame, config: Config) -> np.ndarray:
    """``(formed + eliminated) / 2 / spines`` per day over the baseline days, per agent."""
    start, end = config.settle_days * DAY, config.training_start
    formed = _per_agent(spines[(spines["born"] > start) & (spines["born"] <= end)]
                        .groupby("agent").size(), config)  # fmt: skip
    died = spines["died"]
    eliminated = _per_agent(spines[(died > start) & (died <= end)].groupby("agent").size(), config)
    mean_spines = 0.5 * (spine_counts(spines, start, config) + spine_counts(spines, end, config))
    return (formed + eliminated) / 2.0 / mean_spines / config.baseline_days


def formed_per_100(spines: pd.DataFrame, start: float, end: float, config: Config) -> np.ndarray:
    """Spines formed in ``(start, end]`` per 100 spines present at ``start``, per agent."""
    formed = spines[(spines["born"] > start) & (spines["born"] <= end)].groupby("agent").size()
    return 100.0 * _per_agent(formed, config) / spine_counts(spines, start, config)


def cohort_survival(
    spines: pd.DataFrame,
    born_after: float,
    born_by: float,
    until: float,
    config: Config,
    alive_at: float | None = None,
) -> np.ndarray:
    """Of the spines born in ``(born_after, born_by]`` (and alive at ``alive_at``, if given),
    the fraction alive at ``until``, per agent (NaN for an agent with none)."""
    cohort = spines[(spines["born"] > born_after) & (spines["born"] <= born_by)]
    if alive_at is not None:
        cohort = cohort[alive(cohort, alive_at)]
    kept = ~(cohort["died"] <= until)
    total = cohort.groupby("agent").size().reindex(pd.RangeIndex(config.n_agents))
    survived = kept.groupby(cohort["agent"]).sum().reindex(pd.RangeIndex(config.n_agents))
    return (survived / total).to_numpy(dtype=float)


def preexisting_eliminated(spines: pd.DataFrame, config: Config) -> np.ndarray:
    """Of the spines present at the first session, the fraction gone by the end, per agent."""
    present = spines[alive(spines, config.training_start)]
    gone = present["died"] <= config.end
    return (gone.groupby(present["agent"]).mean()
            .reindex(pd.RangeIndex(config.n_agents)).to_numpy(dtype=float))  # fmt: skip


def survival_by_age(spines: pd.DataFrame, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Of the spines present at the first session, the fraction surviving ``survival_days``
    of those younger than 1 day and of those older than ``settle_days + baseline_days - 1``
    days, per agent."""
    t = config.training_start
    until = t + config.survival_days * DAY
    young = cohort_survival(spines, t - DAY, t, until, config, alive_at=t)
    old_by = t - (config.settle_days + config.baseline_days - 1) * DAY
    old = cohort_survival(spines, -1.0, old_by, until, config, alive_at=t)
    return young, old


def density(timeline: pd.DataFrame, time_d: float, config: Config) -> np.ndarray:
    """Density per agent at the reading closest to ``time_d`` days."""
    times = timeline["time_d"].unique()
    nearest = times[np.argmin(np.abs(times - time_d))]
    at = timeline[np.isclose(timeline["time_d"], nearest)].set_index("agent")["density"]
    return at.reindex(pd.RangeIndex(config.n_agents)).to_numpy(dtype=float)


def learning_effect(trials: pd.DataFrame, config: Config) -> np.ndarray:
    """Angular error over the first ``learning_trials`` trials minus the last ones, per agent."""
    n = config.learning_trials

    def per_agent(rows: pd.DataFrame) -> float:
        errors = rows.sort_values("trial")["angular_error"].to_numpy()
        return float(errors[:n].mean() - errors[-n:].mean()) if errors.size >= 2 * n else np.nan

    effect = trials.groupby("agent")[["trial", "angular_error"]].apply(per_agent)
    return effect.reindex(pd.RangeIndex(config.n_agents)).to_numpy(dtype=float)


def _group(records: dict[str, pd.DataFrame], table: str, group: str) -> pd.DataFrame:
    frame = records[table]
    return frame[frame["group"] == group]


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    spines = {g: _group(records, "spines", g) for g in GROUPS}
    timeline = {g: _group(records, "timeline", g) for g in GROUPS}
    verdicts: dict[str, bool] = {}
    lines: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    n = config.n_agents

    turnover = np.concatenate([baseline_turnover(spines[g], config)
                               for g in ("trained", "untrained")])  # fmt: skip
    estimate = mean_ci(turnover)
    low, high = TURNOVER_RANGE
    verdicts["baseline_turnover_few_percent"] = low < estimate[1] and estimate[2] < high
    lines["baseline_turnover_few_percent"] = (
        f"{_label('baseline_turnover_few_percent')} turnover per day before training "
        f"{format_ci(*estimate, digits=3)} (CI inside [{low:g}, {high:g}])"
    )
    rows.append(ci_row(turnover, group="trained+untrained", quantity="baseline turnover / day"))
    for g in ("trained_constant", "untrained_constant"):
        rows.append(ci_row(baseline_turnover(spines[g], config), group=g,
                           quantity="baseline turnover / day"))  # fmt: skip

    learned = learning_effect(_group(records, "trials", "trained"), config)
    estimate = mean_ci(learned)
    verdicts["reaching_learned"] = bool(estimate[1] > 0)
    lines["reaching_learned"] = (
        f"{_label('reaching_learned')} angular error, first - last {config.learning_trials} "
        f"trials: {format_ci(*estimate, digits=1)} degrees (CI > 0)"
    )
    rows.append(ci_row(learned, group="trained", quantity="angular error first - last trials"))

    start = config.training_start
    early = {g: formed_per_100(spines[g], start, start + config.early_hours * HOUR, config)
             for g in GROUPS}  # fmt: skip
    difference = difference_ci(early["trained"], early["untrained"])
    verdicts["training_forms_spines"] = bool(difference[1] > 0)
    lines["training_forms_spines"] = (
        f"{_label('training_forms_spines')} spines formed per 100 within "
        f"{config.early_hours:g} h of the first session, trained - untrained "
        f"{format_ci(*difference)} (CI > 0)"
    )
    for g in GROUPS:
        rows.append(ci_row(early[g], group=g, quantity=f"formed per 100 in first "
                           f"{config.early_hours:g} h"))  # fmt: skip
    rows.append(estimate_row(difference, n, group="trained - untrained",
                             quantity="formed per 100 early (Welch)"))  # fmt: skip

    kept = {g: cohort_survival(spines[g], start, config.training_end, config.end, config)
            for g in GROUPS}  # fmt: skip
    kept_weight = difference_ci(kept["trained"], kept["untrained"])
    verdicts["training_spines_kept"] = bool(kept_weight[1] > 0)
    lines["training_spines_kept"] = (
        f"{_label('training_spines_kept')} spines formed during the training days and still "
        f"there {config.follow_up_days} days later, trained - untrained "
        f"{format_ci(*kept_weight)} (CI > 0)"
    )
    stabilised = difference_ci(kept["trained"], kept["trained_unmarked"])
    verdicts["marker_keeps_new_spines"] = bool(stabilised[1] > 0)
    lines["marker_keeps_new_spines"] = (
        f"{_label('marker_keeps_new_spines')} training-day spines kept, trained - "
        f"trained without the marker {format_ci(*stabilised)} (CI > 0)"
    )
    kept_control = tost(kept["trained_constant"], kept["untrained_constant"], KEPT_MARGIN)
    margin_ok = abs(kept_weight[0]) > KEPT_MARGIN
    verdicts["no_keeping_without_weight_dependence"] = bool(kept_control.equivalent and margin_ok)
    lines["no_keeping_without_weight_dependence"] = (
        f"{_label('no_keeping_without_weight_dependence')} the same with elimination "
        f"independent of weight: {format_tost(kept_control, KEPT_MARGIN)} (margin < the "
        f"weight-dependent difference {kept_weight[0]:.2f}: {margin_ok})"
    )
    for g in GROUPS:
        rows.append(ci_row(kept[g], group=g, quantity="training-day spines surviving"))
    rows.append(estimate_row(kept_weight, n, group="trained - untrained",
                             quantity="training-day spines surviving (Welch)"))  # fmt: skip
    rows.append(estimate_row(stabilised, n, group="trained - trained_unmarked",
                             quantity="training-day spines surviving (Welch)"))  # fmt: skip
    rows.append(estimate_row(kept_control[:3], n, group="trained - untrained (constant)",
                             quantity="training-day spines surviving (TOST 90%)"))  # fmt: skip

    removed = {g: preexisting_eliminated(spines[g], config) for g in GROUPS}
    difference = difference_ci(removed["trained"], removed["untrained"])
    verdicts["preexisting_spines_removed"] = bool(difference[1] > 0)
    lines["preexisting_spines_removed"] = (
        f"{_label('preexisting_spines_removed')} spines present at the first session and gone "
        f"by the end, trained - untrained {format_ci(*difference, digits=3)} (CI > 0)"
    )
    for g in GROUPS:
        rows.append(ci_row(removed[g], group=g, quantity="pre-existing spines eliminated"))
    rows.append(estimate_row(difference, n, group="trained - untrained",
                             quantity="pre-existing spines eliminated (Welch)"))  # fmt: skip
    difference = difference_ci(removed["trained"], removed["trained_unmarked"])
    verdicts["marker_shifts_removal_to_preexisting"] = bool(difference[1] > 0)
    lines["marker_shifts_removal_to_preexisting"] = (
        f"{_label('marker_shifts_removal_to_preexisting')} pre-existing spines gone, "
        f"trained - trained without the marker {format_ci(*difference, digits=3)} (CI > 0)"
    )
    rows.append(estimate_row(difference, n, group="trained - trained_unmarked",
                             quantity="pre-existing spines eliminated (Welch)"))  # fmt: skip

    change = (density(timeline["trained"], config.end / DAY, config)
              - density(timeline["trained"], start / DAY, config))  # fmt: skip
    held = tost(change, None, DENSITY_MARGIN)
    verdicts["density_constant"] = bool(held.equivalent)
    lines["density_constant"] = (
        f"{_label('density_constant')} trained density at the end - before training: "
        f"{format_tost(held, DENSITY_MARGIN)} (fraction of slots)"
    )
    rows.append(estimate_row(held[:3], n, group="trained",
                             quantity="density end - before training (TOST 90%)"))  # fmt: skip

    for g in GROUPS:  # descriptive: formation over the training days, the density's peak
        rows.append(
            ci_row(
                formed_per_100(spines[g], start, config.training_end, config),
                group=g,
                quantity="formed per 100 over the training days",
            )
        )
        line = timeline[g][(timeline[g]["time_d"] > start / DAY)]
        peak = line.groupby("agent")["density"].max()
        rows.append(
            ci_row(
                _per_agent(peak, config) - density(timeline[g], start / DAY, config),
                group=g,
                quantity="peak density after training start - before",
            )
        )
    for g in GROUPS:  # descriptive: how training moved the weights of the spines it found
        present = spines[g][alive(spines[g], start)]
        survivors = present[present["died"].isna()].groupby("agent")["weight"].mean()
        quantity = "mean weight at the end of pre-existing survivors"
        rows.append(ci_row(_per_agent(survivors, config), group=g, quantity=quantity))
    for g in ("trained", "trained_unmarked", "trained_constant"):  # descriptive: captured
        frame = spines[g]
        if "consolidated" not in frame:
            continue
        present = frame[alive(frame, start)]
        cohort = frame[(frame["born"] > start) & (frame["born"] <= config.training_end)]
        for rows_, what in ((present, "pre-existing"), (cohort, "training-day")):
            share = rows_["consolidated"].astype(float).groupby(rows_["agent"]).mean()
            rows.append(ci_row(share.reindex(pd.RangeIndex(n)).to_numpy(dtype=float), group=g,
                               quantity=f"{what} spines consolidated (last reading)"))  # fmt: skip
    young, old = survival_by_age(spines["untrained"], config)
    estimate = mean_ci(old - young)
    verdicts["persistence_rises_with_age"] = bool(estimate[1] > 0)
    lines["persistence_rises_with_age"] = (
        f"{_label('persistence_rises_with_age')} untrained, surviving {config.survival_days:g} "
        f"days: old {format_ci(*mean_ci(old))}, < 1 day old {format_ci(*mean_ci(young))}; "
        f"old - young {format_ci(*estimate)} (CI > 0)"
    )
    rows.append(ci_row(young, group="untrained", quantity="survival of spines < 1 day old"))
    rows.append(ci_row(old, group="untrained", quantity="survival of old spines"))
    young_c, old_c = survival_by_age(spines["untrained_constant"], config)
    rows.append(ci_row(old_c - young_c, group="untrained_constant",
                       quantity="survival old - young"))  # fmt: skip
    return {"verdicts": verdicts, "lines": lines, "table": pd.DataFrame(rows),
            "config": config}  # fmt: skip


# -------------------------------------------------------------------------------- figures


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Density and cumulative turnover over time; survival of the training-day cohort; the
    survival of spines by age; the trained agents' learning curve."""
    plt = pyplot()
    config = result["config"]
    fig, axes = plt.subplots(1, 4, figsize=(22, 4.5))
    timeline = records["timeline"]
    start, end = config.training_start / DAY, config.training_end / DAY
    for group in GROUPS:
        mean = timeline[timeline["group"] == group].groupby("time_d")[["density", "formed"]].mean()
        axes[0].plot(mean.index, mean["density"], label=group)
        spines0 = timeline[(timeline["group"] == group) & (timeline["time_d"] == 0)]
        axes[1].plot(mean.index, 100 * mean["formed"] / spines0["spines"].mean(), label=group)
    for ax in axes[:2]:
        ax.axvspan(start, end, color="grey", alpha=0.15, lw=0)
        ax.set_xlabel("days")
    axes[0].set_ylabel("spine density (fraction of slots)")
    axes[1].set_ylabel("spines formed since day 0, per 100")
    axes[0].legend(fontsize=7)
    table = pd.DataFrame(result["table"])
    rows = table[table["quantity"] == "training-day spines surviving"]
    axes[2].bar(np.arange(len(rows)), rows["mean"], yerr=[rows["mean"] - rows["ci_low"],
                rows["ci_high"] - rows["mean"]], capsize=3)  # fmt: skip
    axes[2].set_xticks(np.arange(len(rows)), [g.replace("_", "\n") for g in rows["group"]],
                       fontsize=8)  # fmt: skip
    axes[2].set_ylabel(f"training-day spines kept {config.follow_up_days} d later (95% CI)")
    spines = records["spines"]
    for group in ("untrained", "untrained_constant"):
        rows_ = spines[(spines["group"] == group) & (spines["born"] > 0)]
        lifetime = np.where(np.isnan(rows_["died"]), np.inf, rows_["died"] - rows_["born"]) / DAY
        horizon = (config.end - rows_["born"].to_numpy()) / DAY
        ages = np.arange(0.0, 4.01, 0.5)
        surviving = [np.mean(lifetime[horizon >= a] >= a) if np.any(horizon >= a) else np.nan
                     for a in ages]  # fmt: skip
        axes[3].plot(ages, surviving, marker="o", label=f"new spines, {group}")
    axes[3].set_xlabel("days since formation")
    axes[3].set_ylabel("fraction surviving")
    axes[3].legend(fontsize=7)
    paths = [save_figure(fig, Path(out_dir) / "spine_turnover.png")]
    trials = records["trials"]
    trained = trials[trials["group"] == "trained"]
    if len(trained):
        fig, ax = plt.subplots(figsize=(6, 4))
        curve = trained.groupby("trial")["angular_error"].mean()
        ax.plot(curve.index, curve.to_numpy())
        ax.set_xlabel("trial (all sessions)")
        ax.set_ylabel("angular error (degrees), mean over agents")
        paths.append(save_figure(fig, Path(out_dir) / "spine_turnover_learning.png"))
    return paths
