"""Coalescing on its own (serving/gateway/coalescing.py), with threads and a model server
stand-in that holds each call until the test lets it go: who is merged with whom, what each
gets back, and what happens when a call fails or a deadline passes. The real gateway and model
server are in test_end_to_end.py."""

from __future__ import annotations

import queue
import threading

import numpy as np
import pytest

from client.grpc_client import Prediction
from serving.gateway import errors
from serving.gateway.coalescing import Coalescer
from tests.support.waiting import wait_until

KEY = ("model", "", None, (), ())
OTHER_KEY = ("model", "", "canary", (), ())


class HeldModelServer:
    """Doubles each input row; each call waits for `release()` unless `held` is off; a row
    below zero is refused as the model server refuses bad input."""

    def __init__(self, held: bool = True):
        self.calls: list[tuple[tuple, np.ndarray]] = []
        self.gate = threading.Semaphore(0)
        self.held = held
        self.failure: errors.ApiError | None = None

    def send(self, key):
        def call(inputs, timeout):
            self.calls.append((key, inputs["x"]))
            if self.held:
                assert self.gate.acquire(timeout=30)
            if self.failure:
                raise self.failure
            if (inputs["x"] < 0).any():
                raise errors.InvalidInput("model server: x must be at least 0")
            return Prediction({"y": inputs["x"] * 2}, key[0], 1, "serving_default")

        return call

    def release(self, calls: int = 1) -> None:
        for _ in range(calls):
            self.gate.release()


def rows(*values: float) -> dict[str, np.ndarray]:
    return {"x": np.array([[value] for value in values], np.float32)}


class Requests:
    """Predictions made on threads of their own; outcomes by name."""

    def __init__(self, coalescer: Coalescer):
        self.coalescer = coalescer
        self.outcomes: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []

    def start(self, name: str, inputs, key=KEY, timeout: float = 30.0) -> None:
        def run():
            try:
                self.outcomes.put((name, self.coalescer.predict(key, inputs, timeout)))
            except errors.ApiError as error:
                self.outcomes.put((name, error))

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)

    def results(self) -> dict:
        for thread in self.threads:
            thread.join(30)
        found = {}
        while not self.outcomes.empty():
            name, outcome = self.outcomes.get()
            found[name] = outcome
        return found


def busy(max_rows: int = 64):
    """A held stand-in, a coalescer over it, and a first request's call in flight."""
    server = HeldModelServer()
    coalescer = Coalescer(server.send, max_rows)
    requests = Requests(coalescer)
    requests.start("first", rows(1))
    wait_until(lambda: len(server.calls) == 1, what="the first call")
    return server, coalescer, requests


def test_a_lone_request_is_sent_at_once_alone():
    server = HeldModelServer(held=False)
    prediction = Coalescer(server.send, 64).predict(KEY, rows(1, 2), 5.0)
    np.testing.assert_array_equal(prediction.outputs["y"], [[2], [4]])
    assert [len(x) for _, x in server.calls] == [2]


def test_requests_arriving_during_a_call_leave_together_as_the_next_one():
    server, coalescer, requests = busy()
    for name, values in (("a", (2, 3)), ("b", (4,)), ("c", (5, 6, 7))):
        requests.start(name, rows(*values))
    wait_until(lambda: coalescer.queued(KEY) == 3, what="three queued")
    server.release(2)
    found = requests.results()
    assert [x.ravel().tolist() for _, x in server.calls] == [[1], [2, 3, 4, 5, 6, 7]]
    for name, values in (("first", (1,)), ("a", (2, 3)), ("b", (4,)), ("c", (5, 6, 7))):
        np.testing.assert_array_equal(found[name].outputs["y"].ravel(), np.multiply(values, 2))
    assert coalescer.queued(KEY) == 0


