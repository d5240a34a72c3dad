"""The model server's transport-agnostic core: resolve a model spec, run, time, count.

The gRPC servicers and REST handlers only convert formats and delegate here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from serving.modelserver.batching import BatchingOptions, BatchQueue
from serving.modelserver.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument
from serving.modelserver.manager import ModelManager, VersionStatus
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.servable import DEFAULT_SIGNATURE, Servable

CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"


@dataclass(frozen=True)
class ModelSpec:
    """Which model, which version (a number, a label, or the latest), which signature."""

    name: str
    version: int | None = None
    label: str | None = None
    signature_name: str = ""


@dataclass(frozen=True)
class Prediction:
    servable: Servable
    signature_name: str
    outputs: dict[str, np.ndarray]


class ModelServerCore:
    def __init__(
        self,
        manager: ModelManager,
        metrics: ServerMetrics,
        batching: BatchingOptions | None = None,
    ):
        self.manager = manager
        self.metrics = metrics
        self.batching = batching
        self._queues: dict[str, BatchQueue] = {}
        self._queues_lock = threading.Lock()

    def predict(
        self,
        spec: ModelSpec,
        inputs: dict[str, np.ndarray],
        output_filter=(),
        deadline: float | None = None,
    ) -> Prediction:
        """Run a signature; `deadline` is a time.monotonic() value after which to give up."""
        signature_name = spec.signature_name or DEFAULT_SIGNATURE
        with self._observed(spec, "predict") as servable:
            servable.signature(signature_name)
            outputs = self._run(servable, signature_name, inputs, tuple(output_filter), deadline)
            return Prediction(servable, signature_name, outputs)

    def classify(self, spec: ModelSpec, examples: list[bytes], deadline=None) -> Prediction:
        """Run a classify signature on serialized tf.Examples: `classes` and/or `scores`."""
        return self._run_examples(spec, examples, CLASSIFY_METHOD, "classify", deadline)

    def regress(self, spec: ModelSpec, examples: list[bytes], deadline=None) -> Prediction:
        """Run a regress signature on serialized tf.Examples: `outputs`."""
        return self._run_examples(spec, examples, REGRESS_METHOD, "regress", deadline)

    def metadata(self, spec: ModelSpec) -> Servable:
        with self._observed(spec, "metadata") as servable:
            return servable

    def status(self, spec: ModelSpec) -> list[VersionStatus]:
        """Statuses of a model's versions: all, one version, or the one a label points at."""
        version = spec.version
        if spec.label:
            version = self.manager.labels(spec.name).get(spec.label)
            if version is None:
                raise InvalidArgument(f"Unrecognized servable version label: {spec.label}")
        return self.manager.statuses(spec.name, version)

    def close(self) -> None:
        for queue in self._queues.values():
            queue.close()

    def _run_examples(
        self, spec: ModelSpec, examples: list[bytes], method: str, api: str, deadline: float | None
    ):
        signature_name = spec.signature_name or DEFAULT_SIGNATURE
        with self._observed(spec, api) as servable:
            signature = servable.signature(signature_name)
            if signature.method_name != method:
                raise FailedPrecondition(
                    f"Expected {api} signature method_name to be {method}. "
                    f"Was: {signature.method_name}"
                )
            if not examples:
                raise InvalidArgument("Input is empty.")
            (alias,) = signature.inputs
            inputs = {alias: np.array(examples, dtype=object)}
            outputs = self._run(servable, signature_name, inputs, (), deadline)
            return Prediction(servable, signature_name, outputs)

    def _run(self, servable: Servable, signature_name: str, inputs, output_filter, deadline):
        def run(batch):
            return servable.run(signature_name, batch, output_filter)

        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded("Deadline exceeded before the model ran")
        if self.batching is None:
            return run(inputs)
        key = f"{servable.name}:{signature_name}:{','.join(output_filter)}"
        with self._queues_lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = BatchQueue(key, self.batching, self.metrics.observe_batch)
                self._queues[key] = queue
        return queue.submit(servable, run, inputs, deadline)

    @contextmanager
    def _observed(self, spec: ModelSpec, api: str) -> Iterator[Servable]:
        started = time.perf_counter()
        servable = None
        try:
            servable = self.manager.resolve(spec.name, spec.version, spec.label)
            yield servable
        except BaseException as error:
            self._record(spec, servable, api, error, started)
            raise
        self._record(spec, servable, api, None, started)

    def _record(self, spec, servable, api, error, started) -> None:
        version = servable.version if servable else spec.version
        self.metrics.observe_request(
            spec.name,
            version,
            spec.signature_name or DEFAULT_SIGNATURE,
            api,
            error,
            time.perf_counter() - started,
        )
