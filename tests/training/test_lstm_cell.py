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


def test_gates_that_do_not_read_h_make_a_saturated_counter_linear_at_any_length():
    cell = ScratchLSTMCell(2, forget_bias=30.0, gates_read_h=False)
    cell.build((None, 1))
    assert tuple(cell.kernel.shape) == (1, 8)
    rng = np.random.default_rng(1)
    cell.kernel.assign(rng.normal(size=(1, 8)).astype(np.float32))
    bias = rng.normal(size=8).astype(np.float32)
    bias[2:4] = 30.0  # forget gates saturated
    cell.bias.assign(bias)
    ones, zeros = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    _, (_, c_one) = cell(ones, [zeros.repeat(2, 1)] * 2)
    _, (_, c_zero) = cell(zeros, [zeros.repeat(2, 1)] * 2)
    bits = rng.integers(0, 2, 500)
    h = c = np.zeros((1, 2), np.float32)
    for bit in bits:
        h, (_, c) = cell(ones if bit else zeros, [h, c])
    expected = bits.sum() * np.asarray(c_one) + (len(bits) - bits.sum()) * np.asarray(c_zero)
    np.testing.assert_allclose(np.asarray(c), expected, rtol=1e-4)
