"""Run an experiment end to end and write its report folder.

::

    from plasticgym.experiments.report import run_experiment

    result, paths = run_experiment("two_step", quick=True, out=Path("runs/two_step"))
    print(result["verdicts"], paths.report)

The folder (``plasticgym experiment NAME`` writes the same):

```
report.md            what was run (description, summary, exact config), the result table,
                     the figures, one line per verdict: - [PASS] name: explanation
config.json          the exact config (dataclass fields)
result.json          experiment, quick, verdicts, lines, table (one object per row), wall_s
records/<t>.parquet  every record table the experiment returned (one row per agent per step)
*.png                the figures
tensorboard/         TensorBoard logs: one run folder per population, <run name>_1
```

The verdicts are those of the experiment's ``analyse``, computed from the records it is given:
:func:`analyse_records` reads a folder's ``records/`` back and recomputes them.

Each verdict is labelled ``finding`` (could fail: it follows from the dynamics, the parameters
and the protocol) or ``mechanism check`` (holds by the equations put in: a unit-level
guarantee). An experiment returns the labels as ``result["verdict_kinds"]`` and prefixes each
line with its kind through :func:`labelled` (``(finding) ...``); ``result.json`` carries them
and ``report.md`` counts how many of each pass.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from plasticgym.checkpoint import atomic_path, write_json
from plasticgym.experiments import load_experiment, summary
from plasticgym.records import load_records, save_records
from plasticgym.tblog import check_run_name
from plasticgym.threads import explicit_threads


def tensorboard_folder(out_dir: str | Path | None) -> str | None:
    """Where an experiment's agents write TensorBoard runs: ``out_dir/tensorboard`` (None,
    no logging, when ``out_dir`` is None)."""
    return None if out_dir is None else str(Path(out_dir) / "tensorboard")


def run_name(*parts: Any) -> str:
    """A TensorBoard run name from an experiment's group labels: ``run_name("addiction",
    "relapse", "one cause")`` is ``addiction_relapse_one_cause`` (each run of characters other
    than letters, digits, ``.`` and ``-`` becomes one ``_``)."""
    words = (re.sub(r"[^A-Za-z0-9.\-]+", "_", str(part)).strip("_") for part in parts)
    return check_run_name("_".join(word for word in words if word))


@dataclasses.dataclass(frozen=True)
class ReportPaths:
    """Where :func:`run_experiment` wrote its outputs."""

    out: Path
    report: Path
    config: Path
    result: Path
    records: dict[str, Path]
    figures: list[Path]


def make_config(
    module: ModuleType, *, quick: bool = False, seeds: int | None = None, **overrides: Any
) -> Any:
    """The experiment's ``Config`` (``Config.quick`` when ``quick``), with ``seeds`` as its
    population size ``n_agents`` and other fields overridden (``None`` values are ignored)."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    names = [field.name for field in dataclasses.fields(module.Config)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"{module.NAME} config has no field(s) {unknown}; fields: {names}")
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
            raise ValueError(
                f"seeds={seeds!r} is invalid: the statistics over agents need an integer >= 2"
            )
        overrides["n_agents"] = seeds
    return module.Config.quick(**overrides) if quick else module.Config(**overrides)


def run_experiment(
    name: str,
    quick: bool = False,
    seeds: int | None = None,
    out: str | Path | None = None,
    progress_bar: bool = True,
    threads: int | None = None,
    **overrides: Any,
) -> tuple[dict[str, Any], ReportPaths]:
    """Run the experiment ``name`` and write its report folder (see the module docstring).

    Args:
        name: a key of :data:`plasticgym.experiments.EXPERIMENTS`.
        quick: run ``Config.quick()`` instead of the full ``Config()``.
        seeds: the population size (agents = independent seeds); default: the config's.
        out: the folder (default ``plasticgym_runs/<name>``, ``plasticgym_runs/<name>-quick``
            when ``quick``, so a quick run never overwrites the full run's folder).
        progress_bar: show the agents' progress bars.
        threads: torch threads while it runs, respected by every agent's ``learn``
            (default ``None``: each ``learn`` chooses, one thread for small populations; see
            :mod:`plasticgym.threads`).
        **overrides: other config fields, e.g. ``seed=3``, ``device="cuda"``.

    Returns:
        The experiment's result (``analyse``'s dict) and the paths written.
    """
    module = load_experiment(name)
    config = make_config(module, quick=quick, seeds=seeds, **overrides)
    default = Path("plasticgym_runs") / (f"{name}-quick" if quick else name)
    out_dir = Path(out) if out is not None else default
    out_dir.mkdir(parents=True, exist_ok=True)
    with explicit_threads(threads):
        started = time.perf_counter()
        records = module.run(config, out_dir, progress_bar=progress_bar)
        wall_s = time.perf_counter() - started
    result = module.analyse(records, config)
    check_result(module, result)
    paths = _write_folder(module, config, records, result, out_dir, quick=quick, wall_s=wall_s)
    return result, paths


