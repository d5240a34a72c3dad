import numpy as np
import pytest
import tensorflow as tf

from training.augment import Distortion, distort


def _dot(row: int, col: int, count: int = 64) -> np.ndarray:
    images = np.zeros((count, 28, 28), np.float32)
    images[:, row, col] = 1.0
    return images


def _centres(images) -> np.ndarray:
    """The (row, col) centre of mass of each image."""
    grid = np.indices((28, 28)).reshape(2, -1)
    return np.array([np.average(grid, 1, image.ravel()) for image in np.asarray(images)])


def test_no_distortion_is_the_identity():
    images = tf.random.stateless_uniform([8, 28, 28], seed=[1, 2])
    still = distort(images, tf.constant([0, 7]), Distortion(degrees=0, scale=0, pixels=0))
    np.testing.assert_allclose(still.numpy(), images.numpy(), atol=1e-6)


def test_shifts_move_each_image_by_its_own_amount_within_the_limit():
    moved = distort(tf.constant(_dot(13, 14)), tf.constant([0, 7]), Distortion(0, 0, 2.0))
    centres = _centres(moved)
    offsets = centres - [13, 14]
    assert np.abs(offsets).max() <= 2.0 + 1e-4
    assert np.unique(offsets.round(2), axis=0).shape[0] > 32
    np.testing.assert_allclose(np.asarray(moved).sum(axis=(1, 2)), 1.0, atol=1e-4)


@pytest.mark.parametrize("degrees", [10.0, 30.0])
def test_rotation_keeps_a_point_at_its_distance_from_the_centre(degrees):
    rotated = distort(tf.constant(_dot(3, 14)), tf.constant([5, 1]), Distortion(degrees, 0, 0))
    centres = _centres(rotated)
    radii = np.hypot(*(centres - 13.5).T)
    np.testing.assert_allclose(radii, np.hypot(3 - 13.5, 14 - 13.5), atol=0.3)
    angles = np.degrees(np.arctan2(*(centres - 13.5).T[::-1]))
    assert np.ptp(angles) > degrees


def test_same_seed_same_distortions():
    images = tf.random.stateless_uniform([8, 28, 28], seed=[1, 2])
    first = distort(images, tf.constant([3, 4]), Distortion())
    second = distort(images, tf.constant([3, 4]), Distortion())
    np.testing.assert_array_equal(first.numpy(), second.numpy())
