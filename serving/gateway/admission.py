"""Deadline-aware admission: at most `max_in_flight` requests run in a worker at once; more wait
for a slot in arrival order, as long as their wait is expected to end within the deadline.

A closed loop of clients therefore queues instead of being shed. A request is refused (429 with
Retry-After) only when its expected wait — its place in the queue times the recent time a
request holds a slot, spread over the slots — exceeds what is left of its deadline, or when
its wait runs out; the wait spends from the request's one deadline (serving/gateway/deadline.py).
A freed slot passes straight to the longest waiter: a newcomer never takes it first (a plain
semaphore lets newcomers barge, which starved some waiters for seconds under a closed loop).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager

from serving.gateway.errors import TooManyRequests

SMOOTHING = 0.2
"""Weight of the newest service time in the running average."""


class Admission:
    def __init__(self, max_in_flight: int, initial_service_s: float = 0.01):
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._free = max_in_flight
        self._waiters: deque[threading.Event] = deque()
        self._service_s = initial_service_s

    def expected_wait_s(self, position: int) -> float:
        return position / self.max_in_flight * self._service_s

    @contextmanager
    def slot(self, wait_s: float):
        """A slot, waited for at most `wait_s` seconds (what the request's deadline leaves)."""
        self._acquire(wait_s)
        started = time.monotonic()
        try:
            yield
        finally:
            self._release()
            held = time.monotonic() - started
            with self._lock:
                self._service_s += SMOOTHING * (held - self._service_s)

    def _acquire(self, wait_s: float) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            expected = self.expected_wait_s(len(self._waiters) + 1)
            if expected > wait_s:
                raise TooManyRequests(
                    f"gateway busy: the expected wait for a slot ({expected:.2f} s) exceeds what "
                    f"is left of the deadline ({wait_s:.2f} s); retry later"
                )
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(wait_s):
            return
        with self._lock:
            if turn.is_set():  # handed a slot just as the wait ran out
                return
            self._waiters.remove(turn)
        raise TooManyRequests(
            f"gateway busy: no slot freed within the deadline ({wait_s:.2f} s left); retry later"
        )

    def _release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._free += 1
