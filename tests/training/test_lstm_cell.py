import numpy as np
import pytest

from training.lstm_cell import ScratchLSTMCell, recurrent_layer


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference_step(x, h, c, kernel, bias):
    """The documented equations, in NumPy."""
    i, f, o, z = np.split(np.concatenate([x, h], axis=-1) @ kernel + bias, 4, axis=-1)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(z)
    return sigmoid(o) * c_next, c_next


def test_scratch_cell_matches_numpy_reference_over_a_sequence():
    rng = np.random.default_rng(0)
    cell = ScratchLSTMCell(5)
    cell.build((None, 3))
    kernel = rng.normal(size=(8, 20)).astype(np.float32)
    bias = rng.normal(size=20).astype(np.float32)
    cell.kernel.assign(kernel)
    cell.bias.assign(bias)
    xs = rng.normal(size=(6, 2, 3)).astype(np.float32)
    h = c = np.zeros((2, 5), np.float32)
    h_ref, c_ref = h, c
    for x in xs:
        output, (h, c) = cell(x, [h, c])
        h_ref, c_ref = reference_step(x, h_ref, c_ref, kernel, bias)
        np.testing.assert_allclose(np.asarray(output), h_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(c), c_ref, rtol=1e-5, atol=1e-6)


def test_output_has_no_tanh_so_it_can_exceed_one():
    cell = ScratchLSTMCell(1, forget_bias=50.0)
    cell.build((None, 1))
    cell.kernel.assign(np.zeros((2, 4), np.float32))
    cell.bias.assign(np.array([50.0, 50.0, 50.0, 50.0], np.float32))
    h = c = np.zeros((1, 1), np.float32)
    for _ in range(3):
        h, (_, c) = cell(np.ones((1, 1), np.float32), [h, c])
    np.testing.assert_allclose(np.asarray(h), [[3.0]], rtol=1e-5)


def test_forget_gate_bias_is_initialised_to_the_given_value():
    cell = ScratchLSTMCell(4, forget_bias=2.5)
    cell.build((None, 1))
    np.testing.assert_array_equal(np.asarray(cell.bias)[4:8], 2.5)
    np.testing.assert_array_equal(np.asarray(cell.bias)[:4], 0.0)


def test_unknown_cell_name_is_rejected():
    with pytest.raises(ValueError, match="unknown cell 'gru'"):
        recurrent_layer("gru", 4)


def test_recurrent_l2_starts_the_rows_that_read_h_at_zero_and_penalises_only_them():
    cell = ScratchLSTMCell(3, recurrent_l2=0.5)
    cell.build((None, 2))
    kernel = np.asarray(cell.kernel)
    assert np.abs(kernel[:2]).min() > 0
    np.testing.assert_array_equal(kernel[2:], 0.0)
    weights = np.arange(5 * 12, dtype=np.float32).reshape(5, 12) / 100
    cell.kernel.assign(weights)
    penalty = float(cell.kernel.regularizer(cell.kernel))
    np.testing.assert_allclose(penalty, 0.5 * np.square(weights[2:]).sum(), rtol=1e-5)
