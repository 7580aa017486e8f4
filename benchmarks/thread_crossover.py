"""Agent-steps per second of a population with 1 torch thread vs torch's default, by size.

Run by hand (not a test); it measures where :func:`plasticgym.threads.auto_threads` should
switch from 1 thread to torch's default:

    python benchmarks/thread_crossover.py
    python benchmarks/thread_crossover.py --env plasticgym/ReversalBandit-v0 --agent q_learning

Each population is warmed up, then timed over ``--steps`` steps, alternating 1 thread and
torch's default ``--repeats`` times (the best of each is printed). The automatic choice is
switched off (``PLASTICGYM_AUTO_THREADS=0``) so that each run uses the count it names.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["PLASTICGYM_AUTO_THREADS"] = "0"

import torch

from plasticgym.agents import make_agent


def measure(agent: str, env: str, n_agents: int, steps: int, threads: int) -> float:
    torch.set_num_threads(threads)
    population = make_agent(agent, env, n_agents=n_agents, seed=0)
    population.learn(min(100, steps))
    started = time.perf_counter()
    population.learn(steps)
    elapsed = time.perf_counter() - started
    population.close()
    return steps * n_agents / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="plasticgym/Pavlovian-v0")
    parser.add_argument("--agent", default="plastic")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256, 1024, 4096])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    default = torch.get_num_threads()
    print(f"{args.agent} on {args.env}; torch default {default} threads, {os.cpu_count()} CPUs")
    print(f"{'agents':>7} {'1 thread':>12} {f'{default} threads':>12} {'ratio':>7}")
    for size in args.sizes:
        best = {1: 0.0, default: 0.0}
        for _ in range(args.repeats):
            for threads in best:
                best[threads] = max(
                    best[threads], measure(args.agent, args.env, size, args.steps, threads)
                )
        ratio = best[1] / best[default]
        print(f"{size:>7} {best[1]:>12,.0f} {best[default]:>12,.0f} {ratio:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
