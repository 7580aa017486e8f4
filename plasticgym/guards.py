"""Guards that turn a run that would crash late, silently or the whole machine into a clear
error at once: the torch device and thread count, a memory estimate before a large allocation,
and non-finite numbers in what a model learns.

Every guard raises a ``ValueError`` subclass naming what was wrong and what is allowed, so the
command line reports it as one line (``plasticgym: error: ...``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

MAX_THREADS_PER_CORE = 4
"""``threads`` may be at most this many times the machine's cores (oversubscription beyond it
only slows a run down, and a huge count makes torch's thread pool fail to allocate)."""

MEMORY_SAFETY = 2.0
"""Estimates of what a population holds are multiplied by this before they are compared with
the memory available: the temporaries of one learning step are as large as the state."""


class MemoryLimitError(ValueError):
    """A requested population, buffer or checkpoint would not fit in the memory available."""


class NonFiniteError(ValueError):
    """A model's weights or signals became NaN or infinite while learning."""


def check_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``, or ``ValueError`` if torch cannot parse it or it is not
    available on this machine (a CUDA device without CUDA, or an index past the last GPU)."""
    if isinstance(device, torch.device):
        parsed = device
    elif isinstance(device, str) and device.strip():
        try:
            parsed = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise ValueError(
                f"device={device!r} is invalid: must be 'cpu', 'cuda', 'cuda:N' or 'mps'"
            ) from None
    else:
        raise ValueError(f"device={device!r} is invalid: must be a string such as 'cpu' or 'cuda'")
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} is not available: this torch has no usable CUDA device "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use 'cpu'"
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(
                f"device={device!r} is not available: this machine has {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} is not available on this machine; use 'cpu'")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is invalid: plasticgym runs on 'cpu', 'cuda' or 'mps'")
    return parsed


def max_threads() -> int:
    """The largest thread count accepted: :data:`MAX_THREADS_PER_CORE` x the cores."""
    return MAX_THREADS_PER_CORE * (os.cpu_count() or 1)


def check_threads(threads: Any) -> None:
    """Raise ``ValueError`` unless ``threads`` is an integer in ``[1, max_threads()]``."""
    high = max_threads()
    valid = isinstance(threads, int) and not isinstance(threads, bool)
    if not valid or not 1 <= threads <= high:
        raise ValueError(
            f"threads={threads!r} is invalid: must be an integer in [1, {high}] "
            f"({MAX_THREADS_PER_CORE} x the {os.cpu_count()} cores of this machine)"
        )


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; binary units up to TiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n_bytes) < 1024:
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate: ``MemAvailable`` of /proc/meminfo,
    capped by a cgroup limit where one is set; None where neither can be read."""
    available = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as handle:
            limit = handle.read().strip()
        with open("/sys/fs/cgroup/memory.current") as handle:
            used = int(handle.read().strip())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


def check_memory(what: str, n_bytes: float, hint: str, available: int | None = None) -> None:
    """Raise :class:`MemoryLimitError` if ``n_bytes`` (an estimate of what ``what`` will
    allocate) exceeds the memory available (``available``, default :func:`available_memory`).
    ``hint`` says how to ask for less. Does nothing when the memory cannot be read."""
    available = available_memory() if available is None else available
    if available is None or n_bytes <= available:
        return
    raise MemoryLimitError(
        f"{what} needs about {format_bytes(n_bytes)} of memory, more than the "
        f"{format_bytes(max(available, 0))} available; nothing was allocated. {hint}"
    )


def nbytes(state: Any) -> int:
    """Bytes held by the tensors and arrays of a nested structure (tuples, dicts)."""
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    if hasattr(state, "nbytes") and hasattr(state, "dtype"):
        return int(state.nbytes)
    if isinstance(state, Mapping):
        return sum(nbytes(value) for value in state.values())
    if isinstance(state, tuple | list):
        return sum(nbytes(value) for value in state)
    return 0


def nonfinite_tensors(state: Mapping[str, Tensor]) -> list[str]:
    """Names of the floating-point tensors of ``state`` holding a NaN or an infinity."""
    return [
        name
        for name, tensor in state.items()
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all())
    ]


def unusual_values(values: Mapping[str, Any], large: float = 1e6, small: float = 1e-12) -> str:
    """``'critic_lr=1e+39, width=1e-30'``: the entries of ``values`` whose magnitude is above
    ``large`` or (non-zero) below ``small``, the usual causes of an overflow; '' if none."""
    found = []
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        magnitude = abs(float(value))
        if magnitude > large or 0 < magnitude < small or not math.isfinite(magnitude):
            found.append(f"{name}={value:.3g}")
    return ", ".join(found)


__all__ = [
    "MEMORY_SAFETY",
    "MemoryLimitError",
    "NonFiniteError",
    "available_memory",
    "check_device",
    "check_memory",
    "check_threads",
    "format_bytes",
    "max_threads",
    "nbytes",
    "nonfinite_tensors",
    "unusual_values",
]
