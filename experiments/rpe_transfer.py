"""Dopamine moves from the reward to the cue (Schultz, Dayan & Montague 1997) and scales with
the reward probability (Fiorillo, Tobler & Schultz 2003).

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

A second population learns cues that each predict the reward with its own probability p
(one cue per p in {0, .25, .5, .75, 1}, trained in blocks that rotate through the cues in a
shuffled order, several rounds): per agent, the slope of the dopamine response on p is

6. positive at the cue (the cue's response rises with p) and
7. negative at a delivered reward (the reward's response falls with p, as ``1 - p``).

A third population, the control, is the first one with the mechanism of transfer removed: the
cue's presynaptic trace does not outlast its step (``stimulus_trace_decay = control_trace_decay``,
0.01), so nothing in the presynaptic code spans the delay between cue and reward. Then

8. the response stays at the reward: per agent, the reward response of the last training
   trials minus that of the first is equivalent to 0 (TOST), with a margin smaller than the
   decline the first population shows.

Verdicts are labelled (:data:`KIND`) ``finding`` (could fail: 2 and 3, whether the temporal
code lets the critic time the reward in the trials given) or ``mechanism check`` (holds by the
TD equations once the critic has learned: 1, 4-8).

Run it with ``plasticgym experiment rpe_transfer`` (its quick version, with all eight
signatures, is part of ``plasticgym quickstart``), or in Python:
``records = run(RpeTransferConfig(), out_dir)``, ``analyse(records, config)``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from plasticgym.agents import PlasticAgent
from plasticgym.experiments.report import (
    FINDING,
    MECHANISM_CHECK,
    labelled,
    pyplot,
    save_figure,
)
from plasticgym.experiments.stats import ci_row, format_ci, format_tost, mean_ci, slopes, tost
from plasticgym.records import save_records

NAME = "rpe_transfer"
DESCRIPTION = (
    "dopamine (the TD error) moves from reward to cue, dips at omissions and scales with reward "
    "probability (Schultz 1997; Fiorillo 2003)"
)


@dataclass(frozen=True)
class RpeTransferConfig:
    """What to run.

    Individual differences: each agent's critic learning rate is drawn log-uniformly from
    ``critic_lr_range`` and its eligibility-trace ``lambda`` uniformly from
    ``trace_lambda_range`` (equal bounds give every agent the same value), so the statistics
    over agents describe a population, not one model run many times. Probes are rare (15% of
    probe-phase trials each) because the agents keep learning during the probe phase.

    Probability blocks (a second population with the same individual differences): cue ``i``
    (A, B, ...) is rewarded with probability ``probabilities[i]``; each of
    ``probability_rounds`` rounds has one block of ``probability_block_trials`` trials per cue,
    in an order shuffled per round with ``seed``; the last ``measured_rounds`` rounds are
    analysed.

    The control (a third population, the same individual differences and session as the
    first) has the stimulus trace decay ``control_trace_decay`` instead of the agents' 0.9:
    the cue's trace is gone a step after it, so no temporal code bridges the delay.
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
    probabilities: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    probability_rounds: int = 3
    probability_block_trials: int = 20
    measured_rounds: int = 2
    control_trace_decay: float = 0.01

    def __post_init__(self) -> None:
        if not 1 <= len(self.probabilities) <= 26 or not all(
            0.0 <= p <= 1.0 for p in self.probabilities
        ):
            raise ValueError(
                f"probabilities={self.probabilities!r} is invalid: 1 to 26 values in [0, 1]"
            )
        if not 1 <= self.measured_rounds <= self.probability_rounds:
            raise ValueError(
                f"measured_rounds={self.measured_rounds} is invalid: in [1, probability_rounds="
                f"{self.probability_rounds}]"
            )

    @classmethod
    def quick(cls, **overrides: Any) -> RpeTransferConfig:
        """The short version (about 25 s on 2 CPU cores) with every signature."""
        short = {
            "n_agents": 16,
            "training_trials": 100,
            "probe_trials": 40,
            "probability_rounds": 2,
            "probability_block_trials": 15,
            "measured_rounds": 1,
        }
        return cls(**{**short, **overrides})

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

    def probability_protocol(self) -> list[dict[str, Any]]:
        """Blocks ``round<r>_<cue>``: each round one block per cue, in a shuffled order."""
        rng = np.random.default_rng([self.seed, 11])
        letters = [chr(ord("A") + i) for i in range(len(self.probabilities))]
        return [
            {"name": f"round{r}_{letters[i]}", "trials": self.probability_block_trials,
             "cs": letters[i], "reward_prob": self.probabilities[i]}
            for r in range(self.probability_rounds)
            for i in rng.permutation(len(letters))
        ]  # fmt: skip

    def probability_env_kwargs(self) -> dict[str, Any]:
        return {
            "cs_us_interval": self.cs_us_interval,
            "iti": self.iti,
            "cues": len(self.probabilities),
            "protocol": self.probability_protocol(),
        }

    def probability_max_steps(self) -> int:
        trials = self.probability_rounds * len(self.probabilities) * self.probability_block_trials
        return trials * (self.iti[1] + self.cs_us_interval + 1)


