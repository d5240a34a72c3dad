"""What the task helpers check before anything is sent, from the models' contract
(contract/models.py): the same rules the gateway applies to the same fields. Each failure is an
`InvalidInput` naming the field and, where there is one, the first bad item."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from client.errors import InvalidInput
from contract.models import MAX_HORIZON, MAX_LENGTH, SIDE, WINDOW

PIXELS = SIDE * SIDE


def _describe(value: object) -> str:
    if isinstance(value, (str, bytes)):
        return f"a {type(value).__name__} ({value[:20]!r})"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


def _numbers(value: object, name: str) -> np.ndarray:
    """`value` as a float64 array: numbers only (no strings, no booleans), all finite."""
    return _finite(_numeric(value, name), name)


def _numeric(value: object, name: str) -> np.ndarray:
    """`value` as a float64 array: numbers only (no strings, no booleans)."""
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise InvalidInput(f"{name}: expected numbers, got {_describe(value)}")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nesting
        raise InvalidInput(f"{name}: expected numbers ({error})") from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise InvalidInput(f"{name}: expected numbers, got {_describe(array)}")
    return array.astype(np.float64)


def _finite(array: np.ndarray, name: str) -> np.ndarray:
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        where = "".join(f"[{int(i)}]" for i in bad[0])
        raise InvalidInput(f"{name}{where}: expected a finite number, got {array[tuple(bad[0])]}")
    return array


def _items(values: object, name: str) -> list:
    """A non-empty sequence of items (not a string, not a bare number)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise InvalidInput(f"{name}: expected a sequence of items, got {_describe(values)}")
    if len(values) == 0:
        raise InvalidInput(f"{name}: expected at least 1 item, got none")
    return list(values)


def sequences(values: object) -> list[np.ndarray]:
    """0/1 sequences, each 1 to MAX_LENGTH long (sum_regressor)."""
    rows = []
    for index, sequence in enumerate(_items(values, "sequences")):
        name = f"sequences[{index}]"
        row = _numbers(sequence, name)
        if row.ndim != 1:
            raise InvalidInput(f"{name}: expected a flat sequence of 0s and 1s, got {row.ndim}-D")
        if not 1 <= row.size <= MAX_LENGTH:
            raise InvalidInput(f"{name}: expected 1 to {MAX_LENGTH} values, got {row.size}")
        not_bits = np.flatnonzero((row != 0) & (row != 1))
        if not_bits.size:
            position = int(not_bits[0])
            raise InvalidInput(f"{name}[{position}]: expected 0 or 1, got {row[position]:g}")
        rows.append(row)
    return rows


def images(values: object) -> np.ndarray:
    """Grayscale digit images, values in [0, 1]: one 28×28 (or 784) image or a stack of them,
    as float32 (n, 28, 28). A colour image, or pixels in 0–255, is refused, not reshaped."""
    array = _numeric(values, "images")
    if array.shape in ((SIDE, SIDE), (PIXELS,)):
        array = array[None]
    if array.ndim == 2 and array.shape[1] == PIXELS:
        array = array.reshape(-1, SIDE, SIDE)
    if array.ndim != 3 or array.shape[1:] != (SIDE, SIDE) or not len(array):
        raise InvalidInput(
            f"images: expected 28x28 (or 784) grayscale images, one or a stack, got shape "
            f"{array.shape}"
        )
    _finite(array, "images")
    outside = np.argwhere((array < 0) | (array > 1))
    if outside.size:
        index, row, column = (int(i) for i in outside[0])
        raise InvalidInput(
            f"images[{index}][{row}][{column}]: expected a value in [0, 1], got "
            f"{array[index, row, column]:g} (scale 0-255 pixels by 1/255; "
            f"client.images.prepare_digit prepares a picture)"
        )
    return array.astype(np.float32)


def series(values: object) -> list[np.ndarray]:
    """Series of at least WINDOW finite numbers each (forecaster)."""
    rows = []
    for index, one in enumerate(_items(values, "series")):
        name = f"series[{index}]"
        row = _numbers(one, name)
        if row.ndim != 1 or row.size < WINDOW:
            raise InvalidInput(f"{name}: expected at least {WINDOW} values, got shape {row.shape}")
        rows.append(row)
    return rows


def horizon(value: object) -> int:
    """How many steps to forecast: an integer in [1, MAX_HORIZON]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInput(f"horizon: expected an integer, got {value!r}")
    if not 1 <= value <= MAX_HORIZON:
        raise InvalidInput(f"horizon: expected an integer in [1, {MAX_HORIZON}], got {value}")
    return int(value)


def pin(version: object, label: object) -> None:
    """A version or a label, not both; a version a positive integer, a label a string."""
    if version is not None and label is not None:
        raise InvalidInput(f"version and label: give one, not both (got {version!r}, {label!r})")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1
    ):
        raise InvalidInput(f"version: expected a positive integer, got {version!r}")
    if label is not None and (not isinstance(label, str) or not label):
        raise InvalidInput(f"label: expected a non-empty string, got {label!r}")
