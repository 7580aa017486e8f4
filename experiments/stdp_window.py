"""The STDP window and its frequency dependence from calcium thresholds (Graupner & Brunel 2012).

Populations of Graupner-Brunel synapses (:mod:`plasticgym.calcium`, the paper's "DP" set:
``tau_Ca`` 20 ms, ``C_pre`` 1, ``C_post`` 2, ``theta_d`` 1, ``theta_p`` 1.3, ``gamma_d`` 200,
``gamma_p`` 321.808, ``sigma`` 2.8284, ``tau`` 150 s, ``rho*`` 0.5, ``D`` 13.7 ms, ``beta``
0.5, ``b`` 5) receive spike-pair protocols. Every synapse of a condition sees the same spikes
and its own noise; half start DOWN (``rho = 0``), half UP (``rho = 1``). After the protocol a
synapse is UP if ``rho > rho*``; the fractions that switched give the transition
probabilities ``U`` (DOWN -> UP) and ``D`` (UP -> DOWN) and the change of the synaptic
strength, ``w_after / w_before = 1 + (b - 1) (beta U - (1 - beta) D) / (beta + (1 - beta)
b)``, judged with a 95% interval over the synapses (Agresti-Caffo adjusted Wald interval of
this linear combination of two proportions; :func:`change_ci`). Four parts:

1. **Window**: 60 pairs at 1 Hz, the postsynaptic spike ``dt`` after the presynaptic one,
   ``dt`` from -100 to +100 ms. Post-before-pre pairs at short delays depress, pre-before-post
   pairs potentiate, long delays leave the synapse unchanged (the paper's Fig. 2, DP).
2. **Frequency**: 60 pairs at ``dt = -10`` and ``+10`` ms at 0.1-100 Hz. Post-before-pre pairs
   depress at low rates and potentiate at high rates, where the calcium of successive pairs
   sums above ``theta_p`` (the rate dependence of Sjostrom, Turrigiano & Nelson 2001; Graupner
   & Brunel 2012, Fig. 4, there with the cortical parameter set).
3. **Control: theta_p above the calcium reached** (``theta_p = 3.1 > C_pre + C_post``): no
   synapse can be driven up, so the window loses its potentiation and depresses at every delay.
4. **Control: no presynaptic calcium** (``C_pre = 0``, as if NMDA receptors were blocked): only
   the postsynaptic spike's calcium is left, the same at every delay, so the window is flat.

Every verdict is labelled: a **mechanism check** holds by the equations (it tests the
implementation: threshold ordering, the balance built into ``gamma_p``, agreement with the
paper's own analytical approximation), a **finding** could fail (the window's shape, its
agreement with the authors' published simulation, the frequency dependence).

The synapses are integrated exactly between calcium events
(:func:`plasticgym.calcium.simulate_calcium_events`), so a condition costs 120 steps whatever
its duration; the paper's diffusion approximation
(:func:`plasticgym.calcium.analytic_transition_probabilities`) is computed from the same
calcium for comparison.
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
from scipy import stats

from plasticgym.calcium import (
    DP,
    GraupnerBrunelParams,
    analytic_transition_probabilities,
    calcium_events,
    pairing_protocol,
    simulate_calcium_events,
    synaptic_change,
)
from plasticgym.experiments.report import pyplot, save_figure
from plasticgym.experiments.stats import format_ci

NAME = "stdp_window"
DESCRIPTION = (
    "calcium thresholds give the STDP window (LTD post-before-pre, LTP pre-before-post) and "
    "its frequency dependence (Graupner & Brunel 2012, DP set)"
)

PAPER_DP_WINDOW: dict[int, float] = {
    -100: 0.981, -95: 0.983, -90: 0.995, -85: 0.984, -80: 0.963, -75: 0.971, -70: 0.953,
    -65: 0.942, -60: 0.935, -55: 0.917, -50: 0.891, -45: 0.904, -40: 0.827, -35: 0.819,
    -30: 0.767, -25: 0.719, -20: 0.760, -15: 0.800, -10: 0.885, -5: 0.941, 0: 0.994,
    5: 1.237, 10: 1.227, 15: 1.178, 20: 1.188, 25: 1.153, 30: 1.127, 35: 1.122, 40: 1.083,
    45: 1.074, 50: 1.040, 55: 1.041, 60: 1.025, 65: 1.048, 70: 1.043, 75: 1.027, 80: 1.003,
    85: 1.014, 90: 1.003, 95: 1.011, 100: 0.993,
}  # fmt: skip
"""Graupner & Brunel 2012, Fig. 2 (DP): change of synaptic strength after 60 pairs at 1 Hz,
by ``dt`` (ms), from the authors' published stochastic simulation of that panel (1000 runs per
delay; github.com/mgraupe/CalciumBasedPlasticityModel,
Graupner2012PNAS/numericalSimulation/output/DP_curve/final_camkII_state.dat, 5th column)."""
PAPER_TROUGH_MS = -25
"""Where the paper's DP window is lowest (0.72)."""
PAPER_PEAK_MS = 5
"""Where the paper's DP window is highest (1.24)."""

