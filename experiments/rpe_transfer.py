"""Dopamine moves from the reward to the cue (Schultz, Dayan & Montague 1997).

A population of plastic agents is trained on Pavlovian conditioning (cue, then reward K steps
later, long variable inter-trial intervals, one continuing session), then probed with omitted
rewards and free (uncued) rewards. The dopamine each agent delivers to its synapses is read from
the records, per agent, and every signature is judged with a 95% confidence interval over
agents:

1. early in training the response sits at the reward, not at the cue;
2. after training it sits at the cue, not at the reward;
3. a predicted reward evokes almost nothing;
4. an omitted reward gives a dip below zero at the time the reward was due;
5. an unpredicted (free) reward still evokes the full response.

Run it with ``plasticgym quickstart`` or ``run(RpeTransferConfig())`` and ``analyse(records)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from plasticgym.agents import PlasticAgent
from plasticgym.records import save_records


@dataclass(frozen=True)
class RpeTransferConfig:
    """What to run.

    Individual differences: each agent's critic learning rate is drawn log-uniformly from
    ``critic_lr_range`` and its eligibility-trace ``lambda`` uniformly from
    ``trace_lambda_range`` (equal bounds give every agent the same value), so the statistics
    over agents describe a population, not one model run many times. Probes are rare (15% of
    probe-phase trials each) because the agents keep learning during the probe phase.
    """

    n_agents: int = 32
    seed: int = 0
    training_trials: int = 150
    probe_trials: int = 60
    cs_us_interval: int = 6
    iti: tuple[int, int] = (20, 40)
    omission_prob: float = 0.15
    free_reward_prob: float = 0.15
    critic_lr_range: tuple[float, float] = (0.05, 0.2)
    trace_lambda_range: tuple[float, float] = (0.7, 0.95)
    early_trials: int = 5
    late_trials: int = 40
    homeostasis: bool = True
    agent_kwargs: dict[str, Any] = field(default_factory=dict)
    tensorboard_log: str | None = None
    device: str = "cpu"

    def env_kwargs(self) -> dict[str, Any]:
        return {
            "cs_us_interval": self.cs_us_interval,
            "iti": self.iti,
            "protocol": [
                {"name": "training", "trials": self.training_trials},
                {
                    "name": "probe",
                    "trials": self.probe_trials,
                    "omission_prob": self.omission_prob,
                    "free_reward_prob": self.free_reward_prob,
                },
            ],
        }

    def max_steps(self) -> int:
        """Steps that are enough for every agent to finish the session, whatever its ITIs."""
        longest_trial = self.iti[1] + self.cs_us_interval + 1
        return (self.training_trials + self.probe_trials) * longest_trial


def individual_differences(config: RpeTransferConfig) -> dict[str, list[float]]:
    """Per-agent hyperparameters, drawn with a generator seeded by ``config.seed``."""
    rng = np.random.default_rng([config.seed, 7])
    low, high = np.log(config.critic_lr_range[0]), np.log(config.critic_lr_range[1])
    critic_lr = np.exp(rng.uniform(low, high, config.n_agents))
    trace_lambda = rng.uniform(*config.trace_lambda_range, config.n_agents)
    return {"critic_lr": critic_lr.tolist(), "trace_lambda": trace_lambda.tolist()}


def _session_over(agent: PlasticAgent) -> bool:
    """Callback: go on until every agent has finished its first episode (the session)."""
    return not bool((agent.episodes_completed >= 1).all())


def run(
    config: RpeTransferConfig, *, progress_bar: bool = False
) -> tuple[PlasticAgent, pd.DataFrame]:
    """Train the population through one session; returns the agent and the session's records."""
    hyperparameters = {**individual_differences(config), **config.agent_kwargs}
    agent = PlasticAgent(
        "plasticgym/Pavlovian-v0",
        n_agents=config.n_agents,
        seed=config.seed,
        homeostasis=config.homeostasis,
        env_kwargs=config.env_kwargs(),
        tensorboard_log=config.tensorboard_log,
        device=config.device,
        **hyperparameters,
    )
    agent.learn(config.max_steps(), record=True, progress_bar=progress_bar, callback=_session_over)
    records = agent.records
    return agent, records[records["episode"] == 0].reset_index(drop=True)


