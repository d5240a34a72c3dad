"""Deadline-aware admission: at most `max_in_flight` requests run in a worker at once; more wait
for a slot in arrival order, as long as their wait is expected to end within the deadline.

A closed loop of clients therefore queues instead of being shed. A request is refused (429 with
Retry-After) only when its expected wait — its place in the queue times the recent time a
request holds a slot, spread over the slots — exceeds the deadline, or when its wait runs out.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from serving.gateway.errors import TooManyRequests

SMOOTHING = 0.2
"""Weight of the newest service time in the running average."""


class Admission:
    def __init__(self, max_in_flight: int, deadline_s: float, initial_service_s: float = 0.01):
        self.max_in_flight = max_in_flight
        self.deadline_s = deadline_s
        self._slots = threading.Semaphore(max_in_flight)
        self._lock = threading.Lock()
        self._waiting = 0
        self._service_s = initial_service_s

    def expected_wait_s(self, position: int) -> float:
        return position / self.max_in_flight * self._service_s

    @contextmanager
    def slot(self):
        if not self._slots.acquire(blocking=False):
            self._wait_for_slot()
        started = time.monotonic()
        try:
            yield
        finally:
            self._slots.release()
            held = time.monotonic() - started
            with self._lock:
                self._service_s += SMOOTHING * (held - self._service_s)

    def _wait_for_slot(self) -> None:
        with self._lock:
            self._waiting += 1
            expected = self.expected_wait_s(self._waiting)
        try:
            if expected > self.deadline_s:
                raise TooManyRequests(
                    f"gateway busy: the expected wait for a slot ({expected:.2f} s) exceeds the "
                    f"deadline ({self.deadline_s:g} s); retry later"
                )
            if not self._slots.acquire(timeout=self.deadline_s):
                raise TooManyRequests(
                    f"gateway busy: no slot freed within the deadline ({self.deadline_s:g} s); "
                    "retry later"
                )
        finally:
            with self._lock:
                self._waiting -= 1
