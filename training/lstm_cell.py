"""A hand-written LSTM cell, for reading and for `--cell scratch`.

One fused matmul gives the gates i, f, o and the input z:
    [i, f, o, z] = [x, h] · W + b
    c' = σ(f)·c + σ(i)·tanh(z)
    h' = σ(o)·c'          (no tanh on the output, unlike Keras' LSTM)

With `gates_read_h=False` the gates read x alone ([i f o z] = x·W + b): the state lives in c,
and for a counter that is what keeps it exact. With f saturated, c is then a fixed linear
function of how many of each input it has seen, however long the sequence; a gate that reads h
sees a value that grows with the count and bends the count wherever training never went.
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


@keras.saving.register_keras_serializable(package="training")
class ScratchLSTMCell(keras.layers.Layer):
    """The LSTM cell above, usable inside `keras.layers.RNN`."""

    def __init__(self, units: int, forget_bias: float = 1.0, gates_read_h: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.forget_bias = forget_bias
        self.gates_read_h = gates_read_h
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(features + (self.units if self.gates_read_h else 0), 4 * self.units),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(4 * self.units,),
            initializer=_forget_bias(self.units, self.forget_bias),
            name="bias",
        )

    def call(self, inputs, states):
        h, c = states
        read = ops.concatenate([inputs, h], axis=-1) if self.gates_read_h else inputs
        gates = ops.matmul(read, self.kernel) + self.bias
        i, f, o, z = ops.split(gates, 4, axis=-1)
        c_next = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(z)
        h_next = ops.sigmoid(o) * c_next
        return h_next, [h_next, c_next]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "forget_bias": self.forget_bias,
            "gates_read_h": self.gates_read_h,
        }


def recurrent_layer(cell: str, units: int, **kwargs) -> keras.layers.Layer:
    """An LSTM layer of the chosen implementation: 'keras' (cuDNN-capable) or 'scratch'."""
    if cell == "keras":
        return keras.layers.LSTM(units, **kwargs)
    if cell == "scratch":
        return keras.layers.RNN(ScratchLSTMCell(units), **kwargs)
    raise ValueError(f"unknown cell {cell!r}: expected 'keras' or 'scratch'")
