"""Closed-loop gRPC load: N concurrent clients, each sending its next request when answered."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from protocol.messages import predict_pb2, prediction_service_pb2_grpc


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return (
            float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")
        )

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "requests_per_second": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
        }


def run_in_threads(function, count: int) -> None:
    """Call `function(index)` for index 0..count-1, each on its own thread, and wait for all."""
    threads = [threading.Thread(target=function, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def closed_loop(
    address: str,
    request: predict_pb2.PredictRequest,
    concurrency: int,
    seconds: float,
    warmup_seconds: float = 2.0,
) -> LoadResult:
    """Run `concurrency` client threads on one channel for `seconds` after a warm-up."""
    channel = grpc.insecure_channel(address)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    begin = time.monotonic() + warmup_seconds
    end = begin + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures = [0] * concurrency

    def client(index: int) -> None:
        while (now := time.monotonic()) < end:
            try:
                stub.Predict(request, timeout=30)
            except grpc.RpcError:
                failures[index] += now >= begin
                continue
            if now >= begin:
                latencies[index].append((time.monotonic() - now) * 1000)

    run_in_threads(client, concurrency)
    channel.close()
    merged = np.array([x for per_client in latencies for x in per_client])
    return LoadResult(len(merged), sum(failures), seconds, merged)


def closed_loop_processes(
    address: str,
    request: predict_pb2.PredictRequest,
    concurrency: int,
    seconds: float,
    processes: int = 4,
) -> LoadResult:
    """`closed_loop` spread over client processes (fresh, light interpreters running
    `python -m loadtest.grpc_load`), so that the load generator's Python is not the limit."""
    processes = max(1, min(processes, concurrency))
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    with tempfile.TemporaryDirectory() as tmp:
        request_path = Path(tmp) / "request.pb"
        request_path.write_bytes(request.SerializeToString())
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "loadtest.grpc_load",
                    address,
                    str(request_path),
                    str(share),
                    str(seconds),
                    str(Path(tmp) / f"latencies-{index}.npy"),
                ],
                cwd=Path(__file__).resolve().parents[1],
                stdout=subprocess.PIPE,
                text=True,
            )
            for index, share in enumerate(shares)
        ]
        failures = sum(int(run.communicate()[0] or 0) for run in runs)
        latencies = np.concatenate(
            [np.load(Path(tmp) / f"latencies-{index}.npy") for index in range(len(shares))]
        )
    return LoadResult(len(latencies), failures, seconds, latencies)


def main(argv: list[str]) -> None:
    """ADDRESS REQUEST_FILE CONCURRENCY SECONDS OUT.npy: one client process's share; prints
    the number of failures."""
    address, request_path, concurrency, seconds, out = argv
    request = predict_pb2.PredictRequest.FromString(Path(request_path).read_bytes())
    result = closed_loop(address, request, int(concurrency), float(seconds))
    np.save(out, result.latencies_ms)
    print(result.failures)


if __name__ == "__main__":
    main(sys.argv[1:])
