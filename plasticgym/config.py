"""The validation vocabulary of plasticgym: every check raises ``ValueError`` naming the field,
the value and what is allowed.

One set for the whole library: the frozen configs of the agents, sweeps and CLI use the
raise-only :func:`check_number` and :func:`check_per_agent`; the tasks (``plasticgym.envs``)
use the checks that return the value they accept, normalised to a Python type
(:func:`check_int`, :func:`check_real`, :func:`check_probability`, :func:`check_finite`,
:func:`check_int_pair`), so that they also serve as validators of protocol phases;
:func:`check_bool` and :func:`check_choice` serve both (they return the value). This module
imports nothing from plasticgym, so that the tasks can import it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np


def check_number(
    field: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number inside the given interval."""
    kind = "an integer" if integer else "a number"
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    allowed = f"{kind} in {left}{low}, {high}{right}"
    valid_type = isinstance(value, numbers.Integral if integer else numbers.Real)
    # (an integer is always finite; math.isfinite would overflow on one above 1e308)
    finite = valid_type and (isinstance(value, numbers.Integral) or math.isfinite(value))
    if isinstance(value, bool) or not finite:
        raise ValueError(f"{field}={value!r} is invalid: must be finite and {allowed}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ValueError(f"{field}={value!r} is invalid: must be {allowed}")


def check_bool(field: str, value: Any) -> bool:
    """Return ``value`` as a bool, or raise ``ValueError`` unless it is True or False (a
    numpy bool included)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{field}={value!r} is invalid: must be True or False")
    return bool(value)


def check_choice(field: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices`` (never a bool), else raise ``ValueError``
    listing them."""
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"{field}={value!r} is invalid: must be one of {list(choices)}")
    return value


def check_per_agent(
    field: str, value: Any, check: Any, **kwargs: Any
) -> float | int | tuple[float | int, ...]:
    """Validate a hyperparameter given once for all agents or once per agent.

    A number is checked with ``check(field, value, **kwargs)``; a sequence (list, tuple or 1-d
    array, one value per agent) element by element as ``field[i]``. Returns the number or a
    tuple of numbers (its length is checked against the population by the agent).
    """
    if isinstance(value, str | bytes):
        raise ValueError(f"{field}={value!r} is invalid: must be a number or one number per agent")
    if isinstance(value, Sequence) or (hasattr(value, "ndim") and getattr(value, "ndim", 0) == 1):
        items = tuple(value.tolist() if hasattr(value, "tolist") else value)
        if not items:
            raise ValueError(f"{field}=[] is invalid: give a number or one number per agent")
        for i, item in enumerate(items):
            check(f"{field}[{i}]", item, **kwargs)
        return items
    check(field, value, **kwargs)
    return value


def is_int(value: Any) -> bool:
    """True for python/numpy integers, False for bools."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value: Any) -> bool:
    """True for python/numpy integers and floats, False for bools."""
    return is_int(value) or isinstance(value, float | np.floating)


def check_int(field: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise ValueError naming the field, the value and the range."""
    if not is_int(value) or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(f"{field} must be {allowed}, got {value!r}")
    return int(value)


def check_real(
    field: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    ok = is_real(value) and math.isfinite(float(value))
    ok = ok and (float(value) > low if low_open else float(value) >= low) and float(value) <= high
    if not ok:
        left = "(" if low_open else "["
        raise ValueError(f"{field} must be a finite number in {left}{low}, {high}], got {value!r}")
    return float(value)


def check_probability(field: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is a probability in [0, 1]."""
    if not is_real(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{field} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_finite(field: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is a finite real number."""
    if not is_real(value) or not math.isfinite(float(value)):
        raise ValueError(f"{field} must be a finite real number, got {value!r}")
    return float(value)


def check_int_pair(field: str, value: Any, low: int) -> tuple[int, int]:
    """Return ``(a, b)`` with ``low <= a <= b``, or raise ValueError naming the field."""
    message = (
        f"{field} must be a pair (min, max) of integers with {low} <= min <= max, got {value!r}"
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(message)
    if len(value) != 2 or not all(is_int(v) for v in value):
        raise ValueError(message)
    a, b = int(value[0]), int(value[1])
    if not low <= a <= b:
        raise ValueError(message)
    return a, b
