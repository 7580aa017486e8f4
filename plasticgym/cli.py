"""The ``plasticgym`` command line: ``quickstart``, ``envs``, ``agents``, ``train``, ``sweep``,
``experiments``, ``experiment``, ``compare``.

User mistakes (unknown env or agent, bad hyperparameter, missing or invalid file, missing
optional dependency) print one line ``plasticgym: error: ...`` and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plasticgym import __version__
from plasticgym.extras import MissingExtraError


class UsageError(Exception):
    """A command-line argument is malformed (reported as one line, exit code 2)."""


THREADS_HELP = "torch threads (default: 1 for small populations, else torch's; see docs/cli.md)"

TOUR = ("rpe_transfer", "habit_devaluation", "addiction", "compare")
"""The experiments ``plasticgym quickstart`` runs, in their quick versions."""


def _quickstart(args: argparse.Namespace) -> int:
    from plasticgym.experiments import load_experiment
    from plasticgym.experiments.report import run_experiment, verdict_lines

    out = checked_out_dir("--out", args.out)
    print(
        "plasticgym quickstart: quick versions of four experiments with populations of plastic "
        "agents\n(three-factor synapses, dopamine = their reward-prediction error) and RL "
        "baselines.\nFull versions: plasticgym experiment NAME (list: plasticgym experiments)."
    )
    started, reports = time.perf_counter(), {}
    for name in TOUR:
        module = load_experiment(name)
        print(f"\n== {name}: {module.DESCRIPTION}", flush=True)
        result, paths = run_experiment(
            name, quick=True, seeds=args.n_agents, out=out / name, seed=args.seed,
            device=args.device, progress_bar=not args.no_progress, threads=args.threads,
        )  # fmt: skip
        print("\n".join(verdict_lines(result)))
        reports[name] = paths.report
    print(f"\ndone in {time.perf_counter() - started:.0f} s. Reports (figures, tables, records):")
    for name, report in reports.items():
        print(f"  {name:18s} {report}")
    print(f"  tensorboard        tensorboard --logdir {out}   (one named run per population)")
    print(
        "A [FAIL] is a finding, not a crash: each report explains its signatures, including "
        "the ones\nthe model is known not to show (see docs/experiments.md)."
    )
    return 0


def _envs(args: argparse.Namespace) -> int:
    from plasticgym.docs import task_summaries

    _print_aligned(task_summaries())
    return 0


def _agents(args: argparse.Namespace) -> int:
    from plasticgym.agents import AGENTS

    _print_aligned({name: entry.description for name, entry in AGENTS.items()})
    return 0


def _print_aligned(descriptions: dict[str, str]) -> None:
    """``name  description`` lines with the descriptions aligned."""
    width = max(map(len, descriptions))
    for name, description in descriptions.items():
        print(f"{name:<{width}}  {description}")


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["lr=0.1", "policy=softmax", "x=[1, 2]"]`` -> ``{"lr": 0.1, "policy": "softmax",
    "x": [1, 2]}``: values are JSON when they parse as JSON, else strings."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set {item!r} is invalid: write NAME=VALUE, e.g. gamma=0.9")
        if name in values:
            raise UsageError(f"--set gives {name!r} twice")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    return values


def _json_object(option: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} {text!r} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object like '{{\"name\": 1}}', got {text!r}")
    return value


def checked_out_dir(option: str, path: str | Path) -> Path:
    """Create the output folder ``path`` (and its parents) and check that a file can be written
    in it, before anything runs: a bad ``--out`` must not lose a finished run. Raises
    :class:`UsageError` naming the option and the problem."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {str(out)!r} is an existing file; give a folder to write into")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".plasticgym-write-check-"):
            pass
    except OSError as error:
        raise UsageError(f"{option} {str(out)!r} cannot be written into: {error}") from None
    return out


def _train_hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """``--set`` values over the task's tuned PlasticAgent preset: by default for ``--agent
    plastic`` on a task that has one, never with ``--no-preset``; ``--preset`` insists (an
    error for other agents and for tasks without a preset)."""
    given = parse_assignments(args.set)
    if args.preset and args.no_preset:
        raise UsageError("--preset and --no-preset contradict each other; give one")
    if args.preset and args.agent != "plastic":
        raise ValueError(f"--preset is for --agent plastic (tuned per task), got {args.agent!r}")
    if args.agent != "plastic" or args.no_preset:
        return given
    from plasticgym.agents import PLASTIC_PRESETS, plastic_preset

    if not args.preset and args.env not in PLASTIC_PRESETS:
        return given  # a task of the user's own: PlasticAgent's defaults
    return {**plastic_preset(args.env), **given}


