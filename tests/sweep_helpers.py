"""Trial functions for tests/test_sweep.py, imported by path as ``sweep_helpers:<name>``.

pytest puts ``tests/`` on ``sys.path`` (there is no ``__init__.py``), spawned workers inherit
it and the Ray backend passes it on, so every backend can import this module.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any


def counting_trial(spec: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """A trial that leaves a marker file in ``hyperparameters["markers"]`` when it starts and
    when it finishes, so a test can count executions.

    Hyperparameters: ``x`` (the grid value); ``crash_once_at``: the first trial with that ``x``
    to run kills its process (``os._exit``) after writing a partial output, as a killed sweep
    would; ``fail_at``: trials with that ``x`` always raise.
    """
    hp = spec["hyperparameters"]
    markers = Path(hp["markers"])
    key = f"x{hp['x']}-s{spec['seed']}"
    (markers / f"start-{key}-{uuid.uuid4().hex}").touch()
    (out_dir / "partial.txt").write_text("written before the end of the trial")
    if hp.get("crash_once_at") == hp["x"] and not (markers / "crashed").exists():
        (markers / "crashed").touch()
        os._exit(3)
    if hp.get("fail_at") == hp["x"]:
        raise RuntimeError(f"x={hp['x']} always fails")
    (markers / f"done-{key}-{uuid.uuid4().hex}").touch()
    return {"value": hp["x"] * 10 + spec["seed"]}


def failing_seed_trial(spec: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The real trial (:func:`plasticgym.experiments.trial.run_trial`), except that seed 99
    always raises."""
    from plasticgym.experiments.trial import run_trial

    if spec["seed"] == 99:
        raise RuntimeError("seed 99 always fails")
    return run_trial(spec, out_dir)


def count(markers: Path, kind: str) -> dict[str, int]:
    """Number of ``kind`` ("start" or "done") markers per trial key (``x<x>-s<seed>``)."""
    counts: dict[str, int] = {}
    for path in markers.glob(f"{kind}-*"):
        key = path.name.split("-")[1] + "-" + path.name.split("-")[2]
        counts[key] = counts.get(key, 0) + 1
    return counts


def sleepy_trial(spec: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Writes its process id to ``markers/pid-<x>`` and sleeps ``hyperparameters["sleep"]``
    seconds: a trial that is still running when its driver is killed."""
    import time

    hp = spec["hyperparameters"]
    (Path(hp["markers"]) / f"pid-{hp['x']}").write_text(str(os.getpid()))
    time.sleep(hp["sleep"])
    return {"value": hp["x"]}
