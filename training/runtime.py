"""Process-wide TensorFlow set-up: quiet logs, seeding and device discovery."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf
from tensorflow.python.framework.config import disable_op_determinism


def seed_everything(seed: int, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; with `deterministic_ops`, also make ops bit-exact.

    Keras refuses XLA while TensorFlow's op-determinism mode is on, so a model compiled with
    XLA runs seeded (same initial weights, data order and augmentation) but not bit-exact.
    """
    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()
    else:
        disable_op_determinism()


def device_name() -> str:
    """'GPU' when TensorFlow sees one (it is then used automatically), else 'CPU'."""
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