Config = RpeTransferConfig
"""The experiment interface's name for the config."""


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


def _train(
    config: RpeTransferConfig,
    env_kwargs: dict[str, Any],
    max_steps: int,
    progress_bar: bool,
    run_name: str,
) -> tuple[PlasticAgent, pd.DataFrame]:
    hyperparameters = {**individual_differences(config), **config.agent_kwargs}
    agent = PlasticAgent(
        "plasticgym/Pavlovian-v0",
        n_agents=config.n_agents,
        seed=config.seed,
        homeostasis=config.homeostasis,
        env_kwargs=env_kwargs,
        tensorboard_log=config.tensorboard_log,
        tb_log_name=run_name,
        device=config.device,
        **hyperparameters,
    )
    agent.learn(max_steps, record=True, progress_bar=progress_bar, callback=_session_over)
    records = agent.records
    return agent, records[records["episode"] == 0].reset_index(drop=True)


def run_session(
    config: RpeTransferConfig, *, progress_bar: bool = False
) -> tuple[PlasticAgent, pd.DataFrame]:
    """Train the population through one session; returns the agent and the session's records."""
    return _train(config, config.env_kwargs(), config.max_steps(), progress_bar, "transfer_session")


def run_control(config: RpeTransferConfig, *, progress_bar: bool = False) -> pd.DataFrame:
    """Train the control population (no temporal code of the cue: its trace decays by
    ``control_trace_decay`` per step) through the session of :func:`run_session`; returns the
    session's records."""
    kwargs = {**config.agent_kwargs, "stimulus_trace_decay": config.control_trace_decay}
    agent, records = _train(replace(config, agent_kwargs=kwargs), config.env_kwargs(),
                            config.max_steps(), progress_bar, "no_temporal_code")  # fmt: skip
    agent.close()
    return records


def run_probability_blocks(
    config: RpeTransferConfig, *, progress_bar: bool = False
) -> pd.DataFrame:
    """Train a second population through the probability blocks; returns its records with two
    more columns: ``p`` (the reward probability of the trial's cue; NaN on free trials) and
    ``round``."""
    agent, records = _train(
        config,
        config.probability_env_kwargs(),
        config.probability_max_steps(),
        progress_bar,
        "probability_blocks",
    )
    agent.close()
    p_of_cue = {chr(ord("A") + i): p for i, p in enumerate(config.probabilities)}
    records["p"] = records["cue"].map(p_of_cue).astype(float)
    records["round"] = records["phase"].astype(str).str.extract(r"round(\d+)_")[0].astype(int)
    return records


