import numpy as np

from contract.models import PAD_VALUE, pad_sequences
from training.data.sequences import random_batch


def test_pad_sequences_right_pads_with_the_pad_value():
    batch = pad_sequences([[1, 0, 1], [1]])
    np.testing.assert_array_equal(batch, [[1, 0, 1], [1, PAD_VALUE, PAD_VALUE]])
    assert batch.dtype == np.float32


def test_random_batch_sums_count_only_real_steps_within_the_length_range():
    sequences, sums = random_batch(np.random.default_rng(1), 500, 3, 9)
    lengths = (sequences != PAD_VALUE).sum(axis=1)
    assert lengths.min() >= 3 and lengths.max() <= 9
    np.testing.assert_array_equal(sums, (sequences == 1).sum(axis=1))
    assert set(np.unique(sequences)) <= {0.0, 1.0, PAD_VALUE}


def test_random_batch_is_deterministic_for_a_seed():
    first = random_batch(np.random.default_rng(7), 10, 1, 64)
    second = random_batch(np.random.default_rng(7), 10, 1, 64)
    np.testing.assert_array_equal(first[0], second[0])
