"""Checkpoint files: round trip, atomic write, and clear errors for bad files."""

import json
from typing import NamedTuple

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from plasticgym.checkpoint import (
    CheckpointError,
    atomic_path,
    flatten_state,
    load_checkpoint,
    save_checkpoint,
    unflatten_state,
    write_json,
)


class Inner(NamedTuple):
    trace: torch.Tensor


def test_round_trip_and_suffix(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt", {"w": torch.arange(4.0)}, {"answer": 42})
    assert path.name == "ckpt.safetensors"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temp files left
    tensors, meta = load_checkpoint(tmp_path / "ckpt")
    torch.testing.assert_close(tensors["w"], torch.arange(4.0))
    assert meta["answer"] == 42


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_garbage_file(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x80\x04\x95 this is a pickle, not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(path)


def test_truncated_file(tmp_path):
    path = save_checkpoint(tmp_path / "c", {"w": torch.ones(100)}, {})
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_foreign_safetensors_and_bad_metadata(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="no plasticgym metadata"):
        load_checkpoint(foreign)
    bad_json = tmp_path / "badjson.safetensors"
    save_file({"w": torch.ones(2)}, str(bad_json), metadata={"plasticgym": "{not json"})
    with pytest.raises(CheckpointError, match="invalid JSON"):
        load_checkpoint(bad_json)
    other_version = tmp_path / "v99.safetensors"
    meta = json.dumps({"format": "plasticgym-checkpoint", "version": 99})
    save_file({"w": torch.ones(2)}, str(other_version), metadata={"plasticgym": meta})
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(other_version)


def test_state_flatten_unflatten_checks_shapes():
    state = (Inner(torch.ones(2, 3)), ())
    flat = flatten_state("actor", state)
    assert set(flat) == {"actor.0.trace"}
    restored = unflatten_state("actor", state, flat)
    assert isinstance(restored[0], Inner)
    with pytest.raises(CheckpointError, match="shape"):
        unflatten_state("actor", state, {"actor.0.trace": torch.ones(3, 2)})
    with pytest.raises(CheckpointError, match="lacks"):
        unflatten_state("actor", state, {})
    with pytest.raises(CheckpointError, match="NaN"):
        unflatten_state("actor", state, {"actor.0.trace": torch.full((2, 3), float("nan"))})


def test_atomic_writes_keep_the_old_file_when_writing_fails(tmp_path):
    path = write_json(tmp_path / "sub" / "result.json", {"a": np.float32(0.5), "b": np.int64(2)})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": 2}
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed while writing")
    assert json.loads(path.read_text()) == {"a": 0.5, "b": 2}
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temporary file left
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        write_json(path, {"x": float("nan")})
