"""Validation helpers for frozen config dataclasses: errors name the field, value and range."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


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
    if isinstance(value, bool) or not valid_type or not math.isfinite(value):
        raise ValueError(f"{field}={value!r} is invalid: must be finite and {allowed}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ValueError(f"{field}={value!r} is invalid: must be {allowed}")


def check_bool(field: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"{field}={value!r} is invalid: must be True or False")


def check_choice(field: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{field}={value!r} is invalid: must be one of {list(choices)}")


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