def per_agent_responses(records: pd.DataFrame, config: RpeTransferConfig) -> pd.DataFrame:
    """Mean dopamine of each agent at each event of interest (one row per agent).

    Columns: ``early_cs``, ``early_us`` (first ``early_trials`` trials), ``late_cs``,
    ``late_us`` (last ``late_trials`` training trials, rewarded), ``omission`` (probe trials, at
    the time the reward was due) and ``free`` (probe trials, uncued reward).
    """
    training = records[records["phase"] == "training"]
    probe = records[records["phase"] == "probe"]
    early = training[training["trial"] < config.early_trials]
    late = training[training["trial"] >= config.training_trials - config.late_trials]
    cued_reward = ~records["free"] & records["us"]
    selections = {
        "early_cs": early[early["cs"]],
        "early_us": early[cued_reward.loc[early.index]],
        "late_cs": late[late["cs"]],
        "late_us": late[cued_reward.loc[late.index]],
        "omission": probe[probe["omitted"]],
        "free": probe[probe["free"]],
    }
    agents = np.sort(records["agent"].unique())
    out = {name: rows.groupby("agent")["dopamine"].mean().reindex(agents)
           for name, rows in selections.items()}  # fmt: skip
    return pd.DataFrame(out, index=pd.Index(agents, name="agent"))


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t confidence interval over agents (NaNs dropped)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1) * stats.sem(values))
    return mean, mean - half, mean + half


# Margins of the verdicts, in units of the reward magnitude (see ``analyse``).
EARLY_MARGIN = 0.3
LATE_MARGIN = 0.1
NEAR_ZERO = 0.2
DIP = 0.2
FULL_RESPONSE = 0.75


def analyse(records: pd.DataFrame, config: RpeTransferConfig) -> dict[str, Any]:
    """Summaries with 95% CIs over agents and a verdict for each expected signature.

    Verdicts (True when the CI clears the margin, with ``R`` the reward magnitude = 1):
    ``at_reward_early``: CI of ``early_us - early_cs`` above ``EARLY_MARGIN``;
    ``at_cue_late``: CI of ``late_cs - late_us`` above ``LATE_MARGIN``;
    ``predicted_reward_near_zero``: CI of ``late_us`` inside ``(-NEAR_ZERO, NEAR_ZERO)``;
    ``omission_dip``: CI of ``omission`` below ``-DIP``;
    ``free_reward_full``: CI of ``free`` above ``FULL_RESPONSE``.
    """
    responses = per_agent_responses(records, config)
    summary = {name: mean_ci(responses[name].to_numpy()) for name in responses}
    early_shift = mean_ci((responses["early_us"] - responses["early_cs"]).to_numpy())
    late_shift = mean_ci((responses["late_cs"] - responses["late_us"]).to_numpy())
    verdicts = {
        "at_reward_early": early_shift[1] > EARLY_MARGIN,
        "at_cue_late": late_shift[1] > LATE_MARGIN,
        "predicted_reward_near_zero": summary["late_us"][1] > -NEAR_ZERO
        and summary["late_us"][2] < NEAR_ZERO,
        "omission_dip": summary["omission"][2] < -DIP,
        "free_reward_full": summary["free"][1] > FULL_RESPONSE,
    }
    return {
        "n_agents": int(responses.shape[0]),
        "responses": {
            k: {"mean": m, "ci_low": lo, "ci_high": hi} for k, (m, lo, hi) in summary.items()
        },
        "early_us_minus_cs": dict(zip(("mean", "ci_low", "ci_high"), early_shift, strict=True)),
        "late_cs_minus_us": dict(zip(("mean", "ci_low", "ci_high"), late_shift, strict=True)),
        "verdicts": verdicts,
    }


