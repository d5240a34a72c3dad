import threading
import time

import numpy as np
import pytest

from serving.modelserver.batching import BatchingOptions, BatchQueue
from serving.modelserver.config_protos import BatchingParameters
from serving.modelserver.errors import InvalidArgument, Unavailable


class Recorder:
    """A fake signature: doubles `x`, remembers each batch it was called with."""

    def __init__(self, delay=0.0):
        self.batches = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, inputs):
        with self.lock:
            self.batches.append(inputs["x"].copy())
        time.sleep(self.delay)
        return {"y": inputs["x"] * 2}


def submit_concurrently(queue, owner, run, requests):
    results = [None] * len(requests)

    def one(index):
        results[index] = queue.submit(owner, run, {"x": requests[index]})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_concurrent_requests_share_batches_and_each_gets_its_own_rows():
    run = Recorder()
    queue = BatchQueue(
        "m", BatchingOptions(max_batch_size=64, batch_timeout_micros=200_000, num_batch_threads=1)
    )
    requests = [np.full((1, 3), i, np.float32) for i in range(16)]
    results = submit_concurrently(queue, object(), run, requests)
    for request, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result["y"], request * 2)
    assert len(run.batches) < 16
    assert sum(len(b) for b in run.batches) == 16


def test_batches_never_exceed_max_batch_size():
    run = Recorder()
    queue = BatchQueue(
        "m", BatchingOptions(max_batch_size=4, batch_timeout_micros=100_000, num_batch_threads=1)
    )
    submit_concurrently(queue, object(), run, [np.ones((1, 2), np.float32)] * 10)
    assert max(len(b) for b in run.batches) <= 4


def test_different_shapes_or_servables_are_not_merged():
    run = Recorder()
    queue = BatchQueue(
        "m", BatchingOptions(max_batch_size=64, batch_timeout_micros=100_000, num_batch_threads=1)
    )
    requests = [np.ones((1, 2), np.float32), np.ones((1, 5), np.float32)] * 3
    results = submit_concurrently(queue, object(), run, requests)
    assert [r["y"].shape for r in results] == [r.shape for r in requests]
    assert all(len({row.shape for row in batch}) == 1 for batch in run.batches)


def test_padding_uses_each_tensors_first_element():
    run = Recorder()
    queue = BatchQueue(
        "m",
        BatchingOptions(
            max_batch_size=8,
            batch_timeout_micros=300_000,
            num_batch_threads=1,
            pad_variable_length_inputs=True,
        ),
    )
    requests = [np.array([[7, 1]], np.float32), np.array([[3, 4, 5]], np.float32)]
    results = submit_concurrently(queue, object(), run, requests)
    merged = [b for b in run.batches if len(b) == 2]
    assert merged, "the two requests should have been padded into one batch"
    np.testing.assert_array_equal(merged[0], [[7, 1, 7], [3, 4, 5]])
    assert results[0]["y"].shape == (1, 3)


def test_a_full_queue_answers_unavailable_at_once():
    run = Recorder(delay=0.5)
    queue = BatchQueue(
        "m", BatchingOptions(max_batch_size=1, max_enqueued_batches=1, num_batch_threads=1)
    )
    owner = object()
    threading.Thread(target=queue.submit, args=(owner, run, {"x": np.ones((1, 1))})).start()
    time.sleep(0.1)
    threading.Thread(target=queue.submit, args=(owner, run, {"x": np.ones((1, 1))})).start()
    time.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"queue .* is full"):
        queue.submit(owner, run, {"x": np.ones((1, 1))})
    assert time.monotonic() - started < 1.0


def test_inputs_must_agree_on_the_batch_dimension():
    queue = BatchQueue("m", BatchingOptions(num_batch_threads=1))
    with pytest.raises(InvalidArgument, match="same size in dimension 0"):
        queue.submit(object(), Recorder(), {"x": np.ones((2, 1)), "z": np.ones((3, 1))})


def test_errors_reach_every_request_of_the_batch():
    def failing(inputs):
        raise InvalidArgument("bad batch")

    queue = BatchQueue("m", BatchingOptions(batch_timeout_micros=0, num_batch_threads=1))
    with pytest.raises(InvalidArgument, match="bad batch"):
        queue.submit(object(), failing, {"x": np.ones((1, 1))})


def test_options_come_from_tf_serving_batching_parameters_with_its_defaults():
    params = BatchingParameters()
    params.max_batch_size.value = 32
    params.pad_variable_length_inputs = True
    options = BatchingOptions.from_proto(params)
    assert (options.max_batch_size, options.batch_timeout_micros) == (32, 0)
    assert options.max_enqueued_batches == 10 and options.pad_variable_length_inputs


def test_a_request_past_its_deadline_leaves_the_queue_with_deadline_exceeded():
    from serving.modelserver.errors import DeadlineExceeded

    slow = Recorder(delay=0.5)
    queue = BatchQueue("m", BatchingOptions(max_batch_size=1, num_batch_threads=1))
    owner = object()
    threading.Thread(target=queue.submit, args=(owner, slow, {"x": np.ones((1, 1))})).start()
    time.sleep(0.1)
    with pytest.raises(DeadlineExceeded):
        queue.submit(owner, slow, {"x": np.full((1, 1), 9.0)}, deadline=time.monotonic() + 0.1)
    time.sleep(0.6)
    assert all(batch[0, 0] != 9.0 for batch in slow.batches)
