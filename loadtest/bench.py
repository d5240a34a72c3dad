"""`make bench`: the digit classifier, one image per request, served five ways, side by side in
one run, at each concurrency level (default 1, 8, 32, 64, 128):

  in_process     the SavedModel called in this process from N threads (the ceiling);
  grpc_batching  direct gRPC to the embedded model server, batching on;
  grpc_plain     the same, batching off;
  gateway        the gateway over HTTP (gunicorn, GATEWAY_WORKERS workers) in front of the
                 batching model server;
  naive          a Flask app that loads the SavedModel in each worker and calls it per request,
                 under gunicorn with the same workers and threads (loadtest/naive_app.py).

HTTP load comes from `wrk` (installed by `make bench` when missing), gRPC load from several
client processes. Writes reports/bench.json, reports/bench.md and reports/bench.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf  # the ceiling runs the model here; imported before client.protos

from client.protos import predict_pb2
from client.tensors import to_tensor_proto
from loadtest import wrk
from loadtest.grpc_load import LoadResult, closed_loop_processes, run_in_threads
from loadtest.http_load import closed_loop_http
from loadtest.processes import (
    REPO,
    ServerProcess,
    add_data_arguments,
    free_port,
    http,
    start_gateway,
    start_model_server,
    write_batching_config,
    write_models_config,
)
from training.data.mnist import load_mnist
from training.layout import existing_versions

MODEL = "digit_classifier"
PATHS = ("in_process", "grpc_batching", "grpc_plain", "gateway", "naive")
WORKERS, THREADS = 2, 16
TARGET_CONCURRENCY = 64


def in_process(version_dir: Path, image: np.ndarray, concurrency: int, seconds: float) -> dict:
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    images = tf.constant(image[None].astype(np.float32))
    signature(images=images)
    begin = time.monotonic() + 1.0
    end = begin + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]

    def caller(index: int) -> None:
        while (now := time.monotonic()) < end:
            signature(images=images)
            if now >= begin:
                latencies[index].append((time.monotonic() - now) * 1000)

    run_in_threads(caller, concurrency)
    merged = np.array([x for own in latencies for x in own])
    return LoadResult(len(merged), 0, seconds, merged).summary()


def http_load(url: str, body: bytes, concurrency: int, seconds: float) -> dict:
    if wrk.available():
        return wrk.run(url, body, concurrency, seconds)
    return closed_loop_http(url, body, concurrency, seconds).summary()


def start_naive(version_dir: Path, workdir: Path) -> ServerProcess:
    port = free_port()
    log_path = workdir / "naive.log"
    env = {**os.environ, "NAIVE_MODEL_DIR": str(version_dir)}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--timeout",
        "120",
        "loadtest.naive_app:app",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    naive = ServerProcess(process, "", f"http://127.0.0.1:{port}", log_path)
    stop_at = time.monotonic() + 180
    while time.monotonic() < stop_at:
        if process.poll() is not None:
            raise RuntimeError(f"naive app exited:\n{naive.log_tail()}")
        try:
            if http("GET", naive.rest_url + "/healthz", timeout=2)[0] == 200:
                return naive
        except OSError:
            pass
        time.sleep(0.5)
    naive.stop()
    raise RuntimeError("naive app not ready")


def measure(args, base: Path, image: np.ndarray, workdir: Path) -> dict:
    version_dir = base / str(existing_versions(base)[-1])
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["images"].CopyFrom(to_tensor_proto(image[None].astype(np.float32)))
    body = json.dumps({"images": [image.tolist()]}).encode()
    config = write_models_config(workdir / "models.config", {MODEL: base})
    batching = write_batching_config(workdir / "batching.config", max(args.levels))
    results: dict[str, dict[int, dict]] = {path: {} for path in PATHS}

    def sweep(path: str, run) -> None:
        for level in args.levels:
            results[path][level] = run(level)
            print(f"{path:>14} c={level:<4} {results[path][level]}", flush=True)

    sweep("in_process", lambda c: in_process(version_dir, image, c, args.seconds))
    for path, flags in (
        ("grpc_batching", ["--enable_batching", f"--batching_parameters_file={batching}"]),
        ("grpc_plain", []),
    ):
        server = start_model_server(config, [MODEL], workdir, flags)
        try:
            sweep(
                path,
                lambda c, s=server: closed_loop_processes(
                    s.grpc_address, request, c, args.seconds
                ).summary(),
            )
            if path == "grpc_batching":
                gateway = start_gateway(
                    server.grpc_address,
                    server.rest_url,
                    workdir,
                    {
                        "GATEWAY_MODELS": MODEL,
                        "GATEWAY_WORKERS": str(WORKERS),
                        "GATEWAY_THREADS": str(THREADS),
                        "GATEWAY_LOG_LEVEL": "WARNING",
                    },
                )
                try:
                    url = gateway.rest_url + "/v1/digits"
                    sweep("gateway", lambda c, u=url: http_load(u, body, c, args.seconds))
                finally:
                    gateway.stop()
        finally:
            server.stop()
    naive = start_naive(version_dir, workdir)
    try:
        url = naive.rest_url + "/v1/digits"
        sweep("naive", lambda c: http_load(url, body, c, args.seconds))
    finally:
        naive.stop()
    return results


def ratios(results: dict, level: int) -> dict:
    naive = results["naive"][level]
    return {
        "gateway_vs_naive_throughput": round(
            results["gateway"][level]["requests_per_second"] / naive["requests_per_second"], 2
        ),
        "gateway_p99_below_naive": results["gateway"][level]["p99_ms"] < naive["p99_ms"],
        "grpc_vs_naive_throughput": round(
            results["grpc_batching"][level]["requests_per_second"] / naive["requests_per_second"], 2
        ),
    }


def markdown(results: dict, levels: list[int]) -> str:
    lines = [
        "| path | " + " | ".join(f"c={c} req/s (p50 / p99 ms)" for c in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for path in PATHS:
        cells = [
            f"{r['requests_per_second']} ({r['p50_ms']} / {r['p99_ms']})"
            + (f", {r['failures']} failed" if r["failures"] else "")
            for r in (results[path][c] for c in levels)
        ]
        lines.append(f"| {path} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(results: dict, levels: list[int], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for path in PATHS:
        rows = [results[path][c] for c in levels]
        left.plot(levels, [r["requests_per_second"] for r in rows], marker="o", label=path)
        (line,) = right.plot(levels, [r["p50_ms"] for r in rows], marker="o", label=f"{path} p50")
        right.plot(
            levels,
            [r["p99_ms"] for r in rows],
            marker="x",
            linestyle="--",
            color=line.get_color(),
            label=f"{path} p99",
        )
    for axis, title, unit in ((left, "Throughput", "requests/s"), (right, "Latency", "ms")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_xlabel("concurrent clients")
        axis.set_ylabel(unit)
        axis.set_title(f"{title}: digit_classifier, 1 image per request")
        axis.grid(alpha=0.3)
    right.set_yscale("log")
    left.legend()
    right.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64, 128])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    base = args.models_dir.resolve() / MODEL
    if not existing_versions(base):
        raise SystemExit(f"no {MODEL} under {base}: run `make models` first")
    if not wrk.available():
        print("wrk not found: HTTP load falls back to Python threads (less precise)")
    image = load_mnist(args.data_dir).test[0][0]
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args, base, image, Path(tmp))
    report = {
        "model": MODEL,
        "cpus": os.cpu_count(),
        "seconds_per_point": args.seconds,
        "http_load": "wrk" if wrk.available() else "python",
        "workers": WORKERS,
        "threads": THREADS,
        "results": results,
    }
    table = markdown(results, args.levels)
    if TARGET_CONCURRENCY in args.levels:
        report["ratios_at_64"] = ratios(results, TARGET_CONCURRENCY)
        table += (
            f"\n\nAt 64 clients: gateway/naive throughput "
            f"{report['ratios_at_64']['gateway_vs_naive_throughput']}× (target ≥ 1.5×), gateway "
            f"p99 below naive: {report['ratios_at_64']['gateway_p99_below_naive']}; direct gRPC/"
            f"naive {report['ratios_at_64']['grpc_vs_naive_throughput']}× (target ≥ 3×)."
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench.md").write_text(table + "\n")
    chart(results, args.levels, args.out / "bench.png")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
