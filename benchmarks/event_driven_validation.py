"""The event-driven Izhikevich step against the dense one on the quick ``distal_reward``
experiment: same seeds, same networks, both paths; statistics over networks.

Run by hand (not a test), from the repository root:

    python benchmarks/event_driven_validation.py --seeds 0 1 2 \
        --out benchmarks/results/event_driven_validation.json

:func:`plasticgym.spiking_network.network_step_event_driven` equals
:func:`plasticgym.spiking_network.network_step` in real arithmetic but not bit for bit, so the
two runs of a seed share wiring and noise draws and part only after rounding flips a spike;
what must agree is then statistical. Criteria, fixed before the first run:

- firing rate per network (mean over the records after 0 s, all three conditions, 72
  networks): paired TOST (90 %) of ``event - dense`` inside +-0.05 Hz (5 % of the ~1.05 Hz);
- mean excitatory weight per network at the end: paired TOST inside +-0.01 mV (half of the
  0.02 mV the weights move in the quick run's 30 s);
- the experiment's nine verdicts: the same pass / fail at every seed.

Also reported: CPU time (``time.process_time``) of each run, since wall time on the shared
machine is noise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from plasticgym.experiments import distal_reward
from plasticgym.experiments.stats import format_tost, tost

RATE_MARGIN_HZ = 0.05
WEIGHT_MARGIN_MV = 0.01


def _per_network(timecourse, column: str, final: bool) -> np.ndarray:
    rows = timecourse[timecourse["time_s"] > 0]
    if final:
        rows = rows[rows["time_s"] == rows["time_s"].max()]
    grouped = rows.groupby(["condition", "network"])[column].mean()
    return grouped.sort_index().to_numpy(dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict = {"load_before": Path("/proc/loadavg").read_text().strip(), "seeds": {}}
    for seed in args.seeds:
        runs = {}
        for path in ("dense", "event_driven"):
            config = distal_reward.Config.quick(seed=seed, event_driven=path == "event_driven")
            started = time.process_time()
            records = distal_reward.run(config, out_dir=".")
            cpu_s = time.process_time() - started
            result = distal_reward.analyse(records, config)
            runs[path] = (records, result, cpu_s)
        dense, event = runs["dense"], runs["event_driven"]
        rate = tost(_per_network(event[0]["timecourse"], "rate_hz", False)
                    - _per_network(dense[0]["timecourse"], "rate_hz", False), None,
                    RATE_MARGIN_HZ)  # fmt: skip
        weight = tost(_per_network(event[0]["timecourse"], "mean_exc", True)
                      - _per_network(dense[0]["timecourse"], "mean_exc", True), None,
                      WEIGHT_MARGIN_MV)  # fmt: skip
        row = {
            "cpu_s": {"dense": dense[2], "event_driven": event[2]},
            "rate_hz": {
                k: float(_per_network(v[0]["timecourse"], "rate_hz", False).mean())
                for k, v in runs.items()
            },
            "mean_exc_mv": {
                k: float(_per_network(v[0]["timecourse"], "mean_exc", True).mean())
                for k, v in runs.items()
            },
            "rewards": {
                k: v[0]["rewards"].groupby("condition").size().to_dict() for k, v in runs.items()
            },
            "rate_tost": format_tost(rate, RATE_MARGIN_HZ),
            "rate_equivalent": bool(rate.equivalent),
            "weight_tost": format_tost(weight, WEIGHT_MARGIN_MV),
            "weight_equivalent": bool(weight.equivalent),
            "verdicts": {k: v[1]["verdicts"] for k, v in runs.items()},
            "same_verdicts": dense[1]["verdicts"] == event[1]["verdicts"],
        }
        results["seeds"][str(seed)] = row
        print(seed, json.dumps(row), flush=True)
    results["load_after"] = Path("/proc/loadavg").read_text().strip()
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
