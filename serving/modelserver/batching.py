"""Server-side batching as TF Serving does it: a batching session around each model version,
its queues served by one shared pool of `num_batch_threads` threads.

After `batching/batching_session.cc`, `batching/batching_util.h` and TensorFlow's
`shared_batch_scheduler.h`: each set of fed and fetched tensor names has its own queue; a
batch is run when it holds the execution limit or its oldest request has waited
`batch_timeout_micros`, on whichever pool thread is free; merged inputs are padded up to the
next `allowed_batch_sizes` entry with copies of a row (outputs for those rows are dropped);
with `enable_large_batch_splitting` a request may be split across batches of at most
`max_execution_batch_size`; a request over `max_batch_size` or a full queue is refused.

One deliberate difference: TF Serving merges whatever shares a queue and fails the whole batch
when row shapes differ ("...different shapes and padding is turned off"). Here a batch takes
only requests whose shapes past the batch dimension match (equal ranks with
`pad_variable_length_inputs`, which pads with each tensor's first element as TF Serving does),
so differently-shaped requests run in separate batches instead of failing together.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from serving.modelserver.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    ServingError,
    Unavailable,
)
from serving.modelserver.metrics import ServerMetrics

Tensors = dict[str, np.ndarray]
Run = Callable[[Tensors, Sequence[str]], list[np.ndarray]]


@dataclass(frozen=True)
class BatchingOptions:
    """BatchingParameters, with the defaults TF Serving applies to fields left unset."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    thread_pool_name: str = "batch_threads"
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False
    enable_large_batch_splitting: bool = False
    max_execution_batch_size: int = 0

    @classmethod
    def from_proto(cls, params, thread_pool_name: str = "batch_threads") -> BatchingOptions:
        defaults = cls(thread_pool_name=thread_pool_name)
        values = {}
        for name in (
            "max_batch_size",
            "batch_timeout_micros",
            "max_enqueued_batches",
            "num_batch_threads",
            "thread_pool_name",
            "enable_large_batch_splitting",
            "max_execution_batch_size",
        ):
            wrapped = getattr(params, name)
            values[name] = wrapped.value if params.HasField(name) else getattr(defaults, name)
        options = cls(
            **values,
            allowed_batch_sizes=tuple(params.allowed_batch_sizes),
            pad_variable_length_inputs=params.pad_variable_length_inputs,
        )
        options.validate()
        return options

    @property
    def execution_limit(self) -> int:
        """Most rows one run takes: max_execution_batch_size when splitting, else max_batch_size."""
        if self.enable_large_batch_splitting and self.max_execution_batch_size > 0:
            return self.max_execution_batch_size
        return self.max_batch_size

    def validate(self) -> None:
        sizes = self.allowed_batch_sizes
        if sizes and sizes[-1] != self.max_batch_size:
            raise InvalidArgument(
                "Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
                f"{sizes[-1]}; expected {self.max_batch_size}"
            )
        if any(b <= a for a, b in itertools.pairwise(sizes)):
            raise InvalidArgument("allowed_batch_sizes entries must be monotonically increasing")
        if self.num_batch_threads < 1:
            raise InvalidArgument("num_batch_threads must be positive")

    def padded_size(self, rows: int) -> int:
        """RoundToLowestAllowedBatchSize."""
        return next((size for size in self.allowed_batch_sizes if size >= rows), rows)


class _Task:
    """One Run() call; with splitting its rows may be processed in several parts. `on_done`
    is called once, by the thread that finishes the last part."""

    def __init__(
        self,
        feeds: Tensors,
        fetches: tuple[str, ...],
        rows: int,
        deadline,
        on_done: Callable[[], object],
    ):
        self.feeds, self.fetches, self.rows, self.deadline = feeds, fetches, rows, deadline
        self.enqueued = time.monotonic()
        self.finished = False
        self._on_done = on_done
        self.error: BaseException | None = None
        self.outputs: dict[int, list[np.ndarray]] = {}
        self._pending = 1
        self._lock = threading.Lock()

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def add_pending(self) -> None:
        with self._lock:
            self._pending += 1

    def part_done(self, start: int, outputs: list[np.ndarray] | None, error=None) -> None:
        with self._lock:
            if error is not None and self.error is None:
                self.error = error
            if outputs is not None:
                self.outputs[start] = outputs
            self._pending -= 1
            self.finished = self._pending == 0
            finished = self.finished
        if finished:
            self._on_done()

    def result(self) -> list[np.ndarray]:
        parts = [self.outputs[start] for start in sorted(self.outputs)]
        if len(parts) == 1:
            return parts[0]
        return [np.concatenate(pieces, axis=0) for pieces in zip(*parts, strict=True)]


