"""Agent-steps per second of SB3 PPO (SB3Agent) on ReversalBandit-v0, next to PlasticAgent.

Run by hand (not a test; needs ``pip install plasticgym[sb3]``):

    python benchmarks/sb3_throughput.py [--sizes 1 8] [--steps 4096] [--plastic-sizes 1024]

Each SB3 population is warmed up for one rollout, then timed over ``--steps`` env steps per
agent with SB3's default PPO hyperparameters (``n_steps=2048``, ``batch_size=64``,
``n_epochs=10``, MlpPolicy 64x64), records off, so the time includes PPO's updates. SB3Agent
trains its agents one after another, so its throughput does not grow with ``n_agents``. For
comparison, PlasticAgent is timed on the same task with the same protocol (``--plastic-sizes``;
pass nothing to skip it). Throughput = steps x n_agents / seconds. On a busy machine,
``--threads 1`` is much faster for these tiny networks (thread contention).
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.sb3 import SB3Agent

ENV = "plasticgym/ReversalBandit-v0"


def measure_sb3(n_agents: int, steps: int, device: str) -> float:
    """Agent-steps per second of a PPO population of ``n_agents``."""
    agent = SB3Agent(ENV, algo="PPO", n_agents=n_agents, seed=0, device=device)
    agent.learn(agent.models[0].n_steps)  # warm-up: one rollout and one update per agent
    started = time.perf_counter()
    agent.learn(steps)
    elapsed = time.perf_counter() - started
    agent.close()
    return steps * n_agents / elapsed


def measure_plastic(n_agents: int, steps: int, device: str) -> float:
    """Agent-steps per second of a PlasticAgent population of ``n_agents``."""
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=0, device=device)
    agent.learn(min(200, steps))
    started = time.perf_counter()
    agent.learn(steps)
    elapsed = time.perf_counter() - started
    agent.close()
    return steps * n_agents / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--steps", type=int, default=4096, help="timed env steps per agent")
    parser.add_argument("--plastic-sizes", type=int, nargs="*", default=[1024])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {args.device}, {ENV}, records off"
    )
    print(f"{'agent':>13s} {'n_agents':>9s} {'agent-steps/s':>15s}")
    for n in args.sizes:
        rate = measure_sb3(n, args.steps, args.device)
        print(f"{'SB3Agent PPO':>13s} {n:9d} {rate:15,.0f}", flush=True)
    for n in args.plastic_sizes:
        rate = measure_plastic(n, args.steps, args.device)
        print(f"{'PlasticAgent':>13s} {n:9d} {rate:15,.0f}", flush=True)


if __name__ == "__main__":
    main()
