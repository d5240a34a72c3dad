"""A total time bound on reading from a client socket. A per-read timeout cannot give one: a
client that sends a byte just before each timeout keeps a read going for ever. At the cutoff
the socket's read side is shut down, so the read in progress (gunicorn's, inside Werkzeug)
sees the end of the stream at once, under sync threads and gevent alike.

One thread per process keeps the cutoffs in a heap (a greenlet under gevent's patching), so a
request costs a heap push and pop, not a thread or a timer of its own.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time


class Cutoffs:
    def __init__(self):
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._cancelled: set[int] = set()
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, client: socket.socket, at: float) -> int:
        """Shut `client`'s read side at time.monotonic() `at` unless cancelled first."""
        with self._wake:
            token = next(self._ids)
            heapq.heappush(self._heap, (at, token, client))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cutoffs", daemon=True)
                self._thread.start()
            if self._heap[0][1] == token:  # the earliest now: the thread's wait must shorten
                self._wake.notify()
            return token

    def cancel(self, token: int) -> bool:
        """Forget the cutoff; True when it had already fired."""
        with self._wake:
            if token in self._fired:
                self._fired.discard(token)
                return True
            self._cancelled.add(token)
            return False

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                at, token, client = self._heap[0]
                if token in self._cancelled:
                    heapq.heappop(self._heap)
                    self._cancelled.discard(token)
                    continue
                left = at - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._fired.add(token)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RD)
