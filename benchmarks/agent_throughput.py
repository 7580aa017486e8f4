"""Agent-steps per second of plasticgym's batched agents on a task, for several population sizes.

Run by hand (not a test):

    python benchmarks/agent_throughput.py                      # PlasticAgent on Pavlovian-v0
    python benchmarks/agent_throughput.py --env plasticgym/ReversalBandit-v0 \\
        --agents plastic q_learning sarsa actor_critic model_based --sizes 1 1024
    python benchmarks/agent_throughput.py --device cuda

Each population is warmed up, then timed over ``--steps`` steps of the whole population (env,
model, plasticity and action sampling included, records off).
Throughput = steps x n_agents / seconds. SB3 PPO: see benchmarks/sb3_throughput.py.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from plasticgym.agents import (
    ModelBasedAgent,
    PlasticAgent,
    QLearningAgent,
    SarsaLambdaAgent,
    TDActorCriticAgent,
)

AGENTS = {
    "plastic": PlasticAgent,
    "q_learning": QLearningAgent,
    "sarsa": SarsaLambdaAgent,
    "actor_critic": TDActorCriticAgent,
    "model_based": ModelBasedAgent,
}


def measure(agent_cls: type, env: str, n_agents: int, steps: int, device: str) -> float:
    agent = agent_cls(env, n_agents=n_agents, seed=0, device=device)
    agent.learn(min(200, steps))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    agent.learn(steps)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    agent.close()
    return steps * n_agents / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="plasticgym/Pavlovian-v0")
    parser.add_argument("--agents", nargs="+", default=["plastic"], choices=sorted(AGENTS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {args.device}, env {args.env}"
    )
    print(f"{'agent':14s} {'n_agents':>9s} {'agent-steps/s':>15s}")
    for name in args.agents:
        for n in args.sizes:
            rate = measure(AGENTS[name], args.env, n, args.steps, args.device)
            print(f"{name:14s} {n:9d} {rate:15,.0f}", flush=True)


if __name__ == "__main__":
    main()
