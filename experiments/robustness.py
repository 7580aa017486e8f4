"""Robustness of an experiment's verdicts: its quick version at several seeds and with protocol
parameters changed (the table of ``docs/experiments.md``, "Robustness").

::

    python -m plasticgym.experiments.robustness two_step --seeds 0 1 2 \\
        --vary steps=280,520 --out runs/robustness

runs ``plasticgym experiment two_step --quick`` at seeds 0, 1, 2 with the default config and
with each value of each ``--vary`` field (one field changed at a time, at seed 0), and prints
one row per verdict: its kind (``finding`` or ``mechanism check``, where the experiment labels
them) and PASS/FAIL in each run. A run whose folder already holds records is re-analysed from
them (:func:`plasticgym.experiments.report.analyse_records`) instead of being run again, so a
changed analysis is re-judged on the same records; pass ``--rerun`` after changing ``run``. A
cached folder whose ``config.json`` disagrees with the run's fields is refused (not re-analysed
in its place), and changes at a first seed other than 0 get their own folders
(``steps-280_seed-2``).
``--reanalyse practice_bin=18,32`` changes fields that only the analysis reads, on the first
seed's records. A tuple field's value goes in brackets or parentheses, quoted for the shell
(``--vary 'frequency_delays_ms=[-7.0,7.0],[-13.0,13.0]'``); ``--full`` runs the full versions
(folders ``OUT/NAME-full/...``).
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path
from typing import Any

import pandas as pd

from plasticgym.experiments import load_experiment
from plasticgym.experiments.report import (
    VERDICT_KINDS,
    analyse_records,
    markdown_table,
    run_experiment,
)
from plasticgym.records import load_records
from plasticgym.threads import explicit_threads


def _value(text: str) -> Any:
    """A ``--vary`` value: a Python literal (``0.5``, ``(1, 2)``, ``True``) or a string; a
    list in brackets (``[-7.0,7.0]``, no parentheses for the shell to quote) is the tuple a
    config's tuple field takes."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return tuple(value) if isinstance(value, list) else value


def variants(seeds: list[int], vary: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(label, overrides)`` of every run: each seed with the defaults, then each ``--vary``
    value (``field=v1,v2``; a value with a comma inside brackets or braces stays whole) at the first
    seed (no seed override without seeds)."""
    runs = [(f"seed {seed}", {"seed": seed}) for seed in seeds]
    base = {"seed": seeds[0]} if seeds else {}
    for spec in vary:
        field, _, values = spec.partition("=")
        if not field or not values:
            raise ValueError(f"--vary {spec!r} is invalid: FIELD=V1,V2")
        for value in _split(values):
            runs.append((f"{field}={value}", {**base, field: _value(value)}))
    return runs


def _split(values: str) -> list[str]:
    out, depth, current = [], 0, ""
    for char in values:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += char
    return [*out, current]


def run_folder_name(label: str, overrides: dict[str, Any]) -> str:
    """A run's folder: ``seed_1``, ``steps-280`` (a change at seed 0), ``steps-280_seed-2``
    (a change at another first seed, so it never reuses seed 0's folder); a ``/`` in a value
    (a task id) becomes ``_``, so the folder is one folder."""
    name = label.replace(" ", "_").replace("=", "-").replace("/", "_")
    seed = overrides.get("seed", 0)
    if label.startswith("seed ") or seed == 0:
        return name
    return f"{name}_seed-{seed}"


def check_cached_config(folder: Path, overrides: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless ``folder``'s ``config.json`` has every override's value (a
    folder of another run would otherwise be re-analysed silently in its place)."""
    fields = json.loads((folder / "config.json").read_text())
    stale = {
        key: fields.get(key)
        for key, value in overrides.items()
        if _as_json(value) != fields.get(key, object())
    }
    if stale:
        raise ValueError(
            f"{folder} holds a run with {stale}, not {overrides}: pass --rerun or another --out"
        )


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def verdict_kinds(result: dict[str, Any]) -> dict[str, str]:
    """Each verdict's kind in an experiment's result: ``verdict_kinds``, or ``kinds`` where an
    experiment names it so (``stdp_window``), else read from its lines' ``(finding) ...`` /
    ``(mechanism check) ...`` prefixes (``systems_consolidation``); a verdict without any is
    left out."""
    kinds = result.get("verdict_kinds") or result.get("kinds")
    if kinds:
        return dict(kinds)
    return {
        name: kind
        for name, line in result.get("lines", {}).items()
        for kind in VERDICT_KINDS
        if line.startswith(f"({kind})")
    }


def reanalysed(name: str, folder: Path, **overrides: Any) -> dict[str, Any]:
    """The result of ``folder``'s records analysed with config fields changed (fields that
    only the analysis reads, e.g. a bin width)."""
    module = load_experiment(name)
    fields = json.loads((folder / "config.json").read_text())
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    config = module.Config(**{**fields, **overrides})
    records = {path.stem: load_records(path) for path in sorted((folder / "records").glob("*"))}
    return module.analyse(records, config)


def robustness(
    name: str,
    seeds: list[int],
    vary: list[str],
    out: Path,
    rerun: bool = False,
    reanalyse: tuple[str, ...] = (),
    full: bool = False,
) -> pd.DataFrame:
    """Verdict (rows) x run (columns) table of PASS/FAIL, with each verdict's kind; the
    ``reanalyse`` variants (``FIELD=V1,V2``) re-analyse the first seed's records. ``full``
    runs the full ``Config()`` instead of ``Config.quick()``, in ``out / f"{name}-full"``
    (never a quick run's folder)."""
    columns, kinds = {}, {}
    base = out / (f"{name}-full" if full else name)
    for label, overrides in variants(seeds, vary):
        folder = base / run_folder_name(label, overrides)
        if (folder / "records").is_dir() and not rerun:
            check_cached_config(folder, overrides)
            result = analyse_records(name, folder)
        else:
            result, _ = run_experiment(name, quick=not full, out=folder, progress_bar=False,
                                       **overrides)  # fmt: skip
        kinds.update(verdict_kinds(result))
        columns[label] = {k: "PASS" if v else "FAIL" for k, v in result["verdicts"].items()}
        (folder / "robustness_lines.json").write_text(json.dumps(result["lines"], indent=1))
    first = base / f"seed_{seeds[0]}"
    for label, overrides in variants([], list(reanalyse)):
        result = reanalysed(name, first, **overrides)
        columns[f"{label} (analysis)"] = {k: "PASS" if v else "FAIL"
                                          for k, v in result["verdicts"].items()}  # fmt: skip
    table = pd.DataFrame(columns)
    table.insert(0, "kind", [kinds.get(verdict, "") for verdict in table.index])
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--vary", nargs="*", default=[], metavar="FIELD=V1,V2")
    parser.add_argument("--out", type=Path, default=Path("plasticgym_runs/robustness"))
    parser.add_argument(
        "--reanalyse",
        nargs="*",
        default=[],
        metavar="FIELD=V1,V2",
        help="analysis-only fields: re-analyse the first seed's records",
    )
    parser.add_argument("--rerun", action="store_true")
    parser.add_argument("--full", action="store_true", help="the full versions, not --quick")
    args = parser.parse_args(argv)
    with explicit_threads(1):
        table = robustness(args.name, args.seeds, args.vary, args.out, args.rerun,
                           tuple(args.reanalyse), full=args.full)  # fmt: skip
    print(markdown_table(table.reset_index(names="verdict")))


if __name__ == "__main__":
    main()
