"""What the task helpers return: the answer's arrays and the model version that gave them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sums:
    """sum_regressor's answer: the predicted count of ones, one per sequence."""

    sums: np.ndarray
    model: str
    version: int


@dataclass(frozen=True)
class Digits:
    """digit_classifier's answer: the digit and the 10 class probabilities of each image."""

    digits: np.ndarray
    probabilities: np.ndarray
    model: str
    version: int


@dataclass(frozen=True)
class Forecasts:
    """forecaster's answer: `horizon` values after each series."""

    forecasts: np.ndarray
    model: str
    version: int
