"""The digit classifier served by Ray Serve (run by `make bench` from `.peers/ray`):

    .peers/ray/bin/python -m loadtest.peers.ray_app --port 8000 \
        --model-dir models/digit_classifier/1 --batch-sizes 1,2,4,8,16,32,64

Configured as Ray Serve's dynamic-batching docs describe: `@serve.batch` with max_batch_size
the largest of --batch-sizes and its default wait, and `max_ongoing_requests` above the batch
size so a replica can fill a batch. One replica (the model's threads use both cores). Batches
are padded to the next of --batch-sizes, each warmed up at start, as the project's server does.
POST /v1/digits takes the gateway's body, {"images": [28×28 numbers]}, and answers the class
probabilities. Stops (Serve, then Ray) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

import numpy as np
import ray
from ray import serve
from starlette.requests import Request


@serve.deployment(max_ongoing_requests=256)
class Digits:
    def __init__(self, model_dir: str, batch_sizes: tuple[int, ...]):
        import tensorflow as tf

        self.tf = tf
        self.batch_sizes = batch_sizes
        self.signature = tf.saved_model.load(model_dir).signatures["serving_default"]
        self.predict.set_max_batch_size(batch_sizes[-1])
        for size in batch_sizes:
            self.probabilities(np.zeros((size, 28, 28), np.float32))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        rows = len(images)
        size = next((s for s in self.batch_sizes if s >= rows), rows)
        batch = np.concatenate([images, np.repeat(images[:1], size - rows, axis=0)])
        return self.signature(images=self.tf.constant(batch))["probabilities"].numpy()[:rows]

    @serve.batch
    async def predict(self, requests: list[np.ndarray]) -> list[list]:
        answers = self.probabilities(np.concatenate(requests))
        bounds = np.cumsum([len(images) for images in requests])[:-1]
        return [part.tolist() for part in np.split(answers, bounds)]

    async def __call__(self, request: Request) -> list:
        body = await request.json()
        return await self.predict(np.asarray(body["images"], dtype=np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16,32,64")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.batch_sizes.split(","))
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(Digits.bind(os.path.abspath(args.model_dir), sizes), route_prefix="/v1/digits")
    print(f"ray serve ready on 127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