def _uses_preset(args: argparse.Namespace) -> bool:
    from plasticgym.agents import PLASTIC_PRESETS

    chosen = args.agent == "plastic" and not args.no_preset and args.env in PLASTIC_PRESETS
    return chosen and bool(PLASTIC_PRESETS[args.env])


def _sb3_rounding_note(spec: dict[str, Any]) -> str | None:
    """A note when a Stable-Baselines3 agent will run more steps than asked (whole rollouts),
    or None."""
    from plasticgym.agents import AGENTS

    algo = AGENTS[spec["agent"]].fixed.get("algo")
    if algo is None:
        return None
    from plasticgym.agents.sb3 import rollout_steps

    steps = rollout_steps(algo, spec["hyperparameters"], spec["steps"])
    if steps == spec["steps"]:
        return None
    if steps is None:
        return f"note: {algo} trains after whole episodes, so each agent may run more steps"
    size = "train_freq" if algo == "DQN" else "n_steps"
    return (
        f"note: {algo} collects whole rollouts, so each agent runs {steps:,} steps, not "
        f"{spec['steps']:,} (--steps a multiple of {size}, or --set {size}=N)"
    )


def _train(args: argparse.Namespace) -> int:
    from plasticgym.checkpoint import write_json
    from plasticgym.experiments.trial import (
        METRIC_COLUMNS,
        check_spec,
        plot_learning_curve,
        run_trial,
    )
    from plasticgym.records import load_records
    from plasticgym.sweep import trial_spec

    spec = trial_spec(
        env=args.env,
        agent=args.agent,
        seed=args.seed,
        steps=args.steps,
        n_agents=args.n_agents,
        env_kwargs=_json_object("--env-kwargs", args.env_kwargs),
        hyperparameters=_train_hyperparameters(args),
        device=args.device,
        threads=args.threads,
    )
    check_spec(spec)  # user mistakes fail here, before anything is printed or trained
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise UsageError(f"--checkpoint-every {args.checkpoint_every} must be >= 1 (env steps)")
    out = checked_out_dir("--out", args.out)
    run = {"spec": spec, "tensorboard": args.tensorboard}
    if args.resume:
        check_resume(out, run)
    else:  # before training: what --resume must match; no earlier run's checkpoint is left
        write_json(out / "spec.json", run)  # for it (this run would overwrite it at its end)
        (out / "agent.safetensors").unlink(missing_ok=True)
    hyper = ", ".join(f"{k}={v!r}" for k, v in spec["hyperparameters"].items()) or "defaults"
    preset = " (the task's preset; --no-preset for the defaults)" if _uses_preset(args) else ""
    print(
        f"plasticgym train: {spec['n_agents']} x {spec['agent']} on {spec['env']}, "
        f"{spec['steps']:,} steps, seed {spec['seed']} ({hyper}){preset}"
    )
    note = _sb3_rounding_note(spec)
    if note:
        print(note)
    metrics = run_trial(
        spec,
        out,
        progress_bar=not args.no_progress,
        chance=True,
        tensorboard=args.tensorboard,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
    )
    write_json(out / "result.json", {"spec": spec, "metrics": metrics})
    figure = plot_learning_curve(
        load_records(out / "records.parquet", columns=METRIC_COLUMNS),
        load_records(out / "chance_records.parquet", columns=METRIC_COLUMNS),
        out / "reward.png",
        title=f"{spec['agent']} on {spec['env']}",
        agent_label=spec["agent"],
    )
    print(format_metrics(metrics))
    print(f"\nwritten to {out}/:")
    print("  records     records.parquet   (one row per agent per step)")
    print("  chance      chance_records.parquet   (a uniform-random policy, same seeds)")
    print("  checkpoint  agent.safetensors")
    print(f"  figure      {figure.name}         (reward per step over training vs chance)")
    print("  result      result.json       (spec and metrics)")
    print("  spec        spec.json         (the arguments --resume checks)")
    if args.tensorboard:
        print(f"  tensorboard tensorboard/      (tensorboard --logdir {out / 'tensorboard'})")
    return 0


RESUME_FREE = ("steps", "threads")
"""Spec keys ``--resume`` may change: the total to train to, and torch's thread count."""


