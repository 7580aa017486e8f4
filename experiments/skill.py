"""Skill learning: sequence-specific skill in a serial reaction time task (Nissen & Bullemer
1987) and retuning of the perturbed units in brain-computer-interface reaching (Jarosiewicz et
al. 2008; Legenstein, Chase, Schwartz & Maass 2010).

Two populations of plastic agents, each with its task's preset (``plasticgym.agents.presets``):

**Serial reaction time** (``SkillLearning-v0``, four positions, noisy cue, the three previous
targets shown): sequence blocks of the 10-item sequence DBCACBDCBA, then one block of random
positions, then a sequence block again. Per agent, the last training block is compared with
the random block and the random block with the recovery block: knowing the sequence makes the
responses more accurate and faster, and the advantage returns with the sequence (it is
sequence-specific, not general practice). The error rate over practice is fitted by a power
law ``E = A + B N^-alpha`` (Newell & Rosenbloom 1981) on the population's mean, reported in the
table (with its R^2) and the figure, not judged. The plastic agent answers at the first sight
of the cue (latency ~1 step), so its skill shows mainly as accuracy: a latency power law has
nothing to fit; and its error rate stays on a plateau until the sequence is picked up, then
drops, which a power law fits poorly.

**Reaching** (``Reaching-v0``, 16 units driving a cursor through a population-vector decoder,
4 targets): a baseline phase, then a perturbation phase in which the decoder's preferred
directions of half of the units are rotated by 90 degrees. The angular error falls with
practice, jumps at the rotation and recovers. Every ``snapshot_every`` steps the units' rates
for each target (cursor at the centre, no exploration noise) are recorded; a unit's preferred
direction is the vector sum of the target directions weighted by its rates. From the
perturbation's start to the end of the session the rotated units' preferred directions shift
more than the others' (the units that the decoder perturbed are the ones that retune), and
they shift in the rotation's direction, compensating for it.

Every verdict is judged per agent with a 95% confidence interval over agents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from scipy import optimize

from plasticgym.agents import PlasticAgent
from plasticgym.agents.presets import plastic_preset
from plasticgym.experiments.report import pyplot, save_figure
from plasticgym.experiments.stats import ci_row, format_ci, mean_ci

NAME = "skill"
DESCRIPTION = (
    "serial reaction time: accurate, fast sequence responses that drop in a random block; BCI "
    "reaching: error recovers after a rotation and the rotated units retune (Nissen 1987; "
    "Legenstein 2010)"
)
SRT = "plasticgym/SkillLearning-v0"
REACHING = "plasticgym/Reaching-v0"


@dataclass(frozen=True)
class Config:
    """What to run: ``n_agents`` agents per task."""

    n_agents: int = 32
    seed: int = 0
    training_blocks: int = 6
    block_trials: int = 100
    history: int = 3
    baseline_trials: int = 150
    perturbation_trials: int = 200
    rotation: float = 90.0
    rotated_fraction: float = 0.5
    n_units: int = 16
    n_targets: int = 4
    snapshot_every: int = 50
    practice_bin: int = 25
    device: str = "cpu"

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """The short version (about 15 s on 2 CPU cores)."""
        short = {"n_agents": 16, "training_blocks": 5, "baseline_trials": 100,
                 "perturbation_trials": 150}  # fmt: skip
        return cls(**{**short, **overrides})

    def srt_env_kwargs(self) -> dict[str, Any]:
        return {
            "block_trials": self.block_trials,
            "history": self.history,
            "protocol": [
                {"name": "training", "blocks": self.training_blocks},
                {"name": "random", "blocks": 1, "block_type": "random"},
                {"name": "recovery", "blocks": 1},
            ],
        }

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


def _agent(env_id: str, config: Config, env_kwargs: dict[str, Any]) -> PlasticAgent:
    return PlasticAgent(env_id, n_agents=config.n_agents, seed=config.seed, env_kwargs=env_kwargs,
                        device=config.device, **plastic_preset(env_id))  # fmt: skip


def run_srt(config: Config, progress_bar: bool = False) -> pd.DataFrame:
    """The serial reaction time session's records (first episode)."""
    agent = _agent(SRT, config, config.srt_env_kwargs())
    trials = (config.training_blocks + 2) * config.block_trials
    agent.learn(trials * 20, record=True, progress_bar=progress_bar, callback=_session_over)
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