def _write_folder(
    module: ModuleType,
    config: Any,
    records: Mapping[str, pd.DataFrame],
    result: Mapping[str, Any],
    out_dir: Path,
    *,
    quick: bool,
    wall_s: float,
) -> ReportPaths:
    """Write the figures, ``records/``, ``config.json``, ``result.json`` and, last,
    ``report.md`` into ``out_dir``; where they are."""
    figures = [Path(p) for p in module.plot(records, result, out_dir)]
    record_paths = {
        table: save_records(frame, out_dir / "records" / f"{table}.parquet")
        for table, frame in records.items()
    }
    config_path = write_json(out_dir / "config.json", config_dict(config))
    result_path = write_json(
        out_dir / "result.json", result_json(module, config, result, quick, wall_s)
    )
    paths = ReportPaths(
        out=out_dir,
        report=out_dir / "report.md",
        config=config_path,
        result=result_path,
        records=record_paths,
        figures=figures,
    )
    text = render_report(module, config, result, paths, quick=quick, wall_s=wall_s)
    with atomic_path(paths.report) as tmp:
        tmp.write_text(text)
    return paths


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures are files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Lay out, write (PNG, 120 dpi; creates the folder) and close a figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    pyplot().close(fig)
    return path


def analyse_records(name: str, out: str | Path) -> dict[str, Any]:
    """Recompute an experiment's result from a report folder's ``records/`` and
    ``config.json`` (the config's JSON lists become tuples again)."""
    module = load_experiment(name)
    out = Path(out)
    fields = json.loads((out / "config.json").read_text())
    config = module.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    tables = sorted((out / "records").glob("*.parquet"))
    records = {path.stem: load_records(path) for path in tables}
    return module.analyse(records, config)


MECHANISM_CHECK = "mechanism check"
"""A verdict that holds by the equations put in (a unit-level guarantee: the code does what
the equations say); it could fail only through a bug."""
FINDING = "finding"
"""A verdict that could fail: it follows from the dynamics, the parameters and the protocol,
not from an equation written in by hand."""
VERDICT_KINDS = (MECHANISM_CHECK, FINDING)


def check_verdict_kinds(kinds: Mapping[str, str], verdicts: Any) -> None:
    """Raise ``ValueError`` unless ``kinds`` labels exactly the ``verdicts`` (names), each
    with one of :data:`VERDICT_KINDS`."""
    names = set(verdicts)
    if set(kinds) != names:
        raise ValueError(
            f"verdict kinds {sorted(kinds)} do not label exactly the verdicts {sorted(names)}"
        )
    bad = {name: kind for name, kind in kinds.items() if kind not in VERDICT_KINDS}
    if bad:
        raise ValueError(f"verdict kinds {bad} are invalid: each one of {list(VERDICT_KINDS)}")


def label(kind: str) -> str:
    """``(finding)`` or ``(mechanism check)``: the prefix of a verdict's line."""
    if kind not in VERDICT_KINDS:
        raise ValueError(f"verdict kind {kind!r} is invalid: one of {list(VERDICT_KINDS)}")
    return f"({kind})"


def labelled(lines: Mapping[str, str], kinds: Mapping[str, str]) -> dict[str, str]:
    """Each verdict's line prefixed with its kind, ``(finding) ...`` or
    ``(mechanism check) ...`` (checked by :func:`check_verdict_kinds`); the experiments
    return the ``kinds`` as ``result["verdict_kinds"]``."""
    check_verdict_kinds(kinds, lines)
    return {name: f"{label(kinds[name])} {line}" for name, line in lines.items()}


def kind_counts(result: Mapping[str, Any]) -> str:
    """``3 of 4 findings and 2 of 2 mechanism checks pass`` for a result with
    ``verdict_kinds`` (empty without them)."""
    kinds = result.get("verdict_kinds")
    if not kinds:
        return ""
    parts = []
    for kind, plural in ((FINDING, "findings"), (MECHANISM_CHECK, "mechanism checks")):
        names = [name for name, k in kinds.items() if k == kind]
        passed = sum(bool(result["verdicts"][name]) for name in names)
        parts.append(f"{passed} of {len(names)} {plural}")
    return " and ".join(parts) + " pass"


