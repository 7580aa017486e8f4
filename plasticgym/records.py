"""Trial-by-trial records of learning as a tidy table: one row per agent per step."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from plasticgym.checkpoint import atomic_path

CORE_COLUMNS = (
    "agent", "step", "episode", "trial", "phase", "t_in_trial",
    "action", "reward", "rpe", "dopamine", "value",
)  # fmt: skip
"""Columns every record table has, in this order; the task's info events follow."""


class RecordBuffer:
    """Collects per-step batched arrays and builds the tidy table once, at the end.

    Each :meth:`append` takes one step of a population: arrays of shape ``[B]`` (info arrays of
    the vector env included) and a mask of the agents for which the step is a real transition.
    """

    def __init__(self, n_agents: int) -> None:
        self.n_agents = n_agents
        self._columns: dict[str, list[np.ndarray]] = {}
        self._masks: list[np.ndarray] = []

    def append(self, columns: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        if self._masks and set(columns) != set(self._columns):
            raise ValueError(
                f"record columns changed between steps: {sorted(columns)} vs "
                f"{sorted(self._columns)}"
            )
        for name, values in columns.items():
            self._columns.setdefault(name, []).append(np.asarray(values))
        self._masks.append(np.asarray(mask, dtype=bool))

    def __len__(self) -> int:
        return int(sum(m.sum() for m in self._masks))

    def to_frame(self) -> pd.DataFrame:
        """Rows ordered by step, then agent; core columns first, then info events."""
        if not self._masks:
            return pd.DataFrame({name: [] for name in CORE_COLUMNS})
        mask = np.stack(self._masks).reshape(-1)
        data = {}
        for name, chunks in self._columns.items():
            stacked = np.stack(chunks)
            data[name] = stacked.reshape(-1, *stacked.shape[2:])[mask]
        frame = pd.DataFrame(data)
        if "phase" in frame:
            frame["phase"] = frame["phase"].astype("category")
        ordered = [c for c in CORE_COLUMNS if c in frame] + [
            c for c in frame if c not in CORE_COLUMNS
        ]
        return frame[ordered].reset_index(drop=True)


def save_records(records: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a record table as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise ValueError(f"records path {path} must end in .parquet or .csv")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            records.to_parquet(tmp, index=False)
        else:
            records.to_csv(tmp, index=False)
    return path


def load_records(path: str | os.PathLike) -> pd.DataFrame:
    """Read a record table written by :func:`save_records`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"records file not found: {path}")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"records path {path} must end in .parquet or .csv")
