"""Cortical map expansion by tone-paired neuromodulation, and its renormalisation while
discrimination stays (Recanzone, Schreiner & Merzenich 1993; Kilgard & Merzenich 1998; Reed et
al. 2011).

**Task and agents.** ``ToneDiscrimination-v0``: go/no-go on ``n_tones`` tones evenly spaced on
a log-frequency axis in [0, 1], each presented equally often; a go to the target (the middle
tone, ``s = 0.5``) pays 1, a go to another tone costs ``false_alarm_cost``. The agents are
:class:`~plasticgym.agents.PlasticAgent` actor-critics (``gamma = 0``: every trial is one
decision) whose only view of the tone is a :class:`~plasticgym.maps.TopographicMap`: 40
cortical units reading 40 thalamic channels, soft competition with a lateral neighbourhood,
plasticity ``dW_j = eta m y_j (x^ - W_j)`` gated by the task's nucleus-basalis pulse ``m``, and
a slow homeostatic return to the set-point map, ``W <- W + rho (W0 - W)``. Individual
differences: every agent samples the map's learning rate ``eta``, renormalisation rate
``rho`` and competition ``beta``, and its actor and critic learning rates and inverse
temperature (see ``Config``).

**Protocol.** Three populations of ``n_agents`` agents, trained on the same task for
``pairing_trials + training_trials`` trials. In the first ``pairing_trials`` trials (phase
``"pairing"``) the pulse is delivered with every target tone (``paired``), on a random
``1 / n_tones`` of the trials whatever the tone (``unpaired``: as many pulses, no pairing) or
never (``none``: the control that removes the mechanism). The next ``training_trials``
(``"training"``) have no pulse in any group. Every ``snapshot_every`` trials each agent's map
is probed with 201 tones; a unit's best frequency is the tone that drives it most, and the
target's representation is the number of units whose best frequency lies within half a tone
spacing of the target. Discrimination is ``hit rate - false-alarm rate`` over a window of
``window`` trials.

**Verdicts** (each labelled ``mechanism check``: holds by the equations, or ``finding``: could
fail): pairing expands the target's representation (and more than no stimulation);
unpaired stimulation and no stimulation leave it unchanged (TOST, ``equivalence_margin``
units); after pairing stops the map renormalises (TOST against its size before training, and
smaller than at the end of pairing); discrimination at the end of training (renormalised map)
equals discrimination at the end of pairing (expanded map; paired TOST over agents,
``performance_margin``). Descriptive rows (no verdict): discrimination early in training by
group, i.e. whether the expansion helped learning, as Reed et al. (2011) report.

**The Reed protocol** (Reed et al. 2011 paired before training; Kilgard 2012). Four more
groups of the same ``n_agents`` individuals (one seed: same sampled parameters, initial
synapses and tone sequence, so groups compare agent by agent): ``pre_pairing_trials`` trials of
the task with pulses (``pre_paired``: with every target tone; ``pre_unpaired``: a random
``1 / n_tones`` of trials; ``pre_none``: never) while the actor and critic are frozen at their
initial synapses (:class:`FrozenLearner`: a passive listener whose map still learns), then
``speed_training_trials`` of training without pulses from naive actor and critic.
``pre_paired_delayed`` has ``renormalisation_delay`` more frozen, pulse-free trials before
training, so its map has renormalised when learning starts. Speed measure, chosen before
measuring: each agent's discrimination over training trials ``[0, speed_trials)``
(``speed_trials = 300``: in the concurrent protocol the unstimulated group is at 0.69-0.73 over
its first 600 trials and 0.94 at the end, so the first 300 trials lie on the rising part of
the curve, off the ceiling, and hold about 43 target trials per agent). Verdicts:
``expansion_speeds_learning`` (finding: pre-paired - none, paired t 95% CI > 0);
``no_speedup_unpaired`` (finding: pre-unpaired - none equivalent to 0 by TOST within
``speed_margin``, which counts only if the pre-paired effect exceeds the margin);
``no_speedup_after_renormalisation`` (delayed - none equivalent to 0 by TOST; the renormalised
map is the set-point map up to a residual ``(1 - rho)^delay``, at most 5% of the expansion, and
the learner is naive). It was first labelled a mechanism check; it is a finding: the delayed
group trains on other trials of the tone and choice streams than ``pre_none``, and the learner
is bistable (an agent whose go rate collapses before it has learned the target stays at no-go
for hundreds of trials), so the comparison has sampling variance the equations do not remove
(criterion unchanged, relabelled after the first runs).
``no_speedup_after_renormalisation_matched`` (mechanism check; issue 14, added with its
control and margin before any run with it): ``pre_none_delayed``, a fifth group frozen as long
as the delayed one (``pre_pairing_trials + renormalisation_delay`` pulse-free trials), is the
control that differs from ``pre_paired_delayed`` in ONE thing, the pulses of the pre-pairing
phase; delayed - none_delayed equivalent to 0 (paired TOST within ``speed_margin``). Both
train on the same trials of the same streams, and their maps differ only by the residual of
the expansion, at most 5% of it, so the equations leave little room for a difference: a
mechanism check. (Not blind: a check after the first verdicts, the same comparison by hand
at quick and full seed 0, found 0.000 and +0.0002 [-0.0002, +0.0005]; docs/experiments.md.)
The original verdict is kept as it was defined.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.envs.tone import tone_frequencies
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
from plasticgym.maps import TopographicMap, best_frequencies
from plasticgym.population import LogUniform, Uniform

NAME = "map_plasticity"
DESCRIPTION = (
    "a tone paired with nucleus-basalis-like stimulation expands its map representation; "
    "unpaired or no stimulation does not; the map renormalises while discrimination stays; "
    "does pairing before training speed learning (Reed et al. 2011)?"
)

ENV = "plasticgym/ToneDiscrimination-v0"
GROUPS = ("paired", "unpaired", "none")
KIND = {
    "expansion_with_pairing": "finding",
    "no_expansion_unpaired": "finding",
    "no_expansion_without_stimulation": "mechanism check",
    "map_renormalises": "mechanism check",
    "performance_stays": "finding",
    "expansion_speeds_learning": "finding",
    "no_speedup_unpaired": "finding",
    "no_speedup_after_renormalisation": "finding",
    "no_speedup_after_renormalisation_matched": "mechanism check",
}

SPEED_GROUPS = ("pre_paired", "pre_unpaired", "pre_none", "pre_paired_delayed",
                "pre_none_delayed")  # fmt: skip
"""The Reed et al. (2011) protocol's groups: pulses of the pre-pairing phase (paired, unpaired,
none) and, for ``pre_paired_delayed`` and its pulse-free control ``pre_none_delayed``, a
renormalisation delay before training."""
SPEED_PROTOCOLS = {"pre_paired": ("paired", False), "pre_unpaired": ("unpaired", False),
                   "pre_none": ("none", False), "pre_paired_delayed": ("paired", True),
                   "pre_none_delayed": ("none", True)}  # fmt: skip


@dataclass(frozen=True)
class Config:
    """What to run (see the module docstring). Ranges are (low, high) of the sampled
    individual differences: Uniform, or LogUniform where named."""

    n_agents: int = 24
    seed: int = 0
    device: str = "cpu"
    n_tones: int = 7
    false_alarm_cost: float = 0.5
    pairing_trials: int = 1200
    training_trials: int = 1500
    window: int = 300
    snapshot_every: int = 100
    n_units: int = 40
    expansion_margin: float = 2.0  # units: the expansion's CI must lie above this
    equivalence_margin: float = 2.0  # units: "unchanged" map sizes (TOST)
    performance_margin: float = 0.1  # hit - false-alarm rate (TOST)
    map_learning_rate: tuple[float, float] = (0.05, 0.15)
    renormalisation_rate: tuple[float, float] = (0.002, 0.004)
    competition: tuple[float, float] = (30.0, 70.0)
    actor_lr: tuple[float, float] = (0.15, 0.3)  # LogUniform
    critic_lr: tuple[float, float] = (0.05, 0.15)
    inverse_temperature: tuple[float, float] = (4.0, 6.0)
    # The Reed et al. (2011) protocol: pre-pairing with the learner frozen, then training.
    pre_pairing_trials: int = 1200  # as long as the concurrent pairing (expansion saturated)
    renormalisation_delay: int = 1500  # pre_paired_delayed: pulse-free trials before training
    speed_training_trials: int = 900
    speed_trials: int = 300  # N: the speed measure is discrimination over trials [0, N)
    speed_margin: float = 0.05  # hit - false-alarm rate: "no speed-up" (TOST)

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        return dataclasses.replace(
            cls(n_agents=12, pairing_trials=800, training_trials=1000, window=200,
                snapshot_every=200, pre_pairing_trials=800, speed_training_trials=600),
            **overrides,
        )  # fmt: skip


def _label(verdict: str) -> str:
    return f"({KIND[verdict]})"


def target_position(config: Config) -> float:
    """The target tone's place on the axis (the middle tone)."""
    return (config.n_tones // 2) / (config.n_tones - 1)


def _agent(
    config: Config,
    group: str,
    seed: int,
    tensorboard_log: str | None = None,
    protocol: list[dict[str, Any]] | None = None,
) -> PlasticAgent:
    """A population of ``config.n_agents`` on the task; ``protocol`` defaults to the
    concurrent one (``pairing`` with ``group``'s pulses, then ``training``)."""
    topographic_map = TopographicMap(
        n_units=config.n_units, n_inputs=config.n_units,
        learning_rate=Uniform(*config.map_learning_rate),
        renormalisation_rate=Uniform(*config.renormalisation_rate),
        competition=Uniform(*config.competition),
    )  # fmt: skip
    if protocol is None:
        protocol = [
            {"name": "pairing", "trials": config.pairing_trials, "stimulation": group},
            {"name": "training", "trials": config.training_trials, "stimulation": "none"},
        ]
    return PlasticAgent(
        ENV, n_agents=config.n_agents, seed=seed, device=config.device,
        topographic_map=topographic_map, gamma=0.0, n_microstimuli=1, actor_weight_max=0.5,
        actor_lr=LogUniform(*config.actor_lr), critic_lr=Uniform(*config.critic_lr),
        inverse_temperature=Uniform(*config.inverse_temperature),
        env_kwargs={"n_tones": config.n_tones, "false_alarm_cost": config.false_alarm_cost,
                    "protocol": protocol},
        tensorboard_log=tensorboard_log, tb_log_name=f"{NAME}_{group}",
    )  # fmt: skip


def _map_rows(agent: PlasticAgent, group: str, trial: int, first_agent: int) -> pd.DataFrame:
    """Every unit's best frequency in every agent's map now (one row per agent per unit)."""
    topo = agent.sensory_map
    bf = best_frequencies(agent.map_state.weights, topo.centers(agent.device), topo.input_width)
    n, units = bf.shape
    return pd.DataFrame({
        "agent": np.repeat(np.arange(n) + first_agent, units), "group": group, "trial": trial,
        "unit": np.tile(np.arange(units), n), "best_frequency": bf.cpu().numpy().ravel(),
    })  # fmt: skip


def _population(
    config: Config, group: str, seed: int, first_agent: int, tensorboard_log: str | None = None
) -> dict[str, Any]:
    """Train one group; its trial rows, map snapshots and sampled parameters (TensorBoard run
    ``map_plasticity_<group>`` under ``tensorboard_log`` if given)."""
    agent = _agent(config, group, seed, tensorboard_log)
    total = config.pairing_trials + config.training_trials
    maps = [_map_rows(agent, group, 0, first_agent)]
    done = 0
    while done < total:
        chunk = min(config.snapshot_every, total - done)
        agent.learn(chunk, record=True)
        done += chunk
        maps.append(_map_rows(agent, group, done, first_agent))
    columns = ["agent", "trial", "phase", "is_target", "response", "reward"]
    trials = agent.records[columns].copy()
    trials["agent"] += first_agent
    trials["group"] = group
    trials["phase"] = trials["phase"].astype(str)
    params = agent.individual_parameters.reset_index()
    params["agent"] += first_agent
    params["group"] = group
    agent.close()
    return {"trials": trials, "maps": pd.concat(maps, ignore_index=True), "agents": params}


class FrozenLearner:
    """A callback for :meth:`PlasticAgent.learn` that holds the actor's and the critic's
    synapses (weights and every plasticity state) at the values they had when it was made:
    each step's update is undone after the step. Not quite learning rates at 0: a step chooses
    its action after its own update, so each frozen-phase choice (which nothing the map learns
    reads) and the first training trial's choice are made with the held synapses plus that
    one step's update (found by review; the held synapses themselves never change). The map
    keeps learning (its plasticity does not depend on the actor or critic under
    ``modulator="stimulation"``), so the agent is a passive listener: Reed et al.'s (2011) rats
    were paired before they met the task."""

    def __init__(self, agent: PlasticAgent) -> None:
        self.actor, self.critic = agent.actor, agent.critic

    def __call__(self, agent: PlasticAgent) -> None:
        agent.actor, agent.critic = self.actor, self.critic


def speed_protocol(config: Config, group: str) -> tuple[list[dict[str, Any]], int]:
    """The task's phases for a Reed-protocol group and the number of frozen trials before
    training: ``pre_pairing`` (the group's pulses), ``renormalisation`` (pulse-free; delayed
    group only) and ``training`` (pulse-free)."""
    stimulation, delayed = SPEED_PROTOCOLS[group]
    phases = [{"name": "pre_pairing", "trials": config.pre_pairing_trials,
               "stimulation": stimulation}]  # fmt: skip
    if delayed:
        phases.append({"name": "renormalisation", "trials": config.renormalisation_delay,
                       "stimulation": "none"})  # fmt: skip
    phases.append({"name": "training", "trials": config.speed_training_trials,
                   "stimulation": "none"})  # fmt: skip
    frozen = config.pre_pairing_trials + (config.renormalisation_delay if delayed else 0)
    return phases, frozen


def response_overlaps(agent: PlasticAgent, config: Config, group: str) -> pd.DataFrame:
    """Per agent, how a linear readout of the map sees the target now: ``|y_t|^2``, the mean
    overlap ``y_t . y_k`` with the two neighbouring tones and its cosine (the responses
    ``y`` of :meth:`TopographicMap.respond` to each tone, without the tonic input)."""
    n, target = config.n_tones, config.n_tones // 2
    tones = torch.tensor(tone_frequencies(n), dtype=torch.float32, device=agent.device)
    responses = []
    for tone in tones:
        channels = tone.expand(agent.n_agents, 1)
        response, _ = agent.sensory_map.respond(agent.map_state, channels, agent._map_kernel)
        responses.append(response)
    y = torch.stack(responses, dim=1)  # [B, n_tones, n_units]
    gram = (y @ y.transpose(1, 2)).cpu().numpy()
    own = gram[:, target, target]
    neighbours = [target - 1, target + 1]
    overlap = gram[:, target, neighbours].mean(axis=1)
    cosine = (gram[:, target, neighbours]
              / np.sqrt(own[:, None] * gram[:, neighbours, neighbours])).mean(axis=1)  # fmt: skip
    return pd.DataFrame({"agent": np.arange(agent.n_agents), "group": group, "own": own,
                         "neighbour_overlap": overlap, "neighbour_cosine": cosine})  # fmt: skip


def _speed_population(
    config: Config, group: str, seed: int, tensorboard_log: str | None = None
) -> dict[str, Any]:
    """One Reed-protocol group: frozen learner through the pulse phases, then training from
    naive actor and critic synapses. Every group has the same ``seed``: the same individuals
    (sampled parameters, initial synapses, tone sequence), so groups compare agent by agent.

    Step ``k`` plays trial ``k``, learns from its outcome and chooses the action of trial
    ``k + 1``; the learner is frozen through step ``frozen - 1``, so the first training
    trial's outcome is the first learned by the naive synapses (its choice was made with them
    plus the last frozen step's update, undone right after; see :class:`FrozenLearner`).
    Trials are counted from the start of training."""
    phases, frozen = speed_protocol(config, group)
    agent = _agent(config, group, seed, tensorboard_log, protocol=phases)
    agent.learn(frozen, callback=FrozenLearner(agent))
    maps = [_map_rows(agent, group, 0, 0)]
    overlaps = response_overlaps(agent, config, group)
    agent.learn(config.speed_training_trials, record=True)
    maps.append(_map_rows(agent, group, config.speed_training_trials, 0))
    trials = agent.records[["agent", "trial", "phase", "is_target", "response", "reward"]].copy()
    trials["phase"] = trials["phase"].astype(str)
    trials = trials[trials["phase"] == "training"].copy()
    trials["trial"] -= frozen
    trials["group"] = group
    agent.close()
    return {"speed_trials": trials, "speed_maps": pd.concat(maps, ignore_index=True),
            "speed_responses": overlaps}  # fmt: skip


def run(config: Config, out_dir: Path, progress_bar: bool = False) -> dict[str, pd.DataFrame]:
    del progress_bar
    tensorboard_log = tensorboard_folder(out_dir)
    seeds = np.random.SeedSequence(config.seed).generate_state(len(GROUPS) + 1)
    parts = [_population(config, g, int(s), i * config.n_agents, tensorboard_log)
             for i, (g, s) in enumerate(zip(GROUPS, seeds, strict=False))]  # fmt: skip
    records = {name: pd.concat([p[name] for p in parts], ignore_index=True)
               for name in ("trials", "maps", "agents")}  # fmt: skip
    speed = [_speed_population(config, g, int(seeds[-1]), tensorboard_log) for g in SPEED_GROUPS]
    for name in ("speed_trials", "speed_maps", "speed_responses"):
        records[name] = pd.concat([p[name] for p in speed], ignore_index=True)
    return records


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def target_units(maps: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per agent and snapshot: the number of units whose best frequency lies within half a
    tone spacing of the target (columns ``agent, group, trial, target_units``)."""
    half_spacing = 0.5 / (config.n_tones - 1)
    near = (maps["best_frequency"] - target_position(config)).abs() <= half_spacing + 1e-6
    counts = maps.assign(near=near).groupby(["agent", "group", "trial"], observed=True)["near"]
    return counts.sum().rename("target_units").reset_index()


def discrimination(trials: pd.DataFrame, first: int, last: int) -> pd.Series:
    """Per agent: hit rate minus false-alarm rate over trials ``first <= trial < last``."""
    rows = trials[(trials["trial"] >= first) & (trials["trial"] < last)]
    target = rows["is_target"].astype(bool)
    go = rows["response"].astype(bool)
    hits = (go & target).groupby(rows["agent"]).sum() / target.groupby(rows["agent"]).sum()
    alarms = (go & ~target).groupby(rows["agent"]).sum() / (~target).groupby(rows["agent"]).sum()
    return (hits - alarms).rename("discrimination")


def _sizes(counts: pd.DataFrame, group: str, trial: int) -> np.ndarray:
    rows = counts[(counts["group"] == group) & (counts["trial"] == trial)].sort_values("agent")
    return rows["target_units"].to_numpy(dtype=float)


def _tost_row(test: Any, group: str, quantity: str, n: int) -> dict[str, Any]:
    return {"group": group, "quantity": f"{quantity} (TOST: 90% interval, p)",
            "mean": test.difference, "ci_low": test.low, "ci_high": test.high, "n": n,
            "p": test.p}  # fmt: skip


def _map_verdicts(counts: pd.DataFrame, config: Config) -> tuple[dict, dict, list]:
    paired_end, end = config.pairing_trials, config.pairing_trials + config.training_trials
    margin, n = config.equivalence_margin, config.n_agents
    before = {g: _sizes(counts, g, 0) for g in GROUPS}
    expanded = {g: _sizes(counts, g, paired_end) for g in GROUPS}
    rows: list[dict[str, Any]] = []
    for group in GROUPS:
        for trial, label in ((0, "before training"), (paired_end, "end of pairing"),
                             (end, "end of training")):  # fmt: skip
            rows.append(ci_row(_sizes(counts, group, trial), group=group,
                               quantity=f"target units, {label}"))  # fmt: skip
    growth = mean_ci(expanded["paired"] - before["paired"])
    over_none = difference_ci(expanded["paired"] - before["paired"],
                              expanded["none"] - before["none"])  # fmt: skip
    rows.append(estimate_row(growth, n, group="paired",
                             quantity="target units, end of pairing - before"))  # fmt: skip
    rows.append(
        estimate_row(
            over_none,
            n,
            group="paired - none",
            quantity="growth of target units, difference (Welch 95%)",
        )
    )
    verdicts = {"expansion_with_pairing": growth[1] > config.expansion_margin and over_none[1] > 0}
    lines = {"expansion_with_pairing": (
        f"{_label('expansion_with_pairing')} paired: target units "
        f"{format_ci(*mean_ci(before['paired']), 1)} before -> "
        f"{format_ci(*mean_ci(expanded['paired']), 1)} at the end of pairing; growth "
        f"{format_ci(*growth, 1)} (CI > {config.expansion_margin:g}), minus none's "
        f"{format_ci(*over_none, 1)} (CI > 0)"
    )}  # fmt: skip
    for verdict, group in (("no_expansion_unpaired", "unpaired"),
                           ("no_expansion_without_stimulation", "none")):  # fmt: skip
        test = tost(expanded[group] - before[group], None, margin)
        rows.append(_tost_row(test, group, "target units, end of pairing - before", n))
        verdicts[verdict] = test.equivalent
        lines[verdict] = (f"{_label(verdict)} {group}: target units, end of pairing - before: "
                          f"{format_tost(test, margin)} units")  # fmt: skip
    renormalised = _sizes(counts, "paired", end)
    back = tost(renormalised - before["paired"], None, margin)
    shrink = mean_ci(expanded["paired"] - renormalised)
    rows.append(_tost_row(back, "paired", "target units, end of training - before", n))
    rows.append(
        estimate_row(
            shrink, n, group="paired", quantity="target units, end of pairing - end of training"
        )
    )
    verdicts["map_renormalises"] = back.equivalent and shrink[1] > 0
    lines["map_renormalises"] = (
        f"{_label('map_renormalises')} paired, {config.training_trials} trials after pairing: "
        f"target units - before {format_tost(back, margin)} units; expanded - renormalised "
        f"{format_ci(*shrink, 1)} (CI > 0)"
    )
    return verdicts, lines, rows


def _performance(trials: pd.DataFrame, config: Config) -> tuple[dict, dict, list]:
    paired_end, w = config.pairing_trials, config.window
    end = paired_end + config.training_trials
    paired = trials[trials["group"] == "paired"]
    expanded = discrimination(paired, paired_end - w, paired_end)
    renormalised = discrimination(paired, end - w, end)
    test = tost(renormalised.to_numpy() - expanded.to_numpy(), None, config.performance_margin)
    rows = [
        ci_row(expanded, group="paired", quantity=f"discrimination, last {w} trials of pairing"),
        ci_row(renormalised, group="paired",
               quantity=f"discrimination, last {w} trials of training (renormalised map)"),
        _tost_row(test, "paired", "discrimination, renormalised - expanded (paired)",
                  config.n_agents),
    ]  # fmt: skip
    verdicts = {"performance_stays": test.equivalent and mean_ci(expanded)[1] > 0}
    lines = {"performance_stays": (
        f"{_label('performance_stays')} paired: hit - false-alarm rate "
        f"{format_ci(*mean_ci(expanded))} with the expanded map (last {w} trials of pairing), "
        f"{format_ci(*mean_ci(renormalised))} with the renormalised one (last {w} trials); "
        "renormalised - expanded "
        f"{format_tost(test, config.performance_margin)}"
    )}  # fmt: skip
    return verdicts, lines, rows


def _descriptive_rows(trials: pd.DataFrame, config: Config) -> list[dict[str, Any]]:
    """Discrimination early in training (did the expansion help learning?), and at the end,
    for every group."""
    w, end = config.window, config.pairing_trials + config.training_trials
    early = {g: discrimination(trials[trials["group"] == g], 0, 2 * w) for g in GROUPS}
    rows = [ci_row(early[g], group=g, quantity=f"discrimination, first {2 * w} trials "
                   "(descriptive)") for g in GROUPS]  # fmt: skip
    rows.append(estimate_row(difference_ci(early["paired"].to_numpy(), early["none"].to_numpy()),
                             config.n_agents, group="paired - none",
                             quantity=f"discrimination, first {2 * w} trials, difference "
                             "(Welch 95%, descriptive)"))  # fmt: skip
    paired_end = config.pairing_trials
    for group in GROUPS:
        rows_g = trials[trials["group"] == group]
        after = discrimination(rows_g, paired_end, paired_end + w)
        rows.append(ci_row(after, group=group, quantity=f"discrimination, first {w} trials "
                           "after pairing, as the map shrinks (descriptive)"))  # fmt: skip
        late = discrimination(rows_g, end - w, end)
        rows.append(ci_row(late, group=group, quantity=f"discrimination, last {w} trials"))
    return rows


def speed_differences(
    trials: pd.DataFrame, group: str, first: int, last: int, control: str = "pre_none"
) -> np.ndarray:
    """Per agent (the same individuals in every Reed-protocol group): discrimination of
    ``group`` minus that of ``control`` over training trials ``first <= trial < last``."""
    own = discrimination(trials[trials["group"] == group], first, last).sort_index()
    none = discrimination(trials[trials["group"] == control], first, last).sort_index()
    if not own.index.equals(none.index):
        raise ValueError(f"speed_trials: groups {group!r} and {control!r} hold different agents")
    return (own - none).to_numpy()


def _speed_verdicts(
    trials: pd.DataFrame, maps: pd.DataFrame, config: Config
) -> tuple[dict, dict, list]:
    """The Reed protocol (pre-registered, see docs/experiments.md): the speed measure is each
    agent's discrimination over the first ``speed_trials`` training trials; groups are compared
    agent by agent with ``pre_none`` (paired t interval; TOST within ``speed_margin``)."""
    n_speed, margin, n = config.speed_trials, config.speed_margin, config.n_agents
    counts = target_units(maps, config)
    rows: list[dict[str, Any]] = []
    for group in SPEED_GROUPS:
        for trial, label in ((0, "start of training"),
                             (config.speed_training_trials, "end of training")):  # fmt: skip
            rows.append(ci_row(_sizes(counts, group, trial), group=group,
                               quantity=f"Reed protocol: target units, {label}"))  # fmt: skip
        rows_g = trials[trials["group"] == group]
        for first, last in ((0, n_speed), (n_speed, 2 * n_speed)):
            if last <= config.speed_training_trials:
                rows.append(ci_row(discrimination(rows_g, first, last), group=group,
                                   quantity=f"Reed protocol: discrimination, training trials "
                                   f"[{first}, {last})"))  # fmt: skip
    effect = mean_ci(speed_differences(trials, "pre_paired", 0, n_speed))
    rows.append(estimate_row(effect, n, group="pre_paired - pre_none",
                             quantity=f"discrimination, first {n_speed} training trials, "
                             "difference (paired t 95%)"))  # fmt: skip
    if 2 * n_speed <= config.speed_training_trials:
        later = mean_ci(speed_differences(trials, "pre_paired", n_speed, 2 * n_speed))
        quantity = (f"discrimination, training trials [{n_speed}, {2 * n_speed}), "
                    "difference (paired t 95%, descriptive)")  # fmt: skip
        rows.append(estimate_row(later, n, group="pre_paired - pre_none", quantity=quantity))
    verdicts = {"expansion_speeds_learning": bool(effect[1] > 0)}
    lines = {"expansion_speeds_learning": (
        f"{_label('expansion_speeds_learning')} Reed protocol: discrimination over the first "
        f"{n_speed} training trials, pre-paired - none (same agents) {format_ci(*effect)} "
        "(CI > 0)"
    )}  # fmt: skip
    controls = (("no_speedup_unpaired", "pre_unpaired", True, "pre_none"),
                ("no_speedup_after_renormalisation", "pre_paired_delayed", False, "pre_none"),
                ("no_speedup_after_renormalisation_matched", "pre_paired_delayed", False,
                 "pre_none_delayed"))  # fmt: skip
    for verdict, group, needs_effect, control in controls:
        test = tost(speed_differences(trials, group, 0, n_speed, control), None, margin)
        rows.append(_tost_row(test, f"{group} - {control}",
                              f"discrimination, first {n_speed} training trials", n))  # fmt: skip
        # An equivalence within the margin only contrasts with a speed-up larger than it (a
        # slowing is no speed-up to contrast with).
        informative = effect[0] > margin
        verdicts[verdict] = bool(test.equivalent and (informative or not needs_effect))
        lines[verdict] = (
            f"{_label(verdict)} Reed protocol: {group} - {control.removeprefix('pre_')}, first "
            f"{n_speed} training trials: "
            f"{format_tost(test, margin)}"
            + (f"; the pre-paired effect {effect[0]:+.2f} must exceed the margin"
               if needs_effect else "")
        )  # fmt: skip
    return verdicts, lines, rows


def _overlap_rows(responses: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Descriptive rows: the target's response energy and its overlap with the neighbouring
    tones at the start of training, pre-paired and pre-none (what a linear readout sees)."""
    if responses is None:
        return []
    names = {"own": "|y_target|^2", "neighbour_overlap": "y_target . y_neighbour",
             "neighbour_cosine": "cosine(y_target, y_neighbour)"}  # fmt: skip
    rows = []
    for group in ("pre_paired", "pre_none"):
        own = responses[responses["group"] == group]
        for column, label in names.items():
            rows.append(ci_row(own[column], group=group, quantity=f"Reed protocol: {label}, "
                               "start of training (descriptive)"))  # fmt: skip
    return rows


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    counts = target_units(records["maps"], config)
    map_verdicts, map_lines, map_rows = _map_verdicts(counts, config)
    perf_verdicts, perf_lines, perf_rows = _performance(records["trials"], config)
    missing = sorted({"speed_trials", "speed_maps"} - set(records))
    if missing:
        raise ValueError(
            f"map_plasticity records lack {missing} (the Reed protocol's tables; a run made "
            "before it was added?): re-run the experiment"
        )
    speed_verdicts, speed_lines, speed_rows = _speed_verdicts(
        records["speed_trials"], records["speed_maps"], config
    )
    speed_rows += _overlap_rows(records.get("speed_responses"))
    rows = [*map_rows, *perf_rows, *_descriptive_rows(records["trials"], config), *speed_rows]
    return {"verdicts": {**map_verdicts, **perf_verdicts, **speed_verdicts},
            "lines": {**map_lines, **perf_lines, **speed_lines},
            "table": pd.DataFrame(rows), "counts": counts, "config": config}  # fmt: skip


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Target units over trials per group; discrimination over trials per group; the
    distribution of best frequencies in the paired group before, at the end of pairing and at
    the end of training."""
    plt = pyplot()
    config = result["config"]
    counts = result.get("counts")
    if counts is None:
        counts = target_units(records["maps"], config)
    fig, axes = plt.subplots(1, 4, figsize=(21, 4.5))
    ax = axes[0]
    for group in GROUPS:
        rows = counts[counts["group"] == group]
        stats_ = rows.groupby("trial")["target_units"].apply(mean_ci)
        trials = stats_.index.to_numpy()
        means = np.array([s[0] for s in stats_])
        ax.plot(trials, means, marker="o", ms=3, label=group)
        ax.fill_between(trials, [s[1] for s in stats_], [s[2] for s in stats_], alpha=0.2)
    ax.axvline(config.pairing_trials, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("trial (dashed: end of pairing)")
    ax.set_ylabel("units tuned to the target (mean, 95% CI)")
    ax.legend(fontsize=8)
    ax = axes[1]
    trials_table = records["trials"]
    total = config.pairing_trials + config.training_trials
    edges = np.arange(0, total + 1, max(config.window // 2, 1))
    for group in GROUPS:
        rows = trials_table[trials_table["group"] == group]
        means = [discrimination(rows, a, b).mean() for a, b in itertools.pairwise(edges)]
        ax.plot(0.5 * (edges[:-1] + edges[1:]), means, marker="o", ms=3, label=group)
    ax.axvline(config.pairing_trials, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("trial")
    ax.set_ylabel("hit - false-alarm rate (mean over agents)")
    ax.legend(fontsize=8)
    ax = axes[2]
    maps = records["maps"]
    paired = maps[maps["group"] == "paired"]
    bins = np.linspace(0.0, 1.0, 26)
    for trial, label, style in ((0, "before", "-"), (config.pairing_trials, "end of pairing", "-"),
                                (total, "end of training", "--")):  # fmt: skip
        values = paired[paired["trial"] == trial]["best_frequency"]
        ax.hist(values, bins=bins, histtype="step", density=True, label=label, ls=style, lw=1.5)
    ax.axvline(target_position(config), color="k", lw=0.8, ls=":")
    ax.set_xlabel("best frequency (paired group, all units)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax = axes[3]
    speed = records["speed_trials"]
    edges = np.arange(0, config.speed_training_trials + 1, max(config.speed_trials // 3, 1))
    for group in SPEED_GROUPS:
        rows = speed[speed["group"] == group]
        means = [discrimination(rows, a, b).mean() for a, b in itertools.pairwise(edges)]
        ax.plot(0.5 * (edges[:-1] + edges[1:]), means, marker="o", ms=3, label=group)
    ax.axvline(config.speed_trials, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("training trial, Reed protocol (dashed: end of the speed window)")
    ax.set_ylabel("hit - false-alarm rate (mean over agents)")
    ax.legend(fontsize=8)
    return [save_figure(fig, Path(out_dir) / "map_plasticity.png")]


__all__ = [
    "Config",
    "FrozenLearner",
    "analyse",
    "discrimination",
    "plot",
    "response_overlaps",
    "run",
    "speed_differences",
    "speed_protocol",
    "target_units",
]
