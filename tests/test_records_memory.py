"""RecordBuffer packs steps into columnar chunks (issue 19); the records must not depend on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import plasticgym.records as records_module
from plasticgym.agents import PlasticAgent
from plasticgym.agents.recording import record_table
from plasticgym.records import CORE_COLUMNS, RecordBuffer

_APPEND = RecordBuffer.append
TASKS = ["plasticgym/Pavlovian-v0", "plasticgym/Addiction-v0", "plasticgym/Reaching-v0",
         "plasticgym/TwoStep-v0"]  # fmt: skip


def stacked_frame(steps: list[tuple[dict[str, np.ndarray], np.ndarray]]) -> pd.DataFrame:
    """The table as the buffer built it before chunks: every step stacked at once, then masked."""
    mask = np.stack([m for _, m in steps]).reshape(-1)
    data = {}
    for name in steps[0][0]:
        stacked = np.stack([np.asarray(c[name]) for c, _ in steps])
        data[name] = stacked.reshape(-1, *stacked.shape[2:])[mask]
    frame = pd.DataFrame(data)
    frame["phase"] = frame["phase"].astype("category")
    ordered = [c for c in CORE_COLUMNS if c in frame] + [c for c in frame if c not in CORE_COLUMNS]
    return frame[ordered].reset_index(drop=True)


def run(task: str, chunk_rows: int, monkeypatch, *, calls=(150, 150), peek=False):
    """Records of 4 agents over ``sum(calls)`` steps, the steps the buffer saw, and the agent."""
    monkeypatch.setattr(records_module, "CHUNK_ROWS", chunk_rows)
    seen: list[tuple[dict[str, np.ndarray], np.ndarray]] = []

    def spy(self, columns, mask):
        seen.append(({k: np.array(v) for k, v in columns.items()}, np.array(mask)))
        _APPEND(self, columns, mask)

    monkeypatch.setattr(RecordBuffer, "append", spy)

    def read_part_way(agent: PlasticAgent) -> None:  # (as experiments/trial.py's checkpoints do)
        if agent.num_timesteps % 40 == 0:
            agent._records_cache = None
            assert len(agent.records) > 0
            agent._records_cache = None

    agent = PlasticAgent(task, n_agents=4, seed=3)
    for steps in calls:
        agent.learn(steps, record=True, callback=read_part_way if peek else None)
    return agent.records, seen, agent


@pytest.mark.parametrize("task", TASKS)
def test_records_are_identical_whatever_the_chunk_size_and_equal_the_stacked_table(
    task, monkeypatch
):
    one, seen, agent = run(task, 1, monkeypatch)
    thirteen, _, _ = run(task, 13, monkeypatch, peek=True)  # (blocks of 13 // 4 = 3 steps)
    huge, _, _ = run(task, 10**9, monkeypatch)
    for other in (thirteen, huge):
        pd.testing.assert_frame_equal(one, other, check_exact=True)
    # the old behaviour: each learn call's steps stacked at once, tables joined, parameters added
    half = len(seen) // 2
    old = record_table([stacked_frame(seen[:half]), stacked_frame(seen[half:])])
    old = agent._with_individual_parameters(old)
    pd.testing.assert_frame_equal(one, old, check_exact=True)
    assert len(one) > 0 and one["step"].is_monotonic_increasing


def test_box_actions_stay_lists_of_floats(monkeypatch):
    frame, _, _ = run("plasticgym/Reaching-v0", 13, monkeypatch, calls=(20,))
    assert frame["action"].dtype == object
    assert isinstance(frame["action"].iloc[0], list)


def test_a_column_whose_dtype_changes_is_promoted_as_stacking_would():
    steps = [({"agent": np.arange(2), "phase": np.array(["a", "b"], dtype=object),
               "x": np.array([1, 2]) if t < 3 else np.array([0.5, 1.5])},
              np.array([True, t % 2 == 0])) for t in range(6)]  # fmt: skip
    for chunk_rows in (1, 4, 100):
        buffer = RecordBuffer(2, chunk_rows=chunk_rows)
        for columns, mask in steps:
            buffer.append(columns, mask)
        assert len(buffer) == 9
        pd.testing.assert_frame_equal(buffer.to_frame(), stacked_frame(steps), check_exact=True)


def test_bad_chunk_rows_and_changing_columns_are_refused():
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer"):
        RecordBuffer(4, chunk_rows=0)
    buffer = RecordBuffer(1)
    buffer.append({"agent": np.zeros(1)}, np.ones(1, dtype=bool))
    with pytest.raises(ValueError, match="record columns changed"):
        buffer.append({"step": np.zeros(1)}, np.ones(1, dtype=bool))
