"""TensorBoard logging with fixed tag names, so curves from every agent and run line up."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

EPISODIC_RETURN = "charts/episodic_return"
RPE = "plasticity/rpe"
MEAN_ABS_RPE = "plasticity/mean_abs_rpe"
MEAN_ABS_DW = "plasticity/mean_abs_dw"
MEAN_RATE = "homeostasis/mean_rate"


def next_run_dir(root: str | os.PathLike, prefix: str) -> Path:
    """Create and return ``root/prefix_N`` with the first N not yet taken (as Stable-Baselines3
    names runs); creating it at once reserves the name for this run."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = root / f"{prefix}_{n}"
        try:
            candidate.mkdir()
        except FileExistsError:
            n += 1
            continue
        return candidate


def check_run_name(name: Any) -> str:
    """``name`` if it can name a run folder (letters, digits, ``_ - .``; not starting with a
    dot), else ``ValueError`` naming what is allowed."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}", name):
        raise ValueError(
            f"tb_log_name={name!r} is invalid: need a folder name of 1-100 letters, digits, "
            "'_', '-' or '.' (not starting with '.')"
        )
    return name


RUN_MARKER = ".plasticgym_run"
"""File in a run folder holding the run's random id; a checkpoint that names the folder must
carry the same id to continue writing there (see :func:`run_marker_matches`)."""


def write_run_marker(run_dir: Path) -> str:
    """Give the new run folder ``run_dir`` a random id (128 bits, in :data:`RUN_MARKER`) and
    return it; the agent keeps it in its checkpoints."""
    run_id = secrets.token_hex(16)
    (Path(run_dir) / RUN_MARKER).write_text(run_id + "\n")
    return run_id


def run_marker_matches(run_dir: Path, run_id: str) -> bool:
    """True if ``run_dir`` was created with the id ``run_id`` (its marker file holds it)."""
    try:
        return secrets.compare_digest((Path(run_dir) / RUN_MARKER).read_text().strip(), run_id)
    except (OSError, UnicodeDecodeError, TypeError):
        return False


def is_run_dir(path: Path) -> bool:
    """True if ``path`` is an existing folder that already holds TensorBoard event files."""
    return path.is_dir() and any(path.glob("events.out.tfevents.*"))


class TensorBoardLogger:
    """Accumulates per-step scalars on the agent's device and writes their means at every
    multiple of ``log_interval`` (one step grid for the whole run, across ``learn`` calls and
    resumes); the writer is created lazily in ``run_dir``.

    A logger continuing a loaded checkpoint gets ``purge_step`` = the checkpoint's step + 1:
    its writer tells TensorBoard to discard the events the earlier writer left at later steps
    (those of a run killed after its last checkpoint), while the events up to the checkpoint,
    which hold the data that checkpoint was saved from, stay. ``pending_state`` /
    ``restore_pending`` carry the unfinished interval's sums through the checkpoint, so the
    resumed curve equals an uninterrupted one.
    """

    def __init__(
        self, run_dir: str | os.PathLike, log_interval: int, *, purge_step: int | None = None
    ) -> None:
        self.run_dir = Path(run_dir)
        self.log_interval = log_interval
        self.purge_step = purge_step
        self._writer = None
        self._sums: dict[str, Tensor] = {}
        self._count = 0
        self._histogram_steps: dict[str, int] = {}
        if purge_step is not None:  # histograms up to the checkpoint are the earlier writer's
            self._histogram_floor = purge_step - 1
        else:
            self._histogram_floor = -1

    @property
    def writer(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=self.purge_step)
        return self._writer

    def accumulate(self, step: int, **scalars: Tensor) -> None:
        """Add this step's scalars (0-d tensors); write the means when ``step`` is a multiple
        of ``log_interval``."""
        for name, value in scalars.items():
            self._sums[name] = self._sums.get(name, 0) + value.detach()
        self._count += 1
        if step % self.log_interval == 0:
            self.write_means(step)

    def write_means(self, step: int) -> None:
        if not self._count:
            return
        for name, total in self._sums.items():
            self.writer.add_scalar(name, float(total) / self._count, step)
        self._sums.clear()
        self._count = 0

    def pending_state(self) -> dict[str, Any]:
        """The unfinished interval (step count and sums) as JSON, for a checkpoint."""
        return {"count": self._count, "sums": {k: float(v) for k, v in self._sums.items()}}

    def restore_pending(self, state: Any, device: torch.device) -> None:
        """Continue the interval saved by :meth:`pending_state`; ``ValueError`` if malformed."""
        if state is None:
            return
        sums = state.get("sums") if isinstance(state, dict) else None
        count = state.get("count") if isinstance(state, dict) else None
        valid_sums = isinstance(sums, dict) and all(
            isinstance(k, str) and isinstance(v, float) for k, v in sums.items()
        )
        if not (isinstance(count, int) and 0 <= count < self.log_interval and valid_sums):
            raise ValueError(
                f"tensorboard_pending={state!r} must be {{'count': 0..log_interval-1, "
                "'sums': {tag: float}}"
            )
        self._count = count
        self._sums = {k: torch.tensor(v, dtype=torch.float32, device=device)
                      for k, v in sums.items()}  # fmt: skip

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, value, step)

    def histogram(self, tag: str, values: Tensor, step: int) -> None:
        """Write a histogram, once per tag and step: a step this run (or the run it resumes)
        already drew is skipped, so saving twice at one step does not stack two."""
        if step <= max(self._histogram_steps.get(tag, -1), self._histogram_floor):
            return
        self._histogram_steps[tag] = step
        self.writer.add_histogram(tag, values.detach().to("cpu", torch.float32), step)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
