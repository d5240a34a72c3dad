"""Prometheus metrics of the gateway. Under gunicorn each worker writes to
PROMETHEUS_MULTIPROC_DIR (set by the gunicorn config) and /metrics aggregates them all."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter("gateway_requests_total", "HTTP requests answered", ["route", "model", "status"])
REQUEST_SECONDS = Histogram(
    "gateway_request_seconds",
    "Time to answer an HTTP request",
    ["route", "model", "status"],
    buckets=LATENCY_BUCKETS,
)
BACKEND_SECONDS = Histogram(
    "gateway_backend_seconds",
    "Time spent in model-server calls",
    ["model", "call", "outcome"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter("gateway_errors_total", "Error responses by code", ["code"])
CALL_ROWS = Histogram(
    "gateway_backend_call_rows",
    "Rows per model-server prediction call (requests merged by coalescing)",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def exposition() -> tuple[bytes, str]:
    """The text exposition (all workers' values when in multiprocess mode) and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
