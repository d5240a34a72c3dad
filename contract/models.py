"""The served models' contract: names, signatures, tensor aliases, dtypes, shapes and limits.

The single source of these facts: training exports exactly these signatures (a test loads each
export and compares), and every client of a model builds its request from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from contract.spec import ModelContract, Signature, Tensor

MAX_LENGTH = 64
"""The longest 0/1 sequence the sum regressor is trained on; clients pad every batch this wide."""
PAD_VALUE = -1.0
"""Marks the end of a shorter sequence in a padded batch; the sum regressor masks it out."""
MAX_SERVED_LENGTH = 1024
"""The longest sequence the sum regressor's signature accepts from a TF Serving client (the
gateway keeps to MAX_LENGTH); counting is probed exact up to here. Longer is refused."""
COMPILED_WIDTHS = (MAX_LENGTH, MAX_SERVED_LENGTH)
"""The sum regressor pads each batch, in its graph, to the first of these at least as wide, so
XLA compiles one program per width and batch size — those warmup replays — whatever lengths
clients send: a new length costs no compile and no memory."""
MAX_BATCH_ROWS = 64
"""The most rows (sequences, images, series) one call carries: the model server's
max_batch_size (serving/config/batching.config); the client library splits larger batches."""
SIDE = 28
"""A digit image is SIDE × SIDE pixels in [0, 1]; the classifier reads it row by row."""
CLASSES = 10
WINDOW = 20
"""The forecaster reads the last WINDOW values of a series."""
MAX_HORIZON = 200
"""The longest forecast the `forecast` signature accepts."""

SUM_REGRESSOR = ModelContract(
    "sum_regressor",
    {
        "serving_default": Signature(
            inputs={"sequences": Tensor("float32", (None, None))},
            outputs={"sum": Tensor("float32", (None,))},
        ),
    },
)
DIGIT_CLASSIFIER = ModelContract(
    "digit_classifier",
    {
        "serving_default": Signature(
            inputs={"images": Tensor("float32", (None, SIDE, SIDE))},
            outputs={
                "probabilities": Tensor("float32", (None, CLASSES)),
                "classes": Tensor("int64", (None,)),
            },
        ),
        "per_row": Signature(
            inputs={"images": Tensor("float32", (None, SIDE, SIDE))},
            outputs={"row_probabilities": Tensor("float32", (None, SIDE, CLASSES))},
        ),
    },
)
FORECASTER = ModelContract(
    "forecaster",
    {
        "serving_default": Signature(
            inputs={"window": Tensor("float32", (None, WINDOW))},
            outputs={"next": Tensor("float32", (None, WINDOW))},
        ),
        "forecast": Signature(
            inputs={
                "window": Tensor("float32", (None, WINDOW)),
                "horizon": Tensor("int32", (None,)),
            },
            outputs={"forecast": Tensor("float32", (None, None))},
        ),
    },
)

MODELS = {model.name: model for model in (SUM_REGRESSOR, DIGIT_CLASSIFIER, FORECASTER)}
"""Every served model by name; training, the launcher and the tests iterate over it."""


def pad_sequences(
    sequences: Sequence[Sequence[float] | np.ndarray],
    pad_value: float = PAD_VALUE,
    min_width: int = 0,
) -> np.ndarray:
    """Right-pad variable-length sequences into one float32 matrix, at least `min_width` wide."""
    width = max(min_width, *(len(s) for s in sequences))
    batch = np.full((len(sequences), width), pad_value, dtype=np.float32)
    for row, sequence in zip(batch, sequences, strict=True):
        row[: len(sequence)] = sequence
    return batch


def last_windows(series: Sequence[Sequence[float]]) -> np.ndarray:
    """The last WINDOW values of each series, the forecaster's input (float32, (n, WINDOW))."""
    return np.asarray([list(values)[-WINDOW:] for values in series], np.float32)


def as_images(images) -> np.ndarray:
    """Images (any (n, 784) or (n, 28, 28) layout) as the classifier's float32 (n, 28, 28)."""
    return np.asarray(images, np.float32).reshape(-1, SIDE, SIDE)
