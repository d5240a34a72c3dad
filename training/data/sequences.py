"""0/1 sequences of every density, runs and constant ones, and their sums, for the sum regressor."""

from __future__ import annotations

import numpy as np

from contract.models import PAD_VALUE

KIND_SHARES = {"random": 0.6, "runs": 0.2, "all_ones": 0.1, "all_zeros": 0.1}
"""How `varied_batch` mixes its sequences: the counter must hold at both extremes."""


def random_batch(
    rng: np.random.Generator, size: int, min_length: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """`size` 0/1 sequences of lengths in [min_length, max_length], padded, and their sums.

    Each sequence draws its own density of ones uniformly from [0, 1], so nearly empty and
    nearly full sequences are as common as balanced ones."""
    lengths = rng.integers(min_length, max_length + 1, size)
    density = rng.uniform(0.0, 1.0, (size, 1))
    bits = rng.random((size, lengths.max())) < density
    return _padded(bits, lengths)


def varied_batch(
    rng: np.random.Generator, size: int, min_length: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Like `random_batch`, mixed per KIND_SHARES with runs (ones and zeros in blocks that
    switch with a per-sequence probability), all ones and all zeros."""
    lengths = rng.integers(min_length, max_length + 1, size)
    width = lengths.max()
    density = rng.uniform(0.0, 1.0, (size, 1))
    bits = rng.random((size, width)) < density
    switch = rng.uniform(0.01, 0.3, (size, 1))
    flips = np.cumsum(rng.random((size, width)) < switch, axis=1) % 2
    runs = (flips + rng.integers(0, 2, (size, 1))) % 2 == 1
    kind = rng.choice(len(KIND_SHARES), size, p=list(KIND_SHARES.values()))
    bits = np.where((kind == 1)[:, None], runs, bits)
    bits = np.where((kind == 2)[:, None], True, bits)
    bits = np.where((kind == 3)[:, None], False, bits)
    return _padded(bits, lengths)


def constant_batch(value: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sequence of `value` (0 or 1) per length in `lengths`, padded, and their sums."""
    return _padded(np.full((len(lengths), lengths.max()), bool(value)), lengths)


def _padded(bits: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = np.arange(bits.shape[1])[None, :] < lengths[:, None]
    ones = bits & inside
    sequences = np.where(inside, ones.astype(np.float32), np.float32(PAD_VALUE))
    return sequences, ones.sum(axis=1).astype(np.float32)
