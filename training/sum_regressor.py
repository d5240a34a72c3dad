"""sum_regressor: an LSTM that counts the ones in a 0/1 sequence of length 1–64.

Sequences of mixed lengths share a batch, right-padded with -1 and masked. The model is trained
to emit the running count after every step (64 targets per sequence instead of one), and the
count after the last real step is the answer. It uses the scratch LSTM cell, whose output
h' = o·c' has no tanh: the cell state is a linear counter, so the output is too. Counting is
exact only if the counter never leaks and never bends: the forget gate starts saturated (σ(16)
keeps all but 1e-7 a step; at σ(12) all ones of length 128 already lose 0.05), the gates read
the input alone (`gates_read_h=False`: a gate reading h sees a value that grows with the count),
and the training mix holds every density, runs, all ones and all zeros.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from contract.models import (
    COMPILED_WIDTHS,
    MAX_LENGTH,
    MAX_SERVED_LENGTH,
    PAD_VALUE,
    SUM_REGRESSOR,
)
from training.data.sequences import constant_batch, random_batch, varied_batch
from training.lstm_cell import ScratchLSTMCell
from training.report import (
    Stopwatch,
    arrays_sha256,
    generated_data,
    plot_learning_curves,
    save_figure,
    training_report,
)
from training.settings import TrainSettings
from training.signatures import input_specs
from training.targets import SUM_SHARE_65_128, SUM_TOLERANCE
from training.trained import TrainedModel

NAME = SUM_REGRESSOR.name
EVAL_SEQUENCES = 10_000
LONGEST_PROBED = MAX_SERVED_LENGTH
"""Constant sequences are probed up to this length to find where counting breaks."""
FORGET_BIAS = 16.0
(SEQUENCES_SPEC,) = input_specs(SUM_REGRESSOR)


def build_model(units: int, forget_bias: float) -> keras.Model:
    """sequences (batch, time), -1-padded → running count after each step (batch, time, 1)."""
    sequences = keras.Input((None,), name="sequences")
    steps = keras.layers.Masking(PAD_VALUE)(keras.layers.Reshape((-1, 1))(sequences))
    cell = ScratchLSTMCell(units, forget_bias=forget_bias, gates_read_h=False)
    hidden = keras.layers.RNN(cell, return_sequences=True, name="lstm")(steps)
    counts = keras.layers.Dense(1, name="count")(hidden)
    return keras.Model(sequences, counts, name=NAME)


class SumServing(tf.Module):
    """The exported signature: masked steps carry the count, so the last column is the sum.
    The batch is right-padded (masked) to the first of COMPILED_WIDTHS at least as wide, and its
    length checked outside XLA (which drops assertions), before the count — compiled with XLA
    when `jit_compile` — so a new length never means a new compilation."""

    def __init__(self, model: keras.Model, jit_compile: bool = True):
        super().__init__()
        self.model = model
        self._counts = tf.function(self._count_padded, jit_compile=jit_compile)
        self.count = tf.function(self._count, input_signature=[SEQUENCES_SPEC])

    def _count(self, sequences):
        length = tf.shape(sequences)[1]
        check = tf.debugging.assert_less_equal(
            length,
            MAX_SERVED_LENGTH,
            message=f"sequences must be at most {MAX_SERVED_LENGTH} steps long",
        )
        widths = tf.constant(COMPILED_WIDTHS)
        with tf.control_dependencies([check]):
            width = tf.gather(widths, tf.reduce_sum(tf.cast(widths < length, tf.int32)))
        padded = tf.pad(sequences, [[0, 0], [0, width - length]], constant_values=PAD_VALUE)
        return {"sum": self._counts(padded)}

    def _count_padded(self, sequences):
        return self.model(sequences, training=False)[:, -1, 0]


def train(settings: TrainSettings) -> TrainedModel:
    """Train on freshly generated batches; evaluate on held-out sequences of three length ranges."""
    hyper = {
        "units": 8,
        "forget_bias": FORGET_BIAS,
        "gates_read_h": False,
        "epochs": settings.pick("epochs", full=12, quick=20),
        "steps_per_epoch": 100 if settings.quick else 500,
        "batch_size": settings.pick("batch_size", full=512, quick=64),
        "learning_rate": 2e-2,
        "clipnorm": 1.0,
        "seed": settings.seed,
    }
    model = build_model(hyper["units"], hyper["forget_bias"])
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(
                hyper["learning_rate"], hyper["epochs"] * hyper["steps_per_epoch"]
            ),
            clipnorm=hyper["clipnorm"],
        ),
        loss="mse",
    )
    with Stopwatch() as fit:
        history = model.fit(
            _running_count_batches(np.random.default_rng(settings.seed), hyper["batch_size"]),
            steps_per_epoch=hyper["steps_per_epoch"],
            epochs=hyper["epochs"],
            shuffle=False,
            verbose=1 if settings.progress else 0,
        ).history

    serving = SumServing(model, settings.jit_compile)
    metrics = evaluate(serving, np.random.default_rng(settings.seed + 1))
    data = generated_data(
        "0/1 sequences of every density, runs, all ones and all zeros "
        f"(training/data/sequences.py), numpy PCG64 seeded {settings.seed}",
        metrics,
        "the held-out evaluation sequences",
    )
    report = training_report(NAME, metrics, fit, data, hyper, history)
    sizes = settings.warmup_batch_sizes
    examples, _ = random_batch(np.random.default_rng(settings.seed + 2), max(sizes), 1, MAX_LENGTH)
    # 64 wide, as clients send, then one step past each compiled width but the last: each pads
    # to the next width in the graph, so replaying these compiles every width, in small records
    warmup = [
        ("serving_default", {"sequences": _pad_to(examples[:size], width)})
        for width in (MAX_LENGTH, *(w + 1 for w in COMPILED_WIDTHS[:-1]))
        for size in sizes
    ]
    return TrainedModel(
        contract=SUM_REGRESSOR,
        module=serving,
        signatures={"serving_default": serving.count},
        warmup_requests=warmup,
        report=report,
        plots={
            "learning_curves.png": plot_learning_curves(history, NAME),
            "error_by_length.png": _plot_error_by_length(serving),
        },
    )


def evaluate(serving: SumServing, rng: np.random.Generator) -> dict:
    """Errors on held-out sequences of random densities (lengths 1–64 and 65–128), on all ones
    and all zeros of every length 1–64, and the first constant length that misses SUM_TOLERANCE."""
    metrics: dict = {"tolerance": SUM_TOLERANCE}
    evaluated = []
    for name, (shortest, longest) in {"lengths_1_64": (1, 64), "lengths_65_128": (65, 128)}.items():
        sequences, sums = random_batch(rng, EVAL_SEQUENCES, shortest, longest)
        evaluated.append(sequences)
        metrics[name] = _errors(_predict(serving, sequences) - sums)
    for value in (0, 1):
        sequences, sums = constant_batch(value, np.arange(1, LONGEST_PROBED + 1))
        errors = np.abs(_predict(serving, sequences) - sums)
        metrics[f"all_{'ones' if value else 'zeros'}_1_64"] = _errors(errors[:MAX_LENGTH])
        missed = np.flatnonzero(errors >= SUM_TOLERANCE)
        metrics[f"all_{'ones' if value else 'zeros'}_first_miss"] = (
            int(missed[0]) + 1 if missed.size else None
        )
    metrics["held_out_sequences_per_set"] = EVAL_SEQUENCES
    metrics["held_out_sha256"] = arrays_sha256(*evaluated)
    metrics["targets"] = {
        "lengths_1_64": "every |error| < tolerance",
        "all_ones_1_64": "every |error| < tolerance",
        "all_zeros_1_64": "every |error| < tolerance",
        "lengths_65_128": f"share within tolerance >= {SUM_SHARE_65_128}",
    }
    return metrics


def _errors(errors: np.ndarray) -> dict[str, float]:
    errors = np.abs(errors)
    return {
        "within_tolerance": float(np.mean(errors < SUM_TOLERANCE)),
        "mean_abs_error": float(errors.mean()),
        "max_abs_error": float(errors.max()),
    }


def _pad_to(sequences: np.ndarray, width: int) -> np.ndarray:
    return np.pad(sequences, [(0, 0), (0, width - sequences.shape[1])], constant_values=PAD_VALUE)


def _running_count_batches(rng: np.random.Generator, batch_size: int) -> tf.data.Dataset:
    """Endless batches of padded sequences and the running count after each step."""

    def generate():
        while True:
            sequences, _ = varied_batch(rng, batch_size, 1, MAX_LENGTH)
            counts = np.cumsum(np.maximum(sequences, 0), axis=1, dtype=np.float32)
            yield sequences, counts[..., None]

    return tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec((None, None), tf.float32),
            tf.TensorSpec((None, None, 1), tf.float32),
        ),
    )


def _predict(serving: SumServing, sequences: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate(
        [
            serving.count(sequences[i : i + batch])["sum"].numpy()
            for i in range(0, len(sequences), batch)
        ]
    )


def _plot_error_by_length(serving: SumServing):
    """Worst absolute error against length: random densities 1–128 (trained on 1–64), and all
    ones and all zeros up to LONGEST_PROBED."""

    def draw(path):
        import matplotlib.pyplot as plt

        rng = np.random.default_rng(0)
        lengths = np.arange(1, 129)
        worst_error = []
        for length in lengths:
            sequences, sums = random_batch(rng, 200, length, length)
            worst_error.append(np.abs(_predict(serving, sequences) - sums).max())
        fig, axis = plt.subplots(figsize=(7, 3.5))
        axis.plot(lengths, worst_error, label="max |error|, 200 random sequences")
        constant_lengths = np.arange(1, LONGEST_PROBED + 1)
        for value, label in ((1, "all ones"), (0, "all zeros")):
            sequences, sums = constant_batch(value, constant_lengths)
            errors = np.abs(_predict(serving, sequences) - sums)
            axis.plot(constant_lengths, np.maximum(errors, 1e-7), label=f"|error|, {label}")
        axis.axhline(SUM_TOLERANCE, color="grey", linestyle="--", label="tolerance")
        axis.axvline(MAX_LENGTH, color="black", linestyle=":", label="longest trained length")
        axis.set(xlabel="sequence length", ylabel="absolute error", xscale="log", yscale="log")
        axis.set_title("sum_regressor: error against length")
        axis.legend(fontsize=7)
        save_figure(fig, path)

    return draw
