"""Before/after timing of ``plasticgym.spiking_network.network_step``: the first version (kept
verbatim as ``_reference_step`` in tests/test_spiking_network_digest.py, which also checks that
both give bit-identical states) against the current one, interleaved in one process so that
both see the same machine load.

Run by hand (not a test), from the repository root:

    python benchmarks/network_step_ab.py --threads 1 --out benchmarks/results/network_step_ab.json

For 1 and 64 paper-size networks (after 300 ms of warm-up), ``--rounds`` rounds each time
``--steps`` steps of the old step then of the new one, continuing the same simulation; the
median and best microseconds per step of each are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from plasticgym.spiking_network import NetworkParams, build_network, network_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_spiking_network_digest import _reference_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, nargs=2, default=[500, 60], help="per round, B=1 B=64")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = NetworkParams()
    results = {"threads": args.threads, "load_before": Path("/proc/loadavg").read_text()}
    for n_networks, steps in zip((1, 64), args.steps, strict=True):
        generator = torch.Generator()
        generator.manual_seed(0)
        network, state = build_network(params, n_networks, generator)
        decay_c = torch.full((n_networks, 1), 0.99)
        reward = torch.zeros(n_networks)
        for t in range(300):
            state = network_step(network, state, reward, t, params, decay_c, generator)
        times: dict[str, list[float]] = {"old": [], "new": []}
        t0 = 300
        for _ in range(args.rounds):
            for name, step in (("old", _reference_step), ("new", network_step)):
                started = time.perf_counter()
                for t in range(t0, t0 + steps):
                    state = step(network, state, reward, t, params, decay_c, generator)
                times[name].append((time.perf_counter() - started) / steps * 1e6)
                t0 += steps
        median = {k: statistics.median(v) for k, v in times.items()}
        results[str(n_networks)] = {
            "median_us_per_step": median,
            "best_us_per_step": {k: min(v) for k, v in times.items()},
            "speedup_of_medians": median["old"] / median["new"],
        }
        print(n_networks, json.dumps(results[str(n_networks)]), flush=True)
    results["load_after"] = Path("/proc/loadavg").read_text()
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
