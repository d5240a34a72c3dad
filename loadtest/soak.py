"""`make soak`: a long mixed load through the gateway with one model-server crash and restart
and one model update in the middle; reports requests, failures by class, p99 before, during
and after, and each process's memory growth. Writes reports/soak.json.

Timeline (share of --seconds): 0–40% steady; at 40% the model server is SIGKILLed and
restarted on the same ports; at 60% a new sum_regressor version is published; 70–100% steady.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from http import client as http_client
from pathlib import Path

import numpy as np

from contract.layout import existing_versions
from contract.models import MODELS, SUM_REGRESSOR
from loadtest.payloads import mnist_sample, random_sequence, series_window
from loadtest.processes import (
    add_data_arguments,
    free_port,
    start_gateway,
    start_model_server,
    write_models_config,
)

PHASES = (("before", 0.0, 0.4), ("during", 0.4, 0.7), ("after", 0.7, 1.0))


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024


def gateway_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


class MixedLoad:
    """Threads posting a 3:2:1 mix of sums, digits and forecasts; every outcome recorded."""

    def __init__(self, url: str, threads: int, data_dir: Path):
        self.host, self.port = url.split("//")[1].split(":")
        self.digits = mnist_sample(data_dir)
        self.records: list[tuple[float, str, object, float]] = []
        self.running = True
        self.threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(threads)]
        for thread in self.threads:
            thread.start()

    def _payload(self, rng: np.random.Generator) -> tuple[str, bytes]:
        route = random.choices(["/v1/sum", "/v1/digits", "/v1/forecast"], weights=[3, 2, 1])[0]
        if route == "/v1/sum":
            body = {"sequences": [random_sequence(rng)]}
        elif route == "/v1/digits":
            body = {
                "images": [self.digits.images[int(rng.integers(len(self.digits.labels)))].tolist()]
            }
        else:
            body = {"series": [series_window(rng, 10)[0]], "horizon": 10}
        return route, json.dumps(body).encode()

    def _loop(self, index: int) -> None:
        rng = np.random.default_rng(index)
        connection = None
        while self.running:
            route, body = self._payload(rng)
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http_client.HTTPConnection(self.host, int(self.port), timeout=30)
                connection.request("POST", route, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                outcome = response.status
            except (OSError, http_client.HTTPException) as error:
                outcome, connection = type(error).__name__, None
            self.records.append((started, route, outcome, (time.monotonic() - started) * 1000))

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def summarize(records, begin: float, seconds: float) -> dict:
    phases = {}
    for name, start, end in PHASES:
        chosen = [r for r in records if start <= (r[0] - begin) / seconds < end]
        ok = [r[3] for r in chosen if r[2] == 200]
        phases[name] = {
            "requests": len(chosen),
            "outcomes": dict(Counter(str(r[2]) for r in chosen)),
            "p99_ms": round(float(np.percentile(ok, 99)), 1) if ok else None,
        }
    return phases


def failure_window(records, begin: float) -> list[float] | None:
    """[first, last] start time (s) of requests that did not get 200, or None."""
    failed = [r[0] - begin for r in records if r[2] != 200]
    return [round(min(failed), 2), round(max(failed), 2)] if failed else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("reports/soak.json"))
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        models = {}
        for name in MODELS:
            source = args.models_dir.resolve() / name
            versions = existing_versions(source)
            if not versions:
                raise SystemExit(f"no {name} under {source}: run `make models` first")
            shutil.copytree(source / str(versions[-1]), workdir / name / "1")
            models[name] = workdir / name
        config = write_models_config(workdir / "models.config", models)
        ports = (free_port(), free_port())
        flags = ["--file_system_poll_wait_seconds=1"]
        server = start_model_server(config, list(MODELS), workdir, flags, ports=ports)
        gateway = start_gateway(
            server.grpc_address, server.rest_url, workdir, {"GATEWAY_LOG_LEVEL": "WARNING"}
        )
        memory: dict[str, list[float]] = {"model_server": [], "model_server_restarted": []}
        pids = gateway_pids(gateway.process.pid)
        for index in range(len(pids)):
            memory["gateway_master" if index == 0 else f"gateway_worker_{index}"] = []
        load = MixedLoad(gateway.rest_url, args.threads, args.data_dir)
        begin = time.monotonic()
        events: dict[str, float] = {}
        try:
            while (elapsed := time.monotonic() - begin) < args.seconds:
                share = elapsed / args.seconds
                if share >= 0.4 and "restart" not in events:
                    server.process.send_signal(signal.SIGKILL)
                    server.process.wait()
                    events["kill"] = elapsed
                    server = start_model_server(config, list(MODELS), workdir, flags, ports=ports)
                    events["restart"] = time.monotonic() - begin
                if share >= 0.6 and "update" not in events:
                    shutil.copytree(models[SUM_REGRESSOR.name] / "1", workdir / ".staging-2")
                    (workdir / ".staging-2").rename(models[SUM_REGRESSOR.name] / "2")
                    events["update"] = time.monotonic() - begin
                key = "model_server_restarted" if "restart" in events else "model_server"
                memory[key].append(rss_mb(server.process.pid))
                for index, pid in enumerate(pids):
                    name = "gateway_master" if index == 0 else f"gateway_worker_{index}"
                    memory[name].append(rss_mb(pid))
                time.sleep(min(5.0, max(0.5, args.seconds / 60)))
        finally:
            load.stop()
            gateway.stop()
            server.stop()
    report = {
        "seconds": args.seconds,
        "threads": args.threads,
        "events_s": {k: round(v, 1) for k, v in events.items()},
        "requests": len(load.records),
        "outcomes": dict(Counter(str(r[2]) for r in load.records)),
        "phases": summarize(load.records, begin, args.seconds),
        "failures_between_s": failure_window(load.records, begin),
        "memory_growth_mb": {
            name: {
                "first": round(values[0], 1),
                "last": round(values[-1], 1),
                "growth": round(values[-1] - values[0], 1),
            }
            for name, values in memory.items()
            if values
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
