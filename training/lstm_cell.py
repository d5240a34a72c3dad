"""A hand-written LSTM cell, for reading and for `--cell scratch`.

One fused matmul gives the gates i, f, o and the input z:
    [i, f, o, z] = [x, h] · W + b
    c' = σ(f)·c + σ(i)·tanh(z)
    h' = σ(o)·c'          (no tanh on the output, unlike Keras' LSTM)

With `recurrent_l2`, the kernel's rows that read h start at zero and carry an L2 penalty: for a
cell whose state is a counter, any feedback from h grows with the count, so the gates should
only use it where it pays.
"""

from __future__ import annotations

import keras
from keras import ops


def _forget_bias(units: int, value: float):
    """Bias initialiser: zeros, except `value` for the forget gate (remember by default)."""

    def initialise(shape, dtype=None):
        return ops.concatenate(
            [ops.zeros((units,)), ops.full((units,), value), ops.zeros((2 * units,))]
        )

    return initialise


def _input_rows_only(features: int):
    """Kernel initialiser: Glorot for the rows that read x, zeros for those that read h."""

    def initialise(shape, dtype=None):
        glorot = keras.initializers.GlorotUniform()(shape, dtype)
        return ops.concatenate([glorot[:features], ops.zeros_like(glorot[features:])])

    return initialise


def _recurrent_rows_l2(features: int, factor: float):
    """Regulariser: L2 on the rows that read h only."""
    return lambda kernel: factor * ops.sum(ops.square(kernel[features:]))


@keras.saving.register_keras_serializable(package="training")
class ScratchLSTMCell(keras.layers.Layer):
    """The LSTM cell above, usable inside `keras.layers.RNN`."""

    def __init__(
        self, units: int, forget_bias: float = 1.0, recurrent_l2: float | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.units = units
        self.forget_bias = forget_bias
        self.recurrent_l2 = recurrent_l2
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(features + self.units, 4 * self.units),
            initializer=_input_rows_only(features) if self.recurrent_l2 else "glorot_uniform",
            regularizer=_recurrent_rows_l2(features, self.recurrent_l2)
            if self.recurrent_l2
            else None,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(4 * self.units,),
            initializer=_forget_bias(self.units, self.forget_bias),
            name="bias",
        )

    def call(self, inputs, states):
        h, c = states
        gates = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel) + self.bias
        i, f, o, z = ops.split(gates, 4, axis=-1)
        c_next = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(z)
        h_next = ops.sigmoid(o) * c_next
        return h_next, [h_next, c_next]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "forget_bias": self.forget_bias,
            "recurrent_l2": self.recurrent_l2,
        }


def recurrent_layer(cell: str, units: int, **kwargs) -> keras.layers.Layer:
    """An LSTM layer of the chosen implementation: 'keras' (cuDNN-capable) or 'scratch'."""
    if cell == "keras":
        return keras.layers.LSTM(units, **kwargs)
    if cell == "scratch":
        return keras.layers.RNN(ScratchLSTMCell(units), **kwargs)
    raise ValueError(f"unknown cell {cell!r}: expected 'keras' or 'scratch'")