def check_result(module: ModuleType, result: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``analyse`` returned boolean verdicts, a line for each and a
    DataFrame ``table`` (the interface of :mod:`plasticgym.experiments`), and, where it labels
    its verdicts (``verdict_kinds``), a kind of :data:`VERDICT_KINDS` for each."""
    for key in ("verdicts", "table", "lines"):
        if key not in result:
            raise ValueError(f"{module.NAME}.analyse returned no {key!r}")
    verdicts, lines = result["verdicts"], result["lines"]
    bad = {k: v for k, v in verdicts.items() if not isinstance(v, bool)}
    if bad:
        raise ValueError(f"{module.NAME}.analyse: verdicts must be bool, got {bad}")
    if set(lines) != set(verdicts):
        raise ValueError(
            f"{module.NAME}.analyse: lines {sorted(lines)} != verdicts {sorted(verdicts)}"
        )
    if not isinstance(result["table"], pd.DataFrame):
        raise ValueError(f"{module.NAME}.analyse: table must be a pandas DataFrame")
    if "verdict_kinds" in result:
        try:
            check_verdict_kinds(result["verdict_kinds"], verdicts)
        except ValueError as error:
            raise ValueError(f"{module.NAME}.analyse: {error}") from None


def config_dict(config: Any) -> dict[str, Any]:
    """The config's fields as JSON-ready values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def result_json(
    module: ModuleType, config: Any, result: Mapping[str, Any], quick: bool, wall_s: float
) -> dict[str, Any]:
    """The JSON written to ``result.json``: verdicts, lines and the table (NaN as null)."""
    return {
        "experiment": module.NAME,
        "description": module.DESCRIPTION,
        "quick": quick,
        "n_agents": config.n_agents,
        "seed": config.seed,
        "passed": all(result["verdicts"].values()),
        "verdicts": dict(result["verdicts"]),
        **({"verdict_kinds": dict(result["verdict_kinds"])} if "verdict_kinds" in result else {}),
        "lines": dict(result["lines"]),
        "table": json.loads(result["table"].to_json(orient="records")),
        "wall_s": wall_s,
    }


def verdict_lines(result: Mapping[str, Any]) -> list[str]:
    """``- [PASS] name: explanation`` for each verdict."""
    return [
        f"- [{'PASS' if ok else 'FAIL'}] {name}: {result['lines'][name]}"
        for name, ok in result["verdicts"].items()
    ]


def markdown_table(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (numbers to 4 significant digits, NaN empty)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.4g}"
        return str(value).replace("|", "\\|")

    columns = [str(c) for c in table.columns]
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for values in table.itertuples(index=False):
        rows.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(rows)


def render_report(
    module: ModuleType,
    config: Any,
    result: Mapping[str, Any],
    paths: ReportPaths,
    *,
    quick: bool,
    wall_s: float,
) -> str:
    """The text of ``report.md``."""
    verdicts = result["verdicts"]
    passed = sum(verdicts.values())
    command = (
        f"plasticgym experiment {module.NAME}{' --quick' if quick else ''} "
        f"--seeds {config.n_agents} --seed {config.seed}"
    )
    figures = "\n\n".join(
        f"![{p.stem}]({p.relative_to(paths.out).as_posix()})" for p in paths.figures
    )
    records = "\n".join(
        f"- `{p.relative_to(paths.out).as_posix()}`" for p in paths.records.values()
    )
    parts = [
        f"# {module.NAME}: {module.DESCRIPTION}",
        f"**{passed} of {len(verdicts)} signatures pass** "
        f"({'quick' if quick else 'full'} version, {config.n_agents} agents, seed {config.seed},"
        f" {wall_s:.1f} s).",
        "## Verdicts",
        *(
            [
                f"{kind_counts(result)}: a `finding` could fail, a `mechanism check` holds by the "
                "equations put in (a unit-level guarantee)."
            ]
            if kind_counts(result)
            else []
        ),
        "\n".join(verdict_lines(result)),
        "## What was run",
        summary(module),
        f"Reproduce with `{command}`. The exact config (`config.json`):",
        "```json\n" + json.dumps(config_dict(config), indent=2) + "\n```",
        "## Results",
        "Means and 95% t confidence intervals over agents (`n` = agents).",
        markdown_table(result["table"]),
        "## Figures",
        figures or "(none)",
        "## Files",
        "- `config.json`, `result.json` (verdicts, lines, table)\n" + records,
    ]
    return "\n\n".join(parts) + "\n"


__all__ = [
    "FINDING",
    "MECHANISM_CHECK",
    "VERDICT_KINDS",
    "ReportPaths",
    "analyse_records",
    "check_result",
    "check_verdict_kinds",
    "kind_counts",
    "label",
    "labelled",
    "make_config",
    "markdown_table",
    "pyplot",
    "render_report",
    "run_experiment",
    "save_figure",
    "verdict_lines",
]