def run(
    config: RpeTransferConfig, out_dir: str | os.PathLike, progress_bar: bool = False
) -> dict[str, pd.DataFrame]:
    """The three populations: ``{"session": ..., "probability": ..., "no_temporal_code": ...}``
    record tables. TensorBoard logs go to ``out_dir/tensorboard`` unless the config names a
    folder, as the runs ``transfer_session_1``, ``probability_blocks_1`` and
    ``no_temporal_code_1``."""
    if config.tensorboard_log is None:
        config = replace(config, tensorboard_log=str(Path(out_dir) / "tensorboard"))
    agent, session = run_session(config, progress_bar=progress_bar)
    agent.close()
    probability = run_probability_blocks(config, progress_bar=progress_bar)
    control = run_control(config, progress_bar=progress_bar)
    return {"session": session, "probability": probability, "no_temporal_code": control}


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


# Margins of the verdicts, in units of the reward magnitude (see ``analyse_session``).
EARLY_MARGIN = 0.3
LATE_MARGIN = 0.1
NEAR_ZERO = 0.2
DIP = 0.2
FULL_RESPONSE = 0.75


def analyse_session(records: pd.DataFrame, config: RpeTransferConfig) -> dict[str, Any]:
    """Summaries of the transfer session with 95% CIs over agents and a verdict for each of
    signatures 1-5.

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


# Slopes of the probability verdicts, in units of the reward magnitude per unit probability.
PROBABILITY_SLOPE = 0.25

KIND = {
    # The critic starts at zero: the first rewards are unpredicted, delta = r.
    "at_reward_early": MECHANISM_CHECK,
    # Whether the presynaptic temporal code (traces, microstimuli) lets the critic time the
    # reward within the session's trials, at these learning rates: could fail (Ludvig, Sutton
    # & Kehoe 2008: microstimuli leave part of the response at the reward).
    "at_cue_late": FINDING,
    "predicted_reward_near_zero": FINDING,
    # delta = 0 + gamma v_t - v_tm1 < 0 once the value is learned; an uncued reward arrives in
    # the inter-trial interval, where v is about 0, so delta is about r: TD algebra.
    "omission_dip": MECHANISM_CHECK,
    "free_reward_full": MECHANISM_CHECK,
    # At asymptote TD gives a cue response proportional to p and a reward response to 1 - p
    # (the verdicts check that the blocks are long enough to get there).
    "cue_rises_with_probability": MECHANISM_CHECK,
    "reward_falls_with_probability": MECHANISM_CHECK,
    # The control: with nothing in the presynaptic code during the delay, the step before the
    # reward has V = 0, so delta at the reward is r + gamma V(us) ~ r on every trial.
    "reward_stays_without_temporal_code": MECHANISM_CHECK,
}
"""Each verdict's label (:data:`plasticgym.experiments.report.VERDICT_KINDS`)."""


NO_TRANSFER_MARGIN = 0.2
"""TOST margin of ``reward_stays_without_temporal_code`` (a fifth of the unpredicted
response), in units of the reward magnitude."""


def analyse_control(
    records: pd.DataFrame, session: pd.DataFrame, config: RpeTransferConfig
) -> dict[str, Any]:
    """The control's verdict ``reward_stays_without_temporal_code``: per agent of the control
    population (``records``), the reward response of the last ``late_trials`` training trials
    minus that of the first ``early_trials`` is equivalent to 0 (TOST at 5%, margin
    ``NO_TRANSFER_MARGIN``), and the decline of the reward response in the first population
    (``session``'s records, early - late) has its 95% CI above the margin (the margin is
    smaller than the effect it rules out)."""
    control = per_agent_responses(records, config)
    main = per_agent_responses(session, config)
    change = tost((control["late_us"] - control["early_us"]).to_numpy(), None, NO_TRANSFER_MARGIN)
    decline = mean_ci((main["early_us"] - main["late_us"]).to_numpy())
    cue_minus_reward = mean_ci((control["late_cs"] - control["late_us"]).to_numpy())
    return {
        "responses": control,
        "change": change,
        "decline": decline,
        "cue_minus_reward": cue_minus_reward,
        "verdicts": {
            "reward_stays_without_temporal_code": change.equivalent
            and decline[1] > NO_TRANSFER_MARGIN
        },
    }


