"""Checkpoints: tensors in safetensors, everything else as JSON in the same file's header.

One file per checkpoint, written to a temporary file in the target folder and renamed into
place, so a crash never leaves a half-written checkpoint. Loading parses JSON and raw tensors
only: nothing is ever unpickled.

Every checkpoint carries a SHA-256 digest of its JSON header and of every tensor (name, dtype,
shape and bytes) under the metadata key :data:`CHECKSUM_KEY`; loading recomputes it and refuses
a file whose bytes changed (a flipped bit, a truncated copy, a hand edit). Checkpoints written
before the digest existed have none and still load; what they hold is checked value by value
by the agent that loads them, as every checkpoint's is.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

FORMAT = "plasticgym-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "plasticgym"
CHECKSUM_KEY = "plasticgym.sha256"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of another format, or does not fit what loads it."""


def save_checkpoint(path: str | os.PathLike, tensors: Mapping[str, Tensor], meta: dict) -> Path:
    """Write ``tensors`` and the JSON-serialisable ``meta`` atomically to ``path``.

    A missing ``.safetensors`` suffix is added. Returns the path written.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    header = json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **meta})
    # safetensors refuses tensors that share memory (e.g. one tensor kept under two names):
    # every entry is written as its own copy.
    contiguous = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    metadata = {METADATA_KEY: header, CHECKSUM_KEY: checkpoint_digest(header, contiguous)}
    with atomic_path(path) as tmp:
        save_file(contiguous, str(tmp), metadata=metadata)
    return path


def checkpoint_digest(header: str, tensors: Mapping[str, Tensor]) -> str:
    """SHA-256 (hex) of the JSON ``header`` and of every tensor's name, dtype, shape and bytes,
    in name order: what :data:`CHECKSUM_KEY` stores."""
    digest = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"\0{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file beside ``path`` to write into; when the block ends without error it is
    flushed to disk and renamed onto ``path`` (atomic), otherwise removed. Readers therefore see
    the old file or the whole new one, never a half-written one. Creates missing folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented strict JSON (no NaN), atomically; numpy scalars become
    numbers. Raises ``ValueError`` naming the problem if ``data`` is not JSON-serialisable."""
    try:
        text = json.dumps(data, indent=2, allow_nan=False, default=_json_scalar) + "\n"
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot write {path}: not JSON-serialisable ({error})") from None
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _json_scalar(value: Any) -> Any:
    """numpy scalars (``np.float32(1)``, ``np.int64(2)``, ``np.bool_``) as Python numbers."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; raise :class:`CheckpointError`
    naming the problem if the file is missing, unreadable or not a plasticgym checkpoint."""
    path = Path(path)
    if not path.exists() and path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        raw_meta, checksum = metadata.get(METADATA_KEY), metadata.get(CHECKSUM_KEY)
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint: {error}") from None
    if raw_meta is None:
        raise CheckpointError(
            f"{path} has no plasticgym metadata; it is not a plasticgym checkpoint"
        )
    if checksum is not None and checksum != checkpoint_digest(raw_meta, tensors):
        raise CheckpointError(
            f"{path} fails its checksum ({CHECKSUM_KEY}): its tensors or metadata changed "
            "after it was written (a corrupted copy or an edited file); it is not loaded"
        )
    try:
        meta = json.loads(raw_meta)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path} has corrupt metadata (invalid JSON: {error})") from None
    except RecursionError:
        raise CheckpointError(f"{path} has corrupt metadata (JSON nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a plasticgym checkpoint (format field missing)")
    if meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {meta.get('version')!r}; this plasticgym "
            f"reads version {FORMAT_VERSION}"
        )
    return tensors, meta


def flatten_state(prefix: str, state: Any) -> dict[str, Tensor]:
    """Flatten nested tuples / NamedTuples of tensors into ``{"prefix.0.trace": tensor}``."""
    if isinstance(state, Tensor):
        return {prefix: state}
    if isinstance(state, tuple):
        names = getattr(state, "_fields", None) or [str(i) for i in range(len(state))]
        flat: dict[str, Tensor] = {}
        for name, item in zip(names, state, strict=True):
            flat.update(flatten_state(f"{prefix}.{name}", item))
        return flat
    raise TypeError(f"cannot checkpoint state of type {type(state).__name__} at {prefix}")


def unflatten_state(prefix: str, template: Any, tensors: Mapping[str, Tensor]) -> Any:
    """Rebuild a state shaped like ``template`` from ``tensors``, checking names and shapes.

    Tensors are cast to the template's dtype and moved to its device.
    """
    if isinstance(template, Tensor):
        return take_tensor(tensors, prefix, template)
    if isinstance(template, tuple):
        names = getattr(template, "_fields", None) or [str(i) for i in range(len(template))]
        items = [
            unflatten_state(f"{prefix}.{name}", item, tensors)
            for name, item in zip(names, template, strict=True)
        ]
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    raise TypeError(f"cannot restore state of type {type(template).__name__} at {prefix}")


def take_tensor(tensors: Mapping[str, Tensor], name: str, like: Tensor) -> Tensor:
    """The tensor called ``name``, checked against ``like``'s shape and dtype, on its device."""
    if name not in tensors:
        raise CheckpointError(f"checkpoint lacks tensor {name!r}")
    tensor = tensors[name]
    if tensor.shape != like.shape:
        raise CheckpointError(
            f"checkpoint tensor {name!r} has shape {tuple(tensor.shape)}, expected "
            f"{tuple(like.shape)}"
        )
    if tensor.dtype != like.dtype:
        raise CheckpointError(
            f"checkpoint tensor {name!r} has dtype {tensor.dtype}, expected {like.dtype}"
        )
    if tensor.is_floating_point() and not torch.isfinite(tensor).all():
        raise CheckpointError(f"checkpoint tensor {name!r} contains NaN or Inf")
    return tensor.to(like.device).clone()
