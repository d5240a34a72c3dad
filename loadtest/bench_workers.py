"""The gateway's app under each HTTP server and worker model, by CPU per request.

`python -m loadtest.bench_workers` (`make bench-workers`) starts one model server (batching on)
and, one after the other in one run, the same gateway app (`serving.gateway.wsgi:app`, 2
workers, coalescing on) under: gunicorn with gevent workers (what `make run` uses), gunicorn
with gthread workers, and granian (a Rust HTTP server that runs WSGI apps on a thread pool, gRPC
then without gevent). wrk drives `/v1/digits` with one MNIST image a request; the CPU of the
gateway's processes and of the model server, read from /proc before and after, is divided by
the requests done. Prints a table and writes reports/bench_workers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from contract.models import DIGIT_CLASSIFIER
from loadtest import wrk
from loadtest.cpu import CpuMeter, per_request_ms, tree
from loadtest.payloads import digit_payloads
from loadtest.served import add_data_arguments, model_base, start_batched_model_server
from serving.processes import ServerProcess, free_port, start_gateway, wait_for_http
from training.data.mnist import load_mnist

MODEL = DIGIT_CLASSIFIER.name
DEFAULT_SERVERS = "gunicorn-gevent,gunicorn-gthread:64,granian:16,granian:32,granian:64"


@dataclass(frozen=True)
class Server:
    """One way to serve the app: `gunicorn-gevent`, `gunicorn-gthread:<threads>` or
    `granian:<threads>` (threads a worker)."""

    name: str
    threads: int

    @classmethod
    def parse(cls, spec: str) -> Server:
        name, _, threads = spec.partition(":")
        if name not in ("gunicorn-gevent", "gunicorn-gthread", "granian"):
            raise ValueError(f"unknown server {name!r}")
        return cls(name, int(threads or 64))

    @property
    def label(self) -> str:
        return self.name if self.name == "gunicorn-gevent" else f"{self.name} ×{self.threads}"


def gateway_environment(model_server: ServerProcess) -> dict[str, str]:
    return {
        "GATEWAY_MODELS": MODEL,
        "TFS_TARGET": model_server.grpc_address,
        "TFS_REST_URL": model_server.rest_url,
    }


def granian_command(port: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--workers",
        "2",
        "--blocking-threads",
        str(threads),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-ws",
        "--log-level",
        "warning",
        "serving.gateway.wsgi:app",
    ]


def start(server: Server, model_server: ServerProcess, workdir: Path) -> ServerProcess:
    """The gateway app under `server`, ready."""
    env = gateway_environment(model_server)
    if server.name.startswith("gunicorn"):
        worker_class = server.name.removeprefix("gunicorn-")
        env |= {"GATEWAY_WORKER_CLASS": worker_class, "GATEWAY_THREADS": str(server.threads)}
        return start_gateway(model_server.grpc_address, model_server.rest_url, workdir, env)
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="granian-metrics-", dir=workdir)
    log_path = workdir / f"granian-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            granian_command(port, server.threads),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir},
            start_new_session=True,
        )
    gateway = ServerProcess(process, "", f"http://127.0.0.1:{port}", log_path, own_group=True)
    return wait_for_http(gateway, "/readyz", 60, "granian")


def measure(server: Server, model_server: ServerProcess, body: bytes, args, workdir: Path):
    gateway = start(server, model_server, workdir)
    url = f"{gateway.rest_url}/v1/digits"
    try:
        wrk.run(url, body, args.connections, args.warmup)
        meter = CpuMeter(
            {
                "gateway": lambda: tree(gateway.process.pid),
                "model_server": lambda: tree(model_server.process.pid),
            }
        )
        meter.start()
        point = wrk.run(url, body, args.connections, args.seconds)
        spent = meter.stop()
    finally:
        gateway.stop()
    point["cpu_ms_per_request"] = per_request_ms(spent, point["requests"] + point["failures"])
    return point


def markdown(results: dict) -> str:
    lines = [
        "| server | gateway CPU ms/request | model server | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, point in results["servers"].items():
        cpu = point["cpu_ms_per_request"]
        lines.append(
            f"| {label} | {cpu['gateway']} | {cpu['model_server']} | "
            f"{point['requests_per_second']} | {point['p50_ms']} | {point['p99_ms']} | "
            f"{point['failures']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_workers", description=__doc__)
    add_data_arguments(parser)
    parser.add_argument("--servers", default=DEFAULT_SERVERS, help="comma-separated")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_workers.json"))
    args = parser.parse_args(argv)
    servers = [Server.parse(spec) for spec in args.servers.split(",")]

    base = model_base(args.models_dir, MODEL)
    _, body = digit_payloads(load_mnist(args.data_dir).test[0][0])
    results = {"connections": args.connections, "seconds": args.seconds, "servers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_server = start_batched_model_server({MODEL: base}, workdir)
        try:
            for server in servers:
                point = measure(server, model_server, body, args, workdir)
                results["servers"][server.label] = point
                print(f"{server.label}: {point}", flush=True)
        finally:
            model_server.stop()
    print(markdown(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