def per_agent_probability_responses(
    records: pd.DataFrame, config: RpeTransferConfig
) -> dict[str, pd.DataFrame]:
    """Mean dopamine of each agent (rows) per reward probability (columns), over the last
    ``measured_rounds`` rounds: ``"cue"`` at cue onsets, ``"reward"`` at delivered cued rewards
    (NaN where a cue is never rewarded, p = 0)."""
    late = records[records["round"] >= config.probability_rounds - config.measured_rounds]
    agents = np.sort(records["agent"].unique())
    levels = sorted(set(config.probabilities))
    out = {}
    for name, rows in (("cue", late[late["cs"]]), ("reward", late[late["us"] & ~late["free"]])):
        table = rows.groupby(["agent", "p"])["dopamine"].mean().unstack("p")
        out[name] = table.reindex(index=agents, columns=levels)
    return out


def analyse_probability(records: pd.DataFrame, config: RpeTransferConfig) -> dict[str, Any]:
    """Per agent, the least-squares slope of the dopamine response on the reward probability,
    at the cue and at the reward; verdicts (95% CI over agents):
    ``cue_rises_with_probability``: CI of the cue slope above ``PROBABILITY_SLOPE``;
    ``reward_falls_with_probability``: CI of the reward slope below ``-PROBABILITY_SLOPE``."""
    responses = per_agent_probability_responses(records, config)
    slope = {name: mean_ci(slopes(table.columns.to_numpy(float), table.to_numpy()))
             for name, table in responses.items()}  # fmt: skip
    return {
        "responses": responses,
        "slopes": slope,
        "verdicts": {
            "cue_rises_with_probability": slope["cue"][1] > PROBABILITY_SLOPE,
            "reward_falls_with_probability": slope["reward"][2] < -PROBABILITY_SLOPE,
        },
    }


