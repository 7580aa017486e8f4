"""Each experiment's quick version through the CLI, run once per test session and shared by
the test modules that inspect it (``test_experiments.py``, ``test_addiction_experiment.py``)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from plasticgym.cli import main

_runs: dict[str, tuple[Path, int, str]] = {}


def quick_run(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """Run ``plasticgym experiment NAME --quick`` once per test session (cached): its output
    folder, exit code and printed text."""
    if name not in _runs:
        out = tmp_path_factory.mktemp(name)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["experiment", name, "--quick", "--out", str(out), "--no-progress"])
        _runs[name] = (out, code, buffer.getvalue())
    return _runs[name]
