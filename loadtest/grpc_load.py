"""Closed-loop gRPC load: N concurrent clients, each sending its next request when answered."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import grpc
import numpy as np

from client.protos import predict_pb2, prediction_service_pb2_grpc


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

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    channel.close()
    merged = np.array([x for per_client in latencies for x in per_client])
    return LoadResult(len(merged), sum(failures), seconds, merged)
