"""The export contract, checked on quick models produced by the real training code."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from contract.layout import WARMUP_FILE
from contract.models import MODELS, WINDOW
from serving.processes import REPO
from tests.support.graph_session import run_in_graph_session
from training.data.mnist import load_mnist
from training.data.sequences import random_batch
from training.data.series import random_windows
from training.warmup import read_warmup_records


def load(models_dir, name):
    return tf.saved_model.load(str(models_dir / name / "1"))


def spec_summary(specs):
    return {name: (spec.dtype, spec.shape.as_list()) for name, spec in specs.items()}


def contract_summary(tensors):
    return {alias: (tf.as_dtype(t.dtype), list(t.shape)) for alias, t in tensors.items()}


@pytest.mark.parametrize("name", MODELS)
def test_signatures_have_named_inputs_and_outputs_with_dynamic_batch(models_dir, name):
    assert sorted(p.name for p in (models_dir / name).iterdir()) == ["1"]
    signatures = load(models_dir, name).signatures
    assert set(signatures) == set(MODELS[name].signatures)
    for signature_name, expected in MODELS[name].signatures.items():
        function = signatures[signature_name]
        assert spec_summary(function.structured_input_signature[1]) == contract_summary(
            expected.inputs
        )
        assert spec_summary(function.structured_outputs) == contract_summary(expected.outputs)


@pytest.mark.parametrize("name", MODELS)
def test_warmup_records_replay_alike_in_eager_and_in_tf_servings_graph_session(models_dir, name):
    version = models_dir / name / "1"
    logs = read_warmup_records(version / "assets.extra" / WARMUP_FILE)
    signatures = load(models_dir, name).signatures
    covered = [log.predict_log.request.model_spec.signature_name for log in logs]
    assert sorted(set(covered)) == sorted(MODELS[name].signatures)
    assert all(covered.count(s) >= 2 for s in MODELS[name].signatures)
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == name
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        eager = signatures[request.model_spec.signature_name](**inputs)
        graph = run_in_graph_session(version, request.model_spec.signature_name, **inputs)
        for alias, value in eager.items():
            np.testing.assert_allclose(graph[alias], value.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_evaluation_report_and_plots(models_dir, name):
    extra = models_dir / name / "1" / "assets.extra"
    report = json.loads((extra / "evaluation.json").read_text())
    assert report["model"] == name
    assert {"metrics", "training_seconds", "data", "hyperparameters", "history"} <= set(report)
    assert report["hyperparameters"]["seed"] == 42
    assert {"source", "sha256"} <= set(report["data"])
    plots = sorted(extra.glob("*.png"))
    assert "learning_curves.png" in [p.name for p in plots]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in plots)


def test_saved_model_cli_shows_the_signatures(models_dir):
    command = [
        sys.executable,
        "-m",
        "tensorflow.python.tools.saved_model_cli",
        "show",
        "--all",
        "--dir",
        str(models_dir / "digit_classifier" / "1"),
    ]
    shown = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for text in (
        "signature_def['per_row']",
        "signature_def['serving_default']",
        "inputs['images']",
        "outputs['row_probabilities']",
        "shape: (-1, 28, 28)",
    ):
        assert text in shown


def test_sum_regressor_beats_guessing_half_the_length(models_dir):
    sequences, sums = random_batch(np.random.default_rng(123), 2000, 1, 32)
    predicted = (
        load(models_dir, "sum_regressor")
        .signatures["serving_default"](sequences=tf.constant(sequences))["sum"]
        .numpy()
    )
    guess = (sequences >= 0).sum(axis=1) / 2
    assert np.abs(predicted - sums).mean() < 0.5 * np.abs(guess - sums).mean()


def test_digit_classifier_beats_chance_and_rows_end_in_the_prediction(models_dir):
    x_test, y_test = load_mnist(REPO / "data").test
    signatures = load(models_dir, "digit_classifier").signatures
    images = tf.constant(x_test[:500])
    result = signatures["serving_default"](images=images)
    assert np.mean(result["classes"].numpy() == y_test[:500]) > 0.5
    rows = signatures["per_row"](images=images)["row_probabilities"].numpy()
    np.testing.assert_allclose(rows[:, -1], result["probabilities"].numpy(), atol=1e-5)
    np.testing.assert_allclose(rows.sum(axis=-1), 1.0, atol=1e-5)


def test_forecaster_beats_predicting_the_last_value(models_dir):
    _, windows = random_windows(np.random.default_rng(5), 500, WINDOW + 1)
    signature = load(models_dir, "forecaster").signatures["serving_default"]
    predicted = signature(window=tf.constant(windows[:, :WINDOW]))["next"].numpy()
    model_error = np.mean((predicted[:, -1] - windows[:, -1]) ** 2)
    persistence_error = np.mean((windows[:, -2] - windows[:, -1]) ** 2)
    assert model_error < 0.5 * persistence_error


def test_forecast_runs_the_loop_server_side_to_the_longest_horizon(models_dir):
    _, windows = random_windows(np.random.default_rng(6), 3, WINDOW)
    forecast = load(models_dir, "forecaster").signatures["forecast"]
    result = forecast(window=tf.constant(windows), horizon=tf.constant([5, 30, 12]))
    assert result["forecast"].shape == (3, 30)
    following = (
        load(models_dir, "forecaster")
        .signatures["serving_default"](window=tf.constant(windows))["next"]
        .numpy()
    )
    np.testing.assert_allclose(result["forecast"].numpy()[:, 0], following[:, -1], atol=1e-5)


@pytest.mark.parametrize("horizon", [0, 201])
def test_forecast_rejects_horizons_outside_1_to_200(models_dir, horizon):
    _, windows = random_windows(np.random.default_rng(6), 1, WINDOW)
    forecast = load(models_dir, "forecaster").signatures["forecast"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="horizon must be"):
        forecast(window=tf.constant(windows), horizon=tf.constant([horizon]))