def analyse(records: dict[str, pd.DataFrame], config: RpeTransferConfig) -> dict[str, Any]:
    """The experiment interface: :func:`analyse_session` on ``records["session"]`` and
    :func:`analyse_probability` on ``records["probability"]``; returns their verdicts, a
    ``table`` of every response and slope (mean and 95% CI over agents) and a ``line`` per
    verdict."""
    session = analyse_session(records["session"], config)
    probability = analyse_probability(records["probability"], config)
    control = analyse_control(records["no_temporal_code"], records["session"], config)
    responses = per_agent_responses(records["session"], config)
    labels = {
        "early_cs": ("session", "cue", "early training"),
        "early_us": ("session", "reward", "early training"),
        "late_cs": ("session", "cue", "late training"),
        "late_us": ("session", "reward", "late training"),
        "omission": ("session", "omitted reward (due time)", "probe"),
        "free": ("session", "free reward", "probe"),
    }
    rows = [ci_row(responses[k], part=part, event=event, condition=condition)
            for k, (part, event, condition) in labels.items()]  # fmt: skip
    rows += [ci_row(control["responses"][k], part="no temporal code (control)", event=event,
                    condition=condition)
             for k, (_, event, condition) in labels.items()]  # fmt: skip
    for event, table in probability["responses"].items():
        for p in table.columns:
            rows.append(ci_row(table[p], part="probability", event=event, condition=f"p={p:g}"))
        rows.append(ci_row(slopes(table.columns.to_numpy(float), table.to_numpy()),
                           part="probability", event=event, condition="slope on p"))  # fmt: skip
    r, slope = session["responses"], probability["slopes"]

    def ci(entry: dict[str, float]) -> str:
        return format_ci(entry["mean"], entry["ci_low"], entry["ci_high"])

    lines = {
        "at_reward_early": f"first {config.early_trials} trials: reward {ci(r['early_us'])} vs "
        f"cue {ci(r['early_cs'])}; reward - cue {ci(session['early_us_minus_cs'])} "
        f"(needs CI > {EARLY_MARGIN})",
        "at_cue_late": f"last {config.late_trials} training trials: cue {ci(r['late_cs'])} vs "
        f"reward {ci(r['late_us'])}; cue - reward {ci(session['late_cs_minus_us'])} "
        f"(needs CI > {LATE_MARGIN})",
        "predicted_reward_near_zero": f"predicted reward {ci(r['late_us'])} "
        f"(needs CI inside +-{NEAR_ZERO})",
        "omission_dip": f"omitted reward at its due time {ci(r['omission'])} (needs CI < -{DIP})",
        "free_reward_full": f"unpredicted reward {ci(r['free'])} (needs CI > {FULL_RESPONSE})",
        "cue_rises_with_probability": f"slope of the cue response on p {format_ci(*slope['cue'])}"
        f" per unit p (needs CI > {PROBABILITY_SLOPE})",
        "reward_falls_with_probability": "slope of the reward response on p "
        f"{format_ci(*slope['reward'])} per unit p (needs CI < -{PROBABILITY_SLOPE})",
        "reward_stays_without_temporal_code": "control, the cue's trace gone a step after it: "
        f"reward response, last {config.late_trials} - first {config.early_trials} training "
        f"trials {format_tost(control['change'], NO_TRANSFER_MARGIN)} (needs p < 0.05); its "
        f"cue - reward {format_ci(*control['cue_minus_reward'])}; contrast, the decline with "
        f"the temporal code {format_ci(*control['decline'])} (needs CI > {NO_TRANSFER_MARGIN})",
    }
    verdicts = {**session["verdicts"], **probability["verdicts"], **control["verdicts"]}
    kinds = {name: KIND[name] for name in verdicts}
    return {
        "verdicts": verdicts,
        "verdict_kinds": kinds,
        "table": pd.DataFrame(rows),
        "lines": labelled(lines, kinds),
        "session": session,
        "probability": probability,
        "control": control,
        "config": config,
    }


