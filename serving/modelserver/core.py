"""The model server's transport-agnostic core: resolve a model spec, run, measure.

The gRPC servicers and REST handlers only convert formats and delegate here, as TF Serving's
REST handler calls the same implementations as its gRPC service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from serving.modelserver import inference
from serving.modelserver.batching import BatchingSession
from serving.modelserver.errors import InvalidArgument, code_name
from serving.modelserver.manager import ModelManager, VersionStatus
from serving.modelserver.metrics import ServerMetrics
from serving.modelserver.servable import SavedModelBundle

InputCheck = Callable[[Mapping], None]
"""A protocol's own check of a request's inputs against the signature's input map, run on the
version that answers (the V2 datatype check)."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model, which version (a number, a label, or the latest), which signature."""

    name: str
    version: int | None = None
    label: str | None = None
    signature_name: str = ""


@dataclass(frozen=True)
class Servable:
    """A loaded version: its bundle, and the session requests run through (the bundle
    itself, or a batching session around it)."""

    bundle: SavedModelBundle
    session: object

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def version(self) -> int:
        return self.bundle.version

    @property
    def signatures(self):
        return self.bundle.signatures


@dataclass(frozen=True)
class Answer:
    """What answered: the version and the signature (empty → serving_default), and the result."""

    version: int
    signature_name: str
    result: object


class ModelServerCore:
    def __init__(self, manager: ModelManager, metrics: ServerMetrics, options: inference.Options):
        self.manager = manager
        self.metrics = metrics
        self.options = options

    def predict(
        self,
        spec: ModelSpec,
        inputs: dict[str, np.ndarray],
        output_filter: Sequence[str] = (),
        deadline: float | None = None,
        check_inputs: InputCheck | None = None,
    ) -> Answer:
        """RunPredict; the result is the outputs by alias."""
        with self._measured(spec, "Predict") as call:
            plan = self._predict_plan(call.servable, spec, inputs, output_filter, check_inputs)
            return call.answer(plan.outputs(call.run(plan.feeds, plan.fetches, deadline)))

    async def predict_async(
        self,
        spec: ModelSpec,
        inputs: dict[str, np.ndarray],
        output_filter: Sequence[str] = (),
        deadline: float | None = None,
        executor: Executor | None = None,
        check_inputs: InputCheck | None = None,
    ) -> Answer:
        """`predict` for a caller on an event loop: a batching session answers without
        holding a thread; any other session runs on `executor`."""
        with self._measured(spec, "Predict") as call:
            plan = self._predict_plan(call.servable, spec, inputs, output_filter, check_inputs)
            values = await call.run_async(plan.feeds, plan.fetches, deadline, executor)
            return call.answer(plan.outputs(values))

    def classify(self, spec: ModelSpec, examples: list[bytes], deadline=None) -> Answer:
        """RunClassify; the result is (label, score) per class, per example."""
        return self._on_examples(spec, "Classify", inference.classify, examples, deadline)

    def regress(self, spec: ModelSpec, examples: list[bytes], deadline=None) -> Answer:
        """RunRegress; the result is one value per example."""
        return self._on_examples(spec, "Regress", inference.regress, examples, deadline)

    def multi_inference(
        self,
        tasks: Sequence[tuple[ModelSpec, str]],
        examples: list[bytes],
        deadline: float | None = None,
    ) -> Answer:
        """One version (the first task's spec resolves it) runs every (spec, method) task."""
        spec = tasks[0][0] if tasks else ModelSpec("")
        plan = [(s.name, s.signature_name, method) for s, method in tasks]
        self._count_examples(spec.name, examples)
        return self._call(
            ModelSpec(spec.name, spec.version, spec.label),
            "MultiInference",
            deadline,
            lambda servable, run: inference.multi_inference(
                servable.signatures, run, plan, examples, self.options
            ),
        )

    def metadata(self, spec: ModelSpec) -> Servable:
        return self.manager.resolve(spec.name, spec.version, spec.label)

    def signature_inputs(self, spec: ModelSpec):
        """The signature's input map (HttpRestApiHandler::GetInfoMap), for the REST parser."""
        servable = self.manager.resolve(spec.name, spec.version, spec.label)
        key = inference.signature_key(spec.signature_name)
        if key not in servable.signatures:
            raise InvalidArgument(f'Serving signature name: "{key}" not found in signature def')
        return servable.signatures[key].inputs

    def status(self, spec: ModelSpec) -> list[VersionStatus]:
        """GetModelStatus: the version's state, or every version's; labels are not consulted."""
        return self.manager.statuses(spec.name, spec.version)

    def _predict_plan(
        self, servable, spec, inputs, output_filter, check_inputs
    ) -> inference.PredictPlan:
        plan = inference.predict_plan(
            servable.signatures, spec.signature_name, inputs, output_filter, self.options
        )
        if check_inputs is not None:
            check_inputs(servable.signatures[inference.signature_key(spec.signature_name)].inputs)
        return plan

    def _call(self, spec: ModelSpec, api: str, deadline, work) -> Answer:
        with self._measured(spec, api) as call:
            return call.answer(
                work(call.servable, lambda feeds, fetches: call.run(feeds, fetches, deadline))
            )

    @contextlib.contextmanager
    def _measured(self, spec: ModelSpec, api: str):
        """A _Call on the version `spec` resolves to; its outcome and latency are recorded."""
        started = time.perf_counter()
        servable, error = None, None
        self.metrics.seqserve_in_flight.increment(spec.name)
        try:
            servable = self.manager.resolve(spec.name, spec.version, spec.label)
            yield _Call(self.metrics, spec, api, servable)
        except BaseException as failure:
            error = failure
            raise
        finally:
            self.metrics.seqserve_in_flight.increment(spec.name, by=-1)
            labels = (
                spec.name,
                servable.version if servable else spec.version or "",
                inference.signature_key(spec.signature_name),
                api,
                code_name(error),
            )
            self.metrics.seqserve_requests.increment(*labels)
            self.metrics.seqserve_latency.add(time.perf_counter() - started, *labels)

    def _on_examples(self, spec: ModelSpec, api: str, call, examples, deadline) -> Answer:
        self._count_examples(spec.name, examples)
        return self._call(
            spec,
            api,
            deadline,
            lambda servable, run: call(
                servable.signatures, run, spec.signature_name, examples, self.options
            ),
        )

    def _count_examples(self, model: str, examples: list[bytes]) -> None:
        if examples:
            self.metrics.example_counts.add(len(examples), model)
            self.metrics.example_count_total.increment(model, by=len(examples))


@dataclass(frozen=True)
class _Call:
    """One inference call on a resolved version: runs its session, times each run."""

    metrics: ServerMetrics
    spec: ModelSpec
    api: str
    servable: Servable

    def answer(self, result) -> Answer:
        signature = inference.signature_key(self.spec.signature_name)
        return Answer(self.servable.version, signature, result)

    def run(self, feeds, fetches, deadline):
        started = time.perf_counter()
        try:
            return self.servable.session.run(feeds, fetches, deadline)
        finally:
            self._record_runtime(started)

    async def run_async(self, feeds, fetches, deadline, executor):
        started = time.perf_counter()
        session = self.servable.session
        try:
            if isinstance(session, BatchingSession):
                return await session.submit(feeds, fetches, deadline)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(executor, session.run, feeds, fetches, deadline)
        finally:
            self._record_runtime(started)

    def _record_runtime(self, started: float) -> None:
        micros = (time.perf_counter() - started) * 1e6
        self.metrics.runtime_latency.add(micros, self.spec.name, self.api, "TF1")