def test_a_call_takes_at_most_max_rows_and_the_rest_go_next():
    server, coalescer, requests = busy(max_rows=4)
    for index in range(3):
        requests.start(str(index), rows(10 + index, 20 + index))
        wait_until(lambda index=index: coalescer.queued(KEY) == index + 1, what="queued in order")
    server.release(3)
    found = requests.results()
    assert [len(x) for _, x in server.calls] == [1, 4, 2]
    assert all(isinstance(outcome, Prediction) for outcome in found.values())


def test_different_pins_are_never_merged():
    server = HeldModelServer()
    coalescer = Coalescer(server.send, 64)
    requests = Requests(coalescer)
    requests.start("newest", rows(1))
    requests.start("canary", rows(2), key=OTHER_KEY)
    wait_until(lambda: len(server.calls) == 2, what="one call per key, at once")
    server.release(2)
    requests.results()
    assert sorted((key[2] or "", x.ravel().tolist()) for key, x in server.calls) == [
        ("", [1.0]),
        ("canary", [2.0]),
    ]


def test_a_bad_member_cannot_fail_the_others():
    server, coalescer, requests = busy()
    requests.start("good", rows(2))
    requests.start("bad", rows(-1))
    requests.start("also good", rows(3))
    wait_until(lambda: coalescer.queued(KEY) == 3, what="three queued")
    server.release(5)  # the first call, the merged one (refused), then each member alone
    found = requests.results()
    assert isinstance(found["bad"], errors.InvalidInput)
    assert "x must be at least 0" in found["bad"].message
    np.testing.assert_array_equal(found["good"].outputs["y"].ravel(), [4])
    np.testing.assert_array_equal(found["also good"].outputs["y"].ravel(), [6])


def test_a_member_past_its_deadline_while_queued_gets_504_and_the_rest_answer():
    server, _, requests = busy()
    requests.start("hasty", rows(2), timeout=0.05)
    requests.start("patient", rows(3))
    hasty = wait_until(lambda: dict(requests.outcomes.queue).get("hasty"), what="the 504")
    assert isinstance(hasty, errors.BackendTimeout) and hasty.status == 504
    server.release(2)
    found = requests.results()
    assert [x.ravel().tolist() for _, x in server.calls] == [[1], [3]]
    np.testing.assert_array_equal(found["patient"].outputs["y"].ravel(), [6])


def test_a_failure_of_the_merged_call_that_is_not_the_input_is_every_members():
    server, coalescer, requests = busy()
    requests.start("a", rows(2))
    requests.start("b", rows(3))
    wait_until(lambda: coalescer.queued(KEY) == 2, what="two queued")
    server.failure = errors.BackendUnavailable("model server unreachable")
    server.release(2)
    found = requests.results()
    assert len(server.calls) == 2
    assert all(isinstance(found[name], errors.BackendUnavailable) for name in ("first", "a", "b"))
    assert found["a"] is not found["b"]


def test_the_merged_calls_timeout_is_its_earliest_members_deadline():
    timeouts = []
    server = HeldModelServer()

    def send(key):
        call = server.send(key)
        return lambda inputs, timeout: timeouts.append(timeout) or call(inputs, timeout)

    coalescer = Coalescer(send, 64)
    requests = Requests(coalescer)
    requests.start("first", rows(1), timeout=30)
    wait_until(lambda: len(server.calls) == 1, what="the first call")
    requests.start("soon", rows(2), timeout=3)
    requests.start("late", rows(3), timeout=30)
    wait_until(lambda: coalescer.queued(KEY) == 2, what="two queued")
    server.release(2)
    requests.results()
    assert timeouts[0] > 29 and 0 < timeouts[1] <= 3


@pytest.mark.parametrize("members", [1, 5])
def test_every_member_is_answered_when_the_stand_in_itself_breaks(members):
    """A bug below (anything but an API error) still answers every member: none waits forever."""
    server, coalescer, requests = busy()
    for index in range(members):
        requests.start(str(index), rows(2))
    wait_until(lambda: coalescer.queued(KEY) == members, what="queued")
    server.failure = RuntimeError("boom")
    server.release(2)
    found = requests.results()
    assert len(found) == members + 1
    assert all(isinstance(outcome, errors.BackendError) for outcome in found.values())
