"""Peak memory of ``learn(record=True)`` against ``learn()`` and against the records' own size.

Run by hand (not a test):

    python benchmarks/record_memory.py                       # Addiction-v0, 1024 agents x 500 steps
    python benchmarks/record_memory.py --n-agents 4096 --steps 1000

Each configuration runs in a fresh Python process (peak RSS, ``resource.getrusage``, cannot be
reset within one): one learns without records, one with ``record=True`` and then builds
``agent.records`` once, one streams them with ``record_to=`` a temporary Parquet file (and
reads nothing back). Reported: peak RSS of each, the differences to the run without records,
the records' size (``DataFrame.memory_usage(deep=True).sum()``) and the Parquet file's size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

MODES = ("plain", "record", "stream")


def measure(env: str, n_agents: int, steps: int, mode: str) -> dict[str, float]:
    """Learn in this process (``mode``: plain, record or stream); peak RSS (MB), the records'
    size (MB, ``record``) and the Parquet file's size (MB, ``stream``)."""
    import os
    import tempfile

    import torch

    from plasticgym.agents import PlasticAgent

    torch.set_num_threads(1)
    agent = PlasticAgent(env, n_agents=n_agents, seed=0)
    size = file_mb = 0.0
    rows = 0
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "records.parquet")
        agent.learn(steps, record=mode == "record", record_to=path if mode == "stream" else None)
        if mode == "record":
            records = agent.records
            size = records.memory_usage(deep=True).sum() / 1e6
            rows = len(records)
        if mode == "stream":
            file_mb = os.path.getsize(path) / 1e6
            rows = len(agent._record_buffer)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # (KiB on Linux)
    return {"peak_rss_mb": peak, "records_mb": size, "rows": rows, "file_mb": file_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="plasticgym/Addiction-v0")
    parser.add_argument("--n-agents", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.env, args.n_agents, args.steps, args.child)))
        return
    results = {}
    for mode in MODES:
        command = [sys.executable, __file__, "--env", args.env, "--n-agents", str(args.n_agents),
                   "--steps", str(args.steps), "--child", mode]  # fmt: skip
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    plain, recorded, streamed = results["plain"], results["record"], results["stream"]
    extra = recorded["peak_rss_mb"] - plain["peak_rss_mb"]
    extra_stream = streamed["peak_rss_mb"] - plain["peak_rss_mb"]
    print(f"{args.env}, {args.n_agents} agents x {args.steps} steps ({recorded['rows']} rows)")
    print(f"peak RSS without records: {plain['peak_rss_mb']:8.1f} MB")
    print(f"peak RSS with records:    {recorded['peak_rss_mb']:8.1f} MB (+{extra:.1f} MB)")
    print(f"records' own size:        {recorded['records_mb']:8.1f} MB "
          f"({recorded['records_mb'] * 1e6 / max(recorded['rows'], 1):.0f} B per row); "
          f"extra peak / records = {extra / max(recorded['records_mb'], 1e-9):.2f}")  # fmt: skip
    print(f"peak RSS streaming:       {streamed['peak_rss_mb']:8.1f} MB (+{extra_stream:.1f} MB; "
          f"Parquet file {streamed['file_mb']:.1f} MB, {streamed['rows']} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
