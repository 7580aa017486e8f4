"""Repeated, interleaved CPU-time rounds: Brian2's C++ standalone binary (already built by
``benchmarks/brian2_compare.py``) against plasticgym's numba backend, 1 network and a batch.

Run by hand (not a test), from the repository root, after ``brian2_compare.py`` has built a
standalone project (its directory is ``/tmp/brian2-standalone-1-*``; only the built binary is
used, so Brian2 itself need not be importable here):

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/numba_brian2_rounds.py \
        --standalone-dir /tmp/brian2-standalone-1-XXXX --rounds 5 \
        --out benchmarks/results/numba_brian2_rounds.json

Each round runs, one after the other (so each round's three share the machine's load):
the Brian2 binary (``./main``: the same network, warm-up and timed run as built, its CPU
time from ``getrusage`` of the child, set-up and warm-up included, so a lower bound of its
speed), then ``network_run_numba`` for 1 network and for ``--networks`` networks
(:func:`brian2_compare.plasticgym_run`, ``backend="numba run"``, CPU time of the timed part).

The verdict, fixed before the first round was run: the issue's goal (at least 2x Brian2's
C++ standalone, with the batch in one run) is met by CPU time when the **median over rounds
of the per-round ratio** ``batch network-s per CPU s / Brian2 network-s per CPU s`` is
>= 2; the 1-network ratio is reported the same way, with the minimum and maximum of both.

A check of that figure, added after the first rounds and before it was run (it does not
replace the verdict): the whole binary's CPU time includes its set-up and the writing of its
results, so ``--short-dir`` (a second project built by ``brian2_compare.py --seconds S_short
--warmup W``, the same warm-up) is run in each round too and Brian2's *marginal* speed,
``(T_long - T_short) / (cpu_long - cpu_short)``, set-up and output cancelled, is reported
with the ratios against it (``marginal_ratio_1``, ``marginal_ratio_batch``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path
from statistics import median

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brian2_compare import load, plasticgym_run

from plasticgym.spiking_network import NetworkParams

GOAL = 2.0


def brian2_binary(directory: Path, simulated_s: float) -> dict:
    """Run the built standalone binary once; its CPU seconds (children's ``getrusage``) and
    its own timer of the last ``run`` (``results/last_run_info.txt``, written afresh: the
    binary joins ``--results_dir`` and the file name without a separator, hence the ``/``)."""
    info = directory / "results" / "last_run_info.txt"
    info.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = load()
    subprocess.run(["./main", "--results_dir", "results/"], cwd=directory, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run_time = float(info.read_text().split()[0])
    return {"cpu_s": cpu, "network_s_per_cpu_s": simulated_s / cpu,
            "timed_run_wall_s": run_time, "load_before": load_before,
            "load_after": load()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standalone-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed, as built")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed, as built")
    parser.add_argument("--networks", type=int, default=64)
    parser.add_argument("--short-dir", type=Path, default=None, help="a shorter build")
    parser.add_argument("--short-seconds", type=float, default=1.0, help="its timed s")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = NetworkParams()
    rounds = []
    for k in range(args.rounds):
        brian = brian2_binary(args.standalone_dir, args.warmup + args.seconds)
        ours = {n: plasticgym_run(n, args.seconds, args.warmup, 1, params, backend="numba run")
                for n in (1, args.networks)}  # fmt: skip
        keys = ("cpu_s", "network_s_per_cpu_s", "network_s_per_wall_s", "load_before")
        row = {
            "round": k,
            "brian2_standalone": brian,
            **{f"numba_{n}": {key: r[key] for key in keys} for n, r in ours.items()},
            "ratio_1": ours[1]["network_s_per_cpu_s"] / brian["network_s_per_cpu_s"],
            "ratio_batch": ours[args.networks]["network_s_per_cpu_s"]
            / brian["network_s_per_cpu_s"],
        }
        if args.short_dir is not None:
            short = brian2_binary(args.short_dir, args.warmup + args.short_seconds)
            marginal = (args.seconds - args.short_seconds) / (brian["cpu_s"] - short["cpu_s"])
            row["brian2_short"] = short
            row["brian2_marginal_network_s_per_cpu_s"] = marginal
            row["marginal_ratio_1"] = ours[1]["network_s_per_cpu_s"] / marginal
            row["marginal_ratio_batch"] = ours[args.networks]["network_s_per_cpu_s"] / marginal
        rounds.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for key in ("ratio_1", "ratio_batch", "marginal_ratio_1", "marginal_ratio_batch"):
        values = [r[key] for r in rounds if key in r]
        if not values:
            continue
        summary[key] = {"median": median(values), "min": min(values), "max": max(values)}
    summary["goal"] = GOAL
    summary["goal_met_by_cpu_time"] = summary["ratio_batch"]["median"] >= GOAL
    print(json.dumps(summary))
    if args.out is not None:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "rounds": rounds, "summary": summary},
                                       indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
