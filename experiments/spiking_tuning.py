"""The same tuning budget for every SpikingAgent rule, winners judged on held-out seeds.

A study (not a registered experiment) behind the per-rule defaults of
:data:`plasticgym.agents.spiking.RULE_DEFAULTS` and the calcium rule's input regime
(docs/spiking.md, "Tuning the rules"). Run it with::

    python -m plasticgym.experiments.spiking_tuning --out runs/spiking_tuning --workers 2

**Protocol** (fixed before the first run; the reasons are in docs/spiking.md):

1. **Tuning.** Every arm of :data:`ARMS` (the four rules at their current parameters, plus the
   calcium rule with a low presynaptic calcium amplitude, :data:`LOW_PRE_CALCIUM`) runs
   :data:`N_CONFIGS` configurations of ``actor_lr``: configuration 0 is the arm's reference
   learning rate (the rule's current default), the others are drawn by the sweep engine's
   random search (:func:`plasticgym.sweep.sample_configs`) from
   ``log_uniform [reference / 10, 30 x reference]`` (:func:`search_space`: the same width in
   log space for every arm, centred on each rule's own eligibility scale), with the sampler
   seed :func:`sampler_seed`. Each configuration runs on :data:`TUNING_SEEDS`, each seed a
   population of :data:`N_AGENTS` agents on spiking_tasks' full reversal protocol
   (:data:`ENV_KWARGS`, :data:`STEPS` trials, TD dopamine, ``gamma = 0``). Objective: the
   reward per step over the whole run (``mean_reward`` of the sweep's default trial),
   averaged over the tuning seeds; the highest wins, ties the lower index (:func:`winners`).
2. **Evaluation.** Each arm's winner runs again on :data:`EVAL_SEEDS` (disjoint from the tuning
   seeds and from spiking_tasks' seeds 0-2); per agent the fraction of correct choices over
   the session, mean and 95% t CI over the ``len(EVAL_SEEDS) x N_AGENTS`` held-out agents
   (:func:`evaluation_table`).

Both stages are sweeps of :mod:`plasticgym.sweep` (``run_trials``, resumable, in
``out/tuning`` and ``out/evaluation``). :data:`N_CONFIGS` was 8 when the protocol was written
and was cut to 5 for compute before any arm but calcium had run (the first 5 draws are the
same). The result (docs/spiking.md, ``benchmarks/results/spiking_tuning/``) set
``RULE_DEFAULTS``' learning rates.
"""

from __future__ import annotations

import argparse
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from plasticgym.agents import SpikingAgent
from plasticgym.experiments.stats import mean_ci
from plasticgym.records import load_records
from plasticgym.sweep import Trial, run_trials, sample_configs, trial_id, trial_spec

ENV = "plasticgym/ReversalBandit-v0"
ENV_KWARGS: Mapping[str, Any] = {"n_trials": 600, "reversal_every": 100}
STEPS = 600
N_AGENTS = 16
N_CONFIGS = 5
TUNING_SEEDS = (100, 101)
EVAL_SEEDS = (200, 201, 202)
SEARCH_SEED = 0
LOW_FACTOR, HIGH_FACTOR = 0.1, 30.0
"""The search range of ``actor_lr``: ``[LOW_FACTOR, HIGH_FACTOR] x`` the arm's reference."""
FIXED: Mapping[str, Any] = {"gamma": 0.0, "dopamine": "td"}
LOW_PRE_CALCIUM = 0.25
"""``c_pre`` of the arm ``calcium_low_pre``: an input at 100 Hz then holds a mean presynaptic
calcium of 0.5 (``rate x tau_Ca x c_pre``), below ``theta_d`` = 1, so potentiation needs a
postsynaptic spike (Graupner & Brunel 2012's regime)."""
LOW_PRE_REFERENCE_LR = 5.0
"""The reference ``actor_lr`` of ``calcium_low_pre``, set from :func:`eligibility_profile`
before tuning (docs/spiking.md): lowering ``c_pre`` from 1 to 0.25 leaves the s.d. of the
summed eligibility about the same (2.6 -> 2.9, ratio 1) but cuts the mean eligibility of an
active input's synapse 6.7x (1.24 -> 0.19); 5 x calcium's default puts both ratios inside the
search range ``[0.5, 150]``."""

ARMS: Mapping[str, Mapping[str, Any]] = {
    "calcium": {"rule": "calcium"},
    "mstdpet": {"rule": "mstdpet"},
    "mstdp": {"rule": "mstdp"},
    "izhikevich": {"rule": "izhikevich"},
    "calcium_low_pre": {"rule": "calcium", "c_pre": LOW_PRE_CALCIUM},
}
"""Each arm's fixed hyperparameters (on top of :data:`FIXED`)."""


