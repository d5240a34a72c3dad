"""The gateway next to direct gRPC: `/v1/digits` with one image per request.

`python -m loadtest.bench_gateway` (`make bench-gateway`) starts the embedded model server
(batching on) on the exported models and the gateway under gunicorn in front of it, then drives
each path with the same closed-loop load (default 32 concurrent connections), one after the
other in one run, and at concurrency 1 to isolate the gateway's own added latency. Prints a
table and writes reports/bench_gateway.json, with the RSS of each gateway worker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

from contract.models import DIGIT_CLASSIFIER
from loadtest.grpc_load import closed_loop
from loadtest.http_load import closed_loop_http
from loadtest.payloads import digit_payloads
from loadtest.served import add_data_arguments, model_base, write_batching_config
from serving.processes import child_pids, start_gateway, start_model_server, write_models_config
from training.data.mnist import load_mnist

MODEL = DIGIT_CLASSIFIER.name


def worker_rss_mb(master_pid: int) -> list[float]:
    sizes = []
    for pid in child_pids(master_pid):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(round(int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024, 1))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_gateway", description=__doc__)
    add_data_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_gateway.json"))
    args = parser.parse_args(argv)

    base = model_base(args.models_dir, MODEL)
    image = load_mnist(args.data_dir).test[0][0]
    request, body = digit_payloads(image)
    results = {"concurrency": args.concurrency, "seconds": args.seconds, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = write_models_config(workdir / "models.config", {MODEL: base})
        batching = write_batching_config(workdir / "batching.config", args.concurrency)
        server = start_model_server(
            config,
            [MODEL],
            workdir,
            ["--enable_batching", f"--batching_parameters_file={batching}"],
        )
        gateway = start_gateway(
            server.grpc_address,
            server.rest_url,
            workdir,
            {"GATEWAY_MODELS": MODEL, "GATEWAY_THREADS": "16"},
        )
        url = f"{gateway.rest_url}/v1/digits"
        try:
            for concurrency in (1, args.concurrency):
                results[f"grpc_c{concurrency}"] = closed_loop(
                    server.grpc_address, request, concurrency, args.seconds
                ).summary()
                results[f"gateway_c{concurrency}"] = closed_loop_http(
                    url, body, concurrency, args.seconds
                ).summary()
            results["gateway_worker_rss_mb"] = worker_rss_mb(gateway.process.pid)
        finally:
            gateway.stop()
            server.stop()

    top = args.concurrency
    grpc_row, gateway_row = results[f"grpc_c{top}"], results[f"gateway_c{top}"]
    results["gateway_throughput_ratio"] = round(
        gateway_row["requests_per_second"] / grpc_row["requests_per_second"], 2
    )
    results["added_p50_ms_c1"] = round(
        results["gateway_c1"]["p50_ms"] - results["grpc_c1"]["p50_ms"], 2
    )
    results[f"added_p50_ms_c{top}"] = round(gateway_row["p50_ms"] - grpc_row["p50_ms"], 2)
    print(f"{MODEL}, single-image requests, closed loop, {os.cpu_count()} CPUs shared by all")
    print("| path | connections | requests/s | p50 ms | p99 ms | failures |")
    print("|---|---|---|---|---|---|")
    for concurrency in (1, top):
        for path in ("grpc", "gateway"):
            row = results[f"{path}_c{concurrency}"]
            name = "direct gRPC" if path == "grpc" else "gateway HTTP /v1/digits"
            print(
                f"| {name} | {concurrency} | {row['requests_per_second']} | {row['p50_ms']} | "
                f"{row['p99_ms']} | {row['failures']} |"
            )
    print(
        f"gateway added p50 latency: {results['added_p50_ms_c1']} ms at 1 connection, "
        f"{results[f'added_p50_ms_c{top}']} ms at {top}; gateway/gRPC throughput at {top}: "
        f"{results['gateway_throughput_ratio']}; worker RSS MB: {results['gateway_worker_rss_mb']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
