"""Synaptic tagging and capture in the tag-trigger-consolidation synapse (Frey & Morris 1997,
1998; Clopath, Ziegler, Vasilaki, Busing & Gerstner 2008).

**Preparation.** A population of hippocampal "slices": each is one neuron with two pathways of
100 synapses (the paper's 2 x 100), a weak pathway W and a strong pathway S, whose synapses
follow :func:`plasticgym.consolidation.tag_and_capture` with the paper's constants and sampled
binary early states (tags). 30% of each pathway's late weights start in the up state
(``z = 1``, as in the paper's model code). Slices differ: each has its own induction efficacy
(log-normal, CV ``induction_cv``) and its own tag, protein and consolidation time constants
(log-normal around the paper's values, CV ``time_constant_cv``), and its synapses' tags are
sampled, so the confidence intervals describe a population, not one run copied. Steps of
``dt`` seconds. The field potential of a pathway is the sum of its synapses' weights
``w_0 + g_H h - g_L l + g_z z``, reported as % change from the slice's baseline.

**Induction** (how pulses become the early-phase change: a simple model, not the paper's
voltage-based rule). A tetanus evokes pre- and postsynaptic activity together at every pulse,
and each pulse adds ``C = 1`` to a calcium-like trace ``c`` of the pathway's synapses, which
decays with ``tau_Ca = 20 ms``. The time ``T_p`` that ``c`` spends above ``theta_p = 1.3``
during a train (computed exactly from the pulse times) sets the probability that a neutral
synapse is potentiated (tagged), ``rho_H = 1 - exp(-eta T_p)``; a slice's efficacy ``eta`` is
``induction_rate`` (2.9 /s) times its log-normal factor. At 100 Hz the trace is above the
threshold from the second pulse on: the weak tetanus (21 pulses) spends 0.20 s above it and
tags about 43% of W, each train of the strong tetanus (3 x 100 pulses, 10 min apart) 0.99 s
(about 94% per train), which tags nearly all of S. At 1 Hz the trace never reaches it. The
change is proposed to the synapse as ``dw = g_H rho_H`` in the step of the train. Protein
synthesis starts when more than 30% of the neuron's 200 synapses are tagged (the paper's 60
of 200): the strong tetanus does it, the weak one does not.

**Groups** (times from the first tetanus; a strong tetanus's time is that of its first train):

- ``weak_alone``, ``strong_alone``;
- ``weak_then_strong_<interval>``: W weak, then S strong after 5 min, 30 min, 1 h, 2 h, 3 h, 4 h
  (Frey & Morris 1998, "weak before strong");
- ``strong_then_weak_<interval>``: S strong, then W weak after 30 min (Frey & Morris 1997; the
  paper's second pathway 30 min after the first), 1 h, 2 h, 3 h;
- ``blocker``: as ``strong_then_weak_30min`` with a protein-synthesis blocker (anisomycin:
  ``p`` held at 0) from 30 min before to 2 h after the strong tetanus;
- ``no_capture`` (the control that removes the mechanism): as ``strong_then_weak_30min`` with
  the capture term off (``gamma = 0``);
- ``weak_then_dopamine_30min``: W weak, then no strong tetanus but a 1 h dopamine (novelty)
  signal above the synthesis threshold of the neuromodulatory trigger (Ziegler et al. 2015),
  starting 30 min later.

**Measures.** Early LTP: a pathway's mean potentiation 5-15 min after its tetanus; late LTP:
8-10 h after its tetanus. The capture of W in a group is its late LTP minus that of
``weak_alone`` (Welch 95% interval).

**Verdicts** are labelled ``mechanism check`` (holds by the equations: tests that the code
does what the equations say) or ``finding`` (follows from the dynamics and the parameters, and
could fail). "No effect" and "abolished" claims are two one-sided tests (TOST, Welch, 90%
interval inside ``+-EQUIVALENCE_MARGIN`` percentage points), with a margin smaller than the
effect it is contrasted with (checked too). The numbers the model shares with the paper (tag
lifetime, protein rise and decay times) are measured from the time courses and compared with
the paper's values within stated tolerances (the result table's ``paper`` column); the
amplitudes of the paper's figures are not compared (see docs/experiments.md).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from plasticgym.consolidation import TagCaptureState, block_protein_synthesis, tag_and_capture
from plasticgym.experiments.report import label as verdict_label
from plasticgym.experiments.report import pyplot, save_figure
from plasticgym.experiments.stats import (
    Equivalence,
    ci_row,
    difference_ci,
    estimate_row,
    format_ci,
    format_tost,
    mean_ci,
    tost,
)
from plasticgym.plasticity import PlasticitySignals, PlasticityTransform

NAME = "tag_capture"
DESCRIPTION = (
    "tag-trigger-consolidation synapse: weak early LTP decays, is captured by a strong tetanus "
    "on another pathway within ~1 h but not after 3 h or under a protein-synthesis blocker "
    "(Frey & Morris 1997/98; Clopath 2008)"
)

HOUR = 3600.0
MINUTE = 60.0

# Constants of the tag-trigger-consolidation model (Clopath et al. 2008, ModelDB 118199).
TAU_H = 3600.0  # lifetime of the up (LTP) early state / tag, s
TAU_L = 5400.0  # lifetime of the down (LTD) early state / tag, s
TAU_P_RISE = 360.0  # protein synthesis, s
TAU_P_DECAY = 3600.0  # protein degradation, s
TAU_Z = 360.0  # consolidation, s
TAG_THRESHOLD = 0.3  # 60 of 200 synapses
GAMMA = 0.1
KAPPA = 0.5
W0, G_H, G_L, G_Z = 1.0, 1.0, 0.5, 2.0

# Induction (this module's calcium-like model).
TAU_CA = 0.02  # s
CALCIUM_PER_PULSE = 1.0
THETA_P = 1.3


@dataclass(frozen=True)
class Config:
    """What to run: ``n_agents`` slices per group (see the module docstring for the groups).

    ``dt`` is the step in seconds; ``follow_h`` the hours followed after the last tetanus of
    the longest protocol; the time course is recorded every ``record_minutes``, the protein
    level of ``strong_alone`` every minute (for its time constants)."""

    n_agents: int = 32
    seed: int = 0
    dt: float = 10.0
    synapses_per_pathway: int = 100
    up_fraction: float = 0.3
    weak_pulses: int = 21
    strong_pulses: int = 100
    strong_trains: int = 3
    frequency: float = 100.0
    train_interval_minutes: float = 10.0
    induction_rate: float = 2.9
    induction_cv: float = 0.15
    time_constant_cv: float = 0.1
    weak_before_strong_h: tuple[float, ...] = (5 / 60, 0.5, 1.0, 2.0, 3.0, 4.0)
    strong_before_weak_h: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)
    pair_interval_h: float = 0.5
    blocker_h: tuple[float, float] = (-0.5, 2.0)
    dopamine_delay_h: float = 0.5
    dopamine_minutes: float = 60.0
    dopamine_threshold: float = 0.5
    baseline_h: float = 0.5
    follow_h: float = 10.0
    record_minutes: float = 5.0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not (isinstance(self.n_agents, int) and self.n_agents >= 2):
            raise ValueError(f"n_agents={self.n_agents!r} is invalid: an integer >= 2")
        if not 0 < self.dt <= TAU_Z / 8:
            raise ValueError(f"dt={self.dt!r} is invalid: in (0, {TAU_Z / 8:g}] seconds")
        if self.pair_interval_h not in self.strong_before_weak_h:
            raise ValueError(
                f"pair_interval_h={self.pair_interval_h!r} must be one of strong_before_weak_h="
                f"{self.strong_before_weak_h!r} (the blocker and no_capture groups copy it)"
            )
        if 5 / 60 not in self.weak_before_strong_h or not any(
            d >= 3.0 for d in self.weak_before_strong_h
        ):
            raise ValueError(
                f"weak_before_strong_h={self.weak_before_strong_h!r} needs 5 min (5 / 60) and an "
                "interval >= 3 h (the window verdicts)"
            )
        if 1.0 not in self.weak_before_strong_h or 1.0 not in self.strong_before_weak_h:
            raise ValueError("weak_before_strong_h and strong_before_weak_h need 1.0 (1 h)")
        if not any(d >= 3.0 for d in self.strong_before_weak_h):
            raise ValueError("strong_before_weak_h needs an interval >= 3 h")
        if not -self.baseline_h <= self.blocker_h[0] < self.blocker_h[1]:
            raise ValueError(
                f"blocker_h={self.blocker_h!r} is invalid: need -baseline_h <= start < end"
            )
        if self.follow_h < 10.0:
            raise ValueError(f"follow_h={self.follow_h!r} is invalid: >= 10 (late LTP at 8-10 h)")

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 5 s on 2 CPU cores): 24 slices per group, 30 s steps, the
        intervals of the verdicts only (5 min, 1 h, 3 h; 30 min, 1 h, 3 h)."""
        short = {"n_agents": 24, "dt": 30.0, "weak_before_strong_h": (5 / 60, 1.0, 3.0),
                 "strong_before_weak_h": (0.5, 1.0, 3.0)}  # fmt: skip
        return cls(**{**short, **overrides})


