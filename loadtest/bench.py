"""`make bench`: the digit classifier, one real MNIST image per request, served several ways on the
same cores with the same load, one after another in one run:

  in_process   the SavedModel called in this process: the XLA export (the ceiling: batch-1
               latency, batch-64 throughput) and its plain-graph twin (the export before XLA,
               same weights, loadtest/plain_graph.py);
  grpc         direct gRPC to the embedded model server with the repo's batching.config, load
               from h2load replaying one pre-encoded PredictRequest;
  grpc_v2      the same server through the Open Inference Protocol's ModelInfer (raw contents,
               as tritonclient sends them), h2load the same way;
  gateway      /v1/digits through the gateway (gunicorn) in front of that server, load from wrk;
  naive        a Flask app calling the SavedModel in each gunicorn worker (loadtest/naive_app.py),
               load from wrk;
  bentoml, ray the serving frameworks a user would pick instead, BentoML (adaptive batching) and
               Ray Serve (@serve.batch), each from its own venv under .peers/ (`make peers`;
               skipped when not installed), load from wrk (loadtest/peers/).

Load generators are C programs (wrk, h2load) so they take little of the CPU they measure; `make
bench` installs them when it runs as root. Failures count non-2xx answers and socket errors, and
for gRPC the server's own request_count by status (h2load sees HTTP statuses only). Writes
reports/bench.json, reports/bench.md and reports/bench.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf  # the ceiling runs the model here; imported before protocol.messages

from contract.layout import existing_versions
from contract.models import DIGIT_CLASSIFIER
from loadtest import h2load, wrk
from loadtest.cpu import CpuMeter, family, per_request_ms, tree
from loadtest.payloads import digit_payloads, predict_request, series_window, v2_digit_request
from loadtest.peers import launch as peers
from loadtest.plain_graph import strip_xla
from loadtest.served import (
    add_data_arguments,
    failed_grpc_requests,
    model_base,
    model_runs,
    start_batched_model_server,
)
from serving.gateway.settings import GatewaySettings
from serving.gateway.tasks import forecasts, sums
from serving.processes import REPO, ServerProcess, free_port, start_gateway, wait_for_http
from training.data.mnist import load_mnist

MODEL = DIGIT_CLASSIFIER.name
SERVED = ("grpc", "grpc_v2", "gateway", "naive")
WORKERS, THREADS = 2, 16


def calls_per_second(signature, images: tf.Tensor, seconds: float) -> tuple[float, float]:
    """(median ms per call, calls per second) of back-to-back calls after a warm-up call."""
    signature(images=images)
    durations = []
    stop = time.perf_counter() + seconds
    while (started := time.perf_counter()) < stop:
        signature(images=images)
        durations.append(time.perf_counter() - started)
    return float(np.median(durations)) * 1000, len(durations) / sum(durations)


def in_process(version: Path, images: np.ndarray, seconds: float) -> dict:
    signature = tf.saved_model.load(str(version)).signatures["serving_default"]
    one_ms, _ = calls_per_second(signature, tf.constant(images[:1]), seconds)
    _, batches = calls_per_second(signature, tf.constant(images[:64]), seconds)
    return {"batch_1_ms": round(one_ms, 3), "batch_64_images_per_second": round(batches * 64, 1)}


def start_naive(version: Path, workdir: Path) -> ServerProcess:
    port = free_port()
    log_path = workdir / "naive.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS)),
        *("--timeout", "120", "loadtest.naive_app:app"),
    ]
    env = {**os.environ, "NAIVE_MODEL_DIR": str(version)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    naive = ServerProcess(process, "", f"http://127.0.0.1:{port}", log_path)
    return wait_for_http(naive, "/healthz", 180, "naive app")


def route_requests(models_dir: Path) -> dict[str, tuple[str, bytes, bytes]]:
    """Per extra route whose model is there: (model, PredictRequest, gateway JSON body), the
    request built by the gateway's own task from the body (one 32-step 0/1 sequence; one window
    of the true series, 10 steps ahead)."""
    rng = np.random.default_rng(0)
    window, _ = series_window(rng, 10)
    bodies = {
        "sum": (sums.TASK, {"sequences": [rng.integers(0, 2, 32).tolist()]}),
        "forecast": (forecasts.TASK, {"series": [window], "horizon": 10}),
    }
    requests = {}
    for route, (task, body) in bodies.items():
        if not existing_versions(models_dir.resolve() / task.model):
            print(f"{route}: no {task.model} under {models_dir}, route skipped", flush=True)
            continue
        call = task.build(body, {}, GatewaySettings())
        message = predict_request(task.model, **call.inputs)
        message.model_spec.signature_name = call.signature
        message.output_filter.extend(call.output_filter)
        requests[route] = (task.model, message.SerializeToString(), json.dumps(body).encode())
    return requests


def measure(args, base: Path, image: np.ndarray, workdir: Path) -> dict:
    version = base / str(existing_versions(base)[-1])
    images = np.repeat(image[None].astype(np.float32), 64, axis=0)
    measured_peers = [name for name in peers.NAMES if peers.installed(name)]
    results: dict = {"in_process": {}, **{path: {} for path in (*SERVED, *measured_peers)}}
    for name, path in (("xla", version), ("plain", strip_xla(version, workdir / "plain" / "1"))):
        results["in_process"][name] = in_process(path, images, args.seconds)
        print(f"in_process {name}: {results['in_process'][name]}", flush=True)
    routes = route_requests(args.models_dir)
    digit_request, digit_body = digit_payloads(image)
    requests = {
        "digits": (MODEL, digit_request.SerializeToString(), digit_body),
        **routes,
    }
    results["routes"] = {route: {"grpc": {}, "gateway": {}} for route in routes}

    def sweep(path: str, run, processes: dict, route: str = "digits", batches=None) -> None:
        """Each level's run, with the CPU one request cost in each group of `processes`, and
        with `batches` (the model server's (session runs, rows) so far) the rows per run."""
        points = results[path] if route == "digits" else results["routes"][route][path]
        meter = CpuMeter(processes)
        for level in args.levels:
            before = batches() if batches else None
            meter.start()
            point = run(level)
            spent = meter.stop()
            point["cpu_ms_per_request"] = per_request_ms(
                spent, point["requests"] + point["failures"]
            )
            if batches:
                runs, rows = np.subtract(batches(), before)
                point["rows_per_model_run"] = round(rows / runs, 2) if runs else None
            points[level] = point
            label = path if route == "digits" else f"{path} {route}"
            print(f"{label:>16} c={level:<4} {points[level]}", flush=True)

    served = {model: base.parent / model for model, _, _ in requests.values()}
    server = start_batched_model_server(served, workdir)
    try:
        for route, (model, message, _) in requests.items():

            def grpc_run(level: int, model=model, message=message) -> dict:
                failed = failed_grpc_requests(server.rest_url, model)
                result = h2load.run(server.grpc_address, message, level, args.seconds)
                result["failures"] += failed_grpc_requests(server.rest_url, model) - failed
                return result

            sweep(
                "grpc",
                grpc_run,
                {"model_server": lambda: [server.process.pid]},
                route,
                functools.partial(model_runs, server.rest_url, model),
            )
        v2_message = v2_digit_request(image).SerializeToString()

        def v2_run(level: int) -> dict:
            failed = failed_grpc_requests(server.rest_url, MODEL)
            method = h2load.MODEL_INFER
            result = h2load.run(server.grpc_address, v2_message, level, args.seconds, method)
            result["failures"] += failed_grpc_requests(server.rest_url, MODEL) - failed
            return result

        sweep(
            "grpc_v2",
            v2_run,
            {"model_server": lambda: [server.process.pid]},
            batches=functools.partial(model_runs, server.rest_url, MODEL),
        )
        gateway = start_gateway(
            server.grpc_address,
            server.rest_url,
            workdir,
            {"GATEWAY_MODELS": ",".join(served), "GATEWAY_LOG_LEVEL": "WARNING"},
        )
        try:
            stack = {
                "gateway": lambda: tree(gateway.process.pid),
                "model_server": lambda: [server.process.pid],
            }
            for route, (model, _, body) in requests.items():
                url = f"{gateway.rest_url}/v1/{route}"
                sweep(
                    "gateway",
                    lambda c, url=url, body=body: wrk.run(url, body, c, args.seconds),
                    stack,
                    route,
                    functools.partial(model_runs, server.rest_url, model),
                )
        finally:
            gateway.stop()
    finally:
        server.stop()
    body = requests["digits"][2]
    for name, start in (
        ("naive", start_naive),
        *((peer, functools.partial(peers.start, peer)) for peer in measured_peers),
    ):
        server = start(version, workdir)
        try:
            url = server.rest_url + "/v1/digits"
            processes = {name: lambda server=server: family(server.process.pid)}
            sweep(name, lambda c, url=url: wrk.run(url, body, c, args.seconds), processes)
        finally:
            server.stop()
    return results


def targets(results: dict, top: int) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the targets at `top` connections and at one."""
    xla = results["in_process"]["xla"]
    gateway, naive = results["gateway"][top], results["naive"][top]
    rate, cpu = "requests_per_second", "cpu_ms_per_request"
    gateway_cpu, stack_cpu, naive_cpu = (
        gateway[cpu]["gateway"],
        gateway[cpu]["total"],
        naive[cpu]["total"],
    )
    rows = [
        (f"gateway CPU per request c={top} ≤ 0.5 ms", f"{gateway_cpu} ms", gateway_cpu <= 0.5),
        (
            f"gateway + model server CPU per request c={top} ≤ 0.8× naive",
            f"{stack_cpu / naive_cpu:.2f}× ({stack_cpu} vs {naive_cpu} ms)",
            stack_cpu <= 0.8 * naive_cpu,
        ),
        (
            f"gateway c={top} ≥ 1.25× naive",
            f"{gateway[rate] / naive[rate]:.2f}×",
            gateway[rate] >= 1.25 * naive[rate],
        ),
        (f"gateway c={top} p99 ≤ 60 ms", f"{gateway['p99_ms']} ms", gateway["p99_ms"] <= 60),
        (f"gateway c={top} no failures", str(gateway["failures"]), gateway["failures"] == 0),
    ]
    for peer in (path for path in served_paths(results) if path not in SERVED):
        other = results[peer][top]
        rows.append(
            (
                f"gateway c={top} ≥ 1.5× {peer}",
                f"{gateway[rate] / other[rate]:.2f}× ({gateway[rate]} vs {other[rate]} req/s)",
                gateway[rate] >= 1.5 * other[rate],
            )
        )
    if results.get("grpc_v2"):
        v2_cpu = results["grpc_v2"][top][cpu]["total"]
        tf_cpu = results["grpc"][top][cpu]["total"]
        rows.append(
            (
                f"V2 gRPC CPU per request c={top} ≤ TF Serving gRPC's",
                f"{v2_cpu} vs {tf_cpu} ms",
                v2_cpu <= tf_cpu,
            )
        )
    if 1 in results["gateway"]:
        p50 = results["gateway"][1]["p50_ms"]
        rows.append(
            (
                "gateway c=1 p50 ≤ in-process batch 1 + 1.5 ms",
                f"{p50} ms (batch 1: {xla['batch_1_ms']} ms)",
                p50 <= xla["batch_1_ms"] + 1.5,
            )
        )
    return rows


def served_paths(results: dict) -> list[str]:
    """The digit paths measured, in order: the benchmark's own, then the peers."""
    return [path for path in results if path not in ("in_process", "routes")]


def markdown(results: dict, levels: list[int], machine: str) -> str:
    lines = [f"Machine: {machine}.", ""]
    lines += ["| in process | batch 1 ms/call | batch 64 images/s |", "|---|---|---|"]
    for name, row in results["in_process"].items():
        lines.append(f"| {name} | {row['batch_1_ms']} | {row['batch_64_images_per_second']} |")
    lines += [
        "",
        "| path | " + " | ".join(f"c={c} req/s (p50 / p99 ms)" for c in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for path in served_paths(results):
        lines.append(f"| {path} | " + " | ".join(_cell(results[path][c]) for c in levels) + " |")
    routes = results.get("routes", {})
    if routes:
        columns = [(path, c) for path in ("grpc", "gateway") for c in levels]
        lines += [
            "",
            "| route | " + " | ".join(f"{p} c={c} req/s (p50 / p99 ms)" for p, c in columns) + " |",
            "|---|" + "---|" * len(columns),
        ]
        for route, points in routes.items():
            cells = [_cell(points[path][c]) for path, c in columns]
            lines.append(f"| {route} | " + " | ".join(cells) + " |")
    top = max(levels)
    lines += ["", f"CPU per request at c={top}, ms, by process (utime + stime from /proc):", ""]
    lines += ["| path | by process | total | rows per model run |", "|---|---|---|---|"]
    costs = [(path, results[path][top]) for path in served_paths(results)]
    costs += [
        (f"{path} {route}", points[path][top])
        for route, points in routes.items()
        for path in ("grpc", "gateway")
    ]
    for label, point in costs:
        cost = point.get("cpu_ms_per_request", {})
        parts = ", ".join(f"{name} {ms}" for name, ms in cost.items() if name != "total")
        rows = point.get("rows_per_model_run", "")
        lines.append(f"| {label} | {parts} | {cost.get('total')} | {rows} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else 'no'} |" for t, m, ok in targets(results, top)]
    return "\n".join(lines)


def _cell(point: dict) -> str:
    failed = f", {point['failures']} failed" if point["failures"] else ""
    return f"{point['requests_per_second']} ({point['p50_ms']} / {point['p99_ms']}){failed}"


def chart(results: dict, levels: list[int], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    ceiling = results["in_process"]["xla"]["batch_64_images_per_second"]
    left.axhline(ceiling, color="gray", linestyle=":", label="in process, batch 64")
    for path in served_paths(results):
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
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel(unit)
        axis.set_title(f"{title}: digit_classifier, 1 image per request")
        axis.grid(alpha=0.3)
    right.set_yscale("log")
    left.legend()
    right.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, TF {tf.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    base = model_base(args.models_dir, MODEL)
    missing = [
        tool for tool, ok in (("wrk", wrk.available()), ("h2load", h2load.available())) if not ok
    ]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: install wrk and nghttp2-client")
    image = load_mnist(args.data_dir).test[0][0]
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args, base, image, Path(tmp))
    report = {
        "model": MODEL,
        "machine": machine(),
        "seconds_per_point": args.seconds,
        "workers": WORKERS,
        "threads": THREADS,
        "results": results,
        "targets": [
            {"target": t, "measured": m, "met": ok}
            for t, m, ok in targets(results, max(args.levels))
        ],
    }
    table = markdown(results, args.levels, report["machine"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench.md").write_text(table + "\n")
    chart(results, args.levels, args.out / "bench.png")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
