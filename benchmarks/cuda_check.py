"""Checks and timings on a CUDA device, run by hand on a machine with a GPU.

    python benchmarks/cuda_check.py [--checks signature determinism pathways experiments
                                              throughput]

1. ``signature``: the Schultz signature (rpe_transfer verdicts) with the synapses on the GPU.
2. ``determinism``: same seed => bit-identical records on the GPU; save -> load -> continue
   equals uninterrupted learning on the GPU.
3. ``pathways``: the same for the optional pathways (habits with the rate-correlation arbiter,
   goal-directed values), the homeostatic model with an allostatic setpoint on a chamber
   with delayed infusions, and latent causes (with habits) through extinction and a priming
   test.
4. ``experiments``: the quick versions of experiments with a ``device`` field, on the GPU,
   with their verdicts and wall-clock times.
5. ``throughput``: agent-steps per second on CPU and GPU for several population sizes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.experiments import rpe_transfer

ENV = "plasticgym/Pavlovian-v0"
SHORT = {"n_trials": 3, "iti": (2, 5), "cs_us_interval": 3}


def check_signature(device: str) -> None:
    config = rpe_transfer.RpeTransferConfig(n_agents=32, seed=0, device=device)
    with tempfile.TemporaryDirectory() as tmp:
        records = rpe_transfer.run(config, tmp)
    result = rpe_transfer.analyse(records, config)
    print(f"[{device}] rpe_transfer (32 agents):")
    for verdict, ok in result["verdicts"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {verdict}: {result['lines'][verdict]}")
    assert all(result["verdicts"].values()), result["verdicts"]


def check_determinism_and_resume(device: str) -> None:
    def make():
        return PlasticAgent(ENV, n_agents=16, seed=5, env_kwargs=SHORT, device=device)

    _same_and_resumable(make, 500, 300, ["actor_weights", "critic_weights"])
    print(f"[{device}] determinism and save/load/continue: bit-identical")


def _equal(left: object, right: object) -> bool:
    """Tensors, or NamedTuples of tensors, equal bit for bit."""
    pairs = zip(left, right, strict=True) if isinstance(left, tuple) else [(left, right)]
    return all(torch.equal(x, y) for x, y in pairs)


def _same_and_resumable(make, steps: int, split: int, state: list[str]) -> PlasticAgent:
    """Two runs of ``make()`` are bit-identical (records and the named state), and save -> load
    -> continue equals an uninterrupted run; returns the first run's agent."""
    a, b = make().learn(steps, record=True), make().learn(steps, record=True)
    pd.testing.assert_frame_equal(a.records, b.records)
    with tempfile.TemporaryDirectory() as tmp:
        interrupted = make().learn(split, record=True)
        restored = PlasticAgent.load(interrupted.save(Path(tmp) / "agent"), device=a.device)
        restored.learn(steps - split, record=True)
        tail = a.records[a.records["step"] >= split].reset_index(drop=True)
        # the phase column is categorical over the phases seen, fewer after the split
        plain = {"phase": str} if "phase" in tail else {}
        pd.testing.assert_frame_equal(restored.records.astype(plain), tail.astype(plain))
    for name in state:
        assert _equal(getattr(a, name), getattr(b, name)), name
        assert _equal(getattr(restored, name), getattr(a, name)), name
    return a


def check_pathways(device: str) -> None:
    habit_env = {"training_reinforcers": 30, "devaluation_pairings": 3, "test_steps": 20}

    def habits():
        return PlasticAgent("plasticgym/HabitFormation-v0", n_agents=16, seed=3,
                            env_kwargs=habit_env, device=device, habit=True, habit_lr=0.01,
                            goal_directed=True, contingency_weight=0.5,
                            actor_lr=0.0)  # fmt: skip

    _same_and_resumable(habits, 300, 170, ["habit_strength", "outcome_model", "contingency"])
    chamber = {"protocol": [{"name": "access", "sessions": 20, "food": False,
                             "infusion_delay": 1, "available_period": 10,
                             "unavailable_period": 10, "session_length": 40}]}  # fmt: skip

    def homeostatic():
        return PlasticAgent("plasticgym/Addiction-v0", n_agents=16, seed=4, env_kwargs=chamber,
                            device=device, dopamine="homeostatic", allostatic_gain=1.0,
                            gamma=0.0)  # fmt: skip

    agent = _same_and_resumable(homeostatic, 300, 130, ["dopamine_state", "critic_weights"])
    assert (agent.dopamine_state.allostasis > 0).any()
    costly = {"food": False, "press_cost": 0.1}
    relapse = {"protocol": [
        {"name": "acquisition", "sessions": 3, **costly},
        {"name": "extinction", "sessions": 3, "drug": False, **costly},
        {"name": "test", "sessions": 1, "drug": False, "priming": True, "priming_dose": 5.0,
         **costly},
    ]}  # fmt: skip

    def latent():
        return PlasticAgent("plasticgym/Addiction-v0", n_agents=16, seed=6, env_kwargs=relapse,
                            device=device, gamma=0.0, actor_lr=0.2, homeostasis=False,
                            habit=True, latent_causes=2, cause_channels=(0, 7, 8))  # fmt: skip

    state = ["causes", "critic_weights", "actor_weights", "habit_strength"]
    agent = _same_and_resumable(latent, 210, 120, state)
    assert bool(agent.causes.used[:, 1].any()), "extinction formed no cause"
    print(f"[{device}] habits, goal-directed values, rate-correlation arbiter, allostatic "
          "setpoint, delayed infusions, latent causes: bit-identical and resumable")  # fmt: skip


def check_experiments(device: str, names: list[str]) -> None:
    from plasticgym.experiments.report import run_experiment

    for name in names:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            result, _ = run_experiment(name, quick=True, out=tmp, progress_bar=False,
                                       device=device)  # fmt: skip
        wall = time.perf_counter() - started
        print(f"[{device}] {name} --quick ({wall:.0f} s):")
        for verdict, ok in result["verdicts"].items():
            print(f"  [{'PASS' if ok else 'FAIL'}] {verdict}: {result['lines'][verdict]}")


def throughput(device: str, n_agents: int, steps: int = 1000) -> float:
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=0, device=device)
    agent.learn(100)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    agent.learn(steps)
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * n_agents / (time.perf_counter() - started)


CHECKS = ("signature", "determinism", "pathways", "experiments", "throughput")
EXPERIMENTS = ("habit_devaluation", "addiction", "two_step", "homeostasis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", nargs="+", choices=CHECKS, default=list(CHECKS))
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(torch.cuda.get_device_name(0))
    if "signature" in args.checks:
        check_signature("cuda")
    if "determinism" in args.checks:
        check_determinism_and_resume("cuda")
    if "pathways" in args.checks:
        check_pathways("cuda")
    if "experiments" in args.checks:
        check_experiments("cuda", args.experiments)
    if "throughput" in args.checks:
        print(f"{'n_agents':>9s} {'cpu agent-steps/s':>18s} {'cuda agent-steps/s':>19s}")
        for n in (1, 64, 1024, 16384):
            cpu, gpu = throughput("cpu", n), throughput("cuda", n)
            print(f"{n:9d} {cpu:18,.0f} {gpu:19,.0f}")


if __name__ == "__main__":
    main()
