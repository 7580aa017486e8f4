"""The records of a population agent: one row per agent per step, as a pandas table."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import Tensor

from plasticgym.records import CORE_COLUMNS, RecordBuffer, RecordStream, empty_records

if TYPE_CHECKING:  # (base imports this module)
    from plasticgym.agents.base import StepResult


class Recording:
    """``records`` and the columns of each step's rows, for a
    :class:`~plasticgym.agents.base.PopulationAgent` (a mixin: it reads the agent's record
    buffers and per-agent hyperparameters).

    An agent records in one place: in memory (``learn(record=True)``, one
    :class:`~plasticgym.records.RecordBuffer` for all its ``learn`` calls) or streamed to one
    Parquet file (``learn(record_to=path)``, a buffer with a
    :class:`~plasticgym.records.RecordStream`)."""

    def _init_records(self) -> None:
        self._record_buffer: RecordBuffer | None = None
        self._records_cache: pd.DataFrame | None = None
        self._saved_records: dict[str, Any] | None = None  # (a loaded checkpoint's stream)
        self._individual_columns: dict[str, np.ndarray] = {}

    def _recording_buffer(
        self, record: bool, record_to: str | os.PathLike | None, steps: int = 0
    ) -> RecordBuffer | None:
        """The buffer a ``learn`` call of ``steps`` steps appends to (None: no records), made or
        continued."""
        if record_to is None and not record:
            return None
        current = self._record_buffer
        if record_to is not None:
            path = Path(record_to)
            if current is not None and current.sink is None and len(current):
                raise ValueError(
                    f"record_to={str(record_to)!r}: this agent already holds {len(current)} "
                    "records in memory (learn(record=True)); an agent records in one place, so "
                    "keep recording in memory and save_records(agent.records, path), or stream "
                    "from a new agent"
                )
            if current is not None and current.sink is not None:
                if current.sink.path.resolve() != path.resolve():
                    raise ValueError(
                        f"record_to={str(record_to)!r}: this agent streams its records to "
                        f"{current.sink.path}; an agent records in one place"
                    )
            else:
                saved = self._saved_records
                same = saved is not None and Path(saved["path"]) == path.resolve()
                stream = RecordStream(
                    path,
                    keep_before_step=self.num_timesteps,
                    expected_rows=saved["rows"] if same else None,
                )
                current = self._record_buffer = RecordBuffer(self.n_agents, sink=stream)
        elif current is not None and current.sink is not None:
            raise ValueError(
                f"this agent streams its records to {current.sink.path}; pass "
                "record_to= that file (an agent records in one place)"
            )
        elif current is None:
            current = self._record_buffer = RecordBuffer(self.n_agents)
        if current.sink is None:
            current.reserve(steps * self.n_agents)
        self._records_cache = None
        self._individual_columns = {
            name: value.cpu().numpy().astype(float)
            for name, value in self._hyper.items()
            if isinstance(value, Tensor)
        }
        return current

    def _records_checkpoint(self) -> dict[str, Any] | None:
        """For ``save``: close the stream's open part (so every row before this step is in a
        complete file) and say where the rows are and how many; None without a stream."""
        buffer = self._record_buffer
        if buffer is None or buffer.sink is None:
            return None
        buffer.sync()
        return {"path": str(buffer.sink.path.resolve()), "rows": buffer.sink.rows}

    def _record_columns(
        self,
        actions: Tensor,
        reward: Tensor,
        result: StepResult,
        episode: Tensor,
        info: Mapping[str, Any],
    ) -> dict[str, np.ndarray]:
        B = self.n_agents
        action_column = actions.cpu().numpy()
        if action_column.ndim > 1:  # Box actions: one list per row
            rows = action_column
            action_column = np.empty(B, dtype=object)
            for i in range(B):
                action_column[i] = rows[i].tolist()
        columns = {
            "agent": np.arange(B),
            "step": np.full(B, self.num_timesteps),
            "episode": episode.cpu().numpy(),
            "trial": np.full(B, -1),
            "phase": np.full(B, "", dtype=object),
            "t_in_trial": np.full(B, 0),
            "action": action_column,
            "reward": reward.cpu().numpy(),
            "rpe": result.rpe.cpu().numpy(),
            "dopamine": result.dopamine.cpu().numpy(),
            "value": result.value.cpu().numpy(),
        }
        columns.update((key, array) for key, array in task_events(info) if array.shape == (B,))
        for name, values in self._individual_columns.items():  # (see records)
            columns[name if name not in columns else f"hp_{name}"] = values
        return columns

    @property
    def records(self) -> pd.DataFrame:
        """Rows recorded by every ``learn(record=True)`` of this agent object, in step order.

        One row per agent per step that was a transition (the vector env's autoreset step is
        none): ``agent, step, episode, trial, phase, t_in_trial, action, reward, rpe, dopamine,
        value`` and the task's info events. Row t's ``action`` and ``reward`` are the action
        sent at step t and the reward it brought; ``rpe`` is the TD error of that transition;
        ``dopamine`` is what reached the synapses; ``value`` is ``V`` of the observation it led
        to (see docs/agents.md for the exact timing). Hyperparameters given per agent
        (individual differences) follow as one column each.

        Streamed records (``learn(record_to=path)``) are read back from the file.
        """
        if self._records_cache is None:
            buffer = self._record_buffer
            if buffer is None or (buffer.sink is None and not len(buffer)):
                self._records_cache = empty_records()
            else:
                self._records_cache = buffer.to_frame()
        return self._records_cache

    def _with_individual_parameters(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add a column per hyperparameter given per agent (individual differences), named
        after it (``hp_<name>`` if the task already has a column of that name): the columns
        that recording adds at every step."""
        agents = frame["agent"].to_numpy()
        for name, value in self._hyper.items():
            if isinstance(value, Tensor):
                column = name if name not in frame else f"hp_{name}"
                frame[column] = value.cpu().numpy().astype(float)[agents]
        return frame


def task_events(info: Mapping[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    """The entries of an env's ``info`` that records keep as columns, as arrays (skipped: the
    ``_key`` masks of vector envs, final observations and infos, Monitor's ``episode``)."""
    for key, value in info.items():
        if not key.startswith("_") and key not in ("final_obs", "final_info", "episode"):
            yield key, np.asarray(value)


def record_table(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One record table from its parts in order: core columns first, then the task's; ``phase``
    a category. No parts: the empty table of core columns."""
    if not frames:
        return pd.DataFrame({name: [] for name in CORE_COLUMNS})
    frame = pd.concat(frames, ignore_index=True)
    task_columns = [c for c in frame if c not in CORE_COLUMNS]
    frame = frame[[*(c for c in CORE_COLUMNS if c in frame), *task_columns]].reset_index(drop=True)
    if "phase" in frame:
        frame["phase"] = frame["phase"].astype("category")
    return frame