def aligned_dopamine(records: pd.DataFrame, events: pd.Series, offsets: range) -> pd.DataFrame:
    """Mean and SEM over agents of the dopamine ``offsets`` steps from each event row.

    Rows are taken in each agent's step order, so an offset may reach into the next trial (the
    step after an omitted reward is the next trial's ITI). Each agent's mean comes first, so
    every agent weighs the same.
    """
    per_agent = {}
    for agent, rows in records.groupby("agent"):
        order = np.argsort(rows["step"].to_numpy(), kind="stable")
        dopamine = rows["dopamine"].to_numpy()[order]
        at = np.flatnonzero(events.loc[rows.index].to_numpy()[order])
        values = {}
        for offset in offsets:
            valid = at[(at + offset >= 0) & (at + offset < len(dopamine))]
            values[offset] = dopamine[valid + offset].mean() if valid.size else np.nan
        per_agent[agent] = values
    table = pd.DataFrame(per_agent).T
    return pd.DataFrame({"mean": table.mean(), "sem": table.sem()})


def plot(records: pd.DataFrame, config: RpeTransferConfig, path: str | os.PathLike) -> Path:
    """Figure: dopamine around the cue early vs late in training, and around the probes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    K = config.cs_us_interval
    training = records[records["phase"] == "training"]
    early = training[training["trial"] < config.early_trials]
    late = training[training["trial"] >= config.training_trials - config.late_trials]
    probe = records[records["phase"] == "probe"]
    around_cue = range(-3, K + 3)
    around_reward = range(-3, 4)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    panels = [
        (axes[0], f"Training (n={config.n_agents} agents)", around_cue, "steps from cue onset",
         [("early trials", early, early["cs"], "tab:orange"),
          ("late trials", late, late["cs"], "tab:blue")]),
        (axes[1], "Probe: reward omitted", around_reward, "steps from the due time",
         [("rewarded (cued)", probe, probe["us"] & ~probe["free"], "tab:blue"),
          ("reward omitted", probe, probe["omitted"], "tab:red")]),
        (axes[2], "Probe: unpredicted reward", around_reward, "steps from the reward",
         [("free reward (no cue)", probe, probe["free"], "tab:green")]),
    ]  # fmt: skip
    for ax, title, offsets, xlabel, curves in panels:
        for label, rows, events, color in curves:
            profile = aligned_dopamine(rows, events, offsets)
            ax.plot(profile.index, profile["mean"], marker="o", ms=3, color=color, label=label)
            ax.fill_between(profile.index, profile["mean"] - profile["sem"],
                            profile["mean"] + profile["sem"], color=color, alpha=0.25)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.3", ls=":", lw=1)
        if offsets is around_cue:
            ax.axvline(K, color="0.3", ls="--", lw=1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, fontsize=8)
    axes[0].set_ylabel("dopamine (TD error)")
    fig.suptitle("Dopamine moves from the reward (dashed) to the cue (dotted)", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def format_summary(result: dict[str, Any]) -> str:
    """A short text table of the responses and verdicts."""
    r = result["responses"]
    lines = [
        f"dopamine response, mean [95% CI] over {result['n_agents']} agents",
        f"{'':24s}{'at cue':>22s}{'at reward':>22s}",
    ]
    for label, cs, us in (("early (first trials)", "early_cs", "early_us"),
                          ("late (trained)", "late_cs", "late_us")):  # fmt: skip
        lines.append(f"{label:24s}{_fmt(r[cs]):>22s}{_fmt(r[us]):>22s}")
    lines.append(f"{'omitted reward':24s}{'':>22s}{_fmt(r['omission']):>22s}")
    lines.append(f"{'free reward (no cue)':24s}{'':>22s}{_fmt(r['free']):>22s}")
    lines.append("")
    for name, ok in result["verdicts"].items():
        lines.append(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return "\n".join(lines)


def _fmt(entry: dict[str, float]) -> str:
    return f"{entry['mean']:+.2f} [{entry['ci_low']:+.2f}, {entry['ci_high']:+.2f}]"


def write_outputs(
    out_dir: str | os.PathLike, config: RpeTransferConfig, records: pd.DataFrame, result: dict
) -> dict[str, Path]:
    """Write records (Parquet), the figure (PNG), the result and the config (JSON)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "records": save_records(records, out / "records.parquet"),
        "figure": plot(records, config, out / "rpe_transfer.png"),
        "result": out / "result.json",
        "config": out / "config.json",
    }
    paths["result"].write_text(json.dumps(result, indent=2, default=bool))
    paths["config"].write_text(json.dumps(asdict(config), indent=2))
    return paths
