"""PlasticAgent vs SB3 PPO in one run, and PlasticAgent's scaling curves, as a figure.

Run by hand (not a test; needs ``pip install plasticgym[sb3]`` and matplotlib):

    python benchmarks/scaling.py                                 # writes docs/figures/scaling.png
    python benchmarks/scaling.py --sizes 1 16 256 1024 4096 --steps 1000 --threads 1

``--compiled``: PlasticAgent learns with ``compile_step`` (docs/agents.md, "Compiled step") in
the ratio. ``--curves eager compiled`` (the default when a C++ compiler is found): the scaling
panels draw both steps' curves.

Three measurements on ReversalBandit-v0, CPU, records off, each population warmed up first
(same protocol as benchmarks/agent_throughput.py and benchmarks/sb3_throughput.py):

1. SB3 PPO (``SB3Agent``, SB3's default hyperparameters: ``n_steps=2048``, MlpPolicy 64x64,
   updates included) over ``--sb3-steps`` env steps, and PlasticAgent at ``--ratio-agents``
   (1024) agents over ``--steps`` steps, one right after the other; the ratio of their
   agent-steps per second is printed. PPO trains its agents one after another, so one agent
   gives its throughput.
2. PlasticAgent's agent-steps/s vs ``n_agents`` (``--sizes``, default 1 ... 4096), default
   config (40 microstimuli: 2 x 41 actor + 40 critic = 122 synapses per agent).
3. Agent-steps/s and synapse updates/s vs synapses per agent at ``--ratio-agents`` agents,
   varying ``n_microstimuli`` (``--microstimuli``).

Throughput = steps x n_agents / seconds. The machine's load changes the numbers: run it on an
idle machine for claims, and read the ratio from one run (both timed back to back). The ratio
per process CPU second is printed too: other work on the machine moves it less than the
wall-clock ratio (it still shares caches and memory bandwidth).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from plasticgym.agents import PlasticAgent
from plasticgym.agents.plastic_compiled import compile_step, find_cpp_compiler

ENV = "plasticgym/ReversalBandit-v0"
CPU_SECONDS: dict[str, float] = {}
"""Process CPU seconds of the last timed PlasticAgent and SB3 run (for the CPU-time ratio)."""


def plastic_rate(
    n_agents: int, steps: int, compiled: bool = False, **hyper: object
) -> tuple[float, int]:
    """Agent-steps/s of a PlasticAgent population and its synapses per agent (with
    ``compiled``, learning with :func:`~plasticgym.agents.plastic_compiled.compile_step`; its
    compilation happens in the warm-up, outside the timing)."""
    agent = PlasticAgent(ENV, n_agents=n_agents, seed=0, **hyper)
    if compiled:
        compile_step(agent)
    agent.learn(min(50, steps))  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    agent.learn(steps)
    elapsed = time.perf_counter() - started
    CPU_SECONDS["plastic"] = time.process_time() - cpu_started
    synapses = agent.actor.weights[0].numel() + agent.critic.weights[0].numel()
    agent.close()
    return steps * n_agents / elapsed, int(synapses)


def sb3_rate(steps: int) -> float:
    """Agent-steps/s of one SB3 PPO agent (SB3's defaults), updates included."""
    from plasticgym.agents.sb3 import SB3Agent

    agent = SB3Agent(ENV, algo="PPO", n_agents=1, seed=0)
    agent.learn(agent.models[0].n_steps)  # warm-up: one rollout and one update
    started, cpu_started = time.perf_counter(), time.process_time()
    agent.learn(steps)
    elapsed = time.perf_counter() - started
    CPU_SECONDS["sb3"] = time.process_time() - cpu_started
    agent.close()
    return steps / elapsed


def plot(results: dict, path: Path) -> None:
    """Two panels: agent-steps/s vs n_agents; agent-steps/s and synapse updates/s vs
    synapses per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for color, step in zip(("C0", "C2"), results["curves"], strict=False):
        rows = [row for row in results["by_agents"] if row.get("step", "eager") == step]
        left.loglog([row["n_agents"] for row in rows], [row["agent_steps_per_s"] for row in rows],
                    "o-", color=color, label=f"PlasticAgent, {step} step")  # fmt: skip
        rows = [row for row in results["by_synapses"] if row.get("step", "eager") == step]
        synapses = [row["synapses_per_agent"] for row in rows]
        right.loglog(synapses, [r["agent_steps_per_s"] for r in rows], "o-", color=color,
                     label=f"agent-steps / s ({step})")  # fmt: skip
        right.loglog(synapses, [r["synapse_updates_per_s"] for r in rows], "s--", color=color,
                     label=f"synapse updates / s ({step})")  # fmt: skip
    left.axhline(results["sb3_ppo"], color="C3", ls="--", label="SB3 PPO (one agent)")
    left.set_xlabel("n_agents (one batched population)")
    left.set_ylabel("agent-steps / s")
    which = "compiled" if results["compiled"] else "eager"
    left.set_title(f"{ENV}, ratio at {results['ratio_agents']} ({which}): {results['ratio']:.0f}x",
                   fontsize=9)  # fmt: skip
    left.legend(fontsize=8)
    right.set_xlabel(f"synapses per agent ({results['ratio_agents']} agents)")
    right.set_title("vs model size (n_microstimuli)")
    right.legend(fontsize=8)
    fig.suptitle(results["machine"], fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256, 1024, 4096])
    parser.add_argument("--microstimuli", type=int, nargs="+", default=[5, 10, 40, 160, 640])
    parser.add_argument("--steps", type=int, default=1000, help="timed steps per population")
    parser.add_argument("--sb3-steps", type=int, default=4096)
    parser.add_argument("--ratio-agents", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--out", type=Path, default=Path("docs/figures/scaling.png"))
    parser.add_argument("--compiled", action="store_true",
                        help="the ratio's PlasticAgent learns with compile_step")  # fmt: skip
    parser.add_argument("--curves", nargs="+", choices=("eager", "compiled"),
                        default=["eager", "compiled"] if find_cpp_compiler() else ["eager"],
                        help="which steps the scaling panels draw")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    machine = (f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
               f"{torch.get_num_threads()} thread(s), CPU, records off, {os.cpu_count()} cores at "
               f"load average {os.getloadavg()[0]:.1f} when it started"
               + (", compiled step" if args.compiled else ""))  # fmt: skip
    print(machine, flush=True)
    sb3 = sb3_rate(args.sb3_steps)
    plastic, _ = plastic_rate(args.ratio_agents, args.steps, args.compiled)
    ratio = plastic / sb3
    cpu_ratio = (args.steps * args.ratio_agents / CPU_SECONDS["plastic"]) / (
        args.sb3_steps / CPU_SECONDS["sb3"]
    )
    print(f"SB3 PPO {sb3:,.0f} agent-steps/s; PlasticAgent x{args.ratio_agents} "
          f"{plastic:,.0f}; ratio {ratio:.0f}x (per CPU second: {cpu_ratio:.0f}x)",
          flush=True)  # fmt: skip
    by_agents, by_synapses = [], []
    for step in args.curves:
        for n in args.sizes:
            rate, synapses = plastic_rate(n, args.steps, step == "compiled")
            by_agents.append({"step": step, "n_agents": n, "agent_steps_per_s": rate})
            print(f"{step:8s} n_agents {n:5d}: {rate:12,.0f} agent-steps/s", flush=True)
        for m in args.microstimuli:
            rate, synapses = plastic_rate(args.ratio_agents, args.steps, step == "compiled",
                                          n_microstimuli=m)  # fmt: skip
            by_synapses.append({"step": step, "n_microstimuli": m,
                                "synapses_per_agent": synapses, "agent_steps_per_s": rate,
                                "synapse_updates_per_s": rate * synapses})  # fmt: skip
            print(f"{step:8s} n_microstimuli {m:4d} ({synapses:5d} synapses): "
                  f"{rate:12,.0f} agent-steps/s, {rate * synapses:.2e} synapse updates/s",
                  flush=True)  # fmt: skip
    machine += f"; load average {os.getloadavg()[0]:.1f} at the end"
    results = {"machine": machine, "compiled": args.compiled, "curves": args.curves,
               "sb3_ppo": sb3,
               "ratio_agents": args.ratio_agents,
               "plastic_at_ratio_agents": plastic, "ratio": ratio, "cpu_ratio": cpu_ratio,
               "by_agents": by_agents,
               "by_synapses": by_synapses}  # fmt: skip
    args.out.with_suffix(".json").parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, args.out)
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
