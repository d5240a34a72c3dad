"""Server-side batching: concurrent requests to one signature merged into one call.

A request waits at most `batch_timeout_micros` for others; a batch closes at `max_batch_size`
rows. Only requests for the same servable with compatible inputs share a batch: equal shapes
past the batch dimension, or, with `pad_variable_length_inputs`, equal ranks (shorter inputs
are padded with their first element, as TF Serving pads). Outputs are split back by rows.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from serving.modelserver.errors import DeadlineExceeded, InvalidArgument, Unavailable

Tensors = dict[str, np.ndarray]
BatchListener = Callable[[str, int], None]


@dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's BatchingParameters, with its defaults."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    pad_variable_length_inputs: bool = False

    @classmethod
    def from_proto(cls, params) -> BatchingOptions:
        defaults = cls()
        values = {}
        for name in (
            "max_batch_size",
            "batch_timeout_micros",
            "max_enqueued_batches",
            "num_batch_threads",
        ):
            wrapped = getattr(params, name)
            values[name] = wrapped.value if params.HasField(name) else getattr(defaults, name)
        return cls(**values, pad_variable_length_inputs=params.pad_variable_length_inputs)


@dataclass(eq=False)
class _Task:
    owner: object
    run: Callable[[Tensors], Tensors]
    inputs: Tensors
    rows: int
    key: tuple
    enqueued: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    result: Tensors | None = None
    error: BaseException | None = None


class BatchQueue:
    """One queue per model signature, served by `num_batch_threads` worker threads."""

    def __init__(self, name: str, options: BatchingOptions, on_batch: BatchListener | None = None):
        self.name = name
        self.options = options
        self._on_batch = on_batch or (lambda name, size: None)
        self._tasks: deque[_Task] = deque()
        self._queued_rows = 0
        self._condition = threading.Condition()
        self._closed = False
        for index in range(max(1, options.num_batch_threads)):
            threading.Thread(target=self._work, name=f"batch-{name}-{index}", daemon=True).start()

    def submit(
        self,
        owner: object,
        run: Callable[[Tensors], Tensors],
        inputs: Tensors,
        deadline: float | None = None,
    ) -> Tensors:
        """Run `inputs` through `run` in a batch; blocks until this request's rows return."""
        rows = _rows(inputs)
        if rows > self.options.max_batch_size or rows == 0:
            return run(inputs)
        task = _Task(owner, run, inputs, rows, _compatibility(owner, inputs, self.options))
        with self._condition:
            limit = self.options.max_enqueued_batches * self.options.max_batch_size
            if self._queued_rows + rows > limit or self._closed:
                raise Unavailable(
                    "The batch scheduling queue to which this task was submitted is full"
                )
            self._tasks.append(task)
            self._queued_rows += rows
            self._condition.notify()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not task.done.wait(timeout):
            with self._condition:
                if task in self._tasks:
                    self._tasks.remove(task)
                    self._queued_rows -= rows
            raise DeadlineExceeded("Deadline exceeded while waiting for a batch")
        if task.error is not None:
            raise task.error
        return task.result

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(batch)

    def _next_batch(self) -> list[_Task] | None:
        timeout = self.options.batch_timeout_micros / 1e6
        with self._condition:
            while True:
                while not self._tasks:
                    if self._closed:
                        return None
                    self._condition.wait()
                head = self._tasks[0]
                batch, rows = [], 0
                for task in self._tasks:
                    if task.key == head.key and rows + task.rows <= self.options.max_batch_size:
                        batch.append(task)
                        rows += task.rows
                wait = head.enqueued + timeout - time.monotonic()
                if rows >= self.options.max_batch_size or wait <= 0 or self._closed:
                    for task in batch:
                        self._tasks.remove(task)
                    self._queued_rows -= rows
                    return batch
                self._condition.wait(wait)

    def _run(self, batch: list[_Task]) -> None:
        try:
            merged = _merge(
                [task.inputs for task in batch], self.options.pad_variable_length_inputs
            )
            outputs = batch[0].run(merged)
            total = sum(task.rows for task in batch)
            self._on_batch(self.name, total)
            start = 0
            for task in batch:
                task.result = {k: _rows_of(v, start, task.rows, total) for k, v in outputs.items()}
                start += task.rows
        except BaseException as error:
            for task in batch:
                task.error = error
        finally:
            for task in batch:
                task.done.set()


def _rows(inputs: Tensors) -> int:
    sizes = {value.shape[0] if value.ndim else None for value in inputs.values()}
    if len(sizes) != 1 or None in sizes:
        raise InvalidArgument(
            "batching requires every input to have the same size in dimension 0; got "
            + ", ".join(f"{k}: {list(v.shape)}" for k, v in sorted(inputs.items()))
        )
    return sizes.pop()


def _compatibility(owner: object, inputs: Tensors, options: BatchingOptions) -> tuple:
    def describe(value: np.ndarray):
        return value.ndim if options.pad_variable_length_inputs else value.shape[1:]

    return (id(owner), tuple(sorted((k, v.dtype.str, describe(v)) for k, v in inputs.items())))


def _merge(requests: list[Tensors], pad: bool) -> Tensors:
    if len(requests) == 1:
        return requests[0]
    merged = {}
    for alias in requests[0]:
        parts = [request[alias] for request in requests]
        if pad:
            widest = np.max([part.shape[1:] for part in parts], axis=0)
            parts = [_pad_to(part, widest) for part in parts]
        merged[alias] = np.concatenate(parts, axis=0)
    return merged


def _pad_to(part: np.ndarray, widest) -> np.ndarray:
    missing = [(0, 0)] + [(0, int(w - s)) for w, s in zip(widest, part.shape[1:], strict=True)]
    if not any(after for _, after in missing):
        return part
    return np.pad(part, missing, constant_values=part.reshape(-1)[0])


def _rows_of(value: np.ndarray, start: int, rows: int, total: int) -> np.ndarray:
    if value.ndim == 0 or value.shape[0] != total:
        raise InvalidArgument(
            f"batched output of shape {list(value.shape)} cannot be split into {total} rows"
        )
    return value[start : start + rows]
