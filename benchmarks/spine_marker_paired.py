"""Post-hoc check of spine_turnover (not a verdict): ``trained`` and ``trained_unmarked`` run
from the SAME seed (same individuals, initial spines and structural draws), compared agent by
agent. Usage: ``python benchmarks/spine_marker_paired.py quick|full SEED``."""

import sys

import numpy as np

from plasticgym.experiments import spine_turnover as st
from plasticgym.experiments.stats import format_ci, mean_ci

quick = sys.argv[1] == "quick"
seed = int(sys.argv[2])
config = st.Config.quick(seed=seed) if quick else st.Config(seed=seed)
group_seed = int(np.random.SeedSequence(seed).generate_state(len(st.GROUPS))[0])
out = {}
for g in ("trained", "trained_unmarked"):
    rec = st.run_group(config, g, group_seed)
    spines = rec.spines
    kept = st.cohort_survival(
        spines, config.training_start, config.training_end, config.end, config
    )
    gone = st.preexisting_eliminated(spines, config)
    out[g] = (kept, gone)
d_kept = out["trained"][0] - out["trained_unmarked"][0]
d_gone = out["trained"][1] - out["trained_unmarked"][1]
print(f"{'quick' if quick else 'full'} seed {seed} (same seed {group_seed} for both):")
print(
    "  kept trained",
    format_ci(*mean_ci(out["trained"][0])),
    "unmarked",
    format_ci(*mean_ci(out["trained_unmarked"][0])),
)
print("  kept, paired difference", format_ci(*mean_ci(d_kept), digits=3))
print(
    "  pre-existing gone trained",
    format_ci(*mean_ci(out["trained"][1]), digits=3),
    "unmarked",
    format_ci(*mean_ci(out["trained_unmarked"][1]), digits=3),
)
print("  pre-existing gone, paired difference", format_ci(*mean_ci(d_gone), digits=4))