class Protocol(NamedTuple):
    """One group: times (hours from the first tetanus) of the weak tetanus on W, of the
    strong tetanus's first train on S and of the dopamine pulse (None: not given), the blocker
    window (hours, or None) and the capture strength ``gamma``."""

    name: str
    weak_h: float | None
    strong_h: float | None
    dopamine_h: float | None = None
    blocker_h: tuple[float, float] | None = None
    gamma: float = GAMMA


def interval_name(hours: float) -> str:
    """``5min``, ``30min``, ``1h``, ``2.5h``."""
    if hours < 1.0:
        return f"{round(hours * 60)}min"
    return f"{hours:g}h"


def pair_group(config: Config) -> str:
    """The pairing the blocker and ``no_capture`` groups copy: S strong, then W weak
    ``pair_interval_h`` later."""
    return "strong_then_weak_" + interval_name(config.pair_interval_h)


def protocols(config: Config) -> list[Protocol]:
    """The groups of the experiment, in order."""
    out = [Protocol("weak_alone", 0.0, None), Protocol("strong_alone", None, 0.0)]
    out += [Protocol(f"weak_then_strong_{interval_name(d)}", 0.0, d)
            for d in config.weak_before_strong_h]  # fmt: skip
    out += [Protocol(f"strong_then_weak_{interval_name(d)}", d, 0.0)
            for d in config.strong_before_weak_h]  # fmt: skip
    out += [
        Protocol("blocker", config.pair_interval_h, 0.0, blocker_h=config.blocker_h),
        Protocol("no_capture", config.pair_interval_h, 0.0, gamma=0.0),
        Protocol("weak_then_dopamine_" + interval_name(config.dopamine_delay_h), 0.0, None,
                 dopamine_h=config.dopamine_delay_h),
    ]  # fmt: skip
    return out


def calcium_time_above(
    pulses: int, frequency: float, threshold: float, tau: float = TAU_CA
) -> float:
    """Seconds that a calcium-like trace spends above ``threshold`` during and after a train
    of ``pulses`` at ``frequency`` Hz, each adding ``CALCIUM_PER_PULSE`` to a trace that decays
    with ``tau``: after pulse ``k`` the trace is ``c_k = c_{k-1} exp(-1 / (f tau)) + C`` and
    stays above ``theta`` for ``min(1 / f, tau ln(c_k / theta))`` (the last pulse: until it has
    decayed)."""
    interval = 1.0 / frequency
    decay = math.exp(-interval / tau)
    c, total = 0.0, 0.0
    for k in range(pulses):
        c = c * decay + CALCIUM_PER_PULSE
        if c > threshold:
            above = tau * math.log(c / threshold)
            total += above if k == pulses - 1 else min(interval, above)
    return total


def tagging_probability(pulses: int, frequency: float, efficacy: np.ndarray) -> np.ndarray:
    """Probability that a neutral synapse is potentiated (tagged) by one train:
    ``rho_H = 1 - exp(-eta T_p)`` with ``T_p`` from :func:`calcium_time_above`."""
    return -np.expm1(-efficacy * calcium_time_above(pulses, frequency, THETA_P))


