"""What each model must reach on held-out data: one source for the training reports, the
summary table (`python -m training.summary`) and the test of the versions that ship."""

from __future__ import annotations

SUM_TOLERANCE = 0.05
"""A count is right when within this of the true sum."""
SUM_SHARE_65_128 = 0.99
"""Lengths 1–64 (trained) must all be right, as must all ones and all zeros of those lengths;
of random sequences of the untrained lengths 65–128, at least this share."""
DIGIT_TEST_ACCURACY = 0.994
"""On the 10,000 MNIST test images."""
FORECAST_MSE = {1: 1e-4, 20: 0.05, 100: 1e-2}
"""Largest mean squared error of a forecast this many steps ahead, on held-out windows."""
FORECAST_REPORTED_HORIZONS = (1, 5, 20, 50, 100, 200)
"""Horizons each report gives; only those in FORECAST_MSE have a target."""