def aligned_dopamine(records: pd.DataFrame, events: pd.Series, offsets: range) -> pd.DataFrame:
    """Mean, SEM and 95% t interval (``ci_low``, ``ci_high``) over the ``n`` agents of the
    dopamine ``offsets`` steps from each event row.

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
    mean, sem, n = table.mean(), table.sem(), table.count()
    half_width = sem * scipy_stats.t.ppf(0.975, np.maximum(n - 1, 1))
    return pd.DataFrame({"mean": mean, "sem": sem, "ci_low": mean - half_width,
                         "ci_high": mean + half_width, "n": n})  # fmt: skip


def plot_session(
    records: pd.DataFrame,
    config: RpeTransferConfig,
    path: str | os.PathLike,
    control: pd.DataFrame | None = None,
) -> Path:
    """Figure: dopamine around the cue early vs late in training, and around the probes; with
    ``control`` (the records of the population without a temporal code) its late trials too."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()

    K = config.cs_us_interval
    training = records[records["phase"] == "training"]
    early = training[training["trial"] < config.early_trials]
    late = training[training["trial"] >= config.training_trials - config.late_trials]
    probe = records[records["phase"] == "probe"]
    around_cue = range(-3, K + 3)
    around_reward = range(-3, 4)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    training_curves = [("early trials", early, early["cs"], "tab:orange"),
                       ("late trials", late, late["cs"], "tab:blue")]  # fmt: skip
    if control is not None:
        rows = control[control["phase"] == "training"]
        rows = rows[rows["trial"] >= config.training_trials - config.late_trials]
        training_curves.append(("late, no temporal code", rows, rows["cs"], "tab:gray"))
    panels = [
        (axes[0], f"Training (n={config.n_agents} agents)", around_cue, "steps from cue onset",
         training_curves),
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
            ax.fill_between(profile.index, profile["ci_low"], profile["ci_high"], color=color,
                            alpha=0.25, lw=0)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.3", ls=":", lw=1)
        if offsets is around_cue:
            ax.axvline(K, color="0.3", ls="--", lw=1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.legend(frameon=False, fontsize=8)
    axes[0].set_ylabel("dopamine (TD error)")
    fig.suptitle("Dopamine moves from the reward (dashed) to the cue (dotted); bands: 95% CI "
                 f"over {config.n_agents} agents", fontsize=11)  # fmt: skip
    return save_figure(fig, path)


def plot_probability(
    records: pd.DataFrame, config: RpeTransferConfig, path: str | os.PathLike
) -> Path:
    """Figure: dopamine at the cue and at the reward against the reward probability (mean and
    95% CI over agents, thin lines: agents), and the dopamine around the cue per probability."""
    plt = pyplot()
    responses = per_agent_probability_responses(records, config)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (name, table), color in zip(axes[:2], responses.items(), ("tab:blue", "tab:red"),
                                        strict=True):  # fmt: skip
        levels = table.columns.to_numpy(float)
        for _, row in table.iterrows():
            ax.plot(levels, row.to_numpy(), color=color, alpha=0.12, lw=0.8)
        summary = np.array([mean_ci(table[p]) for p in table.columns])
        ax.errorbar(levels, summary[:, 0], yerr=[summary[:, 0] - summary[:, 1],
                    summary[:, 2] - summary[:, 0]], color=color, marker="o", capsize=3)  # fmt: skip
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel("reward probability p")
        ax.set_title(f"dopamine at the {name}" + (" (rewarded trials)" if name == "reward" else ""))
    axes[0].set_ylabel("dopamine (TD error)")
    late = records[records["round"] >= config.probability_rounds - config.measured_rounds]
    cmap = plt.get_cmap("viridis")
    offsets = range(-2, config.cs_us_interval + 3)
    for i, p in enumerate(sorted(set(config.probabilities))):
        rows = late[late["p"] == p]
        profile = aligned_dopamine(rows, rows["cs"], offsets)
        axes[2].plot(profile.index, profile["mean"], marker="o", ms=3, label=f"p={p:g}",
                     color=cmap(i / max(1, len(config.probabilities) - 1)))  # fmt: skip
    axes[2].axvline(0, color="0.3", ls=":", lw=1)
    axes[2].axvline(config.cs_us_interval, color="0.3", ls="--", lw=1)
    axes[2].axhline(0, color="0.6", lw=0.8)
    axes[2].set_xlabel("steps from cue onset (all trials)")
    axes[2].set_title("dopamine around the cue")
    axes[2].legend(frameon=False, fontsize=8)
    fig.suptitle(
        f"Reward probability (Fiorillo et al. 2003), n={config.n_agents} agents; error bars: "
        "95% CI over agents, thin lines: single agents",
        fontsize=11,
    )
    return save_figure(fig, path)


def plot(
    records: dict[str, pd.DataFrame], result: dict[str, Any], out_dir: str | os.PathLike
) -> list[Path]:
    """The experiment interface: the session figure and the probability figure."""
    config, out = result["config"], Path(out_dir)
    return [
        plot_session(
            records["session"], config, out / "rpe_transfer.png", records.get("no_temporal_code")
        ),
        plot_probability(records["probability"], config, out / "reward_probability.png"),
    ]


def format_summary(result: dict[str, Any]) -> str:
    """A short text table of the responses and verdicts of :func:`analyse_session`."""
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
    """The quickstart's outputs: records of the session (Parquet), its figure (PNG), the result
    of :func:`analyse_session` and the config (JSON)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "records": save_records(records, out / "records.parquet"),
        "figure": plot_session(records, config, out / "rpe_transfer.png"),
        "result": out / "result.json",
        "config": out / "config.json",
    }
    paths["result"].write_text(json.dumps(result, indent=2, default=bool))
    paths["config"].write_text(json.dumps(asdict(config), indent=2))
    return paths
