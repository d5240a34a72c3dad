"""The XLA-compiled exports: the same answers as the plain graphs on the same weights, marked for
compilation in the SavedModel (what TF Serving needs --xla_cpu_compilation_enabled for), and
runnable in TF Serving's graph session."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from contract.models import COMPILED_WIDTHS, MAX_SERVED_LENGTH, SUM_REGRESSOR
from tests.support.graph_session import run_in_graph_session
from training import digit_classifier, forecaster, sum_regressor
from training.export import export_version
from training.settings import TrainSettings
from training.trained import TrainedModel

pytestmark = pytest.mark.integration

RNG = np.random.default_rng(0)
WINDOWS = RNG.standard_normal((3, forecaster.WINDOW)).astype(np.float32)


def digits(jit):
    return digit_classifier.DigitServing(digit_classifier.build_row_model("keras", 8, 1), jit)


def sums(jit):
    return sum_regressor.SumServing(sum_regressor.build_model(4, sum_regressor.FORGET_BIAS), jit)


def forecasts(jit):
    return forecaster.ForecasterServing(forecaster.Forecaster(4), jit)


CASES = {
    "classify": (digits, "classify", {"images": RNG.random((3, 28, 28), np.float32)}),
    "per_row": (digits, "per_row", {"images": RNG.random((2, 28, 28), np.float32)}),
    "count": (sums, "count", {"sequences": RNG.integers(0, 2, (3, 64)).astype(np.float32)}),
    "next_values": (forecasts, "next_values", {"window": WINDOWS}),
    "forecast": (
        forecasts,
        "forecast",
        {"window": WINDOWS, "horizon": np.array([1, 7, 3], np.int32)},
    ),
}


def same_weights(make, method, inputs):
    """Two serving modules, XLA and plain, over one set of weights (copied once both are built
    by a first call)."""
    compiled, plain = make(True), make(False)
    for module in (compiled, plain):
        getattr(module, method)(**inputs)
    for name, value in vars(compiled).items():
        if isinstance(value, keras.Model):
            getattr(plain, name).set_weights(value.get_weights())
    return compiled, plain


@pytest.mark.parametrize("case", CASES)
def test_xla_signature_answers_like_the_plain_graph(case):
    make, method, inputs = CASES[case]
    compiled, plain = same_weights(make, method, inputs)
    expected = getattr(plain, method)(**inputs)
    actual = getattr(compiled, method)(**inputs)
    for alias in expected:
        np.testing.assert_allclose(actual[alias], expected[alias], rtol=1e-4, atol=1e-5)


def test_forecast_keeps_its_horizon_checks_under_xla():
    module = forecasts(True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="horizon must be at most"):
        module.forecast(
            window=WINDOWS[:1], horizon=np.array([forecaster.MAX_HORIZON + 1], np.int32)
        )


@pytest.fixture
def eager():
    """tf.functions run as Python, so a test sees the tensors one passes to another."""
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


LENGTHS = (1, 63, 64, 65, 300, MAX_SERVED_LENGTH)


def test_count_answers_any_length_up_to_the_longest_as_the_plain_graph():
    compiled, plain = same_weights(*CASES["count"])
    for length in LENGTHS:
        sequences = RNG.integers(0, 2, (2, length)).astype(np.float32)
        np.testing.assert_allclose(
            compiled.count(sequences)["sum"], plain.count(sequences)["sum"], rtol=1e-4, atol=1e-5
        )


def test_count_pads_every_length_to_a_compiled_width_and_refuses_longer(eager):
    module, widths = sums(True), []
    counts = module._counts
    module._counts = lambda padded: widths.append(padded.shape[1]) or counts(padded)
    for length in LENGTHS:
        module.count(RNG.integers(0, 2, (2, length)).astype(np.float32))
    assert widths == [64, 64, 64, 1024, 1024, 1024] and COMPILED_WIDTHS == (64, 1024)
    with pytest.raises(tf.errors.InvalidArgumentError, match="at most 1024 steps long"):
        module.count(np.ones((1, MAX_SERVED_LENGTH + 1), np.float32))


def test_settings_compile_full_exports_and_not_quick_ones_unless_asked():
    assert TrainSettings().jit_compile
    assert not TrainSettings(quick=True).jit_compile
    assert TrainSettings(quick=True, xla=True).jit_compile


def test_exported_xla_signature_is_marked_for_compilation_and_serves_in_a_graph_session(tmp_path):
    module = sums(True)
    inputs = {"sequences": RNG.integers(0, 2, (2, 64)).astype(np.float32)}
    expected = module.count(**inputs)["sum"].numpy()
    trained = TrainedModel(
        contract=SUM_REGRESSOR,
        module=module,
        signatures={"serving_default": module.count},
        warmup_requests=[("serving_default", inputs)],
        report={"metrics": {}},
    )
    version = export_version(trained, tmp_path)
    saved = tf.saved_model.load(str(version))
    library = saved.signatures["serving_default"].graph.as_graph_def().library
    assert any(f.attr["_XlaMustCompile"].b for f in library.function), (
        "no function of the export asks for XLA compilation"
    )
    served = run_in_graph_session(version, "serving_default", **inputs)
    np.testing.assert_allclose(served["sum"], expected, rtol=1e-4, atol=1e-5)
