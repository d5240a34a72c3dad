"""Random small affine distortions of MNIST images, batched and seeded, for training only.

Each image is rotated, scaled and moved by its own random amounts in one projective warp
(`ImageProjectiveTransformV3`, bilinear, zero fill): far cheaper per batch than per-image ops,
and stateless-seeded so a run's augmentation is the same every time.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import tensorflow as tf


@dataclass(frozen=True)
class Distortion:
    """The largest distortion drawn, each way."""

    degrees: float = 10.0
    scale: float = 0.1
    """Relative: 0.1 draws zoom factors in [0.9, 1.1]."""
    pixels: float = 2.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def distort(images: tf.Tensor, seed: tf.Tensor, limits: Distortion) -> tf.Tensor:
    """images (batch, rows, cols) → each one warped by a random rotation, zoom and shift."""
    count = tf.shape(images)[0]
    rows, cols = images.shape[1], images.shape[2]
    draws = tf.random.stateless_uniform([4, count], seed=tf.cast(seed, tf.int64), minval=-1.0)
    angle = draws[0] * (limits.degrees * math.pi / 180)
    zoom = 1.0 + draws[1] * limits.scale
    shift_x, shift_y = draws[2] * limits.pixels, draws[3] * limits.pixels
    centre_x, centre_y = (cols - 1) / 2, (rows - 1) / 2
    # The transform maps each output pixel (x, y) back to the input point it samples.
    a0, a1 = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    b0, b1 = -a1, a0
    a2 = centre_x - a0 * (centre_x + shift_x) - a1 * (centre_y + shift_y)
    b2 = centre_y - b0 * (centre_x + shift_x) - b1 * (centre_y + shift_y)
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[..., None],
        transforms=transforms,
        output_shape=[rows, cols],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return warped[..., 0]
