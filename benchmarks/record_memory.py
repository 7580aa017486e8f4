"""Peak memory of ``learn(record=True)`` against ``learn()`` and against the records' own size.

Run by hand (not a test):

    python benchmarks/record_memory.py                       # Addiction-v0, 1024 agents x 500 steps
    python benchmarks/record_memory.py --n-agents 4096 --steps 1000

Each configuration runs in a fresh Python process (peak RSS, ``resource.getrusage``, cannot be
reset within one): one learns without records, one with ``record=True`` and then builds
``agent.records`` once. Reported: peak RSS of each, their difference, and the records' size
(``DataFrame.memory_usage(deep=True).sum()``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def measure(env: str, n_agents: int, steps: int, record: bool) -> dict[str, float]:
    """Learn in this process; peak RSS (MB) and, with ``record``, the records' size (MB)."""
    import torch

    from plasticgym.agents import PlasticAgent

    torch.set_num_threads(1)
    agent = PlasticAgent(env, n_agents=n_agents, seed=0)
    agent.learn(steps, record=record)
    size = 0.0
    rows = 0
    if record:
        records = agent.records
        size = records.memory_usage(deep=True).sum() / 1e6
        rows = len(records)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # (KiB on Linux)
    return {"peak_rss_mb": peak, "records_mb": size, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="plasticgym/Addiction-v0")
    parser.add_argument("--n-agents", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--child", choices=["plain", "record"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.env, args.n_agents, args.steps, args.child == "record")
        print(json.dumps(result))
        return
    results = {}
    for mode in ("plain", "record"):
        command = [sys.executable, __file__, "--env", args.env, "--n-agents", str(args.n_agents),
                   "--steps", str(args.steps), "--child", mode]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    plain, recorded = results["plain"], results["record"]
    extra = recorded["peak_rss_mb"] - plain["peak_rss_mb"]
    print(f"{args.env}, {args.n_agents} agents x {args.steps} steps ({recorded['rows']} rows)")
    print(f"peak RSS without records: {plain['peak_rss_mb']:8.1f} MB")
    print(f"peak RSS with records:    {recorded['peak_rss_mb']:8.1f} MB (+{extra:.1f} MB)")
    print(f"records' own size:        {recorded['records_mb']:8.1f} MB "
          f"({recorded['records_mb'] * 1e6 / max(recorded['rows'], 1):.0f} B per row); "
          f"extra peak / records = {extra / max(recorded['records_mb'], 1e-9):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
