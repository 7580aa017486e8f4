"""The records of a population agent: one row per agent per step, as a pandas table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import Tensor

from plasticgym.records import CORE_COLUMNS

if TYPE_CHECKING:  # (base imports this module)
    from plasticgym.agents.base import StepResult


class Recording:
    """``records`` and the columns of each step's rows, for a
    :class:`~plasticgym.agents.base.PopulationAgent` (a mixin: it reads the agent's record
    buffers and per-agent hyperparameters)."""

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
        """
        if self._records_cache is None:
            frames = [b.to_frame() for b in self._record_buffers if len(b)]
            frame = record_table(frames)
            self._records_cache = self._with_individual_parameters(frame) if frames else frame
        return self._records_cache

    def _with_individual_parameters(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add a column per hyperparameter given per agent (individual differences), named
        after it (``hp_<name>`` if the task already has a column of that name)."""
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