RULE_DEFAULTS_AT_PROTOCOL: Mapping[str, float] = {
    "calcium": 1.0, "mstdpet": 50.0, "mstdp": 1.0, "izhikevich": 2.0,
}  # fmt: skip
"""Each rule's default ``actor_lr`` when the protocol was fixed (configuration 0), frozen here so
that the study's trials stay the same after the defaults are updated from its result."""


def reference_lr(arm: str) -> float:
    """The arm's configuration 0: the rule's default ``actor_lr`` when the protocol was fixed
    (:data:`RULE_DEFAULTS_AT_PROTOCOL`; :data:`LOW_PRE_REFERENCE_LR` for ``calcium_low_pre``)."""
    if arm not in ARMS:
        raise ValueError(f"arm={arm!r} is invalid: must be one of {sorted(ARMS)}")
    if arm == "calcium_low_pre":
        return LOW_PRE_REFERENCE_LR
    return RULE_DEFAULTS_AT_PROTOCOL[ARMS[arm]["rule"]]


def search_space(arm: str) -> dict[str, dict[str, list[float]]]:
    """``actor_lr ~ log_uniform [LOW_FACTOR, HIGH_FACTOR] x reference_lr(arm)``."""
    ref = reference_lr(arm)
    return {"actor_lr": {"log_uniform": [LOW_FACTOR * ref, HIGH_FACTOR * ref]}}


def sampler_seed(arm: str, seed: int = SEARCH_SEED) -> int:
    """``SeedSequence([seed, crc32(arm)])`` (as tuned_compare): each arm draws on its own."""
    entropy = [seed, zlib.crc32(arm.encode())]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0])


def arm_configs(arm: str, n_configs: int = N_CONFIGS) -> list[dict[str, Any]]:
    """Configuration 0 (the reference) and ``n_configs - 1`` random-search draws."""
    drawn = (
        sample_configs(search_space(arm), n_configs - 1, sampler_seed(arm)) if n_configs > 1 else []
    )
    return [{"actor_lr": reference_lr(arm)}, *drawn]


def _trial(arm: str, config: Mapping[str, Any], seed: int, n_agents: int, steps: int) -> Trial:
    hyper = {**FIXED, **ARMS[arm], **config}
    env_kwargs = {**ENV_KWARGS, "n_trials": steps}
    spec = trial_spec(env=ENV, agent="spiking", seed=seed, steps=steps, n_agents=n_agents,
                      env_kwargs=env_kwargs, hyperparameters=hyper)  # fmt: skip
    return Trial(trial_id(spec), spec)


def tuning_trials(arms: Sequence[str] = tuple(ARMS), n_configs: int = N_CONFIGS,
                  seeds: Sequence[int] = TUNING_SEEDS, n_agents: int = N_AGENTS,
                  steps: int = STEPS) -> tuple[list[Trial], pd.DataFrame]:  # fmt: skip
    """Every arm x configuration x tuning seed; and the index ``(trial id, arm, point,
    actor_lr, seed)``. The budget is the same for every arm by construction."""
    trials, rows = [], []
    for arm in arms:
        for point, config in enumerate(arm_configs(arm, n_configs)):
            for seed in seeds:
                item = _trial(arm, config, seed, n_agents, steps)
                trials.append(item)
                rows.append({"id": item.id, "arm": arm, "point": point,
                             "actor_lr": config["actor_lr"], "seed": seed})  # fmt: skip
    return trials, pd.DataFrame(rows)


