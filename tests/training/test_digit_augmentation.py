import numpy as np
import tensorflow as tf

from training.digit_classifier import MAX_SHIFT, shift_images


def test_each_image_moves_by_whole_pixels_within_two_each_way():
    images = np.zeros((64, 28, 28), np.float32)
    images[:, 13, 14] = 1.0
    shifted = shift_images(tf.constant(images), tf.constant([0, 7], tf.int64)).numpy()
    positions = np.array([np.argwhere(image)[0] for image in shifted])
    moves = positions - [13, 14]
    assert np.abs(moves).max() <= MAX_SHIFT
    assert len({tuple(m) for m in moves}) > 5
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2)), 1.0)


def test_same_seed_same_shifts():
    images = tf.random.stateless_uniform([8, 28, 28], seed=[1, 2])
    first = shift_images(images, tf.constant([3, 4], tf.int64))
    second = shift_images(images, tf.constant([3, 4], tf.int64))
    np.testing.assert_array_equal(first.numpy(), second.numpy())
