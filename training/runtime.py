"""Process-wide TensorFlow set-up: quiet logs, seeding and device discovery."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf


def seed_everything(seed: int) -> None:
    """Make a run repeatable: Python, NumPy and TensorFlow seeds and deterministic ops."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def device_name() -> str:
    """'GPU' when TensorFlow sees one (it is then used automatically), else 'CPU'."""
    return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