@dataclass
class _Part:
    task: _Task
    start: int
    stop: int
    shape_key: tuple

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def feeds(self) -> Tensors:
        if self.start == 0 and self.stop == self.task.rows:
            return self.task.feeds
        return {name: value[self.start : self.stop] for name, value in self.task.feeds.items()}


class BatchQueue:
    """The queue for one fed/fetched tensor set of one version; its batches run on the pool."""

    def __init__(self, scheduler: SharedBatchScheduler, options: BatchingOptions, process):
        self.options = options
        self._scheduler = scheduler
        self._process = process
        self._parts: deque[_Part] = deque()
        self._queued_rows = 0
        self.closed = False

    def schedule(self, task: _Task, shape_key: tuple) -> None:
        """Enqueue or refuse at once (TF's ValidateBatchTaskQueueCapacity)."""
        options = self.options
        if task.rows > options.max_batch_size:
            raise InvalidArgument(
                f"Task size {task.rows} is larger than maximum input batch size "
                f"{options.max_batch_size}"
            )
        with self._scheduler.condition:
            capacity = options.max_enqueued_batches * options.execution_limit
            if self.closed or self._queued_rows + task.rows > capacity:
                raise Unavailable(
                    "The batch scheduling queue to which this task was submitted is full"
                )
            self._parts.append(_Part(task, 0, task.rows, shape_key))
            self._queued_rows += task.rows
            self._scheduler.condition.notify()

    def withdraw(self, task: _Task) -> None:
        """Take out the parts of a task whose caller gave up; they end DEADLINE_EXCEEDED."""
        with self._scheduler.condition:
            mine = [part for part in self._parts if part.task is task]
            for part in mine:
                self._parts.remove(part)
                self._queued_rows -= part.rows
        for part in mine:
            task.part_done(part.start, None, DeadlineExceeded(_EXPIRED))

    def take_ready(self, now: float) -> tuple[list[_Part] | None, float | None]:
        """Under the scheduler's lock: (a batch to run now, or None and when to look again)."""
        while self._parts and self._parts[0].task.expired(now):
            expired = self._parts.popleft()
            self._queued_rows -= expired.rows
            expired.task.part_done(expired.start, None, DeadlineExceeded(_EXPIRED))
        if not self._parts:
            return None, None
        limit = self.options.execution_limit
        head = self._parts[0]
        rows = sum(p.rows for p in self._parts if p.shape_key == head.shape_key)
        ready_at = head.task.enqueued + self.options.batch_timeout_micros / 1e6
        if rows < limit and now < ready_at and not self.closed:
            return None, ready_at
        return self._form_batch(head.shape_key, limit), None

    def _form_batch(self, shape_key: tuple, limit: int) -> list[_Part]:
        batch, rows = [], 0
        for part in list(self._parts):
            if part.shape_key != shape_key or rows == limit:
                continue
            room = limit - rows
            if part.rows > room:
                if not self.options.enable_large_batch_splitting:
                    continue
                rest = _Part(part.task, part.start + room, part.stop, shape_key)
                part.stop = part.start + room
                part.task.add_pending()
                self._parts.insert(self._parts.index(part) + 1, rest)
            self._parts.remove(part)
            batch.append(part)
            rows += part.rows
        self._queued_rows -= rows
        return batch

    def run(self, batch: list[_Part]) -> None:
        """Run a batch taken by `take_ready`, on the calling pool thread."""
        self._process(batch)


