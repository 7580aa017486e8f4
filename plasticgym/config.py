"""Validation helpers for frozen config dataclasses: errors name the field, value and range."""

from __future__ import annotations

import math
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
    valid_type = isinstance(value, int) if integer else isinstance(value, int | float)
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
