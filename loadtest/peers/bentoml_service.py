"""The digit classifier served by BentoML (run by `make bench` from `.peers/bentoml`):

    PEER_MODEL_DIR=models/digit_classifier/1 PEER_BATCH_SIZES=1,2,4,8,16,32,64 \
        .peers/bentoml/bin/bentoml serve loadtest.peers.bentoml_service:Digits --port 3000

Configured as BentoML's adaptive-batching docs describe: a batchable API (requests merged along
axis 0, up to the largest size in PEER_BATCH_SIZES) and one worker per core. Batches are padded
to the next size in PEER_BATCH_SIZES, each warmed up at start, as the project's server does,
so the XLA-compiled model never compiles while it is measured. POST /v1/digits takes the
gateway's body, {"images": [28×28 numbers]}, and answers the class probabilities.
"""

from __future__ import annotations

import os

import bentoml
import numpy as np

BATCH_SIZES = tuple(int(size) for size in os.environ.get("PEER_BATCH_SIZES", "1").split(","))


def padded(images: np.ndarray) -> np.ndarray:
    """`images` repeated at the end up to the next size in BATCH_SIZES."""
    rows = len(images)
    size = next((s for s in BATCH_SIZES if s >= rows), rows)
    return np.concatenate([images, np.repeat(images[:1], size - rows, axis=0)])


@bentoml.service(workers=os.cpu_count() or 1, traffic={"timeout": 30})
class Digits:
    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf
        model = tf.saved_model.load(os.environ["PEER_MODEL_DIR"])
        self.signature = model.signatures["serving_default"]
        for size in BATCH_SIZES:
            self.probabilities(np.zeros((size, 28, 28), np.float32))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        batch = self.tf.constant(padded(images.astype(np.float32)))
        return self.signature(images=batch)["probabilities"].numpy()[: len(images)]

    @bentoml.api(route="/v1/digits", batchable=True, max_batch_size=BATCH_SIZES[-1])
    def digits(self, images: np.ndarray) -> np.ndarray:
        return self.probabilities(images)