class Slices(NamedTuple):
    """The population: one row per slice (group, agent and its parameters) and the tensors of
    per-slice parameters."""

    table: pd.DataFrame
    params: dict[str, torch.Tensor]


def make_slices(config: Config) -> Slices:
    """Every group's slices with their individual parameters (drawn from ``config.seed``)."""
    groups = protocols(config)
    n = config.n_agents * len(groups)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 13]))

    def lognormal(cv: float) -> np.ndarray:
        sigma = math.sqrt(math.log1p(cv**2))
        return np.exp(rng.normal(-0.5 * sigma**2, sigma, n))

    efficacy = config.induction_rate * lognormal(config.induction_cv)
    columns = {
        "group": np.repeat([g.name for g in groups], config.n_agents),
        "agent": np.tile(np.arange(config.n_agents), len(groups)),
        "efficacy": efficacy,
        "rho_weak": tagging_probability(config.weak_pulses, config.frequency, efficacy),
        "rho_strong": tagging_probability(config.strong_pulses, config.frequency, efficacy),
    }
    for name, value in (("tau_h", TAU_H), ("tau_l", TAU_L), ("tau_p_rise", TAU_P_RISE),
                        ("tau_p_decay", TAU_P_DECAY), ("tau_z", TAU_Z)):  # fmt: skip
        columns[name] = value * lognormal(config.time_constant_cv)
    columns["gamma"] = np.repeat([g.gamma for g in groups], config.n_agents)
    table = pd.DataFrame(columns)
    params = {
        name: torch.tensor(table[name].to_numpy(), dtype=torch.float32, device=config.device)
        for name in ("tau_h", "tau_l", "tau_p_rise", "tau_p_decay", "tau_z", "gamma")
    }
    return Slices(table, params)


def schedule(config: Config, groups: list[Protocol]) -> dict[str, Any]:
    """Step indices of the events: ``trains`` ``{step: [(group index, pathway, kind)]}``,
    ``dopamine`` ``(first, last)`` steps per group, ``blocker`` ``{step: [(group, on)]}``,
    the number of steps and the step of the first tetanus."""
    dt = config.dt
    start = round(config.baseline_h * HOUR / dt)

    def step(hours: float) -> int:
        return start + round(hours * HOUR / dt)

    trains: dict[int, list[tuple[int, int, str]]] = {}
    blocker: dict[int, list[tuple[int, bool]]] = {}
    dopamine: dict[int, tuple[int, int]] = {}
    last_event = 0.0
    for g, protocol in enumerate(groups):
        if protocol.weak_h is not None:
            trains.setdefault(step(protocol.weak_h), []).append((g, 0, "weak"))
            last_event = max(last_event, protocol.weak_h)
        if protocol.strong_h is not None:
            for k in range(config.strong_trains):
                hours = protocol.strong_h + k * config.train_interval_minutes / 60
                trains.setdefault(step(hours), []).append((g, 1, "strong"))
                last_event = max(last_event, hours)
        if protocol.dopamine_h is not None:
            first = step(protocol.dopamine_h)
            dopamine[g] = (first, first + round(config.dopamine_minutes * MINUTE / dt))
        if protocol.blocker_h is not None:
            blocker.setdefault(step(protocol.blocker_h[0]), []).append((g, True))
            blocker.setdefault(step(protocol.blocker_h[1]), []).append((g, False))
    steps = step(last_event + config.follow_h) + 1
    return {"trains": trains, "dopamine": dopamine, "blocker": blocker, "steps": steps,
            "start": start}  # fmt: skip


def make_rule(
    config: Config, params: dict[str, torch.Tensor], generator: torch.Generator
) -> PlasticityTransform:
    """The slices' synapse: :func:`plasticgym.consolidation.tag_and_capture` with the paper's
    constants and each slice's own time constants and ``gamma`` (``params``, see
    :func:`make_slices`), sampling its tags from ``generator``."""
    return tag_and_capture(
        config.dt,
        tau_h=params["tau_h"],
        tau_l=params["tau_l"],
        tau_p_rise=params["tau_p_rise"],
        tau_p_decay=params["tau_p_decay"],
        tau_z=params["tau_z"],
        tag_threshold=TAG_THRESHOLD,
        dopamine_threshold=config.dopamine_threshold,
        gamma=params["gamma"],
        kappa=KAPPA,
        early_gain=G_H,
        depressed_gain=G_L,
        late_gain=G_Z,
        generator=generator,
    )


def initial_state(
    rule: PlasticityTransform, weights: torch.Tensor, up_fraction: float, seed: Any
) -> TagCaptureState:
    """The rule's initial state with a fraction ``up_fraction`` of the late weights up
    (``z = 1``; drawn from ``seed``)."""
    state = rule.init(weights)
    up = np.random.default_rng(seed).random(tuple(weights.shape)) < up_fraction
    return state._replace(z=torch.tensor(up, dtype=torch.float32, device=weights.device))


def resting_signals(n_slices: int, n_pre: int, device: torch.device) -> PlasticitySignals:
    """The signals of a step without dopamine: zero activity, every slice active."""
    return PlasticitySignals(
        pre=torch.zeros(n_slices, n_pre, device=device),
        post=torch.zeros(n_slices, 1, device=device),
        dopamine=torch.zeros(n_slices, device=device),
        rate=torch.zeros(n_slices, 1, device=device),
        active=torch.ones(n_slices, dtype=torch.bool, device=device),
    )


def pathway_weights(state: TagCaptureState) -> torch.Tensor:
    """Each pathway's field potential: the sum of its synapses' weights ``w_0 + g_H h - g_L l
    + g_z z``, ``[B, 2]`` (W, then S)."""
    w = W0 + G_H * state.high - G_L * state.low + G_Z * state.z
    return w[:, 0].reshape(w.shape[0], 2, -1).sum(-1)


