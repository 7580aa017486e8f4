"""The ``plasticgym`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def _quickstart(args: argparse.Namespace) -> int:
    from plasticgym.experiments import rpe_transfer

    out = Path(args.out)
    config = rpe_transfer.RpeTransferConfig(
        n_agents=args.n_agents,
        seed=args.seed,
        tensorboard_log=str(out / "tensorboard"),
        device=args.device,
    )
    print(
        f"plasticgym quickstart: {config.n_agents} plastic actor-critic agents learn Pavlovian "
        f"conditioning\n  (cue -> reward {config.cs_us_interval} steps later, "
        f"{config.training_trials} training trials, then {config.probe_trials} probe trials with "
        "omitted and free rewards)"
    )
    started = time.perf_counter()
    agent, records = rpe_transfer.run(config, progress_bar=not args.no_progress)
    elapsed = time.perf_counter() - started
    agent.save(out / "agent.safetensors")
    agent.close()
    result = rpe_transfer.analyse(records, config)
    paths = rpe_transfer.write_outputs(out, config, records, result)
    steps = len(records)
    print(f"  trained in {elapsed:.1f} s ({steps:,} agent-steps recorded)\n")
    print(rpe_transfer.format_summary(result))
    print(f"\nwritten to {out}/:")
    print(f"  figure       {paths['figure'].name}")
    print(f"  records      {paths['records'].name}   (one row per agent per step)")
    print(f"  result       {paths['result'].name}, config {paths['config'].name}")
    print("  checkpoint   agent.safetensors")
    print(f"  tensorboard  tensorboard/   (tensorboard --logdir {out / 'tensorboard'})")
    return 0 if all(result["verdicts"].values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plasticgym",
        description="Gymnasium tasks solved by agents whose synapses learn by three-factor rules.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quick = sub.add_parser(
        "quickstart",
        help="train a population on Pavlovian conditioning and show dopamine moving to the cue",
        description="Train plastic agents on plasticgym/Pavlovian-v0, print the dopamine "
        "response at cue and reward early vs late and under probes, and write a figure, "
        "records, a checkpoint and TensorBoard logs.",
    )
    quick.add_argument("--out", default="plasticgym_runs/quickstart", help="output folder")
    quick.add_argument("--n-agents", type=int, default=32, help="population size (default 32)")
    quick.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    quick.add_argument("--device", default="cpu", help="torch device of the synapses (cpu, cuda)")
    quick.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    quick.set_defaults(handler=_quickstart)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"plasticgym: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
