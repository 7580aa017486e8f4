"""Skill learning: sequence-specific skill and the power law of practice in a serial reaction
time task (Nissen & Bullemer 1987; Newell & Rosenbloom 1981) and retuning of the perturbed
units in brain-computer-interface reaching (Jarosiewicz et al. 2008; Legenstein, Chase, Schwartz
& Maass 2010).

Two populations of plastic agents, each with its task's preset (``plasticgym.agents.presets``;
one hyperparameter changed for the serial reaction time task, see below), and two more for the
memory variant of the serial reaction time task (at the end):

**Serial reaction time** (``SkillLearning-v0``, four positions, noisy cue, the three previous
targets shown): one familiarisation block of random positions, sequence blocks of the 10-item
sequence DBCACBDCBA, one block of random positions, then a sequence block again. A wrong
response or a miss earns ``reward_error = -1`` (the task's default is 0), so an error costs as
much as a correct response earns and pressing a key the agent cannot predict is worse than
watching (action 0) for a clearer view: the agents hold back while they do not know where the
target will be, so latency can fall as they learn where it will be. With the default 0 a
guess costs nothing and they answer at the first sight of the cue throughout (latency 1 step:
nothing to fit). In the familiarisation block the agents meet the cost of errors and learn to
hold back (about 3.5 steps per trial, a tenth of the trials missed); on the sequence they learn
to predict the next position from the previous-target channels and respond sooner and more
accurately. The speed-up comes from the sequence: with random positions in the training phase
instead (a control, not run here) latency stays at about 3 steps and the power law fits no
better than the mean. But it is a loss of caution across the board, not a confidence per
position: by the last training block the agents answer at the first sight at every position of
the sequence, also at those they still predict poorly (accuracy ~0.3). Without the
familiarisation block the first trials of practice mix two things: the untrained agents press
at random (latency ~1) until the first errors teach them to hold back, so latency rises for the
first ~75 trials of practice before it falls. Agent hyperparameters (``SRT_HYPERPARAMETERS``,
over the preset): ``actor_lr = 0.05`` (the preset's 0.2 makes the agents settle within ~50
trials: latency from ~1.7 steps to ~1.1, and a smaller gain in accuracy).

Per agent, the last training block is compared with the random block and the random block with
the recovery block: knowing the sequence makes the responses more accurate and faster, and the
advantage returns with the sequence (it is sequence-specific, not general practice). The
latency over sequence practice (per agent, the mean over bins of ``practice_bin`` trials, bin
``N = 1, 2, ...`` from the first training trial) is fitted by a power law ``L = A + B N^-alpha``
(Newell & Rosenbloom 1981; ``A >= 1``, the shortest possible latency), by an exponential
``A + B exp(-N / tau)`` (Heathcote, Brown & Mewhort 2000) and by a straight line. Two verdicts:
latency falls with practice, as a decelerating curve (latency falls from the first to the last
training block, and the power law explains it better than its mean and better than the line),
and the **power law is preferred** over the exponential by each agent's AIC (both curves have
three parameters, so AIC and BIC give the same difference, ``n ln(RSS_exp / RSS_power)``).
The second fails: nearly every agent's curve is better fitted by the exponential (each agent's
latency falls within a few bins to the 1-step floor and stays there), as Heathcote et al. found
for people's individual learning curves (they argue that the power law of averaged curves can
come from averaging exponentials). Latency does not come back down in the recovery block: the
caution relearned in the random block lasts through its 100 trials (only the accuracy returns,
which is what is judged).

**Reaching** (``Reaching-v0``, 16 units driving a cursor through a population-vector decoder,
4 targets): a baseline phase, then a perturbation phase in which the decoder's preferred
directions of half of the units are rotated by 90 degrees. The angular error falls with
practice, jumps at the rotation and recovers. Every ``snapshot_every`` steps the units' rates
for each target (cursor at the centre, no exploration noise) are recorded; a unit's preferred
direction is the vector sum of the target directions weighted by its rates. From the
perturbation's start to the end of the session the rotated units' preferred directions shift
more than the others' (the units that the decoder perturbed are the ones that retune), and
they shift in the rotation's direction, compensating for it.

**The memory variant** (``SkillLearning-v0`` with ``history=0``: the cue alone, the same
session): the sequence verdicts above are findings about what the actor learns, but that
observation shows the three previous targets, so the next position is a lookup from the input,
not a memory held by the agent (whose presynaptic traces, with the preset's
``reward_resets_traces=True``, are cleared at every step: every step brings a reward, the step
cost at least). Two more populations, heterogeneous (per agent ``actor_lr`` log-uniform in
``actor_lr_range``, ``trace_lambda`` uniform in ``trace_lambda_range``, the same draws in both),
learn the session without the previous targets: ``srt_memory`` with presynaptic traces that
outlast the step (``reward_resets_traces=False``, decay ``memory_trace_decay``), so the
microstimuli carry the last cues; ``srt_memoryless`` (the control) with the traces cleared at
every step. Verdicts: with memory, the sequence blocks around the random block (the last
training block and the recovery block, whose mean cancels a linear drift with practice) are
more accurate and faster than the random block; without memory, their accuracy difference is
equivalent to 0 (TOST, margin ``MEMORY_MARGIN`` = the 0.1 gain ``sequence_more_accurate``
needs, which the lookup population exceeds). The first two fail: held only in the traces, the
sequence brings no benefit (docs/experiments.md has the numbers).

Every verdict is judged per agent with a 95% confidence interval over agents and labelled
(:data:`KIND`) ``finding`` (could fail) or ``mechanism check`` (holds by the equations: only
``rotation_increases_error``, the decoder's geometry).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pandas as pd
from scipy import optimize

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    pyplot,
    save_figure,
    tensorboard_folder,
)
from plasticgym.experiments.stats import (
    ci_row,
    estimate_row,
    format_ci,
    format_tost,
    mean_ci,
    proportion_ci,
    tost,
)

NAME = "skill"
DESCRIPTION = (
    "serial reaction time: accurate, fast sequence responses that drop in a random block, "
    "latency falls with practice (is it a power law or an exponential?); BCI reaching: error "
    "recovers after a rotation and the rotated units retune (Nissen 1987; Newell 1981; "
    "Heathcote 2000; Legenstein 2010)"
)
SRT = "plasticgym/SkillLearning-v0"
REACHING = "plasticgym/Reaching-v0"
SRT_HYPERPARAMETERS = {"actor_lr": 0.05}
"""Over the SkillLearning-v0 preset for this experiment (see the module docstring)."""


@dataclass(frozen=True)
class Config:
    """What to run: ``n_agents`` agents per task; ``reward_error`` is the serial reaction time
    task's reward of a wrong response or a miss (see the module docstring)."""

    n_agents: int = 32
    seed: int = 0
    familiarisation_blocks: int = 1
    training_blocks: int = 6
    block_trials: int = 100
    history: int = 3
    reward_error: float = -1.0
    baseline_trials: int = 150
    perturbation_trials: int = 200
    rotation: float = 90.0
    rotated_fraction: float = 0.5
    n_units: int = 16
    n_targets: int = 4
    snapshot_every: int = 50
    practice_bin: int = 25
    device: str = "cpu"
    memory_trace_decay: float = 0.9
    actor_lr_range: tuple[float, float] = (0.025, 0.1)
    trace_lambda_range: tuple[float, float] = (0.3, 0.7)

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 20 s on one CPU thread)."""
        short = {"n_agents": 24, "training_blocks": 5, "baseline_trials": 100,
                 "perturbation_trials": 150}  # fmt: skip
        return cls(**{**short, **overrides})

    def srt_env_kwargs(self) -> dict[str, Any]:
        familiarisation = [
            {"name": "familiarisation", "blocks": self.familiarisation_blocks,
             "block_type": "random"},
        ] if self.familiarisation_blocks else []  # fmt: skip
        return {
            "block_trials": self.block_trials,
            "history": self.history,
            "reward_error": self.reward_error,
            "protocol": [
                *familiarisation,
                {"name": "training", "blocks": self.training_blocks},
                {"name": "random", "blocks": 1, "block_type": "random"},
                {"name": "recovery", "blocks": 1},
            ],
        }

    def memory_env_kwargs(self) -> dict[str, Any]:
        """The serial reaction time session of the memory variant: the same protocol, the cue
        alone (``history=0``)."""
        return {**self.srt_env_kwargs(), "history": 0}

    def srt_trials(self) -> int:
        """Trials of the serial reaction time session."""
        return (self.familiarisation_blocks + self.training_blocks + 2) * self.block_trials

    def reaching_env_kwargs(self) -> dict[str, Any]:
        return {
            "n_targets": self.n_targets,
            "n_units": self.n_units,
            "protocol": [
                {"name": "baseline", "trials": self.baseline_trials},
                {"name": "perturbation", "trials": self.perturbation_trials,
                 "rotation": self.rotation, "rotated_fraction": self.rotated_fraction},
            ],
        }  # fmt: skip


def _session_over(agent: PlasticAgent) -> bool:
    """Callback: go on until every agent has finished its first episode (the session)."""
    return not bool((agent.episodes_completed >= 1).all())


def _agent(
    env_id: str,
    config: Config,
    env_kwargs: dict[str, Any],
    tensorboard_log: str | None = None,
    tb_log_name: str | None = None,
    **hyperparameters: Any,
) -> PlasticAgent:
    hyperparameters = {**plastic_preset(env_id), **hyperparameters}
    return PlasticAgent(env_id, n_agents=config.n_agents, seed=config.seed, env_kwargs=env_kwargs,
                        device=config.device, tensorboard_log=tensorboard_log,
                        tb_log_name=tb_log_name, **hyperparameters)  # fmt: skip


def run_srt(
    config: Config, progress_bar: bool = False, tensorboard_log: str | None = None
) -> pd.DataFrame:
    """The serial reaction time session's records (first episode); TensorBoard run
    ``skill_srt`` under ``tensorboard_log`` if given."""
    agent = _agent(SRT, config, config.srt_env_kwargs(), tensorboard_log, f"{NAME}_srt",
                   **SRT_HYPERPARAMETERS)  # fmt: skip
    steps = config.srt_trials() * 20  # at most max_steps = 20 per trial
    agent.learn(steps, record=True, progress_bar=progress_bar, callback=_session_over)
    records = agent.records
    agent.close()
    return records[records["episode"] == 0].reset_index(drop=True)


MEMORY_VARIANTS = ("srt_memory", "srt_memoryless")
"""The two populations of the memory variant (``history=0``), by record-table name."""


def individual_differences(config: Config) -> dict[str, list[float]]:
    """Per-agent hyperparameters of the memory-variant populations, drawn with a generator
    seeded by ``config.seed``: ``actor_lr`` log-uniform in ``actor_lr_range``, the
    eligibility traces' ``trace_lambda`` uniform in ``trace_lambda_range`` (both populations
    draw the same values, so they differ only in the memory)."""
    rng = np.random.default_rng([config.seed, 15])
    low, high = np.log(config.actor_lr_range[0]), np.log(config.actor_lr_range[1])
    actor_lr = np.exp(rng.uniform(low, high, config.n_agents))
    trace_lambda = rng.uniform(*config.trace_lambda_range, config.n_agents)
    return {"actor_lr": actor_lr.tolist(), "trace_lambda": trace_lambda.tolist()}


def memory_hyperparameters(config: Config, variant: str) -> dict[str, Any]:
    """The agents of a memory-variant population: :func:`individual_differences` over the
    preset, and their presynaptic memory.

    ``srt_memory``: the stimulus traces outlast the step (``reward_resets_traces=False``,
    ``y_t = max(x_t, decay y_tm1)`` with ``decay = memory_trace_decay``), so the microstimuli
    carry the cues of the last trials. ``srt_memoryless`` (the control): the preset's
    ``reward_resets_traces=True``; every step of the task brings a reward (``-step_cost``
    at least, and ``+1 - step_cost`` or ``-1 - step_cost`` at a trial's end), so the traces
    are cleared at every step and the code is the current observation alone.
    """
    memory = {
        "srt_memory": {"reward_resets_traces": False,
                       "stimulus_trace_decay": config.memory_trace_decay},
        "srt_memoryless": {"reward_resets_traces": True},
    }[variant]  # fmt: skip
    return {**individual_differences(config), **memory}


def run_srt_memory(
    config: Config, variant: str, progress_bar: bool = False, tensorboard_log: str | None = None
) -> pd.DataFrame:
    """The memory variant's session (``history=0``) for the population ``variant`` of
    :data:`MEMORY_VARIANTS` (first episode's records); TensorBoard run ``skill_<variant>``."""
    agent = _agent(SRT, config, config.memory_env_kwargs(), tensorboard_log, f"{NAME}_{variant}",
                   **memory_hyperparameters(config, variant))  # fmt: skip
    agent.learn(config.srt_trials() * 20, record=True, progress_bar=progress_bar,
                callback=_session_over)  # fmt: skip
    records = agent.records
    agent.close()
    return records[records["episode"] == 0].reset_index(drop=True)


def target_tuning(agent: PlasticAgent, n_targets: int) -> np.ndarray:
    """Each agent's unit rates for each target with the cursor at the centre, without
    exploration noise: ``[n_agents, n_targets, n_units]``."""
    obs_size = agent.env.single_observation_space.shape[0]
    out = []
    for k in range(n_targets):
        obs = np.zeros((agent.n_agents, obs_size), dtype=np.float32)
        obs[:, k] = 1.0
        rates, _ = agent.predict(obs, deterministic=True)
        out.append(np.asarray(rates))
    return np.stack(out, axis=1)


def run_reaching(
    config: Config, progress_bar: bool = False, tensorboard_log: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reaching session's records (first episode, without the per-unit action arrays) and
    the tuning snapshots ``agent, step, target, unit, rate, rotated`` (``rotated``: the unit's
    decoder direction is rotated in the perturbation phase); TensorBoard run
    ``skill_reaching`` under ``tensorboard_log`` if given."""
    agent = _agent(REACHING, config, config.reaching_env_kwargs(), tensorboard_log,
                   f"{NAME}_reaching")  # fmt: skip
    snapshots: list[tuple[int, np.ndarray]] = [(0, target_tuning(agent, config.n_targets))]

    def snapshot(a: PlasticAgent) -> bool:
        if a.num_timesteps % config.snapshot_every == 0:
            snapshots.append((a.num_timesteps, target_tuning(a, config.n_targets)))
        return _session_over(a)

    trials = config.baseline_trials + config.perturbation_trials
    agent.learn(trials * 40, record=True, progress_bar=progress_bar, callback=snapshot)
    snapshots.append((agent.num_timesteps, target_tuning(agent, config.n_targets)))
    records = agent.records
    agent.close()
    dynamics = gym.make(REACHING, **config.reaching_env_kwargs()).unwrapped.dynamics
    rotated = np.asarray(dynamics.rotated_units[1], dtype=bool)
    B, K, U = snapshots[0][1].shape
    agents, targets, units = np.meshgrid(np.arange(B), np.arange(K), np.arange(U), indexing="ij")
    tuning = pd.concat([pd.DataFrame({
        "agent": agents.reshape(-1), "step": step, "target": targets.reshape(-1),
        "unit": units.reshape(-1), "rate": rates.reshape(-1), "rotated": rotated[units.reshape(-1)],
    }) for step, rates in snapshots], ignore_index=True)  # fmt: skip
    records = records[records["episode"] == 0].drop(columns="action").reset_index(drop=True)
    return records, tuning


def run(config: Config, out_dir: str | os.PathLike, progress_bar: bool = False) -> dict:
    """``{"srt": ..., "reaching": ..., "tuning": ..., "srt_memory": ...,
    "srt_memoryless": ...}`` record tables; TensorBoard runs ``skill_reaching``, ``skill_srt``,
    ``skill_srt_memory`` and ``skill_srt_memoryless`` under ``out_dir/tensorboard``."""
    tensorboard_log = tensorboard_folder(out_dir)
    reaching, tuning = run_reaching(config, progress_bar, tensorboard_log)
    srt = run_srt(config, progress_bar, tensorboard_log)
    memory = {variant: run_srt_memory(config, variant, progress_bar, tensorboard_log)
              for variant in MEMORY_VARIANTS}  # fmt: skip
    return {"srt": srt, "reaching": reaching, "tuning": tuning, **memory}


# ------------------------------------------------------------------------------ analysis


def srt_blocks(records: pd.DataFrame) -> pd.DataFrame:
    """Per agent and block: accuracy and mean latency of the block's responses (trial ends),
    with the block's phase."""
    ends = records[records["latency"] > 0]
    return (
        ends.groupby(["agent", "block"])
        .agg(phase=("phase", "first"), accuracy=("correct", "mean"), latency=("latency", "mean"))
        .reset_index()
    )


def power_law(n: np.ndarray, a: float, b: float, alpha: float) -> np.ndarray:
    """``A + B N^-alpha`` (Newell & Rosenbloom 1981)."""
    return a + b * np.power(n, -alpha)


def exponential(n: np.ndarray, a: float, b: float, tau: float) -> np.ndarray:
    """``A + B exp(-N / tau)``, the power law's rival (Heathcote, Brown & Mewhort 2000)."""
    return a + b * np.exp(-n / tau)


def practice_latency(records: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Mean latency per agent (rows) and bin of sequence practice (columns ``N = 1, 2, ...``):
    bin ``N`` holds the trials ``(N - 1) * practice_bin .. N * practice_bin - 1`` counted from
    the agent's first training trial."""
    ends = records[(records["latency"] > 0) & (records["phase"] == "training")]
    practice = ends["trial"] - ends.groupby("agent")["trial"].transform("min")
    bins = ends.assign(N=practice // config.practice_bin + 1)
    return bins.groupby(["agent", "N"])["latency"].mean().unstack("N")


ALPHA_MAX = 5.0


Curve = Callable[[np.ndarray, float, float, float], np.ndarray]


def fit_curve(model: Curve, n: np.ndarray, y: np.ndarray, floor: float, rate: float) -> np.ndarray:
    """Least-squares ``[A, B, rate]`` of ``model(n, A, B, rate)`` (:func:`power_law` or
    :func:`exponential`) with ``A >= floor``, ``B >= 0`` and the rate in ``[0, ALPHA_MAX]`` for
    the power law's ``alpha``, in ``[1e-3, inf)`` for the exponential's ``tau``; the search
    starts from ``A = max(min y, floor)``, ``B = y_1 - A`` and ``rate`` (NaNs if it fails)."""
    a = max(float(y.min()), floor)
    high = ALPHA_MAX if model is power_law else np.inf
    low = 0.0 if model is power_law else 1e-3
    try:
        params, _ = optimize.curve_fit(
            model, n, y, p0=(a, max(float(y[0]) - a, 1e-3), rate),
            bounds=([floor, 0.0, low], [np.inf, np.inf, high]), maxfev=10_000,
        )  # fmt: skip
    except (RuntimeError, ValueError):
        params = np.full(3, np.nan)
    return params


def fit_power_law(n: np.ndarray, y: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """``[A, B, alpha]`` of :func:`power_law` fitted to ``y`` (see :func:`fit_curve`)."""
    return fit_curve(power_law, n, y, floor, 1.0)


def adjusted_r_squared(y: np.ndarray, fitted: np.ndarray, n_params: int) -> float:
    """``1 - (1 - R^2) (n - 1) / (n - n_params)`` for ``n`` points and a model with
    ``n_params`` parameters, intercept included: R^2 penalised for the parameters, so that the
    mean (a constant) scores 0 and an extra parameter must earn its place. NaN when ``y`` is
    constant or ``n <= n_params``."""
    spread = float(((y - y.mean()) ** 2).sum())
    if spread == 0.0 or y.size <= n_params:
        return float("nan")
    r_squared = 1.0 - float(((y - fitted) ** 2).sum()) / spread
    return 1.0 - (1.0 - r_squared) * (y.size - 1) / (y.size - n_params)


def latency_fits(curves: pd.DataFrame) -> pd.DataFrame:
    """Per agent (rows of ``curves``, latency per bin ``N``): ``A``, ``B``, ``alpha`` of the
    power law (``A >= 1``: no response takes less than a step), and the adjusted R^2 of the
    power law (3 parameters), of an exponential (3, also ``A >= 1``) and of a straight line
    (2) fitted to the agent's latency."""
    rows = {}
    for agent, row in curves.iterrows():
        keep = row.notna().to_numpy()
        n, y = curves.columns.to_numpy(dtype=float)[keep], row.to_numpy(dtype=float)[keep]
        params = fit_power_law(n, y, floor=1.0)
        decay = fit_curve(exponential, n, y, 1.0, n.size / 4)
        line = np.polyval(np.polyfit(n, y, 1), n)
        fitted = {"power": power_law(n, *params), "exponential": exponential(n, *decay)}
        rows[agent] = {
            "A": params[0], "B": params[1], "alpha": params[2], "tau": decay[2],
            "power_r2": adjusted_r_squared(y, fitted["power"], 3),
            "exponential_r2": adjusted_r_squared(y, fitted["exponential"], 3),
            "line_r2": adjusted_r_squared(y, line, 2),
            **{f"{name}_{criterion}": information_criterion(y, curve, 3, criterion)
               for name, curve in fitted.items() for criterion in ("aic", "bic")},
        }  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index")


def information_criterion(y: np.ndarray, fitted: np.ndarray, n_params: int, kind: str) -> float:
    """Akaike's or Schwarz's criterion of a least-squares fit with Gaussian errors:
    ``AIC = n ln(RSS / n) + 2 k``, ``BIC = n ln(RSS / n) + k ln n`` for ``n`` points and ``k``
    parameters (Burnham & Anderson 2002; the error variance, common to both curves, is left
    out of ``k``). Lower is better; with equal ``k`` the difference of two models is
    ``n ln(RSS_1 / RSS_2)`` under either criterion. NaN for a failed fit; ``RSS`` is floored
    at ``1e-12`` (a perfect fit)."""
    if not np.isfinite(fitted).all():
        return float("nan")
    rss = max(float(((y - fitted) ** 2).sum()), 1e-12)
    penalty = 2.0 * n_params if kind == "aic" else n_params * math.log(y.size)
    return y.size * math.log(rss / y.size) + penalty


def reaching_errors(records: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per agent: mean angular error (degrees, per trial then over trials) of the first and last
    20 baseline trials, the first 10 and the last 20 perturbation trials."""
    by_trial = records.groupby(["agent", "phase", "trial"], observed=True)["angular_error"].mean()
    out = {}
    for name, phase, first, n in (("baseline_start", "baseline", True, 20),
                                  ("baseline_end", "baseline", False, 20),
                                  ("perturbed_start", "perturbation", True, 10),
                                  ("perturbed_end", "perturbation", False, 20)):  # fmt: skip
        trials = by_trial.xs(phase, level="phase")
        pick = (lambda e, n=n: e.iloc[:n]) if first else (lambda e, n=n: e.iloc[-n:])
        out[name] = trials.groupby(level="agent").apply(lambda e, pick=pick: pick(e).mean())
    return pd.DataFrame(out)


def preferred_directions(rates: np.ndarray, n_targets: int) -> np.ndarray:
    """Preferred direction (radians) of each unit from its rates per target
    ``[..., n_targets, n_units]``: the angle of ``sum_k (r_k - mean r) u_k`` with ``u_k`` the
    direction of target ``k`` (at angle ``2 pi k / n_targets``)."""
    angles = 2 * np.pi * np.arange(n_targets) / n_targets
    centred = rates - rates.mean(axis=-2, keepdims=True)
    x = np.einsum("...ku,k->...u", centred, np.cos(angles))
    y = np.einsum("...ku,k->...u", centred, np.sin(angles))
    return np.arctan2(y, x)


def retuning(tuning: pd.DataFrame, records: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per agent and unit: the change of its preferred direction (degrees, signed, in
    (-180, 180]) from the last snapshot before the agent's perturbation phase began to the
    last snapshot, and whether the unit is rotated."""
    start = records[records["phase"] == "perturbation"].groupby("agent")["step"].min()
    rows = []
    for agent, snaps in tuning.groupby("agent"):
        steps = np.sort(snaps["step"].unique())
        before = steps[steps <= start.get(agent, steps[-1])].max()
        pds = {}
        for step in (before, steps[-1]):
            table = snaps[snaps["step"] == step].pivot(index="target", columns="unit",
                                                       values="rate")  # fmt: skip
            pds[step] = preferred_directions(table.to_numpy(), config.n_targets)
        shift = np.degrees(np.angle(np.exp(1j * (pds[steps[-1]] - pds[before]))))
        rotated = snaps.groupby("unit")["rotated"].first().to_numpy()
        rows.append(pd.DataFrame({"agent": agent, "unit": np.arange(len(shift)),
                                  "shift": shift, "rotated": rotated}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


# Margins of the verdicts (see ``analyse``).
ACCURACY_GAIN = 0.1
DEGREES = 10.0
MEMORY_MARGIN = ACCURACY_GAIN
"""TOST margin of ``no_sequence_benefit_without_memory``: the gain the sequence must bring in
``sequence_more_accurate``."""

KIND = {
    # Learned from the previous-target channels of the observation (a lookup the actor must
    # learn), so they could fail; but the sequence knowledge sits in the input, not the agent.
    "sequence_more_accurate": FINDING,
    "sequence_faster": FINDING,
    "advantage_returns_with_the_sequence": FINDING,
    "practice_reduces_errors": FINDING,
    "latency_falls_with_practice": FINDING,
    "power_law_preferred": FINDING,
    "reaching_learned": FINDING,
    # A trained decoder rotated for half of the units points the cursor elsewhere: geometry.
    "rotation_increases_error": MECHANISM_CHECK,
    "reaching_recovers": FINDING,
    "rotated_units_retune_more": FINDING,
    "retuning_follows_the_rotation": FINDING,
    # The memory variant (no previous targets shown): the sequence can help only through the
    # agent's presynaptic traces, which mix the last cues with the current one; could fail.
    "memory_sequence_more_accurate": FINDING,
    "memory_sequence_faster": FINDING,
    # The control without memory: the policy is a function of the current cue, whose
    # distribution given the target is the same in both kinds of block; but the sequence's
    # targets are not equally frequent (B, C 0.3; A, D 0.2) and the agents go on learning, so
    # a difference could still appear.
    "no_sequence_benefit_without_memory": FINDING,
}
"""Each verdict's label (:data:`plasticgym.experiments.report.VERDICT_KINDS`)."""


class Effect(NamedTuple):
    """A signature judged per agent: it holds when the 95% CI over agents of ``values`` lies
    above ``margin``; ``label`` names the quantity, ``task`` is ``"srt"`` or ``"reaching"``."""

    task: str
    values: pd.Series
    margin: float
    label: str


def srt_effects(
    accuracy: pd.DataFrame, latency: pd.DataFrame, key: dict[str, int]
) -> dict[str, Effect]:
    """The serial reaction time signatures from the accuracy and latency per agent (rows) and
    block (columns), with the ``key`` blocks of :func:`key_blocks`."""
    last, rand = key["last"], key["random"]
    return {
        "sequence_more_accurate": Effect("srt", accuracy[last] - accuracy[rand], ACCURACY_GAIN,
                                         "accuracy, last sequence block - random block"),
        "sequence_faster": Effect("srt", latency[rand] - latency[last], 0.0,
                                  "latency (steps), random block - last sequence block"),
        "advantage_returns_with_the_sequence": Effect(
            "srt", accuracy[key["recovery"]] - accuracy[rand], 0.0,
            "accuracy, recovery block - random block"),
        "practice_reduces_errors": Effect("srt", accuracy[last] - accuracy[key["first"]], 0.0,
                                          "error rate, first - last sequence block"),
    }  # fmt: skip


def reaching_effects(errors: pd.DataFrame) -> dict[str, Effect]:
    """The reaching signatures from the angular errors of :func:`reaching_errors`."""
    return {
        "reaching_learned": Effect(
            "reaching", errors["baseline_start"] - errors["baseline_end"], DEGREES,
            "angular error (deg), first 20 - last 20 baseline trials"),
        "rotation_increases_error": Effect(
            "reaching", errors["perturbed_start"] - errors["baseline_end"], DEGREES,
            "angular error (deg), first 10 rotated - last 20 baseline"),
        "reaching_recovers": Effect(
            "reaching", errors["perturbed_start"] - errors["perturbed_end"], DEGREES,
            "angular error (deg), first 10 - last 20 rotated trials"),
    }  # fmt: skip


def retuning_effects(shifts: pd.DataFrame, rotation: float) -> dict[str, Effect]:
    """The retuning signatures from the preferred-direction shifts of :func:`retuning`."""
    magnitude = shifts.assign(size=shifts["shift"].abs()).groupby(["agent", "rotated"])["size"]
    by_kind = magnitude.mean().unstack("rotated")
    signed = shifts[shifts["rotated"]].groupby("agent")["shift"].mean() * np.sign(rotation)
    return {
        "rotated_units_retune_more": Effect(
            "reaching", by_kind[True] - by_kind[False], DEGREES,
            "|preferred-direction shift| (deg), rotated - other units"),
        "retuning_follows_the_rotation": Effect(
            "reaching", signed, DEGREES,
            "signed preferred-direction shift (deg) of the rotated units, along the rotation"),
    }  # fmt: skip


def around_random(table: pd.DataFrame, key: dict[str, int]) -> pd.Series:
    """Per agent (rows of ``table``, accuracy or latency per block): the mean of the sequence
    blocks around the random block (the last training block and the recovery block) minus the
    random block. A linear drift with practice cancels, which the last training block alone
    would leave in (the random block comes after it)."""
    return (table[key["last"]] + table[key["recovery"]]) / 2 - table[key["random"]]


def block_tables(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int],
                                                  pd.DataFrame]:  # fmt: skip
    """Accuracy and latency per agent (rows) and block (columns), the :func:`key_blocks` and
    :func:`srt_blocks` indexed by agent and block, of one serial reaction time session."""
    table = srt_blocks(records)
    blocks = table.set_index(["agent", "block"])
    accuracy, latency = blocks["accuracy"].unstack("block"), blocks["latency"].unstack("block")
    return accuracy, latency, key_blocks(table), blocks


def memory_analysis(
    records: dict[str, pd.DataFrame], lookup: tuple[pd.DataFrame, dict[str, int]]
) -> tuple[dict[str, bool], dict[str, str], list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """The memory variant's verdicts, lines, table rows and accuracy tables (per population,
    also ``srt``: the previous targets shown), from the ``srt_memory`` and ``srt_memoryless``
    records and ``lookup`` = (accuracy, key blocks) of the ``srt`` population."""
    accuracy = {"srt": lookup[0]}
    gains: dict[str, dict[str, pd.Series]] = {"srt": {"accuracy": around_random(*lookup)}}
    rows = []
    for variant in MEMORY_VARIANTS:
        acc, lat, key, blocks = block_tables(records[variant])
        accuracy[variant] = acc
        gains[variant] = {"accuracy": around_random(acc, key), "latency": -around_random(lat, key)}
        rows.extend(_block_rows(acc, lat, blocks, task=variant))
    labels = {"accuracy": "accuracy, sequence blocks around the random block - random block",
              "latency": "latency (steps), random block - sequence blocks around it"}  # fmt: skip
    gain_rows = [
        ci_row(values, task=task, quantity=labels[name])
        for task, by_name in gains.items()
        for name, values in by_name.items()
    ]
    rows = gain_rows + rows
    memory = {name: mean_ci(gains["srt_memory"][name]) for name in labels}
    control = tost(gains["srt_memoryless"]["accuracy"], None, MEMORY_MARGIN)
    contrast = mean_ci(gains["srt"]["accuracy"])
    verdicts = {
        "memory_sequence_more_accurate": memory["accuracy"][1] > 0.0,
        "memory_sequence_faster": memory["latency"][1] > 0.0,
        "no_sequence_benefit_without_memory": control.equivalent and contrast[1] > MEMORY_MARGIN,
    }
    where = "no previous targets shown (history=0)"
    lines = {
        "memory_sequence_more_accurate": f"{where}, presynaptic traces that outlast the step: "
        f"{labels['accuracy']} {format_ci(*memory['accuracy'])} (needs CI > 0)",
        "memory_sequence_faster": f"{where}, presynaptic traces that outlast the step: "
        f"{labels['latency']} {format_ci(*memory['latency'])} (needs CI > 0)",
        "no_sequence_benefit_without_memory": f"{where}, traces cleared at every step (no "
        f"memory): {labels['accuracy']} {format_tost(control, MEMORY_MARGIN)} (needs p < 0.05); "
        f"contrast, the three previous targets shown: {format_ci(*contrast)} (needs CI > "
        f"{MEMORY_MARGIN:g}: the margin is smaller than the effect it rules out)",
    }
    return verdicts, lines, rows, accuracy


def phase_blocks(blocks: pd.DataFrame, phase: str) -> list[int]:
    """Indices of the blocks of ``phase`` in :func:`srt_blocks` output, in order."""
    return sorted(blocks.loc[blocks["phase"] == phase, "block"].unique())


def key_blocks(blocks: pd.DataFrame) -> dict[str, int]:
    """The blocks the signatures compare in :func:`srt_blocks` output: the ``first`` and
    ``last`` training block, the ``random`` block and the ``recovery`` block."""
    training = phase_blocks(blocks, "training")
    (rand,), (recovery,) = phase_blocks(blocks, "random"), phase_blocks(blocks, "recovery")
    return {"first": training[0], "last": training[-1], "random": rand, "recovery": recovery}


def law_of_practice(fall: pd.Series, fits: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """95% CIs over agents of the law of practice in latency: the fall of latency from the first
    to the last training block (``fall``, per agent), and from the agents' fits
    (:func:`latency_fits`) the adjusted R^2 of the power law, its gain over a straight line and
    over an exponential, ``A`` and ``alpha``."""
    return {
        "fall": mean_ci(fall),
        "power_r2": mean_ci(fits["power_r2"]),
        "gain": mean_ci(fits["power_r2"] - fits["line_r2"]),
        "over_exponential": mean_ci(fits["power_r2"] - fits["exponential_r2"]),
        "delta_aic": mean_ci(fits["exponential_aic"] - fits["power_aic"]),
        "delta_bic": mean_ci(fits["exponential_bic"] - fits["power_bic"]),
        "power_preferred": proportion_ci(preferred(fits, "power")),
        "exponential_preferred": proportion_ci(preferred(fits, "exponential")),
        "A": mean_ci(fits["A"]),
        "alpha": mean_ci(fits["alpha"]),
        "tau": mean_ci(fits["tau"]),
    }


def preferred(fits: pd.DataFrame, model: str) -> np.ndarray:
    """Per agent: 1.0 where ``model`` (``"power"`` or ``"exponential"``) has the lower AIC,
    0.0 where the other has, NaN where a fit failed (ties count for neither)."""
    other = "exponential" if model == "power" else "power"
    mine, theirs = fits[f"{model}_aic"].to_numpy(), fits[f"{other}_aic"].to_numpy()
    out = (mine < theirs).astype(float)
    out[~(np.isfinite(mine) & np.isfinite(theirs))] = np.nan
    return out


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Verdicts (95% CIs over agents):

    - ``sequence_more_accurate``: accuracy of the last training block - random block >
      ``ACCURACY_GAIN``;
    - ``sequence_faster``: latency of the random block - last training block > 0;
    - ``advantage_returns_with_the_sequence``: accuracy of the recovery block - random block >
      0;
    - ``practice_reduces_errors``: error rate of the first - last training block > 0;
    - ``latency_falls_with_practice``: latency of the first - last training block > 0, and,
      per agent over the bins of sequence practice, the adjusted R^2 of ``L = A + B N^-alpha``
      > 0 (better than a constant) and its adjusted R^2 - that of a straight line > 0;
    - ``power_law_preferred``: per agent, AIC of the exponential ``A + B exp(-N / tau)`` -
      AIC of the power law > 0 (both have 3 parameters, so BIC gives the same difference):
      the power law of practice, against its rival (Heathcote, Brown & Mewhort 2000);
    - ``reaching_learned``, ``rotation_increases_error``, ``reaching_recovers``: angular error
      of the first 20 - last 20 baseline trials, first 10 perturbation trials - last 20
      baseline trials, first 10 - last 20 perturbation trials, each > ``DEGREES``;
    - ``rotated_units_retune_more``: mean |shift of the preferred direction| of the rotated
      units - of the others > ``DEGREES``;
    - ``retuning_follows_the_rotation``: mean signed shift of the rotated units, in the
      rotation's direction, > ``DEGREES``;
    - the memory variant (``history=0``, :func:`memory_analysis`), with ``around_random`` the
      mean of the last training and the recovery block - the random block
      (:func:`around_random`): ``memory_sequence_more_accurate`` and
      ``memory_sequence_faster``, with presynaptic traces that outlast the step, accuracy
      ``around_random`` > 0 and latency ``-around_random`` > 0;
      ``no_sequence_benefit_without_memory`` (the control, traces cleared at every step): TOST
      of ``|accuracy around_random| < MEMORY_MARGIN`` at 5%, and the same quantity in the
      ``srt`` population (the previous targets shown) > ``MEMORY_MARGIN``.
    """
    accuracy, latency, key, blocks = block_tables(records["srt"])
    table = srt_blocks(records["srt"])
    errors = reaching_errors(records["reaching"], config)
    shifts = retuning(records["tuning"], records["reaching"], config)
    effects = {
        **srt_effects(accuracy, latency, key),
        **reaching_effects(errors),
        **retuning_effects(shifts, config.rotation),
    }
    verdicts, lines = _effect_verdicts(effects)
    curves = practice_latency(records["srt"], config)
    fits = latency_fits(curves)
    law = law_of_practice(latency[key["first"]] - latency[key["last"]], fits)
    for name, (verdict, line) in _practice_verdicts(law, config.practice_bin).items():
        verdicts[name], lines[name] = verdict, line
    memory_verdicts, memory_lines, memory_rows, memory_accuracy = memory_analysis(
        records, (accuracy, key)
    )
    verdicts.update(memory_verdicts)
    lines.update(memory_lines)
    kinds = {name: KIND[name] for name in verdicts}
    rows = [
        *(ci_row(e.values, task=e.task, quantity=e.label) for e in effects.values()),
        *_law_rows(law, len(fits)),
        *_block_rows(accuracy, latency, blocks),
        *(ci_row(errors[column], task="reaching", quantity=f"angular error {column}")
          for column in errors.columns),
        *memory_rows,
    ]  # fmt: skip
    return {
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "table": pd.DataFrame(rows),
        "lines": labelled(lines, kinds),
        "accuracy": accuracy,
        "latency": latency,
        "practice": (curves, fits),
        "random_blocks": [*phase_blocks(table, "familiarisation"), key["random"]],
        "errors": errors,
        "shifts": shifts,
        "memory_accuracy": memory_accuracy,
        "config": config,
    }


def _effect_verdicts(effects: dict[str, Effect]) -> tuple[dict[str, bool], dict[str, str]]:
    """Each effect's verdict (its CI above its margin) and line."""
    verdicts, lines = {}, {}
    for name, effect in effects.items():
        estimate = mean_ci(effect.values)
        verdicts[name] = estimate[1] > effect.margin
        lines[name] = f"{effect.label}: {format_ci(*estimate)} (needs CI > {effect.margin:g})"
    return verdicts, lines


def _fraction(estimate: tuple[float, float, float]) -> str:
    return "{:.2f} [{:.2f}, {:.2f}]".format(*estimate)


def _practice_verdicts(
    law: dict[str, tuple[float, float, float]], practice_bin: int
) -> dict[str, tuple[bool, str]]:
    """``latency_falls_with_practice`` and ``power_law_preferred`` from the estimates of
    :func:`law_of_practice`: their verdicts and lines."""
    falls = bool(law["fall"][1] > 0 and law["power_r2"][1] > 0 and law["gain"][1] > 0)
    falls_line = (
        f"latency (steps), first - last training block {format_ci(*law['fall'])}; per agent over "
        f"bins of {practice_bin} trials, adjusted R^2 of L = A + B N^-alpha "
        f"{format_ci(*law['power_r2'])}, minus a straight line's {format_ci(*law['gain'])} "
        f"(needs the three CIs > 0: a decelerating fall)"
    )
    power = bool(law["delta_aic"][1] > 0)
    power_line = (
        f"per agent, AIC of the exponential A + B exp(-N / tau) - of the power law (3 parameters "
        f"each, so = BIC's difference) {format_ci(*law['delta_aic'], 1)} (needs CI > 0: the "
        f"power law preferred); fraction of agents preferring the power law "
        f"{_fraction(law['power_preferred'])}, the exponential "
        f"{_fraction(law['exponential_preferred'])} (Wilson 95%; Heathcote, Brown & Mewhort "
        f"2000 found the exponential better for most individual curves)"
    )
    return {"latency_falls_with_practice": (falls, falls_line),
            "power_law_preferred": (power, power_line)}  # fmt: skip


LAW_LABELS = {
    "fall": "latency (steps), first - last training block",
    "power_r2": "adjusted R^2 of the latency power law L = A + B N^-alpha",
    "gain": "adjusted R^2 of the latency power law - of a straight line",
    "over_exponential": "adjusted R^2 of the latency power law - of an exponential "
    "A + B exp(-N / tau)",
    "delta_aic": "AIC of the exponential - of the power law (> 0: power law preferred)",
    "delta_bic": "BIC of the exponential - of the power law (> 0: power law preferred)",
    "power_preferred": "fraction of agents whose AIC prefers the power law",
    "exponential_preferred": "fraction of agents whose AIC prefers the exponential",
    "A": "latency power law: A (steps)",
    "alpha": "latency power law: alpha",
    "tau": "latency exponential: tau (bins)",
}
"""Table labels of the estimates of :func:`law_of_practice`, in the table's order."""


def _law_rows(law: dict[str, tuple[float, float, float]], n_fits: int) -> list[dict[str, Any]]:
    """The table rows of the estimates of :func:`law_of_practice` (over ``n_fits`` agents)."""
    return [
        estimate_row(law[key], n_fits, task="srt", quantity=label)
        for key, label in LAW_LABELS.items()
    ]


def _block_rows(
    accuracy: pd.DataFrame, latency: pd.DataFrame, blocks: pd.DataFrame, task: str = "srt"
) -> list[dict[str, Any]]:
    """Accuracy and latency of every block, with its phase (``blocks``: :func:`srt_blocks`
    indexed by agent and block)."""
    rows = []
    for block in accuracy.columns:
        phase = blocks.xs(block, level="block")["phase"].iloc[0]
        rows.append(ci_row(accuracy[block], task=task, quantity=f"accuracy, block {block} "
                           f"({phase})"))  # fmt: skip
        rows.append(ci_row(latency[block], task=task, quantity=f"latency, block {block} "
                           f"({phase})"))  # fmt: skip
    return rows


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Accuracy and latency per block, the practice curve with its power law, the reaching
    error per trial, and the preferred-direction shifts of rotated vs other units."""
    plt = pyplot()
    config = result["config"]
    fig, axes = plt.subplots(1, 5, figsize=(21, 3.8))
    accuracy, latency = result["accuracy"], result["latency"]
    blocks = accuracy.columns.to_numpy()
    for ax, table, label in ((axes[0], accuracy, "accuracy"), (axes[0].twinx(), latency,
                                                                "latency (steps)")):  # fmt: skip
        summary = np.array([mean_ci(table[b]) for b in blocks])
        color = "tab:blue" if label == "accuracy" else "tab:orange"
        ax.errorbar(blocks, summary[:, 0], yerr=[summary[:, 0] - summary[:, 1],
                    summary[:, 2] - summary[:, 0]], marker="o", color=color, capsize=3)  # fmt: skip
        ax.set_ylabel(label, color=color)
    for block in result["random_blocks"]:
        axes[0].axvspan(block - 0.5, block + 0.5, color="0.85")
    axes[0].set_xlabel("block (grey: random positions)")
    axes[0].set_title("serial reaction time (bars: 95% CI)")

    curves, fits = result["practice"]
    n = curves.columns.to_numpy(dtype=float)
    summary = np.array([mean_ci(curves[column]) for column in curves.columns])
    axes[1].errorbar(n, summary[:, 0], yerr=[summary[:, 0] - summary[:, 1],
                     summary[:, 2] - summary[:, 0]], fmt="o", ms=3, capsize=2)  # fmt: skip
    grid = np.linspace(n.min(), n.max(), 200)
    power = fit_power_law(n, summary[:, 0], floor=1.0)
    decay = fit_curve(exponential, n, summary[:, 0], 1.0, n.size / 4)
    if np.isfinite(power).all():
        label = f"power law {power[0]:.2f} + {power[1]:.2f} N^-{power[2]:.2f}"
        axes[1].plot(grid, power_law(grid, *power), color="k", label=label)
    if np.isfinite(decay).all():
        label = f"exponential {decay[0]:.2f} + {decay[1]:.2f} exp(-N / {decay[2]:.2f})"
        axes[1].plot(grid, exponential(grid, *decay), color="k", ls="--", label=label)
    # one set of numbers per curve: the fits drawn are to the mean curve; the per-agent fits
    # (their alphas and the AIC comparison) are in the report, not repeated here
    axes[1].legend(frameon=False, fontsize=8, title="fits to the mean curve", title_fontsize=8)
    axes[1].set_xlabel(f"N (bins of {config.practice_bin} trials of sequence practice)")
    axes[1].set_ylabel("latency (steps); bars: 95% CI")
    preferred_exponential = fits["exponential_aic"] < fits["power_aic"]
    axes[1].set_title(f"practice (AIC per agent: exponential preferred by "
                      f"{preferred_exponential.mean():.0%})")  # fmt: skip

    reaching = records["reaching"]
    by_trial = reaching.groupby(["trial", "agent"])["angular_error"].mean().groupby("trial")
    mean = by_trial.mean().rolling(5, min_periods=1).mean()
    axes[2].plot(mean.index, mean, color="tab:purple")
    axes[2].axvline(config.baseline_trials - 0.5, color="0.3", ls="--", lw=1)
    axes[2].set_xlabel(f"trial (dashed: decoder rotated {config.rotation:g} deg)")
    axes[2].set_ylabel("angular error (deg)")
    axes[2].set_title("BCI reaching")

    shifts = result["shifts"]
    bins = np.linspace(-180, 180, 37)
    for rotated, color in ((True, "tab:red"), (False, "tab:gray")):
        axes[3].hist(shifts[shifts["rotated"] == rotated]["shift"], bins=bins, alpha=0.6,
                     color=color, label="rotated units" if rotated else "other units")  # fmt: skip
    axes[3].axvline(config.rotation, color="tab:red", ls="--", lw=1)
    axes[3].set_xlabel("shift of preferred direction (deg)")
    axes[3].set_ylabel("units")
    axes[3].set_title("which units retune")
    axes[3].legend(frameon=False, fontsize=8)
    names = {"srt": "3 previous targets shown", "srt_memory": "cue alone, traces kept",
             "srt_memoryless": "cue alone, no memory (control)"}  # fmt: skip
    colors = ("tab:blue", "tab:green", "tab:gray")
    for (name, table), color in zip(result["memory_accuracy"].items(), colors, strict=True):
        columns = table.columns.to_numpy()
        summary = np.array([mean_ci(table[b]) for b in columns])
        axes[4].errorbar(columns, summary[:, 0], yerr=[summary[:, 0] - summary[:, 1],
                         summary[:, 2] - summary[:, 0]], marker="o", ms=3, capsize=2,
                         color=color, label=names[name])  # fmt: skip
    for block in result["random_blocks"]:
        axes[4].axvspan(block - 0.5, block + 0.5, color="0.85")
    axes[4].set_xlabel("block (grey: random positions)")
    axes[4].set_ylabel("accuracy; bars: 95% CI")
    axes[4].set_title("is the sequence held in the agent?")
    axes[4].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Skill learning, n={config.n_agents} agents per population", fontsize=11)
    return [save_figure(fig, Path(out_dir) / "skill.png")]