def proposed_change(
    trains: Any, rho: dict[str, torch.Tensor], no_change: torch.Tensor, n_agents: int
) -> torch.Tensor:
    """The proposed change of one step: ``g_H rho`` on the pathway of every group with a train
    (``trains``: ``[(group index, pathway, kind)]``); ``no_change`` (zeros) without a train."""
    if not trains:
        return no_change
    dw = torch.zeros_like(no_change)
    n = no_change.shape[-1] // 2
    for g, pathway, kind in trains:
        rows = slice(g * n_agents, (g + 1) * n_agents)
        cols = slice(pathway * n, (pathway + 1) * n)
        dw[rows, :, cols] = G_H * rho[kind][rows].view(-1, 1, 1)
    return dw


def apply_blocker(state: TagCaptureState, events: Any, group_of: torch.Tensor) -> TagCaptureState:
    """Apply or wash out the blocker in the groups of ``events`` (``[(group index, on)]``)."""
    for g, on in events:
        blocked = torch.where(group_of == g, torch.tensor(on, device=group_of.device),
                              state.blocked)  # fmt: skip
        state = block_protein_synthesis(state, blocked)
    return state


def dopamine_at(
    k: int, windows: dict[int, tuple[int, int]], group_of: torch.Tensor
) -> torch.Tensor:
    """Dopamine of step ``k``, ``[B]``: 1 in the groups whose window ``[first, last)`` holds
    it, 0 elsewhere."""
    dopamine = torch.zeros(group_of.shape, device=group_of.device)
    for g, (first, last) in windows.items():
        if first <= k < last:
            dopamine = dopamine + (group_of == g).float()
    return dopamine


def hours(steps: list[int], start: int, dt: float) -> np.ndarray:
    """Hours from the first tetanus at the end of each step."""
    return (np.asarray(steps) + 1 - start) * dt / HOUR


def timecourse_table(values: np.ndarray, times: np.ndarray, slices: pd.DataFrame) -> pd.DataFrame:
    """The recorded time course (``values [T, B, 3]``: W and S potentiation as fractions, and
    ``p``) as rows ``group, agent, time_h, weak_pathway, strong_pathway`` (in %), ``protein``."""
    return pd.DataFrame({
        "group": np.tile(slices["group"].to_numpy(), len(times)),
        "agent": np.tile(slices["agent"].to_numpy(), len(times)),
        "time_h": np.repeat(times, len(slices)),
        "weak_pathway": 100.0 * values[:, :, 0].reshape(-1),
        "strong_pathway": 100.0 * values[:, :, 1].reshape(-1),
        "protein": values[:, :, 2].reshape(-1),
    })  # fmt: skip


def protein_table(values: np.ndarray, times: np.ndarray, n_agents: int) -> pd.DataFrame:
    """The minute-by-minute protein level of ``strong_alone`` (``values [T, n_agents]``) as
    rows ``agent, time_h, protein``."""
    return pd.DataFrame({
        "agent": np.tile(np.arange(n_agents), len(times)),
        "time_h": np.repeat(times, n_agents),
        "protein": values.reshape(-1),
    })  # fmt: skip


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """Simulate every group; returns ``{"timecourse", "protein", "slices"}``: the potentiation
    of both pathways and the protein level per slice every ``record_minutes`` (``time_h`` from
    the first tetanus), the protein level of ``strong_alone`` every minute for 4 h, and the
    slices' parameters."""
    del out_dir, progress_bar  # nothing but the records; a few seconds
    groups = protocols(config)
    slices = make_slices(config)
    plan = schedule(config, groups)
    device = torch.device(config.device)
    n_slices, n_pre = len(slices.table), 2 * config.synapses_per_pathway
    seeds = np.random.SeedSequence([config.seed, 17]).generate_state(2)
    rule = make_rule(config, slices.params,
                     torch.Generator(device=device).manual_seed(int(seeds[0])))  # fmt: skip
    weights = torch.zeros(n_slices, 1, n_pre, device=device)
    no_change = torch.zeros_like(weights)
    state = initial_state(rule, weights, config.up_fraction, seeds[1])
    rho = {kind: torch.tensor(slices.table[f"rho_{kind}"].to_numpy(), dtype=torch.float32,
                              device=device) for kind in ("weak", "strong")}  # fmt: skip
    signals = resting_signals(n_slices, n_pre, device)
    group_of = torch.arange(n_slices, device=device) // config.n_agents
    strong_alone = [g.name for g in groups].index("strong_alone")
    fine_rows = slice(strong_alone * config.n_agents, (strong_alone + 1) * config.n_agents)

    baseline = pathway_weights(state)
    every = round(config.record_minutes * MINUTE / config.dt)
    fine_every = round(MINUTE / config.dt)
    fine_until = plan["start"] + round(4 * HOUR / config.dt)
    coarse, coarse_steps, fine, fine_steps = [], [], [], []
    for k in range(plan["steps"]):
        dw = proposed_change(plan["trains"].get(k, ()), rho, no_change, config.n_agents)
        state = apply_blocker(state, plan["blocker"].get(k, ()), group_of)
        step_signals = signals._replace(dopamine=dopamine_at(k, plan["dopamine"], group_of))
        _, state = rule.update(dw, state, weights, step_signals)
        if k % every == 0:
            coarse.append(torch.cat([pathway_weights(state) / baseline - 1.0, state.p], dim=1))
            coarse_steps.append(k)
        if k % fine_every == 0 and k <= fine_until:
            fine.append(state.p[fine_rows, 0])
            fine_steps.append(k)

    times = hours(coarse_steps, plan["start"], config.dt)
    timecourse = timecourse_table(torch.stack(coarse).cpu().numpy(), times, slices.table)
    fine_times = hours(fine_steps, plan["start"], config.dt)
    protein = protein_table(torch.stack(fine).cpu().numpy(), fine_times, config.n_agents)
    return {"timecourse": timecourse, "protein": protein, "slices": slices.table}


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------

EARLY_WINDOW = (5 / 60, 0.25)  # hours after a pathway's tetanus
LATE_WINDOW = (8.0, 10.0)
DECAYED_AT = (2.75, 3.25)  # "within ~3 h"
EARLY_LTP = 10.0  # % : early LTP present
LATE_LTP = 20.0  # % : strong-pathway late LTP persists
CAPTURE = 3.0  # % : a capture effect (late LTP of W over weak_alone) that "works"
WINDOW_CLOSED = 1 / 3  # capture at >= 3 h: CI below this fraction of the capture at 5 min
EQUIVALENCE_MARGIN = 5.0  # % : TOST margin for "no effect" / "abolished"
TAU_TOLERANCE = 0.15  # fitted tag lifetime within 15% of the paper's 1 h
PROTEIN_TOLERANCE = 0.2  # protein rise / decay times within 20% of the paper's 6 min / 1 h
SELF_CONSISTENCY = 0.15  # measured / the slice's own constant within 15% (sampled tags)