def check_resume(out: Path, run: dict[str, Any]) -> None:
    """Raise :class:`UsageError` unless ``out`` holds a checkpoint and the ``spec.json`` of a
    run with these arguments (all but ``--steps`` and ``--threads``, and ``--tensorboard``)."""
    if not (out / "agent.safetensors").is_file():
        raise UsageError(
            f"--resume: {out} holds no checkpoint (agent.safetensors); train without --resume "
            "(with --checkpoint-every N to checkpoint during the run)"
        )
    try:
        saved = json.loads((out / "spec.json").read_text())
        saved_spec = saved["spec"]
        saved_run = {"spec": {k: v for k, v in saved_spec.items() if k not in RESUME_FREE},
                     "tensorboard": saved["tensorboard"]}  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"--resume: {out / 'spec.json'} is missing or invalid ({error})") from None
    given = {"spec": {k: v for k, v in run["spec"].items() if k not in RESUME_FREE},
             "tensorboard": run["tensorboard"]}  # fmt: skip
    if saved_run != given:
        options = {**saved_run["spec"], "tensorboard": saved_run["tensorboard"]}
        asked = {**given["spec"], "tensorboard": given["tensorboard"]}
        differ = "; ".join(
            f"{key}: saved {options.get(key)!r}, given {asked.get(key)!r}"
            for key in sorted(set(options) | set(asked))
            if options.get(key) != asked.get(key)
        )
        raise UsageError(
            f"--resume: the arguments differ from the run in {out} ({differ}); give the same "
            "arguments (only --steps, --threads and --checkpoint-every may change)"
        )


def format_metrics(metrics: dict[str, Any]) -> str:
    """The metrics of :func:`plasticgym.experiments.trial.run_trial` as a short table."""

    def reward(name: str) -> str:
        mean, low, high = (metrics[f"{name}{s}"] for s in ("", "_ci_low", "_ci_high"))
        ci = f"   95% CI [{low:.3f}, {high:.3f}] over agents" if low is not None else ""
        return f"{mean:.3f}{ci}"

    rows = [
        ("steps per agent", f"{metrics['steps']:,}"),
        ("reward per step, whole run", reward("mean_reward")),
        ("reward per step, last 20%", reward("mean_reward_last20")),
    ]
    if "chance_reward_last20" in metrics:
        rows.append(("  random policy, last 20%", reward("chance_reward_last20")))
    rows += [
        ("agent-steps per second", f"{metrics['agent_steps_per_s']:,.0f}"),
        ("wall-clock", f"{metrics['wall_s']:.1f} s"),
    ]
    return "\n".join(f"  {label:<28}{value}" for label, value in rows)


def _sweep(args: argparse.Namespace) -> int:
    from plasticgym.sweep import check_trials, load_config, run_sweep, summary_table

    config = load_config(args.config)
    check_trials(config.trials(), config.trial)  # user mistakes fail before any output
    out = checked_out_dir(
        "--out", args.out or Path("plasticgym_runs") / "sweeps" / Path(args.config).stem
    )
    points = len(config.points())
    kind = "grid points" if config.search is None else "drawn configurations"
    sizes = [len(config.envs), len(config.agents), points, len(config.seeds)]
    print(
        f"plasticgym sweep: {math.prod(sizes)} trials (envs x agents x {kind} x seeds = "
        f"{' x '.join(map(str, sizes))}), backend {args.backend}, {args.workers} worker(s)"
    )
    summary = run_sweep(
        config,
        out,
        backend=args.backend,
        workers=args.workers,
        max_retries=args.max_retries,
        progress=not args.no_progress,
        isolate=not args.in_process,
    )
    print(
        f"  done {len(summary.completed)} now, {len(summary.skipped)} before; "
        f"failed {len(summary.failed)}"
    )
    for trial_id, error in summary.failed.items():
        print(f"  FAILED {trial_id}: {error}")
    by = [*config.grid] if config.search is None else ["point", *config.search["space"]]
    table = summary_table(summary.results, ["env", "agent", *by])
    if not table.empty:
        print("\nreward per step, last 20% (mean and 95% CI over seeds), best first per task:")
        print(format_summary(table))
    print(f"\nwritten to {out}/:")
    print("  results   results.parquet, results.csv   (one row per trial)")
    print("  trials    trials/<id>/   (records, checkpoint, result.json)")
    print("  config    sweep.json;  failures  failures.json")
    return 1 if summary.failed else 0


def format_summary(table: Any) -> str:
    """:func:`plasticgym.sweep.summary_table` as aligned text (CIs as ``[low, high]``)."""
    shown = table.copy()
    metric = shown.columns[shown.columns.get_loc("ci_low") - 1]
    shown[metric] = [
        f"{m:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo == lo else "")
        for m, lo, hi in zip(shown[metric], shown["ci_low"], shown["ci_high"], strict=True)
    ]
    shown["wall_s"] = shown["wall_s"].map(lambda v: f"{v:.1f}")
    if "env" in shown:
        shown["env"] = shown["env"].map(lambda env: str(env).rpartition("/")[2])
    return shown.drop(columns=["ci_low", "ci_high"]).to_string(index=False)


