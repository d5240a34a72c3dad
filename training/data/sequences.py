"""Random 0/1 sequences and their sums, for the sum regressor."""

from __future__ import annotations

import numpy as np

from contract.models import PAD_VALUE


def random_batch(
    rng: np.random.Generator, size: int, min_length: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """`size` random 0/1 sequences of lengths in [min_length, max_length], padded, and their sums."""
    lengths = rng.integers(min_length, max_length + 1, size)
    bits = rng.integers(0, 2, (size, lengths.max())).astype(np.float32)
    inside = np.arange(lengths.max())[None, :] < lengths[:, None]
    sequences = np.where(inside, bits, np.float32(PAD_VALUE))
    return sequences, (bits * inside).sum(axis=1).astype(np.float32)
