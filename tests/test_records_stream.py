"""``learn(record_to=path)`` streams records to Parquet (issue 19): the same table as recording
in memory, memory bounded by one chunk, and a killed run resumed from its checkpoint leaves the
same file as an uninterrupted one (rows after the checkpoint dropped, none missing)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

import plasticgym.records as records_module
from plasticgym.agents import PlasticAgent
from plasticgym.agents.base import PopulationAgent
from plasticgym.checkpoint import load_checkpoint
from plasticgym.cli import main
from plasticgym.records import load_records, parts_folder, record_files

TASKS = ["plasticgym/Pavlovian-v0", "plasticgym/Addiction-v0", "plasticgym/Reaching-v0",
         "plasticgym/TwoStep-v0"]  # fmt: skip


def _learn(task, monkeypatch, calls, *, chunk_rows=13, peek=False, **record):
    """4 agents (per-agent critic learning rates) learning ``calls`` steps per learn call."""
    monkeypatch.setattr(records_module, "CHUNK_ROWS", chunk_rows)
    agent = PlasticAgent(task, n_agents=4, seed=3, critic_lr=[0.05, 0.1, 0.15, 0.2])

    def read_part_way(trained):
        if trained.num_timesteps % 40 == 0:
            assert len(trained.records) > 0

    for steps in calls:
        agent.learn(steps, callback=read_part_way if peek else None, **record)
    return agent


@pytest.mark.parametrize("task", TASKS)
def test_streamed_records_equal_the_in_memory_ones(task, monkeypatch, tmp_path):
    path = tmp_path / "records.parquet"
    memory = _learn(task, monkeypatch, (120, 90), record=True).records
    streamed = _learn(task, monkeypatch, (120, 90), peek=True, record_to=path)
    assert "critic_lr" in memory and len(memory) > 0
    pd.testing.assert_frame_equal(streamed.records, memory, check_exact=True)
    pd.testing.assert_frame_equal(load_records(path), memory, check_exact=True)
    assert record_files(path) == [path] and not parts_folder(path).exists()  # (merged)
    assert pq.ParquetFile(path).num_row_groups > 10  # (one per chunk of 13 // 4 = 3 steps)


def test_a_stream_keeps_no_chunks_in_memory(monkeypatch, tmp_path):
    agent = _learn("plasticgym/Addiction-v0", monkeypatch, (200,), chunk_rows=64,
                   record_to=tmp_path / "r.parquet")  # fmt: skip
    buffer = agent._record_buffer
    assert buffer.sink is not None and len(buffer) == 800
    assert buffer._columns == {} and buffer._stored == 0
    assert buffer._block == {}  # (freed at the end of learn)


def test_save_load_and_continue_the_stream_equals_one_run(monkeypatch, tmp_path):
    task, path = "plasticgym/Pavlovian-v0", tmp_path / "r.parquet"
    whole = _learn(task, monkeypatch, (250,), record=True).records
    agent = _learn(task, monkeypatch, (100,), record_to=path)
    agent.save(tmp_path / "agent")
    agent.learn(60, record_to=path)  # rows after the checkpoint, merged into the file
    assert int(load_records(path)["step"].max()) == 159
    loaded = PlasticAgent.load(tmp_path / "agent")
    loaded.learn(150, record_to=path)  # drops steps 100..159, then records 100..249
    pd.testing.assert_frame_equal(loaded.records, whole, check_exact=True)
    pd.testing.assert_frame_equal(load_records(path), whole, check_exact=True)


def test_a_stream_that_lost_rows_before_the_checkpoint_is_refused(monkeypatch, tmp_path):
    path = tmp_path / "r.parquet"
    agent = _learn("plasticgym/Pavlovian-v0", monkeypatch, (50,), record_to=path)
    agent.save(tmp_path / "agent")
    assert load_checkpoint(tmp_path / "agent.safetensors")[1]["records"]["rows"] == 200
    pd.DataFrame(load_records(path).iloc[:150]).pipe(records_module.save_records, path)
    with pytest.raises(ValueError, match="holds 150 rows before step 50, but the checkpoint"):
        PlasticAgent.load(tmp_path / "agent").learn(10, record_to=path)
    PlasticAgent.load(tmp_path / "agent").learn(10, record_to=tmp_path / "new.parquet")  # ok


def test_a_merge_cut_short_before_its_parts_were_removed_duplicates_nothing(monkeypatch, tmp_path):
    path = tmp_path / "r.parquet"
    monkeypatch.setattr(records_module.shutil, "rmtree", lambda *args, **kwargs: None)
    agent = _learn("plasticgym/Pavlovian-v0", monkeypatch, (40,), record_to=path)
    assert len(list(parts_folder(path).glob("part-*.parquet"))) == 1  # (left behind)
    assert record_files(path) == [path]  # (the merged file names the part it holds)
    assert len(load_records(path)) == 160
    agent.learn(10, record_to=path)
    assert len(load_records(path)) == 200 and load_records(path)["step"].is_monotonic_increasing
    columns = load_records(path, columns=["agent", "reward"])
    assert list(columns.columns) == ["agent", "reward"] and len(columns) == 200


def test_an_agent_records_in_one_place(monkeypatch, tmp_path):
    agent = _learn("plasticgym/Pavlovian-v0", monkeypatch, (5,), record=True)
    with pytest.raises(ValueError, match="already holds 20 records in memory"):
        agent.learn(5, record_to=tmp_path / "r.parquet")
    path = tmp_path / "a.parquet"
    streaming = _learn("plasticgym/Pavlovian-v0", monkeypatch, (5,), record_to=path)
    with pytest.raises(ValueError, match="streams its records to"):
        streaming.learn(5, record=True)
    with pytest.raises(ValueError, match="streams its records to"):
        streaming.learn(5, record_to=tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"must be a \.parquet file"):
        PlasticAgent("plasticgym/Pavlovian-v0").learn(5, record_to=tmp_path / "r.csv")


# ---------------------------------------------------------------- kill and resume (CLI)

STEPS, EVERY = 300, 100


def _train(out, *extra):
    argv = ["train", "--env", "plasticgym/Addiction-v0", "--agent", "plastic", "--steps",
            str(STEPS), "--n-agents", "3", "--seed", "2", "--out", str(out), "--no-progress",
            "--checkpoint-every", str(EVERY), *extra]  # fmt: skip
    return main(argv)


class KilledError(Exception):
    """Stands for SIGKILL (main does not catch it)."""


ON_DISK: dict = {}
"""The open part's bytes at the kill: a killed process writes no Parquet footer, but this
one's writer, collected after the exception, would; the test puts these bytes back."""


