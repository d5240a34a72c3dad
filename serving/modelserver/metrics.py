"""The model server's metrics, named, labelled and exposed as TensorFlow Serving exposes them.

TF Serving records `tensorflow::monitoring` counters and samplers (`/tensorflow/serving/...`,
microseconds) and its Prometheus exporter (`util/prometheus_exporter.cc`) writes them sorted by
name, with `/` turned into `:`, one `# TYPE` line each, counters without a `_total` suffix and
histograms over explicit exponential buckets (a value falls in the first bucket whose limit
exceeds it). prometheus_client renames counters and adds HELP lines, so dashboards written
for TF Serving would not match; this module renders the same text itself.

The project's own metrics (per version and signature, in seconds) sit beside them under the
`seqserve_` prefix.
"""

from __future__ import annotations

import bisect
import re
import sys
import threading
from collections.abc import Sequence

CONTENT_TYPE = "text/plain"


def exponential_buckets(scale: float, growth: float, count: int) -> tuple[float, ...]:
    """monitoring::Buckets::Exponential: `count` limits from `scale`, then DBL_MAX."""
    return (*(scale * growth**i for i in range(count)), sys.float_info.max)


LATENCY_BUCKETS = exponential_buckets(10, 1.8, 33)
"""Microseconds, ~20 minutes at the top: TF Serving's request/runtime/warmup/load buckets."""
SIZE_BUCKETS = exponential_buckets(1, 2, 14)
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _Metric:
    kind = ""

    def __init__(self, name: str, labels: Sequence[str]):
        self.name = re.sub(r"[^a-zA-Z0-9_]", ":", name)
        self.labels = tuple(labels)
        self._cells: dict[tuple[str, ...], object] = {}
        self._lock = threading.Lock()

    def _label_text(self, values: tuple[str, ...], extra: str = "") -> str:
        pairs = [
            f'{_label_name(n)}="{_label_value(v)}"'
            for n, v in zip(self.labels, values, strict=True)
        ]
        return ",".join([*pairs, extra] if extra else pairs)

    def _key(self, values: tuple) -> tuple[str, ...]:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {values}")
        return tuple(map(str, values))

    def lines(self) -> list[str]:
        with self._lock:
            cells = sorted(self._cells.items())
        return [f"# TYPE {self.name} {self.kind}", *self._cell_lines(cells)]

    def _cell_lines(self, cells) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def increment(self, *values: object, by: int = 1) -> None:
        key = self._key(values)
        with self._lock:
            self._cells[key] = self._cells.get(key, 0) + by

    def first_value(self) -> int:
        """The first cell's count (TF Serving's ReloadConfig metric readout), 0 if none."""
        with self._lock:
            return self._cells[min(self._cells)] if self._cells else 0

    def _cell_lines(self, cells) -> list[str]:
        return [f"{self.name}{{{self._label_text(key)}}} {count}" for key, count in cells]


class Gauge(Counter):
    """A count that goes up and down."""

    kind = "gauge"


class Sampler(_Metric):
    """A histogram with explicit bucket limits (the last is DBL_MAX, shown as +Inf)."""

    kind = "histogram"

    def __init__(self, name: str, labels: Sequence[str], limits: Sequence[float]):
        super().__init__(name, labels)
        self.limits = tuple(limits)

    def add(self, value: float, *values: object) -> None:
        key = self._key(values)
        bucket = bisect.bisect_right(self.limits, value)
        with self._lock:
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = [[0] * len(self.limits), 0.0]
            cell[0][min(bucket, len(self.limits) - 1)] += 1
            cell[1] += value

    def _cell_lines(self, cells) -> list[str]:
        lines = []
        for key, (counts, total) in cells:
            labels = self._label_text(key)
            cumulative = 0
            for index, count in enumerate(counts):
                cumulative += count
                limit = "+Inf" if index == len(counts) - 1 else _number(self.limits[index])
                bucket_labels = self._label_text(key, f'le="{limit}"')
                lines.append(f"{self.name}_bucket{{{bucket_labels}}} {cumulative}")
            lines.append(f"{self.name}_sum{{{labels}}} {_number(total)}")
            lines.append(f"{self.name}_count{{{labels}}} {cumulative}")
        return lines


class ServerMetrics:
    """Every metric the model server records, TF Serving's first."""

    def __init__(self):
        tfs = "/tensorflow/serving/"
        batching = tfs + "batching_session/"
        saved_model = "/tensorflow/cc/saved_model/"
        self.request_count = Counter(tfs + "request_count", ("model_name", "status"))
        self.request_latency = Sampler(
            tfs + "request_latency", ("model_name", "API", "entrypoint"), LATENCY_BUCKETS
        )
        self.runtime_latency = Sampler(
            tfs + "runtime_latency", ("model_name", "API", "runtime"), LATENCY_BUCKETS
        )
        self.example_counts = Sampler(
            tfs + "request_example_counts", ("model",), exponential_buckets(1, 2, 15)
        )
        self.example_count_total = Counter(tfs + "request_example_count_total", ("model",))
        self.warmup_latency = Sampler(
            tfs + "model_warmup_latency", ("model_path", "status"), LATENCY_BUCKETS
        )
        self.warmup_records_read = Counter(
            tfs + "model_warmup_records_read", ("model_path", "status")
        )
        self.load_attempt_count = Counter(
            saved_model + "load_attempt_count", ("model_path", "status")
        )
        self.load_latency = Counter(saved_model + "load_latency", ("model_path",))
        self.load_latency_by_stage = Sampler(
            saved_model + "load_latency_by_stage", ("model_path", "stage"), LATENCY_BUCKETS
        )
        self.queuing_latency = Sampler(
            batching + "queuing_latency", ("thread_pool_name",), exponential_buckets(100, 1.2, 52)
        )
        self.wrapped_run_count = Counter(batching + "wrapped_run_count", ())
        self.input_batch_size = Sampler(batching + "input_batch_size", (), SIZE_BUCKETS)
        self.processed_batch_size = Sampler(batching + "processed_batch_size", (), SIZE_BUCKETS)
        self.padding_size = Sampler(
            batching + "padding_size", ("execution_batch_size",), SIZE_BUCKETS
        )
        version_labels = ("model_name", "model_version", "signature_name", "api", "status")
        self.seqserve_requests = Counter("seqserve_request_count", version_labels)
        self.seqserve_latency = Sampler(
            "seqserve_request_latency_seconds", version_labels, SECONDS_BUCKETS
        )
        self.seqserve_batch_size = Sampler("seqserve_batch_size", ("model_name",), SIZE_BUCKETS)
        self.seqserve_in_flight = Gauge("seqserve_requests_in_flight", ("model_name",))
        """Inference requests accepted and not yet answered (what a drain waits for)."""

    def all(self) -> list[_Metric]:
        return sorted(
            (m for m in vars(self).values() if isinstance(m, _Metric)), key=lambda m: m.name
        )

    def render(self) -> bytes:
        lines = [line for metric in self.all() for line in metric.lines()]
        return ("\n".join(lines) + "\n").encode()


def _number(value: float) -> str:
    """absl::StrCat of a double: six significant digits, like printf's %g."""
    return f"{value:g}"


def _label_name(name: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9]", "_", name)
    return f"_{name}" if name[:1].isdigit() else name


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
