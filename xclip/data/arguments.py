"""Checks of the arguments users pass to the data API: integers, flags, and how a value is shown in a message."""

from __future__ import annotations

import operator
import reprlib
from typing import Any

import numpy as np
import torch

__all__ = ["as_integer", "describe_value", "flag", "integer", "optional_integer"]


def flag(name: str, value: Any) -> bool:
    # Truthiness would read training='no' as True and a forgotten None as False.
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe_value(value)}.")
    return bool(value)


def as_integer(value: Any) -> int | None:
    """`value` as a plain int when it is a Python or NumPy integer or a 0-d integer tensor, else None. Bools are
    refused (a flag passed in the wrong place), and so are floats, which `int` would truncate silently."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, torch.Tensor) and (value.ndim != 0 or value.dtype == torch.bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def integer(name: str, value: Any, *, minimum: int, maximum: int | None = None, optional: bool = False) -> int:
    """`value` as a plain int in `[minimum, maximum]`, for the options and the epoch.

    Raises:
        TypeError: `value` is not an integer (see `as_integer`).
        ValueError: It is out of range.
    """
    expected = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
    if maximum is not None:
        # 2**63 - 1 reads better as a power of two.
        expected += f" below 2**{maximum.bit_length()}" if (maximum + 1) & maximum == 0 else f" up to {maximum}"
    if optional:
        expected += " or None"
    number = as_integer(value)
    if number is None:
        raise TypeError(f"{name} must be {expected}, got {describe_value(value)}.")
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {expected}, got {number}.")
    return number


def optional_integer(name: str, value: Any, *, minimum: int) -> int | None:
    """`integer`, with None (a default chosen later) passed through."""
    return None if value is None else integer(name, value, minimum=minimum, optional=True)


def describe_value(value: Any) -> str:
    """How `value` is named in an error message: an array by its dtype and shape, not its numbers."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        dtype = str(value.dtype).removeprefix("torch.")
        article = "an" if dtype[0] in "aeio" else "a"  # an int64, a uint8
        return f"{article} {dtype} {type(value).__name__} of shape {tuple(value.shape)}"
    return "None" if value is None else f"{type(value).__name__} {reprlib.repr(value)}"
