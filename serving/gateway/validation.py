"""Checks for JSON request values; every failure is an InvalidInput naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np

from serving.gateway.backend import Pin
from serving.gateway.errors import InvalidInput

LABEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
NUMBER_TYPES = frozenset((int, float))
"""What json.loads makes of a JSON number (a bool is neither)."""
FLOAT32_MAX = float(np.finfo(np.float32).max)


def describe(value) -> str:
    """How a JSON value reads in an error message: 'a string', 'null', 'true', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def only_fields(body: Mapping, allowed: Iterable[str], kind: str = "field") -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        expected = f"expected only {', '.join(sorted(allowed))}" if allowed else "none is taken"
        raise InvalidInput(f"unknown {kind} {unknown[0]!r}: {expected}")


def items(body: dict, name: str, max_items: int) -> list:
    """`body[name]`: a list of 1 to `max_items` entries."""
    if name not in body:
        raise InvalidInput(f"{name}: required")
    value = body[name]
    if not isinstance(value, list):
        raise InvalidInput(f"{name}: expected a list, got {describe(value)}")
    if not value:
        raise InvalidInput(f"{name}: expected at least 1 item, got an empty list")
    if len(value) > max_items:
        raise InvalidInput(f"{name}: expected at most {max_items} items, got {len(value)}")
    return value


def numbers(value, name: str, min_length: int, max_length: int) -> np.ndarray:
    """A flat list of finite numbers, `min_length` to `max_length` long, as float64."""
    if not isinstance(value, list):
        raise InvalidInput(f"{name}: expected a list of numbers, got {describe(value)}")
    if not min_length <= len(value) <= max_length:
        expected = f"{min_length}" if min_length == max_length else f"{min_length} to {max_length}"
        raise InvalidInput(f"{name}: expected {expected} numbers, got {len(value)}")
    if not NUMBER_TYPES.issuperset(map(type, value)):
        for index, item in enumerate(value):
            if not is_number(item):
                raise InvalidInput(f"{name}[{index}]: expected a number, got {describe(item)}")
    array = _floats(value)
    bad = np.flatnonzero(~_representable(array))
    if bad.size:
        index = int(bad[0])
        raise InvalidInput(
            f"{name}[{index}]: expected a finite number, got {_spelled(value[index])}"
        )
    return array


def grid(rows: list[list], name: str, width: int) -> np.ndarray:
    """Lists of `width` finite numbers each, as a 2-D float64 array. Checked in one pass
    (a 28×28 image costs ~0.1 ms, not ~1 ms row by row); only a grid that fails is walked row
    by row, so the error names the first bad row and item exactly as `numbers` does."""
    if all(len(row) == width and NUMBER_TYPES.issuperset(map(type, row)) for row in rows):
        array = _floats(rows)
        if _representable(array).all():
            return array
    return np.stack(
        [numbers(row, f"{name}[{index}]", width, width) for index, row in enumerate(rows)]
    )


def within(array: np.ndarray, name: str, low: float, high: float) -> np.ndarray:
    """`array` if every value is in [low, high]; else the first one outside is named."""
    outside = np.argwhere((array < low) | (array > high))
    if outside.size:
        where = tuple(int(index) for index in outside[0])
        position = "".join(f"[{index}]" for index in where)
        raise InvalidInput(
            f"{name}{position}: expected a value in [{low:g}, {high:g}], got {array[where]:g}"
        )
    return array


def _floats(value: list) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:  # an integer beyond float64: marked infinite, reported by the caller
        return np.vectorize(_clamped, otypes=[np.float64])(np.array(value, dtype=object))


def _representable(array: np.ndarray) -> np.ndarray:
    """Finite and within float32, elementwise."""
    return np.isfinite(array) & (np.abs(array) <= FLOAT32_MAX)


def integer(value, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_number(value) or not isinstance(value, int):
        raise InvalidInput(f"{name}: expected an integer, got {describe(value)}")
    if not low <= value <= high:
        raise InvalidInput(f"{name}: expected an integer in [{low}, {high}], got {value}")
    return value


def label(value, name: str) -> str:
    if not isinstance(value, str) or not LABEL.match(value):
        raise InvalidInput(
            f"{name}: expected 1-64 letters, digits, '_', '.' or '-', got {describe(value)}"
        )
    return value


def _clamped(item) -> float:
    try:
        return float(item)
    except OverflowError:
        return math.inf


def _spelled(item) -> str:
    if isinstance(item, int):
        return "an integer beyond float32"
    number = _clamped(item)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return f"{number:g} (beyond float32)"


def pin_of(body: dict) -> Pin:
    """The body's version or label; never both (null counts as not given)."""
    version, version_label = body.get("version"), body.get("label")
    if version is not None and version_label is not None:
        raise InvalidInput("version, label: give one or the other, not both")
    if version is not None:
        return Pin(version=integer(version, "version", 1, 2**63 - 1))
    if version_label is not None:
        return Pin(label=label(version_label, "label"))
    return Pin()