PARTS = ("window", "frequency", "control_theta_p", "control_no_pre_calcium")


@dataclass(frozen=True)
class Config:
    """What to run. ``n_agents`` synapses per condition (half start DOWN, half UP), each with
    its own noise; delays in ms (``dt = t_post - t_pre``), rates in Hz."""

    n_agents: int = 2000
    seed: int = 0
    n_pairs: int = 60
    pair_frequency: float = 1.0
    delays_ms: tuple[float, ...] = tuple(float(d) for d in range(-100, 105, 5))
    frequency_delays_ms: tuple[float, ...] = (-10.0, 10.0)
    frequencies_hz: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0,
                                         50.0, 75.0, 100.0)  # fmt: skip
    control_delays_ms: tuple[float, ...] = tuple(float(d) for d in range(-100, 110, 10))
    control_theta_p: float = 3.1
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.n_agents, bool) or not isinstance(self.n_agents, int):
            raise ValueError(f"n_agents={self.n_agents!r} is invalid: an even integer >= 4")
        if self.n_agents < 4 or self.n_agents % 2:
            raise ValueError(
                f"n_agents={self.n_agents} is invalid: an even integer >= 4 (half of the "
                "synapses start DOWN, half UP)"
            )
        if self.n_pairs < 1:
            raise ValueError(f"n_pairs={self.n_pairs} is invalid: an integer >= 1")
        if not self.pair_frequency > 0 or any(not f > 0 for f in self.frequencies_hz):
            raise ValueError(
                f"pair_frequency={self.pair_frequency!r}, frequencies_hz={self.frequencies_hz!r}"
                " are invalid: rates must be > 0 Hz"
            )
        if LOW_RATE_HZ not in self.frequencies_hz or max(self.frequencies_hz) < HIGH_RATE_HZ:
            raise ValueError(
                f"frequencies_hz={self.frequencies_hz!r} is invalid: the frequency verdicts "
                f"compare {LOW_RATE_HZ:g} Hz with rates >= {HIGH_RATE_HZ:g} Hz, so it must hold "
                f"{LOW_RATE_HZ:g} and at least one rate >= {HIGH_RATE_HZ:g}"
            )
        delays = self.frequency_delays_ms
        if len(delays) != 2 or not delays[0] < 0 < delays[1]:
            raise ValueError(
                f"frequency_delays_ms={delays!r} is invalid: two delays (post-before-pre < 0 ms, "
                "pre-before-post > 0 ms), e.g. (-10.0, 10.0)"
            )
        if not self.control_theta_p > DP.c_pre + DP.c_post:
            raise ValueError(
                f"control_theta_p={self.control_theta_p!r} is invalid: must exceed C_pre + "
                f"C_post = {DP.c_pre + DP.c_post:g}, the highest calcium of a 1 Hz pair"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (a few seconds on 2 CPU cores): coarser grids, 1000 synapses."""
        short = {
            "n_agents": 1000,
            "delays_ms": (-100.0, -70.0, -50.0, -40.0, -30.0, -25.0, -20.0, -10.0, 0.0, 5.0,
                          10.0, 20.0, 30.0, 50.0, 70.0, 100.0),
            "frequencies_hz": (1.0, 10.0, 20.0, 50.0, 100.0),
            "control_delays_ms": (-100.0, -50.0, -25.0, -10.0, 0.0, 10.0, 25.0, 50.0, 100.0),
        }  # fmt: skip
        return cls(**{**short, **overrides})

    def params(self, part: str) -> GraupnerBrunelParams:
        """The synapse parameters of a part: :data:`plasticgym.calcium.DP`, or a control."""
        if part == "control_theta_p":
            return DP.replace(theta_p=self.control_theta_p)
        if part == "control_no_pre_calcium":
            return DP.replace(c_pre=0.0)
        return DP

    def conditions(self, part: str) -> list[tuple[float, float]]:
        """The ``(dt in ms, rate in Hz)`` conditions of a part."""
        if part == "frequency":
            return [(d, f) for d in self.frequency_delays_ms for f in self.frequencies_hz]
        delays = self.delays_ms if part == "window" else self.control_delays_ms
        return [(d, self.pair_frequency) for d in delays]


def run_part(config: Config, part: str, generator: torch.Generator) -> pd.DataFrame:
    """One part: every condition's synapses in one batch. Rows ``part, delta_t_ms,
    frequency_hz, synapse, rho_0, rho, time_above_d, time_above_p`` (one per synapse; the
    times above the thresholds in seconds)."""
    params = config.params(part)
    conditions = config.conditions(part)
    n, device, dtype = config.n_agents, torch.device(config.device), torch.float64
    delays = torch.tensor([d for d, _ in conditions], dtype=dtype, device=device) / 1000.0
    rates = torch.tensor([f for _, f in conditions], dtype=dtype, device=device)
    half = torch.cat([torch.zeros(n // 2), torch.ones(n // 2)]).to(device, dtype)
    rho_0 = half.repeat(len(conditions))
    events, t_end = pairing_protocol(
        delays.repeat_interleave(n), rates.repeat_interleave(n), config.n_pairs, params
    )
    result = simulate_calcium_events(rho_0, events, t_end, generator, params)
    return pd.DataFrame({
        "part": part,
        "delta_t_ms": np.repeat([d for d, _ in conditions], n),
        "frequency_hz": np.repeat([f for _, f in conditions], n),
        "synapse": np.tile(np.arange(n), len(conditions)),
        "rho_0": rho_0.cpu().numpy(),
        "rho": result.rho.cpu().numpy(),
        "time_above_d": result.time_above_d.cpu().numpy(),
        "time_above_p": result.time_above_p.cpu().numpy(),
    })  # fmt: skip


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """Every part, each with its own generator (``SeedSequence(seed)`` spawns one per part):
    ``{"synapses": one row per synapse per condition}``."""
    del out_dir, progress_bar  # nothing but the records; a few seconds
    seeds = np.random.SeedSequence(config.seed).spawn(len(PARTS))
    tables = []
    for part, seed in zip(PARTS, seeds, strict=True):
        generator = torch.Generator(device=config.device)
        generator.manual_seed(int(seed.generate_state(1, np.uint64)[0]))
        tables.append(run_part(config, part, generator))
    return {"synapses": pd.concat(tables, ignore_index=True)}


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------

KINDS: dict[str, str] = {
    "ltd_post_before_pre": "finding",
    "ltp_pre_before_post": "finding",
    "no_change_at_long_delays": "mechanism check",
    "window_matches_paper": "finding",
    "simulation_matches_theory": "mechanism check",
    "ltd_at_low_pairing_rate": "finding",
    "ltp_at_high_pairing_rate": "finding",
    "ltp_grows_with_pairing_rate": "finding",
    "control_no_ltp_without_theta_p": "mechanism check",
    "control_flat_without_presynaptic_calcium": "mechanism check",
}
"""Each verdict's kind: ``mechanism check`` (holds by the equations) or ``finding`` (could
fail)."""

# Ranges and margins of the verdicts (see ``analyse``).
LTD_DELAYS_MS = (-40.0, -10.0)
LTP_DELAYS_MS = (5.0, 30.0)
LONG_DELAY_MS = 90.0
NO_CHANGE_MARGIN = 0.15
PAPER_MEAN_TOLERANCE = 0.05
PAPER_LOCATION_TOLERANCE_MS = 10.0
THEORY_TOLERANCE = 0.03
THEORY_FRACTION = 0.9
LOW_RATE_HZ = 1.0
HIGH_RATE_HZ = 50.0
FREQUENCY_DELAY_MS = (-10.0, 10.0)
CONTROL_MAX_UP = 0.01


def change_ci(
    up_from_down: Any, down_from_up: Any, beta: float = DP.beta, b: float = DP.b,
    level: float = 0.95,
) -> tuple[float, float, float]:  # fmt: skip
    """The change of synaptic strength and its confidence interval over synapses.

    ``U`` and ``D`` are the fractions of the DOWN-started synapses that ended UP and of the
    UP-started ones that ended DOWN; the change ``1 + k (beta U - (1 - beta) D)``, ``k = (b -
    1) / (beta + (1 - beta) b)``, is linear in them, so its standard error is ``k sqrt(beta^2
    U (1 - U) / n_d + (1 - beta)^2 D (1 - D) / n_u)``. The interval is the Agresti-Caffo
    adjusted Wald interval (one success and one failure added to each group, for the centre
    and the error, so that a group whose synapses all switched, or none, still has a width;
    Agresti & Caffo 2000, Am Stat 54:280). Returns ``(change, low, high)`` with the
    unadjusted change.
    """
    ups, downs = np.asarray(up_from_down, dtype=bool), np.asarray(down_from_up, dtype=bool)
    n_d, n_u = ups.size, downs.size
    if min(n_d, n_u) < 1:
        return float("nan"), float("nan"), float("nan")
    point = float(synaptic_change(ups.mean(), downs.mean(), beta, b))
    u_adj, d_adj = (ups.sum() + 1) / (n_d + 2), (downs.sum() + 1) / (n_u + 2)
    k = (b - 1) / (beta + (1 - beta) * b)
    se = k * math.sqrt(beta**2 * u_adj * (1 - u_adj) / (n_d + 2)
                       + (1 - beta) ** 2 * d_adj * (1 - d_adj) / (n_u + 2))  # fmt: skip
    centre = float(synaptic_change(u_adj, d_adj, beta, b))
    half = float(stats.norm.ppf(0.5 + level / 2)) * se
    return point, centre - half, centre + half


def condition_table(records: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per part and condition: ``part, delta_t_ms, frequency_hz, mean`` (the change),
    ``ci_low, ci_high, n`` (synapses), ``up`` (``U``), ``down`` (``D``), ``theory`` (the
    paper's diffusion approximation from the same calcium), ``paper`` (the published window,
    for the window's delays; NaN elsewhere)."""
    rows = []
    keys = ["part", "delta_t_ms", "frequency_hz"]
    for (part, delta_t, rate), group in records.groupby(keys, sort=False):
        params = config.params(part)
        start_down = group["rho_0"].to_numpy() < params.rho_star
        ends_up = group["rho"].to_numpy() > params.rho_star
        up_from_down, down_from_up = ends_up[start_down], ~ends_up[~start_down]
        change, low, high = change_ci(up_from_down, down_from_up, params.beta, params.b)
        times_d = torch.tensor(group["time_above_d"].to_numpy()[:1])
        times_p = torch.tensor(group["time_above_p"].to_numpy()[:1])
        u_theory, d_theory = analytic_transition_probabilities(times_d, times_p, params)
        theory = float(synaptic_change(u_theory, d_theory, params.beta, params.b)[0])
        paper = PAPER_DP_WINDOW.get(round(delta_t)) if part == "window" else None
        rows.append({
            "part": part, "delta_t_ms": float(delta_t), "frequency_hz": float(rate),
            "mean": change, "ci_low": low, "ci_high": high, "n": len(group),
            "up": float(up_from_down.mean()), "down": float(down_from_up.mean()),
            "theory": theory, "paper": float("nan") if paper is None else paper,
            "time_above_d_ms": float(times_d[0]) * 1000 / config.n_pairs,
            "time_above_p_ms": float(times_p[0]) * 1000 / config.n_pairs,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _ci(row: pd.Series) -> str:
    return format_ci(row["mean"], row["ci_low"], row["ci_high"])


def _cells(rows: pd.DataFrame, column: str = "delta_t_ms") -> str:
    """``+5 ms: +1.24 [+1.20, +1.27], ...`` (delays) or ``50 Hz: ...`` (rates)."""
    if column == "delta_t_ms":
        return ", ".join(f"{row[column]:+g} ms: {_ci(row)}" for _, row in rows.iterrows())
    return ", ".join(f"{row[column]:g} Hz: {_ci(row)}" for _, row in rows.iterrows())


def _between(values: pd.Series, bounds: tuple[float, float]) -> pd.Series:
    return (values >= bounds[0]) & (values <= bounds[1])


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Verdicts (95% intervals over synapses; ranges and margins in the module's constants):

    - ``ltd_post_before_pre`` (finding): every window delay in ``LTD_DELAYS_MS`` has its CI
      below 1;
    - ``ltp_pre_before_post`` (finding): every window delay in ``LTP_DELAYS_MS`` has its CI
      above 1;
    - ``no_change_at_long_delays`` (mechanism check: a lone postsynaptic spike's calcium gives
      ``gamma_p t_p = gamma_d t_d``, the balance ``gamma_p = 321.808`` was chosen for): every
      window delay with ``|dt| >= LONG_DELAY_MS`` has its CI inside ``1 +- NO_CHANGE_MARGIN``;
    - ``window_matches_paper`` (finding): the mean absolute difference from
      :data:`PAPER_DP_WINDOW` over the common delays is below ``PAPER_MEAN_TOLERANCE``, and the
      window's lowest and highest delays are within ``PAPER_LOCATION_TOLERANCE_MS`` of the
      paper's (-25 and +5 ms);
    - ``simulation_matches_theory`` (mechanism check): in at least ``THEORY_FRACTION`` of all
      conditions the paper's diffusion approximation lies inside the CI widened by
      ``THEORY_TOLERANCE`` (its own approximation error);
    - ``ltd_at_low_pairing_rate`` (finding): ``dt = -10`` ms pairs at ``LOW_RATE_HZ``: CI below
      1;
    - ``ltp_at_high_pairing_rate`` (finding): ``dt = -10`` ms pairs at every rate >=
      ``HIGH_RATE_HZ``: CI above 1;
    - ``ltp_grows_with_pairing_rate`` (finding): ``dt = +10`` ms pairs, change at the highest
      rate >= ``HIGH_RATE_HZ`` minus the change at ``LOW_RATE_HZ``: CI above 0;
    - ``control_no_ltp_without_theta_p`` (mechanism check): with ``theta_p`` above the calcium
      reached, the calcium is never above ``theta_p``, at most ``CONTROL_MAX_UP`` of the
      DOWN synapses end UP (noise alone, against the depression's drift to 0: ``P = Phi(-rho* /
      0.14)`` ~ 1e-4 per synapse) and every delay's CI is below 1;
    - ``control_flat_without_presynaptic_calcium`` (mechanism check): with ``C_pre = 0`` every
      delay's CI is inside ``1 +- NO_CHANGE_MARGIN``.
    """
    table = condition_table(records["synapses"], config)
    window = table[table["part"] == "window"]
    parts = (
        analyse_window(window, config.n_pairs, config.pair_frequency),
        analyse_paper(window),
        analyse_theory(table),
        analyse_frequency(table[table["part"] == "frequency"], config.frequency_delays_ms),
        analyse_controls(table, records["synapses"], config),
    )
    verdicts = {name: ok for part in parts for name, ok in part.verdicts.items()}
    lines = {name: f"{KINDS[name]}: {line}" for part in parts for name, line in part.lines.items()}
    return {"verdicts": verdicts, "table": table, "lines": lines, "kinds": dict(KINDS),
            "config": config}  # fmt: skip


class PartResult(NamedTuple):
    """What the analysis of one part returns: its verdicts (``{signature: bool}``) and one line
    per verdict (as the addiction experiment's parts do; the condition table is shared)."""

    verdicts: dict[str, bool]
    lines: dict[str, str]


def _all_below_1(rows: pd.DataFrame) -> bool:
    """There are rows and every CI is below 1."""
    return bool(len(rows)) and bool((rows["ci_high"] < 1).all())


def _all_above_1(rows: pd.DataFrame) -> bool:
    """There are rows and every CI is above 1."""
    return bool(len(rows)) and bool((rows["ci_low"] > 1).all())


def _all_near_1(rows: pd.DataFrame) -> bool:
    """There are rows and every CI is inside ``1 +- NO_CHANGE_MARGIN``."""
    return bool(len(rows)) and bool(
        ((rows["ci_low"] > 1 - NO_CHANGE_MARGIN) & (rows["ci_high"] < 1 + NO_CHANGE_MARGIN)).all()
    )


def analyse_window(window: pd.DataFrame, n_pairs: int = 60, pair_hz: float = 1.0) -> PartResult:
    """Part 1: LTD post-before-pre, LTP pre-before-post, no change at long delays (``window``:
    the window's rows of :func:`condition_table`; ``n_pairs`` pairs at ``pair_hz``, for the
    lines)."""
    ltd = window[_between(window["delta_t_ms"], LTD_DELAYS_MS)]
    ltp = window[_between(window["delta_t_ms"], LTP_DELAYS_MS)]
    far = window[window["delta_t_ms"].abs() >= LONG_DELAY_MS]
    balance_p = DP.gamma_p * DP.tau_ca * math.log(DP.c_post / DP.theta_p)
    balance_d = DP.gamma_d * DP.tau_ca * math.log(DP.c_post / DP.theta_d)
    verdicts = {
        "ltd_post_before_pre": _all_below_1(ltd),
        "ltp_pre_before_post": _all_above_1(ltp),
        "no_change_at_long_delays": _all_near_1(far),
    }
    lines = {
        "ltd_post_before_pre": (
            f"change after {n_pairs} post-before-pre pairs at {pair_hz:g} Hz, {_cells(ltd)} "
            f"(needs every CI < 1)"
        ),
        "ltp_pre_before_post": (
            f"change after {n_pairs} pre-before-post pairs at {pair_hz:g} Hz, {_cells(ltp)} "
            f"(needs every CI > 1)"
        ),
        "no_change_at_long_delays": (
            f"{_cells(far)} (needs every CI inside 1 +- {NO_CHANGE_MARGIN}); a lone post spike "
            f"gives gamma_p t_p = {balance_p:.4f} s, gamma_d t_d = {balance_d:.4f} s"
        ),
    }
    return PartResult(verdicts, lines)


def analyse_paper(window: pd.DataFrame) -> PartResult:
    """Part 1 against :data:`PAPER_DP_WINDOW`: the mean absolute difference and where the
    window is lowest and highest."""
    common = window.dropna(subset=["paper"])
    mean_diff = float((common["mean"] - common["paper"]).abs().mean()) if len(common) else math.nan
    max_diff = float((common["mean"] - common["paper"]).abs().max()) if len(common) else math.nan
    trough = float(window.loc[window["mean"].idxmin(), "delta_t_ms"])
    peak = float(window.loc[window["mean"].idxmax(), "delta_t_ms"])
    name = "window_matches_paper"
    verdict = bool(
        mean_diff < PAPER_MEAN_TOLERANCE
        and abs(trough - PAPER_TROUGH_MS) <= PAPER_LOCATION_TOLERANCE_MS
        and abs(peak - PAPER_PEAK_MS) <= PAPER_LOCATION_TOLERANCE_MS
    )
    line = (
        f"|change - paper| over {len(common)} delays: mean {mean_diff:.3f} (needs < "
        f"{PAPER_MEAN_TOLERANCE}), max {max_diff:.3f}; lowest at {trough:+g} ms "
        f"({window['mean'].min():.3f}; paper {PAPER_TROUGH_MS:+d} ms, 0.719), highest at "
        f"{peak:+g} ms ({window['mean'].max():.3f}; paper {PAPER_PEAK_MS:+d} ms, 1.237) "
        f"(needs within {PAPER_LOCATION_TOLERANCE_MS:g} ms)"
    )
    return PartResult({name: verdict}, {name: line})


def analyse_theory(table: pd.DataFrame) -> PartResult:
    """Every part: the paper's diffusion approximation against the simulation's CIs."""
    inside = (table["theory"] >= table["ci_low"] - THEORY_TOLERANCE) & (
        table["theory"] <= table["ci_high"] + THEORY_TOLERANCE
    )
    worst = table.loc[(table["theory"] - table["mean"]).abs().idxmax()]
    name = "simulation_matches_theory"
    line = (
        f"the diffusion approximation lies within the CI +- {THEORY_TOLERANCE} in "
        f"{int(inside.sum())}/{len(table)} conditions (needs >= {THEORY_FRACTION:.0%}); "
        f"largest gap {worst['theory'] - worst['mean']:+.3f} ({worst['part']}, "
        f"{worst['delta_t_ms']:+g} ms, {worst['frequency_hz']:g} Hz)"
    )
    return PartResult({name: bool(inside.mean() >= THEORY_FRACTION)}, {name: line})


def rate_gain(pre_post: pd.DataFrame) -> tuple[float, float, float]:
    """The change at the highest rate >= ``HIGH_RATE_HZ`` minus the change at ``LOW_RATE_HZ``
    (``pre_post``: one delay's rows of the frequency part) with a 95% interval from the two
    CIs' half-widths (each already 1.96 se); NaNs without both rates."""
    slow = pre_post[pre_post["frequency_hz"] == LOW_RATE_HZ]
    fast = pre_post[pre_post["frequency_hz"] >= HIGH_RATE_HZ]
    if not (len(slow) and len(fast)):
        return math.nan, math.nan, math.nan
    a, c = fast.loc[fast["frequency_hz"].idxmax()], slow.iloc[0]
    se = math.hypot((a["ci_high"] - a["ci_low"]) / 2, (c["ci_high"] - c["ci_low"]) / 2)
    diff = a["mean"] - c["mean"]
    return diff, diff - se, diff + se  # the half-widths are already 1.96 se


def analyse_frequency(
    frequency: pd.DataFrame, delays_ms: tuple[float, ...] = FREQUENCY_DELAY_MS
) -> PartResult:
    """Part 2 (``frequency``: its rows of :func:`condition_table`): post-before-pre pairs
    depress at a low rate and potentiate at high rates; pre-before-post potentiation grows
    with the rate. ``delays_ms``: the (post-before-pre, pre-before-post) delays of the part
    (``Config.frequency_delays_ms``)."""
    post_pre = frequency[frequency["delta_t_ms"] == delays_ms[0]]
    pre_post = frequency[frequency["delta_t_ms"] == delays_ms[1]]
    low = post_pre[post_pre["frequency_hz"] == LOW_RATE_HZ]
    high = post_pre[post_pre["frequency_hz"] >= HIGH_RATE_HZ]
    crossing = post_pre[post_pre["ci_low"] > 1]["frequency_hz"]
    grows = rate_gain(pre_post)
    verdicts = {
        "ltd_at_low_pairing_rate": _all_below_1(low),
        "ltp_at_high_pairing_rate": _all_above_1(high),
        "ltp_grows_with_pairing_rate": bool(grows[1] > 0),
    }
    lines = {
        "ltd_at_low_pairing_rate": (
            f"dt = {delays_ms[0]:+g} ms pairs, {_cells(low, 'frequency_hz')} (needs CI "
            "< 1)"
        ),
        "ltp_at_high_pairing_rate": (
            f"dt = {delays_ms[0]:+g} ms pairs, "
            f"{_cells(high, 'frequency_hz')} (needs every CI > 1); potentiation from "
            + (f"{crossing.min():g} Hz" if len(crossing) else "no rate") + " up"
        ),
        "ltp_grows_with_pairing_rate": (
            f"dt = {delays_ms[1]:+g} ms pairs, change at the highest rate minus at "
            f"{LOW_RATE_HZ:g} Hz: {format_ci(*grows)} (needs CI > 0); "
            f"{_cells(pre_post, 'frequency_hz')}"
        ),
    }  # fmt: skip
    return PartResult(verdicts, lines)


def analyse_controls(table: pd.DataFrame, synapses: pd.DataFrame, config: Config) -> PartResult:
    """Parts 3 and 4: with ``theta_p`` above the calcium reached no synapse potentiates; without
    presynaptic calcium the window is flat (``synapses``: the records, for the calcium)."""
    control = table[table["part"] == "control_theta_p"]
    control_rows = synapses[synapses["part"] == "control_theta_p"]
    never_above = bool((control_rows["time_above_p"] == 0).all())
    flat = table[table["part"] == "control_no_pre_calcium"]
    verdicts = {
        "control_no_ltp_without_theta_p": bool(len(control)) and bool(
            never_above and (control["up"] <= CONTROL_MAX_UP).all()
            and (control["ci_high"] < 1).all()
        ),
        "control_flat_without_presynaptic_calcium": _all_near_1(flat),
    }  # fmt: skip
    lines = {
        "control_no_ltp_without_theta_p": (
            f"theta_p = {config.control_theta_p:g}: calcium never above theta_p: {never_above}; "
            f"DOWN -> UP fraction at most {control['up'].max():.3f} (noise alone, against a "
            f"drift to 0; needs <= {CONTROL_MAX_UP}); change from {control['mean'].min():.3f} "
            f"to {control['mean'].max():.3f}, CI high max {control['ci_high'].max():.3f} (needs "
            "every CI < 1: no delay potentiates, every delay depresses)"
        ),
        "control_flat_without_presynaptic_calcium": (
            f"C_pre = 0: change from {flat['mean'].min():.3f} to {flat['mean'].max():.3f}, CIs "
            f"from {flat['ci_low'].min():.3f} to {flat['ci_high'].max():.3f} (needs every CI "
            f"inside 1 +- {NO_CHANGE_MARGIN}: no timing dependence without the presynaptic "
            "calcium)"
        ),
    }
    return PartResult(verdicts, lines)


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------


def calcium_trace(delta_t_ms: float, times: np.ndarray, params: GraupnerBrunelParams = DP):
    """The calcium of one pre-post pair (pre at 0, post at ``dt``) at ``times`` (s)."""
    pre = torch.tensor([[0.0]], dtype=torch.float64)
    post = torch.tensor([[delta_t_ms / 1000.0]], dtype=torch.float64)
    events = calcium_events(pre, post, params)
    t_e, jumps = events.times[0].numpy(), events.jumps[0].numpy()
    lag = times[:, None] - t_e[None, :]
    return (jumps * np.exp(-np.clip(lag, 0, None) / params.tau_ca) * (lag >= 0)).sum(axis=1)


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Calcium of two pairs against the thresholds; the window with the paper's values, the
    theory and the controls; the change against the pairing rate."""
    plt = pyplot()
    table = result["table"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    times = np.linspace(-0.03, 0.12, 600)
    for delta_t, color in ((-20.0, "tab:blue"), (10.0, "tab:red")):
        axes[0].plot(times * 1000, calcium_trace(delta_t, times), color=color,
                     label=f"dt = {delta_t:+g} ms")  # fmt: skip
    for theta, name in ((DP.theta_d, "theta_d"), (DP.theta_p, "theta_p")):
        axes[0].axhline(theta, color="0.4", ls="--", lw=1)
        axes[0].text(times[-1] * 1000, theta, f" {name}", va="center", fontsize=8)
    axes[0].set_xlabel("time after the presynaptic spike (ms)")
    axes[0].set_ylabel("calcium c")
    axes[0].set_title("calcium of one pair (DP)")
    axes[0].legend(frameon=False, fontsize=8)

    styles = {"window": ("k", "DP"), "control_theta_p": ("tab:orange", "theta_p above max c"),
              "control_no_pre_calcium": ("tab:purple", "C_pre = 0")}  # fmt: skip
    for part, (color, label) in styles.items():
        rows = table[table["part"] == part].sort_values("delta_t_ms")
        errors = [rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]]
        axes[1].errorbar(rows["delta_t_ms"], rows["mean"], yerr=errors, fmt="o", ms=3,
                         color=color, label=label, capsize=2)  # fmt: skip
        axes[1].plot(rows["delta_t_ms"], rows["theory"], color=color, lw=1, alpha=0.6)
    paper = pd.Series(PAPER_DP_WINDOW)
    axes[1].plot(paper.index, paper.values, "x", color="tab:green", ms=5,
                 label="Graupner & Brunel 2012")  # fmt: skip
    axes[1].axhline(1.0, color="0.5", lw=0.8)
    axes[1].axvline(0.0, color="0.5", lw=0.8)
    axes[1].set_xlabel("dt = t_post - t_pre (ms)")
    axes[1].set_ylabel("change of synaptic strength (after / before)")
    axes[1].set_title("60 pairs at 1 Hz (points: simulation, lines: theory)")
    axes[1].legend(frameon=False, fontsize=8)

    frequency = table[table["part"] == "frequency"]
    delays = sorted(frequency["delta_t_ms"].unique())
    for delta_t, color in ((delays[0], "tab:blue"), (delays[-1], "tab:red")):
        rows = frequency[frequency["delta_t_ms"] == delta_t].sort_values("frequency_hz")
        errors = [rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]]
        axes[2].errorbar(rows["frequency_hz"], rows["mean"], yerr=errors, fmt="o-", ms=3,
                         color=color, label=f"dt = {delta_t:+g} ms", capsize=2)  # fmt: skip
        axes[2].plot(rows["frequency_hz"], rows["theory"], color=color, lw=1, ls=":")
    axes[2].axhline(1.0, color="0.5", lw=0.8)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("pairing rate (Hz)")
    axes[2].set_ylabel("change of synaptic strength")
    axes[2].set_title("60 pairs: frequency dependence")
    axes[2].legend(frameon=False, fontsize=8)
    n = result["config"].n_agents
    fig.suptitle(f"Calcium-based STDP (Graupner & Brunel 2012, DP), {n} synapses per condition",
                 fontsize=11)  # fmt: skip
    return [save_figure(fig, Path(out_dir) / "stdp_window.png")]
