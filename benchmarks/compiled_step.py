"""PlasticAgent's compiled step (``compile_step``) against the eager step: agreement, learning
and CPU time per step.

Run by hand (not a test; compiling takes seconds to a minute):

    python benchmarks/compiled_step.py            # the protocol below, about 3-6 minutes
    python benchmarks/compiled_step.py --quick    # smaller, a smoke run

Protocol (fixed before the first measurement):

1. Agreement (mechanism check of the float tolerance): ReversalBandit-v0, 64 agents, seed 0,
   300 steps, eager and compiled. Reported: the fraction of (agent, step) choices that are the
   same, and the largest absolute difference of actor and critic weights. Expected: every
   choice the same and weights within 1e-4 (float32 rounding of fused operations; a choice
   flips only when a uniform draw falls within that rounding of a threshold).
2. Learning (finding): ReversalBandit-v0, 256 agents per arm, 3000 steps, eager with seed 1,
   compiled with seed 2 (independent populations). Per agent: the fraction of correct choices
   over the last 1000 steps. Verdict: TOST (Welch, alpha 0.05) of the difference, margin 0.02
   (2 percentage points). The contrasted effect is learning itself: the eager agents' correct
   fraction in the last 1000 steps minus 0.5 (chance), which must exceed the margin several-
   fold for the equivalence to mean anything; it is printed.
3. CPU time per step (finding): 1024 agents, default config, ``--pairs`` alternating pairs
   (eager, compiled) of 1000 timed steps after 100 warm-up steps; process CPU time (less
   sensitive than wall time to other sessions on a shared machine, not immune). Reported per
   pair: us/step eager, compiled and their ratio; load average at the start.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.plastic_compiled import compile_step
from plasticgym.experiments.stats import format_tost, tost

ENV = "plasticgym/ReversalBandit-v0"
MARGIN = 0.02


def make(n_agents: int, seed: int, compiled: bool) -> PlasticAgent:
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=seed)
    if compiled:
        compile_step(agent)
    return agent


def agreement(n_agents: int, steps: int) -> None:
    eager, fused = make(n_agents, 0, False), make(n_agents, 0, True)
    eager.learn(steps, record=True)
    fused.learn(steps, record=True)
    same = float((eager.records["action"].to_numpy() == fused.records["action"].to_numpy()).mean())
    actor = float((eager.actor.weights - fused.actor.weights).abs().max())
    critic = float((eager.critic.weights - fused.critic.weights).abs().max())
    print(f"agreement: {n_agents} agents x {steps} steps: same choices {same:.4%}, "
          f"max |dw| actor {actor:.2e}, critic {critic:.2e}", flush=True)  # fmt: skip


def correct_fraction(agent: PlasticAgent, steps: int, last: int) -> np.ndarray:
    agent.learn(steps, record=True)
    records = agent.records
    late = records[records["step"] >= steps - last]
    return late.groupby("agent")["correct"].mean().to_numpy()


def learning(n_agents: int, steps: int, last: int) -> None:
    eager = correct_fraction(make(n_agents, 1, False), steps, last)
    fused = correct_fraction(make(n_agents, 2, True), steps, last)
    result = tost(fused, eager, MARGIN)
    print(f"learning: correct fraction, last {last} of {steps} steps, {n_agents} agents each: "
          f"eager {eager.mean():.3f}, compiled {fused.mean():.3f}; compiled - eager "
          f"{format_tost(result, MARGIN)} -> {'EQUIVALENT' if result.equivalent else 'NOT shown'}"
          f"; learning effect (eager - 0.5) {eager.mean() - 0.5:+.3f}", flush=True)  # fmt: skip


def cpu_per_step(n_agents: int, steps: int, compiled: bool) -> float:
    agent = make(n_agents, 0, compiled)
    agent.learn(100)
    started = time.process_time()
    agent.learn(steps)
    return (time.process_time() - started) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)  # fmt: skip
    quick = args.quick
    agreement(16 if quick else 64, 100 if quick else 300)
    learning(32 if quick else 256, 600 if quick else 3000, 200 if quick else 1000)
    for pair in range(1 if quick else args.pairs):
        load = os.getloadavg()[0]
        eager = cpu_per_step(1024, 200 if quick else 1000, False)
        fused = cpu_per_step(1024, 200 if quick else 1000, True)
        print(f"pair {pair}: load {load:.1f}: eager {eager:,.0f} us/step CPU, compiled "
              f"{fused:,.0f}; eager / compiled {eager / fused:.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
