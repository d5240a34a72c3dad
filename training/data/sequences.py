"""Random 0/1 sequences and their sums, for the sum regressor."""

from __future__ import annotations

import numpy as np

PAD_VALUE = -1.0
"""Marks the end of a shorter sequence in a padded batch; the model masks it out."""
MAX_LENGTH = 64
"""The longest sequence the sum regressor is trained on."""


def pad_sequences(
    sequences: list[list[float]], pad_value: float = PAD_VALUE, min_width: int = 0
) -> np.ndarray:
    """Right-pad variable-length sequences into one float32 matrix, at least `min_width` wide."""
    width = max(min_width, *(len(s) for s in sequences))
    batch = np.full((len(sequences), width), pad_value, dtype=np.float32)
    for row, sequence in zip(batch, sequences, strict=True):
        row[: len(sequence)] = sequence
    return batch


def random_batch(
    rng: np.random.Generator, size: int, min_length: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """`size` random 0/1 sequences of lengths in [min_length, max_length], padded, and their sums."""
    lengths = rng.integers(min_length, max_length + 1, size)
    bits = rng.integers(0, 2, (size, lengths.max())).astype(np.float32)
    inside = np.arange(lengths.max())[None, :] < lengths[:, None]
    sequences = np.where(inside, bits, np.float32(PAD_VALUE))
    return sequences, (bits * inside).sum(axis=1).astype(np.float32)