def _experiments(args: argparse.Namespace) -> int:
    from plasticgym.experiments import available_experiments

    _print_aligned(available_experiments())
    return 0


def _experiment(args: argparse.Namespace) -> int:
    from plasticgym.experiments import load_experiment
    from plasticgym.experiments.report import make_config, run_experiment, verdict_lines

    module = load_experiment(args.name)
    overrides = {"seed": args.seed, "device": args.device}
    config = make_config(module, quick=args.quick, seeds=args.seeds, **overrides)
    out = checked_out_dir("--out", args.out or default_experiment_out(args.name, quick=args.quick))
    print(
        f"plasticgym experiment {args.name} ({'quick' if args.quick else 'full'} version, "
        f"{config.n_agents} agents, seed {config.seed}): {module.DESCRIPTION}"
    )
    started = time.perf_counter()
    result, paths = run_experiment(
        args.name,
        quick=args.quick,
        seeds=args.seeds,
        out=out,
        progress_bar=not args.no_progress,
        threads=args.threads,
        **overrides,
    )
    verdicts = result["verdicts"]
    print("\n".join(verdict_lines(result)))
    print(
        f"\n{sum(verdicts.values())} of {len(verdicts)} signatures pass "
        f"({time.perf_counter() - started:.1f} s); report: {paths.report}"
    )
    return 0 if all(verdicts.values()) else 1


def default_experiment_out(name: str, *, quick: bool) -> Path:
    """``plasticgym_runs/NAME``, or ``plasticgym_runs/NAME-quick`` for the quick version (so a
    quick run never overwrites the full run's report)."""
    return Path("plasticgym_runs") / (f"{name}-quick" if quick else name)


def _compare(args: argparse.Namespace) -> int:
    args.name = "compare"
    return _experiment(args)