def winners(index: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Per arm, the configuration with the highest ``mean_reward`` averaged over the tuning
    seeds (ties: the lower point). ``metrics`` has ``id`` and ``mean_reward``; a point with a
    missing trial is not eligible."""
    table = index.merge(metrics[["id", "mean_reward"]], on="id", how="left")
    per_point = table.groupby(["arm", "point", "actor_lr"], sort=True).agg(
        objective=("mean_reward", "mean"), n=("mean_reward", "count"),
        missing=("mean_reward", lambda s: int(s.isna().sum())))  # fmt: skip
    per_point = per_point[per_point["missing"] == 0].reset_index()
    best = per_point.sort_values(["arm", "objective", "point"], ascending=[True, False, True])
    return best.groupby("arm", sort=False).head(1).reset_index(drop=True)


def fraction_correct(records: pd.DataFrame) -> np.ndarray:
    """Per agent, the fraction of correct choices over the session."""
    return records.groupby("agent")["correct"].mean().to_numpy(dtype=float)


def evaluation_table(per_arm: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Mean and 95% t CI of the held-out agents' fraction correct, per arm."""
    rows = []
    for arm, values in per_arm.items():
        m, low, high = mean_ci(values)
        rows.append({"arm": arm, "correct": m, "ci_low": low, "ci_high": high,
                     "n": int(values.size)})  # fmt: skip
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the calcium input regime


def eligibility_profile(
    n_windows: int = 30,
    n_agents: int = 32,
    seed: int = 0,
    silence_actor: bool = False,
    **hyperparameters: Any,
) -> dict[str, float]:
    """The eligibility a window gives the actor's synapses on ReversalBandit's first
    observation, from the agent's own window code: mean increment per synapse of inputs whose
    code is above 0.5 (``active``) and below 0.01 (``silent``), and the s.d. over windows,
    agents and neurons of the increment summed over inputs (``sd_sum``, the scale a learning
    rate multiplies). ``silence_actor`` clamps the actor below threshold (background
    -100, no noise), so only presynaptic terms remain."""
    if silence_actor:
        hyperparameters = {**hyperparameters, "background_current": -100.0,
                           "noise_current": 0.0}  # fmt: skip
    agent = SpikingAgent(ENV, n_agents=n_agents, seed=seed, **hyperparameters)
    obs, _ = agent.env.reset(seed=seed)
    channels, _ = agent.read_observation(obs, agent.observation_stats)
    zeros = torch.zeros(n_agents)
    start = torch.ones(n_agents, dtype=torch.bool)
    features, _ = agent.encoder.encode(agent.encoder.init(n_agents, agent.device), channels,
                                       zeros, start)  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    neurons = agent._rest_neurons()
    windows, spikes = [], 0.0
    for _ in range(n_windows):
        neurons, e, counts = agent._window(neurons, features, generator, learning=True)
        windows.append(e)
        spikes += float(counts.mean())
    e = torch.stack(windows)  # [W, B, N, F + 1]
    code = torch.cat([features, torch.zeros_like(features[:, :1])], dim=1)  # tonic: excluded
    active = (code > 0.5).view(1, n_agents, 1, -1).expand_as(e)
    silent = (code < 0.01).view(1, n_agents, 1, -1).expand_as(e)
    agent.close()
    return {
        "active": float(e[active].mean()) if active.any() else float("nan"),
        "silent": float(e[silent].mean()) if silent.any() else float("nan"),
        "sd_sum": float(e[..., :-1].sum(dim=-1).std()),
        "rate_hz": spikes / n_windows / agent.config.substeps * 1000.0,
    }


# ------------------------------------------------------------------ command line


def _metrics(out_dir: Path, trials: Sequence[Trial]) -> pd.DataFrame:
    rows = []
    for item in trials:
        result = out_dir / "trials" / item.id / "result.json"
        if result.exists():
            metrics = json.loads(result.read_text())["metrics"]
            rows.append({"id": item.id, "mean_reward": metrics["mean_reward"]})
    return pd.DataFrame(rows, columns=["id", "mean_reward"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--stage", choices=["tuning", "evaluation", "both"], default="both")
    args = parser.parse_args(argv)
    trials, index = tuning_trials(args.arms)
    tuning_dir = args.out / "tuning"
    if args.stage in ("tuning", "both"):
        run_trials(trials, tuning_dir, workers=args.workers, progress=False,
                   config={"study": "spiking_tuning", "stage": "tuning"})  # fmt: skip
    table = index.merge(_metrics(tuning_dir, trials), on="id", how="left")
    table.to_csv(args.out / "tuning.csv", index=False)
    best = winners(index, _metrics(tuning_dir, trials))
    best.to_csv(args.out / "winners.csv", index=False)
    print(table.groupby(["arm", "point", "actor_lr"])["mean_reward"].mean().to_string())
    print(best.to_string())
    if args.stage == "tuning":
        return
    evaluation = {row.arm: [_trial(row.arm, {"actor_lr": row.actor_lr}, s, N_AGENTS, STEPS)
                            for s in EVAL_SEEDS] for row in best.itertuples()}  # fmt: skip
    flat = [t for ts in evaluation.values() for t in ts]
    eval_dir = args.out / "evaluation"
    run_trials(flat, eval_dir, workers=args.workers, progress=False,
               config={"study": "spiking_tuning", "stage": "evaluation"})  # fmt: skip
    per_arm = {}
    for arm, ts in evaluation.items():
        values = [fraction_correct(load_records(eval_dir / "trials" / t.id / "records.parquet"))
                  for t in ts]  # fmt: skip
        per_arm[arm] = np.concatenate(values)
    result = evaluation_table(per_arm).merge(best[["arm", "point", "actor_lr", "objective"]])
    result.to_csv(args.out / "evaluation.csv", index=False)
    print(result.to_string())


if __name__ == "__main__":
    main()