class SharedBatchScheduler:
    """`num_batch_threads` threads that run ready batches from every queue, round robin."""

    def __init__(self, num_threads: int, thread_pool_name: str):
        self.thread_pool_name = thread_pool_name
        self.condition = threading.Condition()
        self._queues: list[BatchQueue] = []
        self._next = 0
        self._stopped = False
        for index in range(max(1, num_threads)):
            threading.Thread(
                target=self._work, name=f"{thread_pool_name}-{index}", daemon=True
            ).start()

    def add_queue(self, options: BatchingOptions, process) -> BatchQueue:
        queue = BatchQueue(self, options, process)
        with self.condition:
            self._queues.append(queue)
        return queue

    def close_queue(self, queue: BatchQueue) -> None:
        """No new work; what is queued still runs."""
        with self.condition:
            queue.closed = True
            self.condition.notify_all()

    def stop(self) -> None:
        with self.condition:
            self._stopped = True
            self.condition.notify_all()

    def _work(self) -> None:
        while True:
            with self.condition:
                queue, batch = self._next_batch()
                if queue is None:
                    return
            queue.run(batch)

    def _next_batch(self):
        while not self._stopped:
            now = time.monotonic()
            wake = None
            count = len(self._queues)
            for offset in range(count):
                queue = self._queues[(self._next + offset) % count]
                batch, ready_at = queue.take_ready(now)
                if batch:
                    self._next = (self._next + offset + 1) % count
                    return queue, batch
                if ready_at is not None:
                    wake = ready_at if wake is None else min(wake, ready_at)
            self._queues = [q for q in self._queues if not (q.closed and not q._parts)]
            self.condition.wait(None if wake is None else max(0.0, wake - now))
        return None, None