KIND = {
    "weak_alone_decays": "finding",
    "strong_alone_persists": "finding",
    "weak_captured_after_strong": "finding",
    "weak_before_strong_captured": "finding",
    "weak_before_strong_window_closes": "finding",
    "strong_before_weak_captured": "finding",
    "strong_before_weak_window_closes": "finding",
    "blocker_abolishes_capture": "finding",
    "dopamine_triggers_capture": "finding",
    "no_capture_control": "mechanism check",
    "tag_lifetime": "mechanism check",
    "protein_time_constants": "mechanism check",
}
"""Each verdict's label: ``mechanism check`` (holds by the equations) or ``finding``."""


def window_mean(
    timecourse: pd.DataFrame, group: str, column: str, start_h: float, window: tuple[float, float]
) -> np.ndarray:
    """Per agent of ``group``: the mean of ``column`` from ``start_h + window[0]`` to
    ``start_h + window[1]`` hours (inclusive)."""
    rows = timecourse[timecourse["group"] == group]
    t = rows["time_h"] - start_h
    inside = rows[(t >= window[0] - 1e-9) & (t <= window[1] + 1e-9)]
    return inside.groupby("agent")[column].mean().sort_index().to_numpy()


def decay_time_constants(timecourse: pd.DataFrame, until_h: float = 8.0) -> np.ndarray:
    """Per agent of ``weak_alone``: the time constant (hours) of the weak pathway's early LTP,
    estimated as its area over its initial value, ``int_0^T P(t) dt / P(0+)`` (trapezoids over
    the records up to ``until_h``). Without capture the potentiation counts the synapses still
    tagged, each of which stays tagged for an exponential time of mean ``tau_H``, so this is
    the maximum-likelihood estimate of ``tau_H`` from the synapses' lifetimes (up to the
    sampling of the records)."""
    rows = timecourse[(timecourse["group"] == "weak_alone")
                      & timecourse["time_h"].between(0.0, until_h)]  # fmt: skip
    out = []
    for _, agent in rows.groupby("agent"):
        agent = agent.sort_values("time_h")
        t, value = agent["time_h"].to_numpy(), agent["weak_pathway"].to_numpy()
        area = float(np.sum((value[1:] + value[:-1]) * np.diff(t)) / 2 + value[0] * t[0])
        out.append(area / value[0])
    return np.asarray(out)


