"""sum_regressor: an LSTM that counts the ones in a 0/1 sequence of length 1–64.

Sequences of mixed lengths share a batch, right-padded with -1 and masked. The model is trained
to emit the running count after every step (64 targets per sequence instead of one), and the
count after the last real step is the answer. It uses the scratch LSTM cell, whose output
h' = o·c' has no tanh: the cell state is a linear counter, so the output is too.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from contract.models import MAX_LENGTH, PAD_VALUE, SUM_REGRESSOR
from training.data.sequences import random_batch
from training.lstm_cell import ScratchLSTMCell
from training.report import plot_learning_curves, save_figure
from training.settings import TrainSettings
from training.signatures import input_specs
from training.trained import TrainedModel

NAME = SUM_REGRESSOR.name
TOLERANCE = 0.05
EVAL_SETS = {"length_10": (10, 10), "lengths_1_64": (1, 64), "lengths_65_128": (65, 128)}
EVAL_SEQUENCES = 10_000
FORGET_BIAS = 5.0
"""Initial forget-gate bias: σ(5) ≈ 0.993, so the counter starts out barely leaking."""
(SEQUENCES_SPEC,) = input_specs(SUM_REGRESSOR)


def build_model(units: int, forget_bias: float) -> keras.Model:
    """sequences (batch, time), -1-padded → running count after each step (batch, time, 1)."""
    sequences = keras.Input((None,), name="sequences")
    steps = keras.layers.Masking(PAD_VALUE)(keras.layers.Reshape((-1, 1))(sequences))
    cell = ScratchLSTMCell(units, forget_bias=forget_bias)
    hidden = keras.layers.RNN(cell, return_sequences=True, name="lstm")(steps)
    counts = keras.layers.Dense(1, name="count")(hidden)
    return keras.Model(sequences, counts, name=NAME)


class SumServing(tf.Module):
    """The exported signature: masked steps carry the count, so the last column is the sum.
    Compiled with XLA when `jit_compile`."""

    def __init__(self, model: keras.Model, jit_compile: bool = True):
        super().__init__()
        self.model = model
        self.count = tf.function(
            self._count, input_signature=[SEQUENCES_SPEC], jit_compile=jit_compile
        )

    def _count(self, sequences):
        return {"sum": self.model(sequences, training=False)[:, -1, 0]}


def train(settings: TrainSettings) -> TrainedModel:
    """Train on freshly generated batches; evaluate on held-out sequences of three length ranges."""
    hyper = {
        "units": 8,
        "forget_bias": FORGET_BIAS,
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
    started = time.perf_counter()
    history = model.fit(
        _running_count_batches(np.random.default_rng(settings.seed), hyper["batch_size"]),
        steps_per_epoch=hyper["steps_per_epoch"],
        epochs=hyper["epochs"],
        shuffle=False,
        verbose=1 if settings.progress else 0,
    ).history
    training_seconds = time.perf_counter() - started

    serving = SumServing(model, settings.jit_compile)
    metrics = evaluate(serving, np.random.default_rng(settings.seed + 1))
    report = {
        "model": NAME,
        "metrics": metrics,
        "training_seconds": round(training_seconds, 1),
        "data": {"source": "random 0/1 sequences, numpy PCG64", "sha256": "n/a"},
        "hyperparameters": hyper,
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
    }
    sizes = settings.warmup_batch_sizes
    examples, _ = random_batch(np.random.default_rng(settings.seed + 2), max(sizes), 1, MAX_LENGTH)
    width = MAX_LENGTH - examples.shape[1]  # the width every client pads to (see README)
    examples = np.pad(examples, [(0, 0), (0, width)], constant_values=PAD_VALUE)
    return TrainedModel(
        contract=SUM_REGRESSOR,
        module=serving,
        signatures={"serving_default": serving.count},
        warmup_requests=[("serving_default", {"sequences": examples[:batch]}) for batch in sizes],
        report=report,
        plots={
            "learning_curves.png": plot_learning_curves(history, NAME),
            "error_by_length.png": _plot_error_by_length(serving),
        },
    )


def evaluate(serving: SumServing, rng: np.random.Generator) -> dict:
    """Share of predictions within ±0.05 of the true sum, mean and worst error, per length range."""
    metrics = {}
    for name, (shortest, longest) in EVAL_SETS.items():
        sequences, sums = random_batch(rng, EVAL_SEQUENCES, shortest, longest)
        errors = np.abs(_predict(serving, sequences) - sums)
        metrics[name] = {
            "within_tolerance": float(np.mean(errors < TOLERANCE)),
            "mean_abs_error": float(errors.mean()),
            "max_abs_error": float(errors.max()),
        }
    metrics["tolerance"] = TOLERANCE
    metrics["targets"] = {"length_10": 0.999, "lengths_1_64": 0.995}
    metrics["held_out_sequences_per_set"] = EVAL_SEQUENCES
    return metrics


def _running_count_batches(rng: np.random.Generator, batch_size: int) -> tf.data.Dataset:
    """Endless batches of padded sequences and the running count after each step."""

    def generate():
        while True:
            sequences, _ = random_batch(rng, batch_size, 1, MAX_LENGTH)
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
    """Mean and worst absolute error against sequence length, 1–128 (trained on 1–64)."""

    def draw(path):
        import matplotlib.pyplot as plt

        rng = np.random.default_rng(0)
        lengths = np.arange(1, 129)
        mean_error, worst_error = [], []
        for length in lengths:
            sequences, sums = random_batch(rng, 200, length, length)
            errors = np.abs(_predict(serving, sequences) - sums)
            mean_error.append(errors.mean())
            worst_error.append(errors.max())
        fig, axis = plt.subplots(figsize=(7, 3.5))
        axis.plot(lengths, mean_error, label="mean |error|")
        axis.plot(lengths, worst_error, label="max |error|")
        axis.axhline(TOLERANCE, color="grey", linestyle="--", label="tolerance 0.05")
        axis.axvline(MAX_LENGTH, color="black", linestyle=":", label="longest trained length")
        axis.set(xlabel="sequence length", ylabel="absolute error", yscale="log")
        axis.set_title("sum_regressor: error against length")
        axis.legend()
        save_figure(fig, path)

    return draw
