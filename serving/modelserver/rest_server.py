"""The HTTP server under TF Serving's REST API: waitress, a production WSGI server. One I/O
thread reads every connection (poll, not a thread per connection) and hands only complete
requests to a fixed pool of --rest_api_num_threads threads, so a client that sends half a
request head, or trickles its body, costs a socket, never a thread; an idle connection is
closed after --rest_api_timeout_in_ms.
"""

from __future__ import annotations

import threading
import time

import waitress
from waitress import wasyncore

CONNECTION_LIMIT = 10_000
"""Connections held open at once. Beyond it waitress stops accepting until some close, so it
sits far above what clients need: idle ones cost memory, not threads."""
CLEANUP_INTERVAL_S = 2
"""How often idle connections are looked for."""
STOP_POLL_S = 0.05
ACCEPTS_PER_TURN = 64
"""Connections accepted per turn of the I/O loop while more are waiting. Waitress accepts one a
turn, and a turn polls every open connection: a burst of thousands took seconds to accept,
and a normal request waited behind them in the listen backlog."""


class RestServer:
    def __init__(self, app, port: int, threads: int, idle_timeout_s: float):
        self._server = waitress.create_server(
            app,
            host="0.0.0.0",
            port=port,
            threads=threads,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=max(1, round(idle_timeout_s)),
            cleanup_interval=CLEANUP_INTERVAL_S,
            asyncore_use_poll=True,  # select() stops at 1,024 descriptors
            clear_untrusted_proxy_headers=True,
            expose_tracebacks=False,
            ident="",
        )
        self.port = self._server.effective_port
        self._accept_one = self._server.handle_accept
        self._server.handle_accept = self._accept_waiting
        self._thread = threading.Thread(target=self._server.run, name="rest", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace_seconds: float) -> None:
        """Stop accepting, let the requests in flight finish and their answers leave (up to
        `grace_seconds`), then close every connection."""
        server = self._server
        server.accepting = False
        server.pull_trigger()
        stop_at = time.monotonic() + grace_seconds
        while self._busy() and time.monotonic() < stop_at:
            time.sleep(STOP_POLL_S)
        server.task_dispatcher.shutdown(timeout=max(0.0, stop_at - time.monotonic()))
        wasyncore.close_all(server._map)
        self._thread.join(grace_seconds)

    def _accept_waiting(self) -> None:
        """waitress's own accept, repeated while it finds connections waiting (it adds one to
        the server's map each time; none is added once accept() would block)."""
        for _ in range(ACCEPTS_PER_TURN):
            before = len(self._server._map)
            self._accept_one()
            if len(self._server._map) == before:
                return

    def _busy(self) -> bool:
        dispatcher = self._server.task_dispatcher
        if dispatcher.active_count or dispatcher.queue:
            return True
        return any(
            getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
            for channel in list(self._server._map.values())
        )
