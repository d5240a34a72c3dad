"""Closed-loop HTTP load: N concurrent keep-alive connections, each sending its next request
when answered. Same result type as the gRPC load, so the two print side by side."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import numpy as np

from loadtest.grpc_load import LoadResult, run_in_threads


def closed_loop_http(
    url: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    warmup_seconds: float = 2.0,
    expect=lambda status, payload: status == 200,
) -> LoadResult:
    """POST `body` to `url` from `concurrency` threads for `seconds` after a warm-up; a
    request fails unless `expect(status, payload)` holds."""
    parts = urlsplit(url)
    begin = time.monotonic() + warmup_seconds
    end = begin + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency
    headers = {"Content-Type": "application/json"}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while (now := time.monotonic()) < end:
            try:
                connection.request(
                    "POST", parts.path + (f"?{parts.query}" if parts.query else ""), body, headers
                )
                response = connection.getresponse()
                ok = expect(response.status, response.read())
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                ok = False
            if now < begin:
                continue
            if ok:
                latencies[index].append((time.monotonic() - now) * 1000)
            else:
                failures[index] += 1
        connection.close()

    run_in_threads(client, concurrency)
    merged = np.array([x for per_client in latencies for x in per_client])
    return LoadResult(len(merged), sum(failures), seconds, merged)
