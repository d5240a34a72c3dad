"""mean_regressor: a linear layer fitted by least squares to random rows and their means."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from contract.models import MEAN_REGRESSOR, MEAN_WIDTH
from training.settings import TrainSettings
from training.signatures import input_specs
from training.trained import TrainedModel

(VALUES_SPEC,) = input_specs(MEAN_REGRESSOR)


class MeanServing(tf.Module):
    def __init__(self, weights: np.ndarray):
        super().__init__()
        self.weights = tf.Variable(weights.astype(np.float32))

    @tf.function(input_signature=[VALUES_SPEC])
    def mean(self, values):
        return {"mean": tf.linalg.matvec(values, self.weights)}


def train(settings: TrainSettings) -> TrainedModel:
    rng = np.random.default_rng(settings.seed)
    rows = rng.normal(size=(settings.pick("batch_size", 4096, 256), MEAN_WIDTH))
    weights, *_ = np.linalg.lstsq(rows, rows.mean(axis=1), rcond=None)
    serving = MeanServing(weights)
    held_out = rng.normal(size=(256, MEAN_WIDTH)).astype(np.float32)
    error = np.abs(serving.mean(held_out)["mean"].numpy() - held_out.mean(axis=1)).max()
    return TrainedModel(
        contract=MEAN_REGRESSOR,
        module=serving,
        signatures={"serving_default": serving.mean},
        warmup_requests=[("serving_default", {"values": held_out[:size]}) for size in (1, 8)],
        report={"model": MEAN_REGRESSOR.name, "metrics": {"max_abs_error": float(error)}},
    )
