"""The batching session and the shared scheduler, on a fake session that records its batches.

Expectations follow TF Serving's `batching/batching_session.cc` (padding to allowed sizes,
splitting, per-signature queues) and TensorFlow's `shared_batch_scheduler.h` (one pool of
threads for every queue, size and capacity checks); grouping requests by shape is this
server's own choice (see serving/modelserver/batching.py).
"""

import asyncio
import re
import threading
import time

import numpy as np
import pytest

from serving.modelserver.batching import BatchingOptions, BatchingSession, SharedBatchScheduler
from serving.modelserver.config_protos import BatchingParameters
from serving.modelserver.errors import DeadlineExceeded, InvalidArgument, Unavailable
from serving.modelserver.metrics import ServerMetrics
from tests.support.waiting import wait_until


class Recorder:
    """A fake Session::Run: y = 2x for the feed "x:0", remembering every batch it ran. With
    a gate, each run says it has started, then waits until the test opens the gate."""

    def __init__(self, fail=None, gated=False):
        self.batches = []
        self.fail = fail
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.threads_seen: list[int] = []

    def __call__(self, feeds, fetches):
        with self.lock:
            self.batches.append(feeds["x:0"].copy())
            self.threads_seen.append(threading.active_count())
        self.started.release()
        assert self.gate.wait(30)
        if self.fail:
            raise self.fail
        return [feeds["x:0"] * 2 for _ in fetches]


def in_thread(call, *args, **kwargs) -> tuple[threading.Thread, list]:
    """Run `call` in a thread; the list gets its result or exception."""
    outcome = []

    def run():
        try:
            outcome.append(call(*args, **kwargs))
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def session(run, threads=1, **options):
    scheduler = SharedBatchScheduler(threads, "test_pool")
    return BatchingSession(run, scheduler, BatchingOptions(**options), ServerMetrics(), "m")


def concurrently(batching, requests, **kwargs):
    results = [None] * len(requests)

    def one(index):
        try:
            results[index] = batching.run({"x:0": requests[index]}, ["y:0"], **kwargs)[0]
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_concurrent_requests_share_batches_and_each_gets_its_own_rows():
    run = Recorder()
    batching = session(run, max_batch_size=64, batch_timeout_micros=200_000)
    requests = [np.full((1, 3), i, np.float32) for i in range(16)]
    results = concurrently(batching, requests)
    for request, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result, request * 2)
    assert len(run.batches) < 16
    assert sum(len(b) for b in run.batches) == 16


def test_batches_never_exceed_max_batch_size():
    run = Recorder()
    batching = session(run, max_batch_size=4, batch_timeout_micros=100_000)
    concurrently(batching, [np.ones((1, 2), np.float32)] * 10)
    assert max(len(b) for b in run.batches) <= 4


def test_batches_are_padded_to_the_next_allowed_size_and_the_padding_dropped():
    run = Recorder()
    batching = session(run, max_batch_size=8, allowed_batch_sizes=(2, 4, 8), batch_timeout_micros=0)
    (result,) = batching.run({"x:0": np.arange(3, dtype=np.float32)[:, None]}, ["y:0"])
    assert [len(b) for b in run.batches] == [4]
    np.testing.assert_array_equal(run.batches[0][3], run.batches[0][0])  # the last request's row 0
    np.testing.assert_array_equal(result[:, 0], [0, 2, 4])


def test_large_requests_are_split_across_batches_when_splitting_is_on():
    run = Recorder()
    batching = session(
        run,
        max_batch_size=16,
        enable_large_batch_splitting=True,
        max_execution_batch_size=4,
    )
    request = np.arange(10, dtype=np.float32)[:, None]
    (result,) = batching.run({"x:0": request}, ["y:0"])
    assert [len(b) for b in run.batches] == [4, 4, 2]
    np.testing.assert_array_equal(result, request * 2)


def test_a_request_over_max_batch_size_is_invalid():
    batching = session(Recorder(), max_batch_size=4)
    with pytest.raises(
        InvalidArgument, match=r"^Task size 5 is larger than maximum input batch size 4$"
    ):
        batching.run({"x:0": np.ones((5, 1), np.float32)}, ["y:0"])


def test_different_shapes_are_batched_apart():
    run = Recorder()
    batching = session(run, max_batch_size=64, batch_timeout_micros=100_000)
    requests = [np.ones((1, 2), np.float32), np.ones((1, 5), np.float32)] * 3
    results = concurrently(batching, requests)
    assert [r.shape for r in results] == [r.shape for r in requests]
    assert all(len({row.shape for row in batch}) == 1 for batch in run.batches)


def test_variable_length_inputs_are_padded_with_their_first_element():
    run = Recorder()
    batching = session(
        run, max_batch_size=8, batch_timeout_micros=300_000, pad_variable_length_inputs=True
    )
    requests = [np.array([[7, 1]], np.float32), np.array([[3, 4, 5]], np.float32)]
    results = concurrently(batching, requests)
    merged = [b for b in run.batches if len(b) == 2]
    assert merged, "the two requests should have been padded into one batch"
    np.testing.assert_array_equal(merged[0], [[7, 1, 7], [3, 4, 5]])
    assert results[0].shape == (1, 3)