def _experiment_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="the short version (under 2 minutes on a laptop)"
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="agents per population (default: the config's)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the config's)")
    parser.add_argument(
        "--out",
        default=None,
        help=f"output folder (default {default_out}; {default_out}-quick with --quick)",
    )
    parser.add_argument("--device", default=None, help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


_Subparsers = argparse._SubParsersAction
"""What ``add_subparsers`` returns: ``add_parser`` adds one sub-command."""


def build_parser() -> argparse.ArgumentParser:
    """The ``plasticgym`` parser: its sub-commands in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="plasticgym",
        description="Gymnasium tasks solved by agents whose synapses learn by three-factor rules.",
    )
    parser.add_argument("--version", action="version", version=f"plasticgym {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_quickstart(sub)
    _add_listing(
        sub,
        "envs",
        _envs,
        help_line="list the registered tasks",
        description="List every registered plasticgym task id with its one-line description.",
    )
    _add_listing(
        sub,
        "agents",
        _agents,
        help_line="list the agents",
        description="List the agent names that train and sweep accept, with a description.",
    )
    _add_train(sub)
    _add_sweep(sub)
    _add_listing(
        sub,
        "experiments",
        _experiments,
        help_line="list the experiments",
        description="List the experiments that plasticgym experiment runs, with a description.",
    )
    _add_experiment(sub)
    _add_compare(sub)
    return parser


def _add_listing(
    sub: _Subparsers,
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help_line: str,
    description: str,
) -> None:
    """A sub-command without arguments that prints a list."""
    listing = sub.add_parser(name, help=help_line, description=description)
    listing.set_defaults(handler=handler)


def _add_quickstart(sub: _Subparsers) -> None:
    quick = sub.add_parser(
        "quickstart",
        help="a two-minute tour: quick versions of four experiments, plastic agents vs baselines",
        description="Run the quick versions of rpe_transfer (dopamine moves from reward to "
        "cue), habit_devaluation (habits after extended training), addiction (Redish vs "
        "homeostatic dopamine, addiction-like criteria) and compare (plastic agents vs tabular "
        "and deep RL baselines); print each signature's verdict and where the reports are.",
    )
    quick.add_argument("--out", default="plasticgym_runs/quickstart", help="output folder")
    quick.add_argument(
        "--n-agents", type=int, default=None, help="agents per population (default: each's)"
    )
    quick.add_argument("--seed", type=int, default=None, help="seed (default: each's)")
    quick.add_argument("--device", default=None, help="torch device of the synapses (cpu, cuda)")
    quick.add_argument(
        "--threads", type=int, default=1,
        help="torch threads (default 1: fastest for these small populations)",
    )  # fmt: skip
    quick.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    quick.set_defaults(handler=_quickstart)


def _add_train(sub: _Subparsers) -> None:
    train = sub.add_parser(
        "train",
        help="train one population of an agent on a task and save records and checkpoint",
        description="Train N agents (one batched population) on a task for a number of steps, "
        "print the reward per step (mean and 95% CI over agents) beside a uniform-random "
        "policy's (chance) and write the records (Parquet), a checkpoint, result.json and a "
        "figure of the reward over training (reward.png); --tensorboard adds TensorBoard logs.",
        epilog="example: plasticgym train --env plasticgym/ReversalBandit-v0 --agent q_learning "
        "--steps 2000 --n-agents 16 --set learning_rate=0.1 --set gamma=0",
    )
    train.add_argument("--env", required=True, help="task id (see: plasticgym envs)")
    train.add_argument("--agent", required=True, help="agent name (see: plasticgym agents)")
    train.add_argument("--steps", type=int, required=True, help="env steps per agent")
    train.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    train.add_argument("--n-agents", type=int, default=1, help="population size (default 1)")
    train.add_argument("--out", default="plasticgym_runs/train", help="output folder")
    train.add_argument(
        "--env-kwargs", default="{}", metavar="JSON", help="task arguments as a JSON object"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a hyperparameter (repeatable); VALUE is JSON if it parses, else a string",
    )
    train.add_argument(
        "--preset",
        action="store_true",
        help="start from the task's tuned PlasticAgent hyperparameters (the default for "
        "--agent plastic on a task with a preset; then an error if the task has none)",
    )
    train.add_argument(
        "--no-preset",
        action="store_true",
        help="--agent plastic with PlasticAgent's defaults instead of the task's preset",
    )
    train.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    train.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="write TensorBoard logs under OUT/tensorboard (reward, RPE, weights per agent)",
    )
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="also write the checkpoint OUT/agent.safetensors every N env steps per agent, "
        "after the records before it are on disk (Stable-Baselines3 agents: at each model's "
        "first rollout start past a multiple of N; default: only at the end)",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in OUT from its checkpoint up to --steps (the other arguments "
        "must be the run's; see OUT/spec.json)",
    )
    train.set_defaults(handler=_train)


def _add_sweep(sub: _Subparsers) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="run every env x agent x hyperparameter x seed combination of a config",
        description="Run the trials of a sweep config (TOML, JSON or YAML; see docs/cli.md) "
        "that have no result yet in the output folder, and write results.parquet with one row "
        "per trial. Run it again to resume an interrupted sweep.",
    )
    sweep.add_argument("config", help="sweep config file (.toml, .json, .yaml)")
    sweep.add_argument(
        "--out", default=None, help="output folder (default plasticgym_runs/sweeps/<config name>)"
    )
    sweep.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local worker processes (default) or Ray Tune (extra: ray)",
    )
    sweep.add_argument("--workers", type=int, default=1, help="trials at a time (default 1)")
    sweep.add_argument(
        "--max-retries", type=int, default=0, help="extra attempts of a failing trial (default 0)"
    )
    sweep.add_argument(
        "--in-process",
        action="store_true",
        help="with --workers 1, run the trials in this process (default: a process per trial, "
        "so that a trial that crashes its process does not end the sweep)",
    )
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sweep.set_defaults(handler=_sweep)


def _add_experiment(sub: _Subparsers) -> None:
    experiment = sub.add_parser(
        "experiment",
        help="run an experiment and write its report (verdicts, table, figures, records)",
        description="Run an experiment (see: plasticgym experiments): train its populations, "
        "judge each signature from the records with statistics over agents, and write "
        "report.md, records/, config.json, result.json and the figures. Exits with 0 when every "
        "signature passes, 1 otherwise.",
        epilog="example: plasticgym experiment two_step --quick",
    )
    experiment.add_argument("name", help="experiment name (see: plasticgym experiments)")
    _experiment_options(experiment, "plasticgym_runs/NAME")
    experiment.set_defaults(handler=_experiment)


def _add_compare(sub: _Subparsers) -> None:
    compare = sub.add_parser(
        "compare",
        help="compare plasticity rules with RL baselines (the experiment 'compare')",
        description="Run the experiment 'compare' (the same as: plasticgym experiment compare) "
        "and write its report.",
    )
    _experiment_options(compare, "plasticgym_runs/compare")
    compare.set_defaults(handler=_compare)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, MissingExtraError, UsageError) as error:
        message = " ".join(str(error).split())  # one line
        print(f"plasticgym: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
