"""A lingering close, as nginx does it: after answering a request early (413, 408, 431, 414),
read and discard what the client is still sending before closing, so a client that writes its
whole request before it reads (urllib, http.client) is not reset under it and gets the answer.
Raw reads of the socket, whatever the framing of the rest."""

from __future__ import annotations

import contextlib
import socket
import time

LINGER_BYTES = 256 * 1024 * 1024
"""At most this much more is read and discarded..."""
LINGER_S = 5.0
"""... for at most this long in all..."""
LINGER_IDLE_S = 1.0
"""... and no longer than this without data (nginx's lingering_timeout)."""


def drain(client: socket.socket) -> None:
    """Read until the client closes or a bound runs out; never raises."""
    stop_at, read = time.monotonic() + LINGER_S, 0
    with contextlib.suppress(OSError):
        client.settimeout(LINGER_IDLE_S)
        while read < LINGER_BYTES and time.monotonic() < stop_at:
            chunk = client.recv(64 * 1024)
            if not chunk:
                return
            read += len(chunk)
