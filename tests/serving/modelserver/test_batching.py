"""The batching session and the shared scheduler, on a fake session that records its batches.

Expectations follow TF Serving's `batching/batching_session.cc` (padding to allowed sizes,
splitting, per-signature queues) and TensorFlow's `shared_batch_scheduler.h` (one pool of
threads for every queue, size and capacity checks); grouping requests by shape is this
server's own choice (see serving/modelserver/batching.py).
"""

import asyncio
import threading
import time

import numpy as np
import pytest

from serving.modelserver.batching import BatchingOptions, BatchingSession, SharedBatchScheduler
from serving.modelserver.config_protos import BatchingParameters
from serving.modelserver.errors import DeadlineExceeded, InvalidArgument, Unavailable
from serving.modelserver.metrics import ServerMetrics


class Recorder:
    """A fake Session::Run: y = 2x for the feed "x:0", remembering every batch it ran."""

    def __init__(self, delay=0.0, fail=None):
        self.batches = []
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, feeds, fetches):
        with self.lock:
            self.batches.append(feeds["x:0"].copy())
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        return [feeds["x:0"] * 2 for _ in fetches]


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
    run = Recorder(delay=0.5)
    batching = session(run, max_batch_size=1, max_enqueued_batches=1)
    threading.Thread(target=batching.run, args=({"x:0": np.ones((1, 1))}, ["y:0"])).start()
    time.sleep(0.1)
    threading.Thread(target=batching.run, args=({"x:0": np.ones((1, 1))}, ["y:0"])).start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"The batch scheduling queue .* is full"):
        batching.run({"x:0": np.ones((1, 1))}, ["y:0"])
    assert time.monotonic() - started < 1.0


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
    slow = Recorder(delay=0.5)
    batching = session(slow, max_batch_size=1)
    threading.Thread(target=batching.run, args=({"x:0": np.ones((1, 1))}, ["y:0"])).start()
    time.sleep(0.1)
    with pytest.raises(DeadlineExceeded):
        batching.run({"x:0": np.full((1, 1), 9.0)}, ["y:0"], deadline=time.monotonic() + 0.1)
    time.sleep(0.6)
    assert all(batch[0, 0] != 9.0 for batch in slow.batches)


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
    recorder = Recorder(delay=0.1)
    batching = session(recorder, max_batch_size=8, batch_timeout_micros=20_000)
    threads_before = threading.active_count()

    async def main():
        rows = [np.full((1, 2), float(i), np.float32) for i in range(4)]
        pending = [batching.submit({"x:0": row}, ["y:0"]) for row in rows]
        answers = asyncio.ensure_future(asyncio.gather(*pending))
        await asyncio.sleep(0.05)
        threads_while_waiting = threading.active_count()
        return rows, await answers, threads_while_waiting

    rows, answers, threads_while_waiting = asyncio.run(main())
    for row, (answer,) in zip(rows, answers, strict=True):
        np.testing.assert_array_equal(answer, row * 2)
    assert [len(batch) for batch in recorder.batches] == [4]
    assert threads_while_waiting == threads_before


def test_a_cancelled_submission_leaves_the_queue():
    """gRPC cancels a call at its deadline: the task is withdrawn, never run."""
    recorder = Recorder(delay=0.3)
    batching = session(recorder, max_batch_size=1)

    async def main():
        first = asyncio.ensure_future(batching.submit({"x:0": np.ones((1, 2))}, ["y:0"]))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(batching.submit({"x:0": np.zeros((1, 2))}, ["y:0"]))
        await asyncio.sleep(0.05)
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second

    asyncio.run(main())
    time.sleep(0.4)
    assert [batch.tolist() for batch in recorder.batches] == [[[1.0, 1.0]]]
