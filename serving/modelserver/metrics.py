"""Prometheus metrics of the model server, in their own registry."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,  # noqa: F401  (re-exported for the REST adapter)
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from serving.modelserver.errors import ServingError

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ServerMetrics:
    """Requests by model, version, signature, API and status; batch sizes; model loads."""

    def __init__(self):
        self.registry = CollectorRegistry()
        labels = ("model_name", "model_version", "signature_name", "api", "status")
        self.requests = Counter(
            "tfserving_requests", "Requests handled", labels, registry=self.registry
        )
        self.latency = Histogram(
            "tfserving_request_latency_seconds",
            "Request latency",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "tfserving_batch_size",
            "Rows per batched call",
            ("queue",),
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.loads = Counter(
            "tfserving_model_loads",
            "Model version load attempts",
            ("model_name", "status"),
            registry=self.registry,
        )
        self.load_seconds = Histogram(
            "tfserving_model_load_seconds",
            "Model version load and warmup time",
            ("model_name",),
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=self.registry,
        )

    def observe_request(self, model, version, signature, api, error, seconds) -> None:
        status = "OK" if error is None else _code_name(error)
        labels = (model or "", str(version or ""), signature or "", api, status)
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_batch(self, queue: str, size: int) -> None:
        self.batch_size.labels(queue).observe(size)

    def observe_load(self, model: str, version: int, seconds: float, error) -> None:
        self.loads.labels(model, "OK" if error is None else "ERROR").inc()
        self.load_seconds.labels(model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _code_name(error: BaseException) -> str:
    return error.grpc_code.name if isinstance(error, ServingError) else "INTERNAL"
