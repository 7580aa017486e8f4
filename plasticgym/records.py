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


CHUNK_ROWS = 65_536
"""Rows (agents x steps) a :class:`RecordBuffer` collects in its block before packing them."""


class RecordBuffer:
    """Collects per-step batched arrays in compact columnar chunks; builds the tidy table on demand.

    Each :meth:`append` takes one step of a population: arrays of shape ``[B]`` (info arrays of
    the vector env included) and a mask of the agents for which the step is a real transition.
    Steps are copied into a preallocated block of ``max(1, chunk_rows // n_agents)`` steps per
    column; a full block is packed into one chunk per column (the masked rows, in the column's
    dtype) and reused. Memory thus stays near the data's own size instead of growing with (and
    fragmenting the heap by) thousands of small per-step arrays (issue 19). The table does not
    depend on ``chunk_rows`` (default :data:`CHUNK_ROWS`): a column whose dtype or shape
    changes starts a new block, and chunks are joined with numpy's type promotion, as stacking
    every step at once would.
    """

    def __init__(self, n_agents: int, chunk_rows: int | None = None) -> None:
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        self.n_agents = n_agents
        self.block_steps = max(1, chunk_rows // max(n_agents, 1))
        self._names: tuple[str, ...] | None = None
        self._block: dict[str, np.ndarray] = {}
        self._block_masks: np.ndarray | None = None
        self._filled = 0
        self._chunks: dict[str, list[np.ndarray]] = {}
        self._rows = 0

    def append(self, columns: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        if self._names is None:
            self._names = tuple(columns)
            self._chunks = {name: [] for name in self._names}
        elif set(columns) != set(self._names):
            raise ValueError(
                f"record columns changed between steps: {sorted(columns)} vs {sorted(self._names)}"
            )
        arrays = {name: np.asarray(values) for name, values in columns.items()}
        mask = np.asarray(mask, dtype=bool)
        if self._filled and self._block_masks is not None and not self._fits(arrays, mask):
            self._pack()
        if self._filled == 0:
            self._allocate(arrays, mask)
        elif self._filled == len(self._block_masks):
            self._grow()
        for name, values in arrays.items():
            self._block[name][self._filled] = values
        self._block_masks[self._filled] = mask
        self._filled += 1
        self._rows += int(mask.sum())
        if self._filled == self.block_steps:
            self._pack()

    def _fits(self, arrays: Mapping[str, np.ndarray], mask: np.ndarray) -> bool:
        """Whether one step's arrays have the dtypes and shapes of the current block."""
        if self._block_masks is None or self._block_masks.shape[1:] != mask.shape:
            return False
        for name, values in arrays.items():
            block = self._block.get(name)
            if block is None or block.dtype != values.dtype or block.shape[1:] != values.shape:
                return False
        return True

    def _allocate(self, arrays: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        """(Re)allocate the block's columns that do not fit this step (the others are reused).
        A new block starts small and doubles up to ``block_steps`` (:meth:`_grow`)."""
        steps = min(self.block_steps, 16)
        if self._block_masks is None or self._block_masks.shape[1:] != mask.shape:
            self._block_masks = np.empty((steps, *mask.shape), dtype=bool)
        steps = len(self._block_masks)
        for name, values in arrays.items():
            block = self._block.get(name)
            if (
                block is None
                or len(block) != steps
                or block.dtype != values.dtype
                or block.shape[1:] != values.shape
            ):
                self._block[name] = np.empty((steps, *values.shape), values.dtype)

    def _grow(self) -> None:
        """Double the block's steps (at most ``block_steps``), keeping what it holds."""
        assert self._block_masks is not None
        steps = min(2 * len(self._block_masks), self.block_steps)
        for name, block in [*self._block.items(), ("", self._block_masks)]:
            grown = np.empty((steps, *block.shape[1:]), block.dtype)
            grown[: len(block)] = block
            if name:
                self._block[name] = grown
            else:
                self._block_masks = grown

    def _pack(self) -> None:
        """Pack the block's filled steps into one chunk per column (their masked rows)."""
        if not self._filled:
            return
        assert self._block_masks is not None
        mask = self._block_masks[: self._filled].reshape(-1)
        for name, block in self._block.items():
            filled = block[: self._filled]
            self._chunks[name].append(filled.reshape(-1, *filled.shape[2:])[mask])
        for block in self._block.values():
            if block.dtype == object:  # (drop references to the rows' objects)
                block[: self._filled] = None
        self._filled = 0

    def flush(self) -> None:
        """Pack what the block holds and free the block (the end of a ``learn`` call)."""
        self._pack()
        self._block = {}
        self._block_masks = None

    def __len__(self) -> int:
        return self._rows

    def to_frame(self) -> pd.DataFrame:
        """Rows ordered by step, then agent; core columns first, then info events."""
        if self._names is None:
            return pd.DataFrame({name: [] for name in CORE_COLUMNS})
        self._pack()
        data = {}
        for name, chunks in self._chunks.items():
            if len(chunks) > 1:  # (one chunk per column from now on: no second copy kept)
                chunks[:] = [np.concatenate(chunks)]
            data[name] = chunks[0]
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
