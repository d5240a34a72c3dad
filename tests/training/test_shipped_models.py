"""The versions that ship in the repository (models/<name>/1), evaluated afresh on held-out data
generated or loaded here, against training/targets.py: a shipped model that misses a target, or
whose evaluation.json cannot say what trained it, fails the build."""

import json
import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from contract.layout import EXTRA_DIR, REPORT_FILE, SHIPPED_VERSION
from contract.models import MAX_LENGTH, MODELS, WINDOW
from serving.processes import REPO
from training.data.mnist import load_mnist
from training.data.sequences import constant_batch, random_batch
from training.data.series import random_windows
from training.targets import (
    DIGIT_TEST_ACCURACY,
    FORECAST_MSE,
    SUM_SHARE_65_128,
    SUM_TOLERANCE,
)

pytestmark = pytest.mark.integration
SEED = 20_261_123
"""Not a seed any training run uses: these sequences and windows are new to the models."""


def shipped(name: str):
    return tf.saved_model.load(str(REPO / "models" / name / str(SHIPPED_VERSION)))


def in_batches(function, *arrays, batch: int = 1000) -> np.ndarray:
    """`function` over slices of `arrays`, its single output concatenated."""
    outputs = []
    for start in range(0, len(arrays[0]), batch):
        (output,) = function(*(a[start : start + batch] for a in arrays)).values()
        outputs.append(output.numpy())
    return np.concatenate(outputs)


@pytest.fixture(scope="module")
def count():
    signature = shipped("sum_regressor").signatures["serving_default"]
    return lambda sequences: in_batches(lambda s: signature(sequences=s), sequences)


def test_sum_regressor_counts_every_random_sequence_of_lengths_1_to_64(count):
    sequences, sums = random_batch(np.random.default_rng(SEED), 10_000, 1, MAX_LENGTH)
    errors = np.abs(count(sequences) - sums)
    assert errors.max() < SUM_TOLERANCE, f"worst {errors.max():.3f} at sum {sums[errors.argmax()]}"


@pytest.mark.parametrize("value", [0, 1])
def test_sum_regressor_counts_all_ones_and_all_zeros_of_every_length_1_to_64(count, value):
    sequences, sums = constant_batch(value, np.arange(1, MAX_LENGTH + 1))
    errors = np.abs(count(sequences) - sums)
    assert errors.max() < SUM_TOLERANCE, f"length {errors.argmax() + 1}: off by {errors.max():.3f}"


def test_sum_regressor_counts_nearly_all_sequences_of_untrained_lengths_65_to_128(count):
    sequences, sums = random_batch(np.random.default_rng(SEED + 1), 10_000, 65, 128)
    within = np.mean(np.abs(count(sequences) - sums) < SUM_TOLERANCE)
    assert within >= SUM_SHARE_65_128


def test_digit_classifier_reaches_its_target_on_the_mnist_test_split():
    x_test, y_test = load_mnist(REPO / "data").test
    assert len(y_test) == 10_000
    classify = shipped("digit_classifier").signatures["serving_default"]
    probabilities = in_batches(
        lambda images: {"p": classify(images=images)["probabilities"]}, x_test
    )
    assert np.mean(probabilities.argmax(axis=1) == y_test) >= DIGIT_TEST_ACCURACY


@pytest.fixture(scope="module")
def forecast():
    return shipped("forecaster").signatures["forecast"]


@pytest.mark.parametrize("horizon", sorted(FORECAST_MSE))
def test_forecaster_reaches_its_target_at_each_horizon(forecast, horizon):
    _, windows = random_windows(np.random.default_rng(SEED + horizon), 1000, WINDOW + horizon)
    steps = np.full(len(windows), horizon, np.int32)
    predicted = forecast(window=windows[:, :WINDOW], horizon=steps)["forecast"].numpy()
    assert np.mean((predicted - windows[:, WINDOW:]) ** 2) <= FORECAST_MSE[horizon]


@pytest.mark.parametrize("name", MODELS)
def test_each_shipped_version_says_what_trained_it_and_on_what(name):
    extra = REPO / "models" / name / str(SHIPPED_VERSION) / EXTRA_DIR
    report = json.loads((extra / REPORT_FILE).read_text())
    commit = report["provenance"]["commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit)
    assert report["provenance"]["uncommitted_changes"] is False
    assert isinstance(report["hyperparameters"]["seed"], int)
    assert report["training_seconds"] > 0
    assert re.fullmatch(r"[0-9a-f]{64}", report["data"]["sha256"])
    assert list(extra.glob("*.png")), "no plots"
    known = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO, check=False)
    assert known.returncode == 0, f"{commit} is not in this repository's history"
