"""A bound on requests in flight per worker: past it, a request waits up to the queue timeout
for a slot and then gets 429 with Retry-After, instead of an ever longer wait."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from serving.gateway.errors import TooManyRequests


class Admission:
    def __init__(self, max_in_flight: int, queue_timeout_s: float):
        self.max_in_flight = max_in_flight
        self.queue_timeout_s = queue_timeout_s
        self._slots = threading.BoundedSemaphore(max_in_flight)

    @contextmanager
    def slot(self):
        if not self._slots.acquire(timeout=self.queue_timeout_s):
            raise TooManyRequests(
                f"gateway busy: {self.max_in_flight} requests in flight in this worker and none "
                f"finished within {self.queue_timeout_s:g} s; retry later"
            )
        try:
            yield
        finally:
            self._slots.release()