def _kill_in_step(monkeypatch, step):
    original = PopulationAgent._step

    def dying(self, buffer):
        if self.num_timesteps == step:
            part = buffer.sink._part
            ON_DISK.update(path=part, data=part.read_bytes())
            raise KilledError
        return original(self, buffer)

    monkeypatch.setattr(PopulationAgent, "_step", dying)


def _kill_in_save(monkeypatch, step):
    """Killed after the records were synced for the checkpoint at ``step``, before it was
    written (the rows of the part just closed lie after the previous checkpoint)."""
    import plasticgym.agents.persistence as persistence

    original = persistence.save_checkpoint

    def dying(path, tensors, meta):
        if meta["num_timesteps"] == step:
            raise KilledError
        return original(path, tensors, meta)

    monkeypatch.setattr(persistence, "save_checkpoint", dying)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records_module, "CHUNK_ROWS", 16)  # (blocks of 5 steps x 3 agents)
        out = tmp_path_factory.mktemp("whole")
        assert _train(out) == 0
    return load_records(out / "records.parquet")


@pytest.mark.parametrize(
    ("kill", "at", "checkpoint"),
    [(_kill_in_step, 250, 200), (_kill_in_save, 200, 100), (_kill_in_save, STEPS, 200)],
    ids=["mid-run", "records-synced-checkpoint-not", "after-the-final-merge"],
)
def test_killed_and_resumed_records_equal_the_uninterrupted(whole, tmp_path, kill, at, checkpoint):
    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(records_module, "CHUNK_ROWS", 16)
        kill(patch, at)
        ON_DISK.clear()
        with pytest.raises(KilledError):
            _train(out)
        if ON_DISK:
            ON_DISK["path"].write_bytes(ON_DISK["data"])
        assert load_checkpoint(out / "agent.safetensors")[1]["num_timesteps"] == checkpoint
        left = load_records(out / "records.parquet")  # (an unfinished part is skipped)
        assert int(left["step"].max()) >= checkpoint - 1
        if kill is _kill_in_step:
            unfinished = record_files(out / "records.parquet")[-1]
            assert unfinished == ON_DISK["path"] and unfinished.stat().st_size > 0
            with pytest.raises(Exception):  # noqa: B017 (a part without its footer)
                pq.ParquetFile(unfinished)
    assert _train(out, "--resume") == 0
    pd.testing.assert_frame_equal(load_records(out / "records.parquet"), whole, check_exact=True)
    assert record_files(out / "records.parquet") == [out / "records.parquet"]
