"""TF Serving's Predict and the Open Inference Protocol's ModelInfer on one model server, in
alternating rounds: what each protocol costs the server per request.

`python -m loadtest.bench_protocols` (`make bench-protocols`) starts the embedded model server
with the repo's batching.config and, for each round, drives it with h2load replaying one digit
image, first as a PredictRequest, then as a ModelInferRequest (raw contents, as tritonclient
sends them), each for the same seconds and clients. Rounds alternate because a run on this
kind of machine moves by more than the difference measured: the medians of interleaved rounds
compare the protocols, one run each does not. Writes reports/bench_protocols.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from contract.models import DIGIT_CLASSIFIER
from loadtest import h2load
from loadtest.cpu import CpuMeter, per_request_ms
from loadtest.payloads import digit_payloads, v2_digit_request
from loadtest.served import (
    add_data_arguments,
    failed_grpc_requests,
    model_base,
    model_runs,
    start_batched_model_server,
)
from serving.processes import ServerProcess
from training.data.mnist import load_mnist

MODEL = DIGIT_CLASSIFIER.name
PROTOCOLS = {"tf_serving": h2load.PREDICT, "v2": h2load.MODEL_INFER}
"""Each protocol's gRPC method, in the order a round runs them."""


def messages(image: np.ndarray) -> dict[str, bytes]:
    """One image as each protocol's serialized request."""
    return {
        "tf_serving": digit_payloads(image)[0].SerializeToString(),
        "v2": v2_digit_request(image).SerializeToString(),
    }


def measure(server: ServerProcess, image: np.ndarray, rounds: int, clients: int, seconds: float):
    """Per protocol, one point a round: requests/s, latencies, failures, the server's CPU per
    request and rows per session run."""
    requests = messages(image)
    meter = CpuMeter({"model_server": lambda: [server.process.pid]})
    points: dict[str, list[dict]] = {protocol: [] for protocol in PROTOCOLS}
    for _ in range(rounds):
        for protocol, method in PROTOCOLS.items():
            failed = failed_grpc_requests(server.rest_url, MODEL)
            runs, rows = model_runs(server.rest_url, MODEL)
            meter.start()
            point = h2load.run(server.grpc_address, requests[protocol], clients, seconds, method)
            spent = meter.stop()
            point["failures"] += failed_grpc_requests(server.rest_url, MODEL) - failed
            point["cpu_ms_per_request"] = per_request_ms(
                spent, point["requests"] + point["failures"]
            )["total"]
            more_runs, more_rows = np.subtract(model_runs(server.rest_url, MODEL), (runs, rows))
            point["rows_per_model_run"] = round(more_rows / more_runs, 2) if more_runs else None
            points[protocol].append(point)
    return points


def summary(points: dict[str, list[dict]]) -> dict[str, dict]:
    """Per protocol, the median of its rounds for each figure, and its failures in all."""
    return {
        protocol: {
            "cpu_ms_per_request": round(
                statistics.median(p["cpu_ms_per_request"] for p in rounds), 3
            ),
            "requests_per_second": round(
                statistics.median(p["requests_per_second"] for p in rounds), 1
            ),
            "p99_ms": round(statistics.median(p["p99_ms"] for p in rounds), 2),
            "rows_per_model_run": statistics.median(p["rows_per_model_run"] or 0 for p in rounds),
            "failures": sum(p["failures"] for p in rounds),
        }
        for protocol, rounds in points.items()
    }


def markdown(medians: dict[str, dict], rounds: int, clients: int) -> str:
    tf_cpu, v2_cpu = (medians[p]["cpu_ms_per_request"] for p in PROTOCOLS)
    lines = [
        f"Medians of {rounds} alternating rounds, {clients} clients, model server CPU per request:",
        "",
        "| protocol | CPU ms / request | req/s | p99 ms | rows per model run | failures |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {protocol} | {row['cpu_ms_per_request']} | {row['requests_per_second']} | "
        f"{row['p99_ms']} | {row['rows_per_model_run']} | {row['failures']} |"
        for protocol, row in medians.items()
    ]
    verdict = "met" if v2_cpu <= tf_cpu else "not met"
    lines += ["", f"V2 CPU per request ≤ TF Serving's: {v2_cpu} vs {tf_cpu} ms, {verdict}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_protocols", description=__doc__)
    add_data_arguments(parser)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_protocols.json"))
    args = parser.parse_args(argv)
    if not h2load.available():
        raise SystemExit("h2load not found: install nghttp2-client")
    image = load_mnist(args.data_dir).test[0][0]
    base = model_base(args.models_dir, MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_batched_model_server({MODEL: base}, Path(tmp))
        try:
            points = measure(server, image, args.rounds, args.clients, args.seconds)
        finally:
            server.stop()
    medians = summary(points)
    print(markdown(medians, args.rounds, args.clients))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"clients": args.clients, "seconds": args.seconds, "rounds": points}
    args.out.write_text(json.dumps({**report, "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