def protein_time_constants(protein: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per agent of ``strong_alone``, from its minute-by-minute protein level: the rise time
    (hours from the first train until ``p`` reaches ``1 - 1/e`` of its peak; linear
    interpolation) and the decay time constant (``-1 / slope`` of log ``p`` on time from 15 min
    after the peak for 90 min)."""
    rises, decays = [], []
    for _, agent in protein.groupby("agent"):
        t, p = agent["time_h"].to_numpy(), agent["protein"].to_numpy()
        after = t >= 0
        t, p = t[after], p[after]
        peak = int(np.argmax(p))
        target = (1 - math.exp(-1)) * p[peak]
        i = int(np.argmax(p >= target))
        rises.append(t[i - 1] + (target - p[i - 1]) / (p[i] - p[i - 1]) * (t[i] - t[i - 1]))
        fit = (t >= t[peak] + 0.25) & (t <= t[peak] + 1.75)
        decays.append(-1.0 / np.polyfit(t[fit], np.log(p[fit]), 1)[0])
    return np.asarray(rises), np.asarray(decays)


Estimate = tuple[float, float, float]
"""A mean (or difference) and its 95% interval."""


def difference(a: np.ndarray, b: np.ndarray) -> Estimate:
    """Mean of ``a`` minus mean of ``b`` with Welch's 95% interval
    (:func:`plasticgym.experiments.stats.difference_ci`); exact when neither group varies
    (e.g. both without any late LTP), where the t interval is undefined."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        value = float(a.mean() - b.mean())
        return value, value, value
    return difference_ci(a, b)


def _label(verdict: str) -> str:
    return verdict_label(KIND[verdict])


def _captured(captures: dict[str, Estimate], names: list[str]) -> tuple[bool, str]:
    """Every named group's capture has its CI above ``CAPTURE``; the text lists them."""
    ok = all(captures[name][1] > CAPTURE for name in names)
    text = ", ".join(f"{name} {format_ci(*captures[name], 1)}" for name in names)
    return ok, f"{text} (need CI > {CAPTURE:g})"


def _closed(captures: dict[str, Estimate], names: list[str], reference: str) -> tuple[bool, str]:
    """Every named group's capture has its CI below ``WINDOW_CLOSED`` times the mean capture
    of ``reference`` (weak or absent)."""
    limit = WINDOW_CLOSED * captures[reference][0]
    ok = all(captures[name][2] < limit for name in names)
    text = ", ".join(f"{name} {format_ci(*captures[name], 1)}" for name in names)
    return ok, f"{text} (need CI < {limit:.1f} = {WINDOW_CLOSED:.2g} x {reference}'s)"


def _within(estimate: Estimate, tolerance: float) -> bool:
    """The interval lies within ``1 +- tolerance``."""
    return abs(estimate[1] - 1.0) < tolerance and abs(estimate[2] - 1.0) < tolerance


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Verdicts (labels in :data:`KIND`; margins in the module's constants), the result table
    and the numbers the figures need."""
    tc, slices = records["timecourse"], records["slices"]
    groups = {g.name: g for g in protocols(config)}
    alone_late = late_ltp(tc, groups["weak_alone"], "weak")
    captures, capture_rows = capture_estimates(tc, groups, alone_late)
    pair = pair_group(config)
    weak = analyse_weak_alone(tc, alone_late)
    strong = analyse_strong_alone(tc, groups["strong_alone"])
    capture = analyse_capture(captures, late_ltp(tc, groups[pair], "weak"), config)
    abolished = analyse_abolished(tc, groups, alone_late, captures, config)
    dopamine = analyse_dopamine(captures, config)
    lifetime = analyse_tag_lifetime(tc, slices)
    protein = analyse_protein(records["protein"], slices)
    parts = (weak, strong, capture, abolished, dopamine, lifetime, protein)
    rows = [*weak.rows, *strong.rows, *capture_rows, *abolished.rows, *lifetime.rows,
            *protein.rows]  # fmt: skip
    return {"verdicts": {name: ok for part in parts for name, ok in part.verdicts.items()},
            "table": result_table(rows),
            "lines": {name: line for part in parts for name, line in part.lines.items()},
            "window": window_table(captures, config), "config": config,
            "verdict_kinds": dict(KIND)}  # fmt: skip


class PartResult(NamedTuple):
    """What the analysis of one part returns: its verdicts (``{signature: bool}``), one line
    per verdict and its rows of the result table (as the addiction experiment's parts do)."""

    verdicts: dict[str, bool]
    lines: dict[str, str]
    rows: list[dict[str, Any]]


def late_ltp(timecourse: pd.DataFrame, protocol: Protocol, pathway: str) -> np.ndarray:
    """Per agent of the group: the late LTP of the ``pathway`` (``weak`` or ``strong``), its
    mean potentiation in ``LATE_WINDOW`` after its tetanus."""
    start = protocol.weak_h if pathway == "weak" else protocol.strong_h
    return window_mean(timecourse, protocol.name, f"{pathway}_pathway", start, LATE_WINDOW)


def table_row(values: Any, part: str, quantity: str, kind: str = "", **extra: Any) -> dict:
    """A result-table row: mean and 95% interval of ``values``, with its ``kind`` and any
    ``extra`` columns (``paper``)."""
    return {**ci_row(values, part=part, quantity=quantity), "kind": kind, **extra}


def tost_table_row(test: Equivalence, part: str, quantity: str, kind: str, n: int) -> dict:
    """A result-table row of a :func:`tost`: the difference, its 90% interval and ``p``."""
    return {"part": part, "quantity": f"{quantity} (TOST: 90% interval, p)", "kind": kind,
            "mean": test.difference, "ci_low": test.low, "ci_high": test.high, "n": n,
            "p": test.p}  # fmt: skip


def result_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as the result table, ``kind`` and ``paper`` empty where not given."""
    table = pd.DataFrame(rows)
    for column in ("kind", "paper"):
        table[column] = table[column].fillna("") if column in table else ""
    columns = ["part", "quantity", "kind", "mean", "ci_low", "ci_high", "n", "p", "paper"]
    return table[columns]


def analyse_weak_alone(tc: pd.DataFrame, alone_late: np.ndarray) -> PartResult:
    """Weak tetanus alone: early LTP that is back at baseline by 3 h; no late LTP
    (``alone_late``: its :func:`late_ltp`)."""
    name = "weak_alone_decays"
    kind = KIND[name]
    early = window_mean(tc, "weak_alone", "weak_pathway", 0.0, EARLY_WINDOW)
    at_3h = window_mean(tc, "weak_alone", "weak_pathway", 0.0, DECAYED_AT)
    decayed = tost(at_3h, None, EQUIVALENCE_MARGIN)
    gone = tost(alone_late, None, EQUIVALENCE_MARGIN)
    rows = [
        table_row(early, "weak_alone", "W early LTP (5-15 min), %", kind),
        table_row(at_3h, "weak_alone", "W potentiation at 3 h, %", kind,
                  paper="back to baseline < 3 h"),
        table_row(alone_late, "weak_alone", "W late LTP (8-10 h), %", kind),
    ]  # fmt: skip
    early_ci = mean_ci(early)
    verdict = bool(early_ci[1] > EARLY_LTP and decayed.equivalent and gone.equivalent)
    line = (
        f"{_label(name)} W early LTP {format_ci(*early_ci, 1)} % (needs CI > "
        f"{EARLY_LTP:g}); at 3 h {format_tost(decayed, EQUIVALENCE_MARGIN)}; at 8-10 h "
        f"{format_tost(gone, EQUIVALENCE_MARGIN)}"
    )
    return PartResult({name: verdict}, {name: line}, rows)


def analyse_strong_alone(tc: pd.DataFrame, protocol: Protocol) -> PartResult:
    """Strong tetanus alone (``protocol``: ``strong_alone``): late LTP."""
    name = "strong_alone_persists"
    kind = KIND[name]
    strong_early = window_mean(tc, protocol.name, "strong_pathway", 0.0, EARLY_WINDOW)
    strong_late = late_ltp(tc, protocol, "strong")
    rows = [
        table_row(strong_early, protocol.name, "S early LTP (5-15 min), %", kind),
        table_row(strong_late, protocol.name, "S late LTP (8-10 h), %", kind),
    ]
    strong_ci = mean_ci(strong_late)
    line = (
        f"{_label(name)} S late LTP at 8-10 h {format_ci(*strong_ci, 1)} % "
        f"(needs CI > {LATE_LTP:g})"
    )
    return PartResult({name: bool(strong_ci[1] > LATE_LTP)}, {name: line}, rows)


def capture_estimates(
    tc: pd.DataFrame, groups: dict[str, Protocol], alone_late: np.ndarray
) -> tuple[dict[str, Estimate], list[dict[str, Any]]]:
    """The capture of W in every group but the two alone: its late LTP minus ``alone_late``
    (``weak_alone``'s), by group, and the table's rows (W's late LTP, the capture, and S's
    late LTP where S had a tetanus)."""
    captures: dict[str, Estimate] = {}
    rows: list[dict[str, Any]] = []
    for name, protocol in groups.items():
        if name in ("weak_alone", "strong_alone"):
            continue
        values = late_ltp(tc, protocol, "weak")
        captures[name] = difference(values, alone_late)
        rows.append(table_row(values, name, "W late LTP (8-10 h), %"))
        rows.append({**estimate_row(captures[name], len(values), part=name,
                                    quantity="capture: W late LTP - weak_alone's, %"),
                     "kind": ""})  # fmt: skip
        if protocol.strong_h is not None:
            rows.append(table_row(late_ltp(tc, protocol, "strong"), name, "S late LTP (8-10 h), %"))
    return captures, rows


def analyse_capture(
    captures: dict[str, Estimate], paired: np.ndarray, config: Config
) -> PartResult:
    """W is captured after a strong tetanus (``paired``: W's late LTP in the pairing at
    ``pair_interval_h``), and the capture window in both orders: open at short intervals,
    closed at >= 3 h."""
    pair = pair_group(config)
    paired_ci = mean_ci(paired)
    verdicts = {"weak_captured_after_strong": bool(
        paired_ci[1] > CAPTURE and captures[pair][1] > CAPTURE
    )}  # fmt: skip
    lines = {"weak_captured_after_strong": (
        f"{_label('weak_captured_after_strong')} {pair}: W late LTP "
        f"{format_ci(*paired_ci, 1)} %, capture {format_ci(*captures[pair], 1)} (both need CI > "
        f"{CAPTURE:g})"
    )}  # fmt: skip
    weak_first = [f"weak_then_strong_{interval_name(d)}" for d in (5 / 60, 1.0)]
    weak_late = [f"weak_then_strong_{interval_name(d)}" for d in config.weak_before_strong_h
                 if d >= 3.0]  # fmt: skip
    strong_first = [f"strong_then_weak_{interval_name(d)}" for d in (config.pair_interval_h, 1.0)]
    strong_late_groups = [f"strong_then_weak_{interval_name(d)}"
                          for d in config.strong_before_weak_h if d >= 3.0]  # fmt: skip
    for verdict, (ok, text), note in (
        ("weak_before_strong_captured", _captured(captures, weak_first),
         "Frey & Morris 1998: late LTP at 5 min and 1 h"),
        ("weak_before_strong_window_closes", _closed(captures, weak_late, weak_first[0]),
         "Frey & Morris 1998: weaker or absent at 2 and 4 h"),
        ("strong_before_weak_captured", _captured(captures, strong_first),
         "Frey & Morris 1997"),
        ("strong_before_weak_window_closes", _closed(captures, strong_late_groups, pair),
         "weak or absent"),
    ):  # fmt: skip
        verdicts[verdict] = bool(ok)
        lines[verdict] = f"{_label(verdict)} capture {text}; {note}"
    return PartResult(verdicts, lines, [])


def analyse_abolished(
    tc: pd.DataFrame,
    groups: dict[str, Protocol],
    alone_late: np.ndarray,
    captures: dict[str, Estimate],
    config: Config,
) -> PartResult:
    """The blocker and the control without capture: as weak alone, and no late LTP on S. The
    equivalence margin must be smaller than the capture they are said to abolish (that of the
    pairing at ``pair_interval_h``)."""
    pair = pair_group(config)
    effect = captures[pair]
    verdicts, lines, rows = {}, {}, []
    for name, verdict in (("blocker", "blocker_abolishes_capture"),
                          ("no_capture", "no_capture_control")):  # fmt: skip
        kind = KIND[verdict]
        weak_eq = tost(late_ltp(tc, groups[name], "weak"), alone_late, EQUIVALENCE_MARGIN)
        strong_eq = tost(late_ltp(tc, groups[name], "strong"), None, EQUIVALENCE_MARGIN)
        rows.append(tost_table_row(weak_eq, name, "W late LTP - weak_alone's, %", kind,
                                   config.n_agents))  # fmt: skip
        rows.append(tost_table_row(strong_eq, name, "S late LTP, %", kind, config.n_agents))
        margin_ok = effect[1] > EQUIVALENCE_MARGIN
        verdicts[verdict] = bool(weak_eq.equivalent and strong_eq.equivalent and margin_ok)
        lines[verdict] = (
            f"{_label(verdict)} {name}: W late LTP - weak_alone's "
            f"{format_tost(weak_eq, EQUIVALENCE_MARGIN)}; S late LTP "
            f"{format_tost(strong_eq, EQUIVALENCE_MARGIN)}; the margin is below the capture "
            f"it abolishes ({pair}: CI low {effect[1]:.1f}): {margin_ok}"
        )
    return PartResult(verdicts, lines, rows)


def analyse_dopamine(captures: dict[str, Estimate], config: Config) -> PartResult:
    """A dopamine signal instead of the strong tetanus: W is captured."""
    name = "dopamine_triggers_capture"
    dopamine = "weak_then_dopamine_" + interval_name(config.dopamine_delay_h)
    line = (
        f"{_label(name)} {dopamine}: capture {format_ci(*captures[dopamine], 1)} % without a "
        f"strong tetanus (needs CI > {CAPTURE:g})"
    )
    return PartResult({name: bool(captures[dopamine][1] > CAPTURE)}, {name: line}, [])


def analyse_tag_lifetime(tc: pd.DataFrame, slices: pd.DataFrame) -> PartResult:
    """The tag lifetime measured from ``weak_alone``'s time courses
    (:func:`decay_time_constants`) against the paper's ``tau_H`` and the slices' own."""
    name = "tag_lifetime"
    kind = KIND[name]
    own = slices[slices["group"] == "weak_alone"].sort_values("agent")
    taus = decay_time_constants(tc)
    ratio = taus / (own["tau_h"].to_numpy() / HOUR)
    tau_ci, ratio_ci = mean_ci(taus), mean_ci(ratio)
    rows = [
        table_row(taus, "weak_alone", "decay time constant of W early LTP, h", kind,
                  paper="1 (tau_H)"),
        table_row(ratio, "weak_alone", "  / the slice's own tau_H", kind),
    ]  # fmt: skip
    verdict = _within(tau_ci, TAU_TOLERANCE) and _within(ratio_ci, SELF_CONSISTENCY)
    line = (
        f"{_label(name)} W early LTP decays with {format_ci(*tau_ci)} h (Clopath "
        f"2008: tau_H = 1 h; needs CI within +-{TAU_TOLERANCE:.0%}); / own tau_H "
        f"{format_ci(*ratio_ci)} (needs CI within +-{SELF_CONSISTENCY:.0%} of 1)"
    )
    return PartResult({name: verdict}, {name: line}, rows)


def analyse_protein(protein: pd.DataFrame, slices: pd.DataFrame) -> PartResult:
    """The protein rise and decay times measured from ``strong_alone``'s protein levels
    (:func:`protein_time_constants`) against the paper's and the slices' own."""
    name = "protein_time_constants"
    kind = KIND[name]
    own = slices[slices["group"] == "strong_alone"].sort_values("agent")
    rises, decays = protein_time_constants(protein)
    own_rise = 1.0 / (HOUR / own["tau_p_rise"].to_numpy() + HOUR / own["tau_p_decay"].to_numpy())
    rise_ratio, decay_ratio = rises / own_rise, decays / (own["tau_p_decay"].to_numpy() / HOUR)
    rows = [
        table_row(60 * rises, "strong_alone", "protein rise time, min", kind, paper="~6 min"),
        table_row(rise_ratio, "strong_alone",
                  "  / the slice's own 1 / (1/tau_rise + 1/tau_decay)", kind),
        table_row(decays, "strong_alone", "protein decay time constant, h", kind, paper="~1 h"),
        table_row(decay_ratio, "strong_alone", "  / the slice's own tau_decay", kind),
    ]  # fmt: skip
    rise_ci, decay_ci = mean_ci(60 * rises), mean_ci(decays)
    rise_ratio_ci, decay_ratio_ci = mean_ci(rise_ratio), mean_ci(decay_ratio)
    verdict = bool(
        _within(mean_ci(10 * rises), PROTEIN_TOLERANCE)  # rise in units of 6 min
        and _within(decay_ci, PROTEIN_TOLERANCE)
        and _within(rise_ratio_ci, SELF_CONSISTENCY)
        and _within(decay_ratio_ci, SELF_CONSISTENCY)
    )
    line = (
        f"{_label(name)} protein rises in {format_ci(*rise_ci, 1)} min "
        f"(Clopath 2008: ~6; / own {format_ci(*rise_ratio_ci)}), decays with "
        f"{format_ci(*decay_ci)} h (~1; / own {format_ci(*decay_ratio_ci)}); need CIs within "
        f"+-{PROTEIN_TOLERANCE:.0%} of the paper's and +-{SELF_CONSISTENCY:.0%} of the own"
    )
    return PartResult({name: verdict}, {name: line}, rows)


def window_table(captures: dict[str, Estimate], config: Config) -> pd.DataFrame:
    """Capture against the interval: ``interval_h`` (negative: weak before strong), mean and
    95% interval."""
    rows = []
    for d in config.weak_before_strong_h:
        rows.append((-d, *captures[f"weak_then_strong_{interval_name(d)}"]))
    for d in config.strong_before_weak_h:
        rows.append((d, *captures[f"strong_then_weak_{interval_name(d)}"]))
    return pd.DataFrame(rows, columns=["interval_h", "mean", "ci_low", "ci_high"]).sort_values(
        "interval_h"
    )


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Time courses of both pathways (mean and 95% band over slices) in the key groups, the
    protein level, and the capture window against the interval between the tetani."""
    plt = pyplot()
    config = result["config"]
    tc = records["timecourse"]
    pair = "strong_then_weak_" + interval_name(config.pair_interval_h)
    panels = [
        ("weak alone", "weak_alone", ["weak_pathway"]),
        ("strong alone", "strong_alone", ["strong_pathway"]),
        (f"strong, then weak {interval_name(config.pair_interval_h)} later", pair,
         ["weak_pathway", "strong_pathway"]),
        ("... with protein-synthesis blocker", "blocker", ["weak_pathway", "strong_pathway"]),
        ("... without capture (gamma = 0)", "no_capture", ["weak_pathway", "strong_pathway"]),
        ("weak, then dopamine 30 min later", "weak_then_dopamine_"
         + interval_name(config.dopamine_delay_h), ["weak_pathway"]),
    ]  # fmt: skip
    fig, axes = plt.subplots(2, 4, figsize=(18, 7.5))
    colors = {"weak_pathway": "tab:blue", "strong_pathway": "tab:red"}
    labels = {"weak_pathway": "W (weak)", "strong_pathway": "S (strong)"}
    for ax, (title, group, columns) in zip(axes.flat, panels, strict=False):
        rows = tc[tc["group"] == group]
        for column in columns:
            by_time = rows.groupby("time_h")[column]
            mean, sem = by_time.mean(), by_time.sem()
            ax.plot(mean.index, mean, color=colors[column], label=labels[column])
            ax.fill_between(mean.index, mean - 2 * sem, mean + 2 * sem, color=colors[column],
                            alpha=0.25)  # fmt: skip
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("hours from the first tetanus")
        ax.set_ylabel("potentiation, % of baseline")
        ax.legend(frameon=False, fontsize=8)
    ax = axes.flat[6]
    for group, color in (("strong_alone", "tab:red"), (pair, "tab:purple"),
                         ("blocker", "0.4"), ("weak_alone", "tab:blue")):  # fmt: skip
        mean = tc[tc["group"] == group].groupby("time_h")["protein"].mean()
        ax.plot(mean.index, mean, color=color, label=group)
    ax.set_title("plasticity-related proteins p", fontsize=9)
    ax.set_xlabel("hours from the first tetanus")
    ax.set_ylabel("p")
    ax.legend(frameon=False, fontsize=7)
    ax = axes.flat[7]
    window = result["window"]
    ax.errorbar(window["interval_h"], window["mean"],
                yerr=[window["mean"] - window["ci_low"], window["ci_high"] - window["mean"]],
                fmt="o-", color="k", capsize=3)  # fmt: skip
    ax.axhline(0.0, color="0.4", lw=0.8)
    ax.axvline(0.0, color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("interval, h (< 0: weak first; > 0: strong first)")
    ax.set_ylabel("capture: W late LTP - weak alone's, %")
    ax.set_title("capture window (8-10 h after the weak tetanus)", fontsize=9)
    fig.suptitle(f"Tag-trigger-consolidation synapse: {config.n_agents} slices per group",
                 fontsize=11)  # fmt: skip
    return [save_figure(fig, Path(out_dir) / "tag_capture.png")]