def test_a_full_queue_answers_unavailable_at_once():
    run = Recorder(gated=True)
    batching = session(run, max_batch_size=1, max_enqueued_batches=1)
    running, _ = in_thread(batching.run, {"x:0": np.ones((1, 1))}, ["y:0"])
    assert run.started.acquire(timeout=30)
    queued, _ = in_thread(batching.run, {"x:0": np.ones((1, 1))}, ["y:0"])
    queue = next(iter(batching._queues.values()))
    wait_until(lambda: queue._queued_rows == 1, what="the second request queued")
    third, outcome = in_thread(batching.run, {"x:0": np.ones((1, 1))}, ["y:0"])
    third.join(30)  # refused without waiting for the gate
    assert isinstance(outcome[0], Unavailable)
    assert re.search(r"The batch scheduling queue .* is full", str(outcome[0]))
    run.gate.set()
    running.join(30)
    queued.join(30)


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({}, "must have at least one input tensor"),
        ({"x:0": np.float32(1)}, "must have at least one dimension"),
        ({"x:0": np.ones((2, 1)), "z:0": np.ones((3, 1))}, "must have equal 0th-dimension size"),
    ],
)
def test_inputs_must_have_a_common_batch_dimension(feeds, message):
    with pytest.raises(InvalidArgument, match=message):
        session(Recorder()).run(feeds, ["y:0"])


def test_an_error_reaches_every_request_of_the_batch():
    batching = session(
        Recorder(fail=InvalidArgument("bad batch")), max_batch_size=8, batch_timeout_micros=200_000
    )
    results = concurrently(batching, [np.ones((1, 1), np.float32)] * 3)
    assert all(isinstance(r, InvalidArgument) and "bad batch" in str(r) for r in results)


def test_a_request_past_its_deadline_leaves_the_queue_unrun():
    slow = Recorder(gated=True)
    batching = session(slow, max_batch_size=1)
    running, _ = in_thread(batching.run, {"x:0": np.ones((1, 1))}, ["y:0"])
    assert slow.started.acquire(timeout=30)
    with pytest.raises(DeadlineExceeded):
        batching.run({"x:0": np.full((1, 1), 9.0)}, ["y:0"], deadline=time.monotonic() + 0.1)
    slow.gate.set()
    running.join(30)
    batching.run({"x:0": np.full((1, 1), 5.0)}, ["y:0"])  # runs after anything still queued
    assert [batch[0, 0] for batch in slow.batches] == [1.0, 5.0]


def test_every_model_shares_one_pool_of_batch_threads():
    scheduler = SharedBatchScheduler(2, "shared_pool")
    first, second = Recorder(), Recorder()
    sessions = [
        BatchingSession(run, scheduler, BatchingOptions(), ServerMetrics(), name)
        for run, name in ((first, "a"), (second, "b"))
    ]
    for batching in sessions:
        batching.run({"x:0": np.ones((2, 1), np.float32)}, ["y:0"])
    assert len(first.batches) == len(second.batches) == 1
    pool = [t for t in threading.enumerate() if t.name.startswith("shared_pool-")]
    assert len(pool) == 2


def test_options_come_from_batching_parameters_with_tf_servings_defaults():
    params = BatchingParameters()
    params.max_batch_size.value = 32
    params.pad_variable_length_inputs = True
    options = BatchingOptions.from_proto(params)
    assert (options.max_batch_size, options.batch_timeout_micros) == (32, 0)
    assert options.max_enqueued_batches == 10 and options.pad_variable_length_inputs
    assert options.execution_limit == 32 and options.thread_pool_name == "batch_threads"


def test_requests_submitted_from_an_event_loop_share_a_batch_without_threads():
    """The gRPC path: coroutines queue their rows and are woken by the batch thread; no
    thread waits for them meanwhile."""
    recorder = Recorder()
    batching = session(recorder, max_batch_size=8, batch_timeout_micros=20_000)
    threads_before = threading.active_count()

    async def main():
        rows = [np.full((1, 2), float(i), np.float32) for i in range(4)]
        return rows, await asyncio.gather(*(batching.submit({"x:0": row}, ["y:0"]) for row in rows))

    rows, answers = asyncio.run(main())
    for row, (answer,) in zip(rows, answers, strict=True):
        np.testing.assert_array_equal(answer, row * 2)
    assert [len(batch) for batch in recorder.batches] == [4]
    assert recorder.threads_seen == [threads_before]  # counted while all four waited


def test_a_cancelled_submission_leaves_the_queue():
    """gRPC cancels a call at its deadline: the task is withdrawn, never run."""
    recorder = Recorder(gated=True)
    batching = session(recorder, max_batch_size=1)

    async def main():
        first = asyncio.ensure_future(batching.submit({"x:0": np.ones((1, 2))}, ["y:0"]))
        assert await asyncio.to_thread(recorder.started.acquire, timeout=30)
        second = asyncio.ensure_future(batching.submit({"x:0": np.zeros((1, 2))}, ["y:0"]))
        await asyncio.sleep(0)  # the second task runs up to its wait: queued
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second  # withdrawn while the batch thread is still busy with the first
        recorder.gate.set()
        await first
        await batching.submit({"x:0": np.full((1, 2), 3.0)}, ["y:0"])  # after anything queued

    asyncio.run(main())
    assert [batch.tolist() for batch in recorder.batches] == [[[1.0, 1.0]], [[3.0, 3.0]]]


def test_a_zero_row_run_from_the_event_loop_runs_off_the_loop():
    """TF Serving does not batch an empty request; it still must not run the session on the
    gRPC event loop, where a slow run (an XLA compile) would stall every call."""
    threads = []

    def run(feeds, fetches):
        threads.append(threading.current_thread())
        return [feeds["x:0"] * 2 for _ in fetches]

    async def submit_empty():
        result = await session(run).submit({"x:0": np.zeros((0, 3), np.float32)}, ["y:0"])
        return result, threading.current_thread()

    (result,), loop_thread = asyncio.run(submit_empty())
    assert result.shape == (0, 3)
    assert threads and threads[0] is not loop_thread
