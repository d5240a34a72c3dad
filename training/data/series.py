"""The forecaster's series, t·sin(t)/3 + 2·sin(5t) sampled every 0.1 on t in [0, 30]."""

from __future__ import annotations

import numpy as np

T_MIN, T_MAX, RESOLUTION = 0.0, 30.0, 0.1


def series(t: np.ndarray) -> np.ndarray:
    """The true series at times `t`."""
    return (t * np.sin(t) / 3 + 2 * np.sin(5 * t)).astype(np.float32)


def random_windows(
    rng: np.random.Generator, size: int, length: int, inside: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`size` windows of `length` consecutive samples starting at random t.

    The first `inside` samples (default: all) lie inside [0, 30]; later ones may run past 30,
    and `inside_range` masks them. Returns the start times and the samples, (size, length).
    """
    latest_start = T_MAX - ((length if inside is None else inside) - 1) * RESOLUTION
    starts = rng.uniform(T_MIN, latest_start, size)
    times = starts[:, None] + RESOLUTION * np.arange(length)[None, :]
    return starts.astype(np.float32), series(times)


def inside_range(starts: np.ndarray, length: int) -> np.ndarray:
    """Boolean (size, length): which samples of windows starting at `starts` have t <= 30."""
    times = starts[:, None] + RESOLUTION * np.arange(length)[None, :]
    return times <= T_MAX + 1e-6
