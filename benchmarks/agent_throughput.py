"""Agent-steps per second of PlasticAgent on Pavlovian-v0 for several population sizes.

Run by hand (not a test):  python benchmarks/agent_throughput.py [--device cuda] [--steps 2000]

Each size is warmed up, then timed over ``--steps`` steps of the whole population (env, encoder,
plasticity and action sampling included, records off). Throughput = steps x n_agents / seconds.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from plasticgym.agents import PlasticAgent


def measure(n_agents: int, steps: int, device: str, record: bool) -> float:
    agent = PlasticAgent("plasticgym/Pavlovian-v0", n_agents=n_agents, seed=0, device=device)
    agent.learn(min(200, steps), record=record)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    agent.learn(steps, record=record)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    agent.close()
    return steps * n_agents / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--record", action="store_true", help="also build the record table")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {args.device}, record={args.record}"
    )
    print(f"{'n_agents':>9s} {'agent-steps/s':>15s} {'steps/s':>10s}")
    for n in args.sizes:
        rate = measure(n, args.steps, args.device, args.record)
        print(f"{n:9d} {rate:15,.0f} {rate / n:10,.0f}")


if __name__ == "__main__":
    main()