class BatchingSession:
    """Session::Run over a version's session, through the shared scheduler's queues."""

    def __init__(
        self,
        run: Run,
        scheduler: SharedBatchScheduler,
        options: BatchingOptions,
        metrics: ServerMetrics,
        model_name: str,
    ):
        self._run = run
        self._scheduler = scheduler
        self._options = options
        self._metrics = metrics
        self._model_name = model_name
        self._queues: dict[tuple, BatchQueue] = {}
        self._lock = threading.Lock()

    def run(
        self, feeds: Tensors, fetches: Sequence[str], deadline: float | None = None
    ) -> list[np.ndarray]:
        rows = self._rows(feeds)
        if rows == 0:
            return self._run(feeds, fetches)
        done = threading.Event()
        task = _Task(feeds, tuple(fetches), rows, deadline, done.set)
        queue = self._schedule(task)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not done.wait(None if timeout is None else min(timeout, threading.TIMEOUT_MAX)):
            self._give_up(queue, task)
        return self._outcome(task)

    async def submit(
        self, feeds: Tensors, fetches: Sequence[str], deadline: float | None = None
    ) -> list[np.ndarray]:
        """`run` for a caller on an event loop: no thread waits for the batch; the batch
        thread that finishes the task wakes the loop. The deadline drops the task from the
        queue once it passes; the caller's own wait ends when its transport cancels it (gRPC
        cancels a call at its deadline), so no timer is set per request. (A zero-row run,
        which TF Serving does not batch, runs at once, on a worker thread: a session run on
        the loop — an XLA compile, say — would stall every call in the process.)"""
        rows = self._rows(feeds)
        if rows == 0:
            return await asyncio.to_thread(self._run, feeds, fetches)
        loop = asyncio.get_running_loop()
        finished = loop.create_future()
        task = _Task(
            feeds,
            tuple(fetches),
            rows,
            deadline,
            on_done=lambda: loop.call_soon_threadsafe(_settle, finished),
        )
        queue = self._schedule(task)
        try:
            await finished
        except asyncio.CancelledError:
            queue.withdraw(task)
            raise
        return self._outcome(task)

    def close(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                self._scheduler.close_queue(queue)

    def _queue(self, feeds: frozenset, fetches: frozenset) -> BatchQueue:
        key = (feeds, fetches)
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._scheduler.add_queue(self._options, self._process)
                self._queues[key] = queue
            return queue

    def _rows(self, feeds: Tensors) -> int:
        rows = _input_rows(feeds)
        for value in feeds.values():
            self._metrics.input_batch_size.add(value.shape[0])
        return rows

    def _schedule(self, task: _Task) -> BatchQueue:
        queue = self._queue(frozenset(task.feeds), frozenset(task.fetches))
        queue.schedule(task, self._shape_key(task.feeds))
        return queue

    @staticmethod
    def _give_up(queue: BatchQueue, task: _Task) -> None:
        """The caller's deadline passed: withdraw what has not run; a batch already running
        still answers."""
        queue.withdraw(task)
        if not task.finished:
            raise DeadlineExceeded(_EXPIRED)

    @staticmethod
    def _outcome(task: _Task) -> list[np.ndarray]:
        if task.error is not None:
            raise task.error
        return task.result()

    def _shape_key(self, feeds: Tensors) -> tuple:
        pad = self._options.pad_variable_length_inputs
        return tuple(
            (name, value.dtype.str, value.ndim if pad else value.shape[1:])
            for name, value in sorted(feeds.items())
        )

    def _process(self, batch: list[_Part]) -> None:
        """ProcessBatch: merge, pad to an allowed size, run once, split the outputs."""
        now = time.monotonic()
        live = []
        for part in batch:
            self._metrics.queuing_latency.add(
                (now - part.task.enqueued) * 1e6, self._scheduler.thread_pool_name
            )
            if part.task.expired(now):
                part.task.part_done(part.start, None, DeadlineExceeded(_EXPIRED))
            else:
                live.append(part)
        if not live:
            return
        fetches = sorted(set(live[0].task.fetches))
        try:
            merged, rows, padded = self._merge(live)
            outputs = self._run(merged, fetches)
            self._metrics.wrapped_run_count.increment()
            self._metrics.processed_batch_size.add(padded)
            self._metrics.padding_size.add(padded - rows, padded)
            self._metrics.seqserve_batch_size.add(rows, self._model_name)
            start = 0
            for part in live:
                mine = [_rows_of(value, start, part.rows, padded) for value in outputs]
                by_name = dict(zip(fetches, mine, strict=True))
                part.task.part_done(part.start, [by_name[name] for name in part.task.fetches])
                start += part.rows
        except BaseException as error:
            failure = (
                error
                if isinstance(error, ServingError)
                else Internal(f"{type(error).__name__}: {error}")
            )
            for part in live:
                part.task.part_done(part.start, None, failure)

    def _merge(self, batch: list[_Part]) -> tuple[Tensors, int, int]:
        rows = sum(part.rows for part in batch)
        padded = self._options.padded_size(rows)
        merged = {}
        for name in batch[0].task.feeds:
            pieces = [part.feeds()[name] for part in batch]
            if self._options.pad_variable_length_inputs:
                widest = np.max([piece.shape[1:] for piece in pieces], axis=0)
                pieces = [_pad_to(piece, widest) for piece in pieces]
            if padded > rows:
                pieces.append(np.repeat(pieces[-1][:1], padded - rows, axis=0))
            merged[name] = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=0)
        return merged, rows, padded


def _settle(finished: asyncio.Future) -> None:
    if not finished.done():
        finished.set_result(None)


def _input_rows(feeds: Tensors) -> int:
    """ComputeTensorBatchSize."""
    if not feeds:
        raise InvalidArgument("Batching Run() must have at least one input tensor")
    sizes = set()
    for value in feeds.values():
        if value.ndim == 0:
            raise InvalidArgument("Batching Run() input tensors must have at least one dimension")
        sizes.add(value.shape[0])
    if len(sizes) > 1:
        raise InvalidArgument("Batching Run() input tensors must have equal 0th-dimension size")
    return sizes.pop()


def _pad_to(part: np.ndarray, widest) -> np.ndarray:
    missing = [(0, 0)] + [(0, int(w - s)) for w, s in zip(widest, part.shape[1:], strict=True)]
    if not any(after for _, after in missing):
        return part
    return np.pad(part, missing, constant_values=part.reshape(-1)[0])


def _rows_of(value: np.ndarray, start: int, rows: int, total: int) -> np.ndarray:
    if value.ndim == 0:
        raise FailedPrecondition("Batched output tensor has 0 dimensions")
    if value.shape[0] != total:
        raise FailedPrecondition(
            "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension "
            "sizes of the input tensors"
        )
    return value[start : start + rows]


_EXPIRED = "Deadline exceeded while waiting in the batching queue"
