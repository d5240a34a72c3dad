"""Drive a gRPC method with `h2load` (nghttp2's HTTP/2 load generator, C, one thread): a closed
loop replaying one pre-encoded request, so the load generator takes little of the CPU it
measures.

A gRPC call is an HTTP/2 POST of the message behind a 5-byte prefix (a compression flag and
the big-endian length), with `content-type: application/grpc`, `te: trailers` and a deadline
in `grpc-timeout`. h2load sees HTTP statuses only (gRPC's status is in the trailers), so the
caller checks failures on the server's side (its request_count metric); latencies come from
h2load's per-request log.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

PREDICT = "/tensorflow.serving.PredictionService/Predict"
MODEL_INFER = "/inference.GRPCInferenceService/ModelInfer"
"""The Open Inference Protocol's inference call."""


def available() -> bool:
    return shutil.which("h2load") is not None


def grpc_frame(message: bytes) -> bytes:
    """The length-prefixed message of a unary gRPC request, uncompressed."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def run(
    address: str,
    message: bytes,
    clients: int,
    seconds: float,
    method: str = PREDICT,
    streams_per_connection: int = 1,
    warm_up_seconds: float = 1.0,
) -> dict:
    """requests/s, p50/p99 ms and HTTP-level failures of a closed loop of `clients`."""
    connections = max(1, clients // streams_per_connection)
    with tempfile.TemporaryDirectory() as tmp:
        body, log = Path(tmp) / "request.bin", Path(tmp) / "requests.log"
        body.write_bytes(grpc_frame(message))
        command = [
            "h2load",
            f"--clients={connections}",
            f"--max-concurrent-streams={streams_per_connection}",
            f"--duration={seconds:g}",
            f"--warm-up-time={warm_up_seconds:g}",
            f"--data={body}",
            "--header=content-type: application/grpc",
            "--header=te: trailers",
            "--header=grpc-timeout: 10S",
            f"--log-file={log}",
            f"http://{address}{method}",
        ]
        report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        latencies_ms = _latencies(log.read_text())
    return parse(report, latencies_ms)


def parse(report: str, latencies_ms: np.ndarray) -> dict:
    done = re.search(
        r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", report
    )
    status = re.search(r"status codes: (\d+) 2xx", report)
    succeeded = int(status[1]) if status else int(done[2])
    return {
        "requests": succeeded,
        "failures": int(done[1]) - succeeded,
        "requests_per_second": round(
            float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", report)[1]), 1
        ),
        "p50_ms": round(float(np.percentile(latencies_ms, 50)), 2) if len(latencies_ms) else None,
        "p99_ms": round(float(np.percentile(latencies_ms, 99)), 2) if len(latencies_ms) else None,
    }


def _latencies(log: str) -> np.ndarray:
    """h2load --log-file: start µs, HTTP status, µs to the end of the response, per request."""
    values = [int(line.split("\t")[2]) for line in log.splitlines() if line.count("\t") >= 2]
    return np.array(values, dtype=np.float64) / 1000