def run_reaching(config: Config, progress_bar: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reaching session's records (first episode, without the per-unit action arrays) and
    the tuning snapshots ``agent, step, target, unit, rate, rotated`` (``rotated``: the unit's
    decoder direction is rotated in the perturbation phase)."""
    agent = _agent(REACHING, config, config.reaching_env_kwargs())
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
    """``{"srt": ..., "reaching": ..., "tuning": ...}`` record tables."""
    del out_dir  # nothing but the records
    reaching, tuning = run_reaching(config, progress_bar)
    return {"srt": run_srt(config, progress_bar), "reaching": reaching, "tuning": tuning}


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


def practice_curve(records: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, np.ndarray]:
    """The training phase's error rate per bin of ``practice_bin`` trials (per agent, then
    its mean over agents) and the power law fitted to that mean (``[A, B, alpha]``, NaNs if
    the fit fails)."""
    ends = records[(records["latency"] > 0) & (records["phase"] == "training")]
    bins = ends.assign(bin=ends["trial"] // config.practice_bin, error=~ends["correct"])
    per_agent = bins.groupby(["agent", "bin"])["error"].mean().unstack("bin")
    curve = pd.DataFrame({"trials": (per_agent.columns + 0.5) * config.practice_bin,
                          "error": per_agent.mean(), "sem": per_agent.sem()})  # fmt: skip
    try:
        params, _ = optimize.curve_fit(
            power_law, curve["trials"], curve["error"], p0=(0.5, 1.0, 0.5),
            bounds=([0.0, 0.0, 0.0], [1.0, 100.0, 5.0]), maxfev=10_000,
        )  # fmt: skip
    except (RuntimeError, ValueError):
        params = np.full(3, np.nan)
    return curve, params


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


def analyse(records: dict[str, pd.DataFrame], config: Config) -> dict[str, Any]:
    """Verdicts (95% CIs over agents):

    - ``sequence_more_accurate``: accuracy of the last training block - random block >
      ``ACCURACY_GAIN``;
    - ``sequence_faster``: latency of the random block - last training block > 0;
    - ``advantage_returns_with_the_sequence``: accuracy of the recovery block - random block >
      0;
    - ``practice_reduces_errors``: error rate of the first - last training block > 0;
    - ``reaching_learned``, ``rotation_increases_error``, ``reaching_recovers``: angular error
      of the first 20 - last 20 baseline trials, first 10 perturbation trials - last 20
      baseline trials, first 10 - last 20 perturbation trials, each > ``DEGREES``;
    - ``rotated_units_retune_more``: mean |shift of the preferred direction| of the rotated
      units - of the others > ``DEGREES``;
    - ``retuning_follows_the_rotation``: mean signed shift of the rotated units, in the
      rotation's direction, > ``DEGREES``.
    """
    blocks = srt_blocks(records["srt"]).set_index(["agent", "block"])
    accuracy, latency = blocks["accuracy"].unstack("block"), blocks["latency"].unstack("block")
    last, rand, recovery = (
        config.training_blocks - 1,
        config.training_blocks,
        config.training_blocks + 1,
    )
    effects = {
        "sequence_more_accurate": (accuracy[last] - accuracy[rand], ACCURACY_GAIN,
                                   "accuracy, last sequence block - random block"),
        "sequence_faster": (latency[rand] - latency[last], 0.0,
                            "latency (steps), random block - last sequence block"),
        "advantage_returns_with_the_sequence": (accuracy[recovery] - accuracy[rand], 0.0,
                                                "accuracy, recovery block - random block"),
        "practice_reduces_errors": (accuracy[last] - accuracy[0], 0.0,
                                    "error rate, first - last sequence block"),
    }  # fmt: skip
    errors = reaching_errors(records["reaching"], config)
    effects |= {
        "reaching_learned": (errors["baseline_start"] - errors["baseline_end"], DEGREES,
                             "angular error (deg), first 20 - last 20 baseline trials"),
        "rotation_increases_error": (errors["perturbed_start"] - errors["baseline_end"], DEGREES,
                                     "angular error (deg), first 10 rotated - last 20 baseline"),
        "reaching_recovers": (errors["perturbed_start"] - errors["perturbed_end"], DEGREES,
                              "angular error (deg), first 10 - last 20 rotated trials"),
    }  # fmt: skip
    shifts = retuning(records["tuning"], records["reaching"], config)
    magnitude = shifts.assign(size=shifts["shift"].abs()).groupby(["agent", "rotated"])["size"]
    by_kind = magnitude.mean().unstack("rotated")
    signed = shifts[shifts["rotated"]].groupby("agent")["shift"].mean() * np.sign(config.rotation)
    effects |= {
        "rotated_units_retune_more": (by_kind[True] - by_kind[False], DEGREES,
                                      "|preferred-direction shift| (deg), rotated - other units"),
        "retuning_follows_the_rotation": (signed, DEGREES, "signed preferred-direction shift "
                                          "(deg) of the rotated units, along the rotation"),
    }  # fmt: skip
    rows, verdicts, lines = [], {}, {}
    for name, (values, margin, label) in effects.items():
        estimate = mean_ci(values)
        verdicts[name] = estimate[1] > margin
        lines[name] = f"{label}: {format_ci(*estimate)} (needs CI > {margin:g})"
        rows.append(ci_row(values, task="srt" if name in list(effects)[:4] else "reaching",
                           quantity=label))  # fmt: skip
    for block in accuracy.columns:
        phase = blocks.xs(block, level="block")["phase"].iloc[0]
        rows.append(ci_row(accuracy[block], task="srt", quantity=f"accuracy, block {block} "
                           f"({phase})"))  # fmt: skip
        rows.append(ci_row(latency[block], task="srt", quantity=f"latency, block {block} "
                           f"({phase})"))  # fmt: skip
    curve, params = practice_curve(records["srt"], config)
    residual = curve["error"] - power_law(curve["trials"].to_numpy(), *params)
    spread = float(((curve["error"] - curve["error"].mean()) ** 2).sum())
    r_squared = 1 - float((residual**2).sum()) / spread if spread > 0 else float("nan")
    for name, value in zip(("A", "B", "alpha", "R^2"), [*params, r_squared], strict=True):
        rows.append({"task": "srt", "quantity": f"power law of the error rate E = A + B N^-alpha:"
                     f" {name} (fit to the mean over agents)", "mean": float(value),
                     "ci_low": np.nan, "ci_high": np.nan, "n": len(accuracy)})  # fmt: skip
    for column in errors.columns:
        rows.append(ci_row(errors[column], task="reaching", quantity=f"angular error {column}"))
    return {
        "verdicts": verdicts,
        "table": pd.DataFrame(rows),
        "lines": lines,
        "accuracy": accuracy,
        "latency": latency,
        "practice": (curve, params),
        "errors": errors,
        "shifts": shifts,
        "config": config,
    }


def plot(records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: Any) -> list[Path]:
    """Accuracy and latency per block, the practice curve with its power law, the reaching
    error per trial, and the preferred-direction shifts of rotated vs other units."""
    plt = pyplot()
    config = result["config"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    accuracy, latency = result["accuracy"], result["latency"]
    blocks = accuracy.columns.to_numpy()
    for ax, table, label in ((axes[0], accuracy, "accuracy"), (axes[0].twinx(), latency,
                                                                "latency (steps)")):  # fmt: skip
        summary = np.array([mean_ci(table[b]) for b in blocks])
        color = "tab:blue" if label == "accuracy" else "tab:orange"
        ax.errorbar(blocks, summary[:, 0], yerr=[summary[:, 0] - summary[:, 1],
                    summary[:, 2] - summary[:, 0]], marker="o", color=color, capsize=3)  # fmt: skip
        ax.set_ylabel(label, color=color)
    axes[0].axvspan(config.training_blocks - 0.5, config.training_blocks + 0.5, color="0.85")
    axes[0].set_xlabel("block (grey: random positions)")
    axes[0].set_title("serial reaction time")

    curve, params = result["practice"]
    axes[1].errorbar(curve["trials"], curve["error"], yerr=curve["sem"], fmt="o", ms=3)
    if np.isfinite(params).all():
        n = np.linspace(curve["trials"].min(), curve["trials"].max(), 200)
        axes[1].plot(n, power_law(n, *params), color="k",
                     label=f"{params[0]:.2f} + {params[1]:.2f} N^-{params[2]:.2f}")  # fmt: skip
        axes[1].legend(frameon=False, fontsize=8)
    axes[1].set_xlabel("trials of practice (sequence blocks)")
    axes[1].set_ylabel("error rate")
    axes[1].set_title("practice (power law fit)")

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
    fig.suptitle(f"Skill learning, n={config.n_agents} agents per task", fontsize=11)
    return [save_figure(fig, Path(out_dir) / "skill.png")]
