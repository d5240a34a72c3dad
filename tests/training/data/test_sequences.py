import numpy as np

from contract.models import PAD_VALUE, pad_sequences
from training.data.sequences import constant_batch, random_batch, varied_batch


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


def test_random_batch_draws_each_sequences_density_from_zero_to_one():
    sequences, sums = random_batch(np.random.default_rng(2), 2000, 64, 64)
    density = sums / 64
    assert density.min() < 0.05 and density.max() > 0.95
    assert 0.2 < np.mean(density < 0.3) < 0.4


def test_varied_batch_mixes_in_runs_all_ones_and_all_zeros():
    sequences, sums = varied_batch(np.random.default_rng(3), 4000, 1, 64)
    lengths = (sequences != PAD_VALUE).sum(axis=1)
    np.testing.assert_array_equal(sums, (sequences == 1).sum(axis=1))
    assert 0.07 < np.mean(sums == lengths) - np.mean(lengths == 1) / 2 < 0.2
    assert 0.07 < np.mean(sums == 0) - np.mean(lengths == 1) / 2 < 0.2
    switches = np.abs(np.diff(np.where(sequences == PAD_VALUE, np.nan, sequences), axis=1))
    long = lengths == 64
    assert np.nanmean(switches[long]) < 0.45


def test_constant_batch_has_one_sequence_of_each_length():
    sequences, sums = constant_batch(1, np.array([1, 3, 2]))
    np.testing.assert_array_equal(sums, [1, 3, 2])
    np.testing.assert_array_equal(sequences[2], [1, 1, PAD_VALUE])
    zeros, zero_sums = constant_batch(0, np.array([4]))
    np.testing.assert_array_equal(zeros, [[0, 0, 0, 0]])
    np.testing.assert_array_equal(zero_sums, [0])
