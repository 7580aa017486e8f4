"""Trial-by-trial records of learning as a tidy table: one row per agent per step."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
    dtype) and reused. In memory, each chunk is appended to one array per column whose capacity
    doubles (:meth:`_store`), and the table's columns are views of those arrays: memory stays
    near the data's own size instead of growing with (and fragmenting the heap by) thousands
    of small arrays, and building the table copies nothing (issue 19). With a ``sink``
    (:class:`RecordStream`), each packed chunk is written to Parquet as one row group instead of
    kept, so memory stays bounded by one block whatever the run's length. The table does not
    depend on ``chunk_rows`` (default :data:`CHUNK_ROWS`): a column whose dtype or shape
    changes starts a new block, and columns take numpy's promoted dtype, as stacking every
    step at once would.
    """

    def __init__(
        self, n_agents: int, chunk_rows: int | None = None, sink: RecordStream | None = None
    ) -> None:
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        self.n_agents = n_agents
        self.block_steps = max(1, chunk_rows // max(n_agents, 1))
        self._names: tuple[str, ...] | None = None
        self._block: dict[str, np.ndarray] = {}
        self._block_masks: np.ndarray | None = None
        self._filled = 0
        self._columns: dict[str, np.ndarray] = {}  # (with capacity: _stored rows are data)
        self._stored = 0
        self._expected = 0  # (rows reserve() announced: the columns' first capacity)
        self._rows = 0
        self.sink = sink

    def append(self, columns: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        if self._names is None:
            self._names = tuple(columns)
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
        chunk = {}
        for name, block in self._block.items():
            filled = block[: self._filled]
            chunk[name] = filled.reshape(-1, *filled.shape[2:])[mask]
        if self.sink is not None:
            self.sink.write(chunk)
        else:
            self._store(chunk)
        for block in self._block.values():
            if block.dtype == object:  # (drop references to the rows' objects)
                block[: self._filled] = None
        self._filled = 0

    def reserve(self, rows: int) -> None:
        """Expect up to ``rows`` more rows (a ``learn`` call's steps x agents): the column arrays
        are then allocated for all of them at once instead of doubling (pages not yet written
        are not resident, and no grown copy leaves freed arrays in the heap)."""
        self._expected = self._rows + rows

    def _store(self, chunk: Mapping[str, np.ndarray]) -> None:
        """Append a chunk's rows to each column's array, which doubles its capacity when full
        (a copy of that column only; the pages of capacity not yet written are not resident)
        and takes numpy's promoted dtype if a chunk's differs (as joining would)."""
        start = self._stored
        end = start + len(next(iter(chunk.values())))
        for name, rows in chunk.items():
            column = self._columns.get(name)
            have = 0 if column is None else len(column)
            dtype = rows.dtype if column is None else np.result_type(column, rows)
            if have < end or dtype != column.dtype or column.shape[1:] != rows.shape[1:]:
                grown = _empty(max(end, 2 * have, 1024), self._expected, rows.shape[1:], dtype)
                if column is not None:
                    grown[:start] = column[:start]
                column = grown
            column[start:end] = rows
            self._columns[name] = column
        self._stored = end

    def flush(self) -> None:
        """Pack what the block holds and free the block (the end of a ``learn`` call); a
        stream's parts are then merged into its one Parquet file."""
        self._pack()
        self._block = {}
        self._block_masks = None
        if self.sink is not None:
            self.sink.merge()

    def sync(self) -> None:
        """Pack the block's steps and close the stream's open part (a checkpoint)."""
        self._pack()
        if self.sink is not None:
            self.sink.roll()

    def __len__(self) -> int:
        return self._rows

    def to_frame(self) -> pd.DataFrame:
        """Rows ordered by step, then agent; core columns first, then info events.

        In memory, the table's columns are views of the buffer's column arrays (no copy:
        ``DataFrame(..., copy=False)`` keeps one block per column), so it costs little beyond
        the rows themselves (issue 19). A stream's table is read back from its files."""
        if self.sink is not None:
            self._pack()
            return self.sink.read()
        if self._names is None:
            return empty_records()
        self._pack()
        data = {name: self._columns[name][: self._stored]
                for name in ordered_columns(self._columns)}  # fmt: skip
        if "phase" in data:
            data["phase"] = pd.Series(data["phase"], copy=False).astype("category").array
        return pd.DataFrame(data, copy=False)


def _empty(rows: int, hoped: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``max(rows, hoped)`` rows, or of ``rows`` if the larger one
    cannot be reserved (e.g. a strict overcommit policy and a long ``learn`` call)."""
    try:
        return np.empty((max(rows, hoped), *shape), dtype)
    except MemoryError:
        return np.empty((rows, *shape), dtype)


def empty_records() -> pd.DataFrame:
    """The record table without rows: the core columns."""
    return pd.DataFrame({name: [] for name in CORE_COLUMNS})


def ordered_columns(names: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """Core columns first (in :data:`CORE_COLUMNS` order), then the others as they come."""
    return [c for c in CORE_COLUMNS if c in names] + [c for c in names if c not in CORE_COLUMNS]


STREAM_KEY = b"plasticgym.records"
"""Parquet key-value metadata of a merged record stream: the parts it already holds (JSON)."""


class RecordStream:
    """Record chunks streamed to one Parquet file during learning (issue 19).

    Each chunk (one :class:`RecordBuffer` block, at most :data:`CHUNK_ROWS` rows) becomes one
    row group of a *part* file in the folder ``<name>.parts`` beside ``path``. A part is closed
    (its footer written and synced) by :meth:`roll`, which ``agent.save`` calls, so every row
    recorded before a checkpoint is in a complete file when the checkpoint is written; a killed
    run loses only the unfinished part. :meth:`merge` (the end of each ``learn``) rewrites
    ``path`` and the parts into ``path``, row group by row group, and removes the parts; the
    merged file names the parts it took in (key :data:`STREAM_KEY`), so a merge cut short
    before the parts were removed never duplicates rows.

    Opening a stream on an existing file continues it from ``keep_before_step``: rows whose
    ``step`` is at or after it (those a killed run wrote after its last checkpoint) are dropped,
    as TensorBoard's ``purge_step`` drops events; ``expected_rows`` (the rows the checkpoint
    counted) must then be the rows kept, else ``ValueError`` (records missing or foreign).
    Memory: one chunk at a time, whatever the run's length.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        keep_before_step: int = 0,
        expected_rows: int | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.suffix != ".parquet":
            raise ValueError(f"record_to={str(path)!r} must be a .parquet file")
        if self.path.is_dir():
            raise ValueError(f"record_to={str(path)!r} is a folder; give a .parquet file name")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows = truncate_records(self.path, keep_before_step)
        if expected_rows is not None and self.rows != expected_rows:
            raise ValueError(
                f"cannot continue the records {self.path}: it holds {self.rows} rows before "
                f"step {keep_before_step}, but the checkpoint recorded {expected_rows}; the "
                "records of that run are missing or incomplete (give record_to a new file to "
                "record only from here)"
            )
        self._writer: Any = None
        self._part: Path | None = None

    def write(self, chunk: Mapping[str, np.ndarray]) -> None:
        """Write one chunk of rows (``{column: array}``) as one row group."""
        import pyarrow.parquet as pq

        table = arrow_table(chunk)
        if self._writer is not None and not table.schema.equals(self._writer.schema):
            self.roll()  # (a column's type changed: a new part; merging promotes the types)
        if self._writer is None:
            folder = parts_folder(self.path)
            folder.mkdir(exist_ok=True)
            self._part = folder / f"part-{next_part_number(self.path):06d}.parquet"
            self._writer = pq.ParquetWriter(self._part, table.schema)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.rows += table.num_rows

    def roll(self) -> None:
        """Close the open part (footer written, synced to disk); the next chunk starts one."""
        if self._writer is None:
            return
        self._writer.close()
        with open(self._part, "rb") as handle:
            os.fsync(handle.fileno())
        self._writer, self._part = None, None

    def merge(self) -> None:
        """Close the open part and merge the parts into the one file at :attr:`path`."""
        self.roll()
        merge_parts(self.path)

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The records streamed so far (this closes the open part first)."""
        self.roll()
        if not record_files(self.path):
            return empty_records()
        return load_records(self.path, columns=columns)


def parts_folder(path: Path) -> Path:
    """The folder of the parts streamed after ``path``'s last merge: ``<name>.parts``."""
    return path.with_name(path.name + ".parts")


def _merged_parts(path: Path) -> set[str]:
    """Names of the parts the file at ``path`` already holds (empty if none or unreadable)."""
    import json

    import pyarrow.parquet as pq

    if not path.is_file():
        return set()
    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (OSError, ValueError):
        return set()
    raw = metadata.get(STREAM_KEY)
    if raw is None:
        return set()
    try:
        names = json.loads(raw)
    except ValueError:
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def record_files(path: Path) -> list[Path]:
    """``path`` (if it exists), then its parts not yet merged into it, in order."""
    path = Path(path)
    files = [path] if path.is_file() else []
    folder = parts_folder(path)
    if folder.is_dir():
        merged = _merged_parts(path)
        files += [p for p in sorted(folder.glob("part-*.parquet")) if p.name not in merged]
    return files


def next_part_number(path: Path) -> int:
    """One more than the largest part number in ``path``'s parts folder or merged list."""
    names = _merged_parts(path)
    folder = parts_folder(path)
    if folder.is_dir():
        names |= {p.name for p in folder.glob("part-*.parquet")}
    numbers = [int(n[5:11]) for n in names if n[5:11].isdigit()]
    return max(numbers, default=0) + 1


def arrow_table(chunk: Mapping[str, np.ndarray]) -> Any:
    """A chunk of record columns as a pyarrow Table (object columns: strings or lists)."""
    import pyarrow as pa

    columns = {}
    for name, values in chunk.items():
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise ValueError(
                f"record column {name!r} cannot be written to Parquet ({error}); record only "
                "numbers, strings, or lists of numbers"
            ) from None
    return pa.table(columns)


def _row_group_steps(file: Any, index: int, step_column: int) -> tuple[int, int]:
    """Smallest and largest ``step`` of a row group (its statistics, else its values)."""
    stats = file.metadata.row_group(index).column(step_column).statistics
    if stats is not None and stats.has_min_max:
        return int(stats.min), int(stats.max)
    steps = file.read_row_group(index, columns=["step"]).column(0).to_numpy()
    return (int(steps.min()), int(steps.max())) if len(steps) else (0, -1)


def truncate_records(path: Path, before_step: int) -> int:
    """Keep only the rows of the record stream at ``path`` whose ``step < before_step``:
    drop whole files and row groups at or after it, rewrite one that straddles it, delete a
    part left unfinished by a killed run (no footer) and parts already merged. Returns the
    rows kept."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = parts_folder(path)
    merged = _merged_parts(path)
    for name in merged:
        (folder / name).unlink(missing_ok=True)
    kept = 0
    for file_path in record_files(path):
        try:
            file = pq.ParquetFile(file_path)
        except (OSError, ValueError) as error:
            if file_path == path:
                raise ValueError(
                    f"the records file {path} is not readable Parquet: {error}"
                ) from None
            file_path.unlink()  # (the part a killed run was writing)
            continue
        if "step" not in file.schema_arrow.names:
            raise ValueError(f"the records file {file_path} has no 'step' column")
        column = file.schema_arrow.get_field_index("step")
        groups = [_row_group_steps(file, i, column) for i in range(file.num_row_groups)]
        if all(high < before_step for _, high in groups):
            kept += file.metadata.num_rows
            continue
        if all(low >= before_step for low, _ in groups):
            file.close()
            file_path.unlink()
            continue
        with atomic_path(file_path) as tmp, pq.ParquetWriter(tmp, file.schema_arrow) as writer:
            for i, (low, high) in enumerate(groups):
                if low >= before_step:
                    continue
                table = file.read_row_group(i)
                if high >= before_step:
                    table = table.filter(pc.less(table.column("step"), before_step))
                writer.write_table(table, row_group_size=max(1, table.num_rows))
                kept += table.num_rows
        file.close()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return kept


def merge_parts(path: Path) -> None:
    """Rewrite ``path`` and its parts into ``path`` (atomically, one row group at a time,
    column types promoted across parts), then remove the parts."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    files = record_files(path)
    parts = [f for f in files if f != path]
    if not parts:
        return
    sources = [pq.ParquetFile(f) for f in files]
    schema = pa.unify_schemas([s.schema_arrow for s in sources], promote_options="permissive")
    merged = sorted(_merged_parts(path) | {p.name for p in parts})
    schema = schema.with_metadata({STREAM_KEY: json.dumps(merged).encode()})
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for source in sources:
            for i in range(source.num_row_groups):
                table = source.read_row_group(i)
                table = table.cast(schema) if not table.schema.equals(schema) else table
                writer.write_table(table, row_group_size=max(1, table.num_rows))
    for source in sources:
        source.close()
    shutil.rmtree(parts_folder(path), ignore_errors=True)


def _stream_frame(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    """Read a record stream (``path`` and its parts; an unfinished part is skipped) as the
    table ``agent.records`` builds in memory: lists stay lists, ``phase`` a category."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for file_path in record_files(path):
        try:
            tables.append(pq.read_table(file_path, columns=columns))
        except (OSError, ValueError):
            if file_path == path:
                raise
    if not tables:
        raise FileNotFoundError(f"records file not found: {path}")
    table = pa.concat_tables(tables, promote_options="permissive")
    del tables
    names = table.column_names
    lists = {f.name: table.column(f.name).to_pylist() for f in table.schema
             if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)}  # fmt: skip
    table = table.drop_columns(list(lists))
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for name, values in lists.items():
        frame[name] = pd.Series(values, index=frame.index, dtype=object)
    if "phase" in frame:
        frame["phase"] = frame["phase"].astype("category")
    return frame[names] if lists else frame


def save_records(records: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a record table as Parquet (``.parquet``) or CSV (``.csv``), atomically (parts a
    stream left beside a Parquet ``path`` are removed: the table replaces them)."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise ValueError(f"records path {path} must end in .parquet or .csv")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            records.to_parquet(tmp, index=False)
        else:
            records.to_csv(tmp, index=False)
    if path.suffix == ".parquet":
        shutil.rmtree(parts_folder(path), ignore_errors=True)
    return path


def load_records(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a record table written by :func:`save_records` or streamed by ``learn(record_to=)``
    (with the parts not yet merged: a run in progress, or killed); ``columns`` reads only those.
    """
    path = Path(path)
    columns = list(columns) if columns is not None else None
    if path.suffix == ".parquet":
        if parts_folder(path).is_dir() or _is_stream(path):
            return _stream_frame(path, columns)
        if not path.is_file():
            raise FileNotFoundError(f"records file not found: {path}")
        return pd.read_parquet(path, columns=columns)
    if not path.is_file():
        raise FileNotFoundError(f"records file not found: {path}")
    if path.suffix == ".csv":
        return pd.read_csv(path, usecols=columns)
    raise ValueError(f"records path {path} must end in .parquet or .csv")


def _is_stream(path: Path) -> bool:
    """Whether the Parquet file at ``path`` was merged from a record stream."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return False
    try:
        return STREAM_KEY in (pq.read_metadata(path).metadata or {})
    except (OSError, ValueError):
        return False
