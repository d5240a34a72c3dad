"""`make soak`: a long mixed load through `make run`'s own processes (`python -m serving.stack`)
while the model server is SIGKILLed, a gateway worker is SIGKILLed and a model is updated; the
stack must heal by itself. Reports requests and outcomes by phase, p99, the recovery times
(model server restarted, its models ready, first 200 after the kill) and each process's memory
growth. Writes reports/soak.json.

Timeline (share of --seconds), one model server: 0–40% steady; at 40% SIGKILL of the model
server (the stack restarts it); at 55% SIGKILL of one gateway worker (gunicorn replaces it); at
60% a new sum_regressor version is published; at 70% (once the stack has seen it answer its
probe) the model server is frozen (SIGSTOP: it neither answers nor exits; the stack's probe
notices and replaces it, STACK_HANG_TIMEOUT_S later); to 100% steady. With --replicas N > 1
(MODEL_SERVER_REPLICAS): at 20% SIGKILL of the last replica alone (nothing may fail: the
others serve), then at 45% of every replica, at 55% the worker, at 60% the update, at 65%
replica 0 frozen.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
from loadtest import prometheus
from loadtest.payloads import mnist_sample, random_sequence, series_window
from loadtest.served import add_data_arguments
from serving.launcher import REPLICA_PORT_STEP
from serving.processes import (
    StackProcess,
    child_pids,
    http,
    model_available,
)

TIMELINE = {"kill": 0.4, "worker_kill": 0.55, "update": 0.6, "freeze": 0.7}
REPLICAS_TIMELINE = {
    "replica_kill": 0.2,
    "kill": 0.45,
    "worker_kill": 0.55,
    "update": 0.6,
    "freeze": 0.65,
}
"""When each event happens, as a share of the run, with one model server / several."""


def rss_mb(pid: int) -> float:
    """Resident memory, or NaN for a process that is gone or a zombie (no VmRSS line)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    found = re.search(r"VmRSS:\s+(\d+)", status)
    return int(found[1]) / 1024 if found else float("nan")


class MixedLoad:
    """Threads posting a 3:2:1 mix of sums, digits and forecasts; every outcome recorded."""

    def __init__(self, url: str, threads: int, data_dir: Path):
        self.host, self.port = url.split("//")[1].split(":")
        self.digits = mnist_sample(data_dir)
        self.records: list[tuple[float, str, object, float]] = []
        self.failures: list[tuple[float, int, str]] = []
        """The first failed answers: start time, status, body (what the gateway said)."""
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
                answer = response.read()
                outcome = response.status
                if outcome != 200 and len(self.failures) < 20:
                    self.failures.append((round(started, 3), outcome, answer[:300].decode()))
            except (OSError, http_client.HTTPException) as error:
                outcome, connection = type(error).__name__, None
            self.records.append((started, route, outcome, (time.monotonic() - started) * 1000))

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def summarize(records, begin: float, seconds: float, kill_share: float) -> dict:
    """Outcomes before the kill of every model server, in the 30% after it, and after that."""
    phases = {}
    bounds = (0.0, kill_share, kill_share + 0.3, 1.0)
    for name, start, end in zip(("before", "during", "after"), bounds, bounds[1:], strict=False):
        chosen = [r for r in records if start <= (r[0] - begin) / seconds < end]
        ok = [r[3] for r in chosen if r[2] == 200]
        phases[name] = {
            "requests": len(chosen),
            "outcomes": dict(Counter(str(r[2]) for r in chosen)),
            "p99_ms": round(float(np.percentile(ok, 99)), 1) if ok else None,
        }
    return phases


def failure_window(records, begin: float, until: float) -> list[float] | None:
    """[first, last] start time (s) of requests that did not get 200, started before `until`
    s, or None."""
    failed = [r[0] - begin for r in records if r[2] != 200 and r[0] - begin < until]
    return [round(min(failed), 2), round(max(failed), 2)] if failed else None


def while_frozen(records, events: dict, begin: float) -> dict | None:
    """The requests started while the model server was frozen, until it served again: their
    outcomes and the slowest answer; and how long the stack took to replace it."""
    if "freeze" not in events:
        return None
    start, end = events["freeze"], events.get("freeze_ready", float("inf"))
    chosen = [r for r in records if start <= r[0] - begin < end]
    return {
        "requests": len(chosen),
        "outcomes": dict(Counter(str(r[2]) for r in chosen)),
        "slowest_answer_ms": round(max((r[3] for r in chosen), default=0.0), 1),
        "replaced_after_s": round(events["freeze_replaced"] - start, 2)
        if "freeze_replaced" in events
        else None,
        "serving_after_s": round(end - start, 2) if end != float("inf") else None,
    }


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Stack(StackProcess):
    """`make run`'s stack with what the soak asks of it: the processes it supervises, found by
    their command lines, their request counts, and its log read back."""

    def model_server_pid(self, replica: int = 0) -> int | None:
        """The process of model server replica `replica` (found by its --port flag)."""
        port_flag = f"--port={self.grpc_port + REPLICA_PORT_STEP * replica} "
        for pid in child_pids(self.process.pid):
            if port_flag in command_line(pid) + " ":
                return pid
        return None

    def gateway_pids(self) -> list[int]:
        """The gunicorn master, then its workers."""
        for pid in child_pids(self.process.pid):
            if "gunicorn" in command_line(pid):
                return [pid, *child_pids(pid)]
        return []

    def readyz_status(self) -> int:
        """The gateway's /readyz status now (0: no answer)."""
        try:
            return http("GET", self.url + "/readyz", timeout=5)[0]
        except OSError:
            return 0

    def answers_probe(self, replica: int) -> bool:
        """Whether the stack has seen replica `replica`'s current process answer its probe
        (its log says so): from then on, a freeze of it is a hang the stack must notice."""
        pid = self.model_server_pid(replica)
        return pid is not None and f"(pid {pid}) answers its probe" in self.log_path.read_text(
            errors="replace"
        )

    def models_ready(self, replica: int = 0) -> bool:
        return all(model_available(self.rest_url(replica), name) for name in MODELS)

    def requests_served(self) -> list[int]:
        """Each replica's count of requests (TF Serving's :tensorflow:serving:request_count
        in its Prometheus metrics), since that replica last started."""
        counts = []
        for replica in range(self.replicas):
            url = self.rest_url(replica) + "/monitoring/prometheus/metrics"
            try:
                _, text = http("GET", url, timeout=5)
            except OSError:
                counts.append(-1)
                continue
            counts.append(int(prometheus.total(text, ":tensorflow:serving:request_count")))
        return counts

    def log_summary(self) -> dict:
        """Every line of the log should be a JSON object (serving/logs.py): the count, the
        lines that are not (at most 5), the loggers seen, and what the stack said about the
        processes it restarted."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        records, not_json = [], []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict) and {"time", "level", "logger", "message"} <= set(record):
                records.append(record)
            else:
                not_json.append(line)
        return {
            "lines": len(lines),
            "not_json": not_json[:5],
            "loggers": sorted({record["logger"] for record in records}),
            "restarts": [
                record["message"]
                for record in records
                if record["logger"] == "serving.stack" and "restarting" in record["message"]
            ],
            "hung": [
                record["message"]
                for record in records
                if record["logger"] == "serving.stack" and " hung: " in record["message"]
            ],
        }


class Chaos:
    """The timeline's events, each done once when its share of the run is reached, and the
    stack's recovery from them noticed (restarted: new processes; ready: models AVAILABLE)."""

    def __init__(self, stack: Stack, models_dir: Path, events: dict, timeline: dict):
        self.stack = stack
        self.models_dir = models_dir
        self.events = events
        self.timeline = timeline
        self.last = stack.replicas - 1
        self.killed: dict[int, int | None] = {}
        self.frozen: int | None = None

    def due(self, name: str, share: float) -> bool:
        return name in self.timeline and share >= self.timeline[name] and name not in self.events

    def step(self, elapsed: float, share: float) -> None:
        stack, events = self.stack, self.events
        if self.due("replica_kill", share):
            self.killed = {self.last: self._kill(self.last)}
            events["replica_kill"] = elapsed
        self._notice("replica", elapsed)
        if self.due("kill", share):
            self.killed = {index: self._kill(index) for index in range(stack.replicas)}
            events["kill"] = elapsed
        self._notice("", elapsed)
        if self.due("worker_kill", share):
            os.kill(stack.gateway_pids()[1], signal.SIGKILL)
            events["worker_kill"] = elapsed
        if self.due("update", share):
            sums = self.models_dir / SUM_REGRESSOR.name
            shutil.copytree(sums / "1", sums / ".staging-2")
            (sums / ".staging-2").rename(sums / "2")
            events["update"] = elapsed
        if self.due("freeze", share) and stack.answers_probe(0):
            self.frozen = stack.model_server_pid(0)
            os.kill(self.frozen, signal.SIGSTOP)
            events["freeze"] = elapsed
        if "freeze" in events and "freeze_ready" not in events:
            if "freeze_replaced" not in events:
                if stack.model_server_pid(0) not in (None, self.frozen):
                    events["freeze_replaced"] = elapsed
            elif stack.models_ready(0):
                events["freeze_ready"] = elapsed

    def _kill(self, replica: int) -> int | None:
        pid = self.stack.model_server_pid(replica)
        os.kill(pid, signal.SIGKILL)
        return pid

    def _notice(self, prefix: str, elapsed: float) -> None:
        """`<prefix>_restarted` once every killed replica runs again, `<prefix>_ready` once
        one of them has every model AVAILABLE (no prefix: the kill of every replica)."""
        name = (prefix + "_") if prefix else ""
        if f"{name}kill" not in self.events or f"{name}ready" in self.events:
            return
        if not prefix and "readyz_while_away" not in self.events:
            self.events["readyz_while_away"] = self.stack.readyz_status()
        if f"{name}restarted" not in self.events:
            if all(
                self.stack.model_server_pid(index) not in (None, pid)
                for index, pid in self.killed.items()
            ):
                self.events[f"{name}restarted"] = elapsed
            return
        if any(self.stack.models_ready(index) for index in self.killed):
            self.events[f"{name}ready"] = elapsed


def sample_memory(stack: Stack, events: dict, memory: dict) -> None:
    """Each process's RSS; the model server (replica 0) is measured from when its models are
    ready again after the kill, as "model_server_restarted". A process that is gone or a
    zombie when read (killed between listing and reading) gives no sample."""
    away = "kill" in events and "ready" not in events
    key = "model_server_restarted" if "ready" in events else "model_server"
    named = [] if away or not (pid := stack.model_server_pid()) else [(key, pid)]
    for index, pid in enumerate(stack.gateway_pids()):
        named.append(("gateway_master" if index == 0 else f"gateway_worker_{index}", pid))
    for name, pid in named:
        if not math.isnan(resident := rss_mb(pid)):
            memory.setdefault(name, []).append(resident)


def recovery(records, events: dict[str, float], begin: float) -> dict:
    """Seconds from the model server's SIGKILL to its restart, to its models being ready, and
    to the first request (started after the kill) that got a 200."""
    kill = events["kill"]
    first = min(
        (r[0] - begin for r in records if r[2] == 200 and r[0] - begin > kill), default=None
    )
    result = {
        name: round(events[name] - kill, 2) for name in ("restarted", "ready") if name in events
    }
    if first is not None:
        result["first_success"] = round(first - kill, 2)
    return result


def newest_versions(source: Path, into: Path) -> Path:
    """`into`, holding the newest version of each model under `source` (what `make run`
    serves) as version 1."""
    for name in MODELS:
        versions = existing_versions(source.resolve() / name)
        if not versions:
            raise SystemExit(f"no {name} under {source}: run `make models` first")
        shutil.copytree(source.resolve() / name / str(versions[-1]), into / name / "1")
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=1, help="MODEL_SERVER_REPLICAS")
    parser.add_argument("--out", type=Path, default=Path("reports/soak.json"))
    parser.add_argument(
        "--hang-timeout", type=float, default=10.0, help="STACK_HANG_TIMEOUT_S for the stack"
    )
    args = parser.parse_args(argv)
    timeline = REPLICAS_TIMELINE if args.replicas > 1 else TIMELINE

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        models_dir = newest_versions(args.models_dir, workdir / "models")
        stack = Stack(models_dir, workdir, args.replicas, args.hang_timeout)
        memory: dict[str, list[float]] = {}
        events: dict[str, float] = {}
        load = None
        try:
            stack.wait_ready(300)
            load = MixedLoad(stack.url, args.threads, args.data_dir)
            begin = time.monotonic()
            chaos = Chaos(stack, models_dir, events, timeline)
            sampled = 0.0
            interval = min(5.0, max(0.5, args.seconds / 60))
            while (elapsed := time.monotonic() - begin) < args.seconds:
                chaos.step(elapsed, elapsed / args.seconds)
                if elapsed - sampled >= interval:
                    sampled = elapsed
                    sample_memory(stack, events, memory)
                time.sleep(0.1)
            served = stack.requests_served()
        finally:
            if load is not None:
                load.stop()
            stopped = stack.stop()
            log = stack.log_summary()
            banner = stack.out_path.read_text(errors="replace")
    records = load.records
    report = {
        "seconds": args.seconds,
        "threads": args.threads,
        "events_s": {k: round(v, 1) for k, v in events.items() if k != "readyz_while_away"},
        "readyz_while_away": events.get("readyz_while_away"),
        "slowest_answer_ms": round(max(r[3] for r in records if isinstance(r[2], int)), 1),
        "recovery_s": recovery(records, events, begin),
        "requests": len(records),
        "outcomes": dict(Counter(str(r[2]) for r in records)),
        "replicas": args.replicas,
        "requests_served_by_replica": served,
        # failed requests that ended before every model server was killed at once: with
        # replicas, what losing one of them cost
        "failures_before_kill": sum(
            1 for r in records if r[2] != 200 and r[0] + r[3] / 1000 - begin < events["kill"]
        ),
        "phases": summarize(records, begin, args.seconds, timeline["kill"]),
        "failures_between_s": failure_window(records, begin, events.get("freeze", args.seconds)),
        "while_frozen": while_frozen(records, events, begin),
        "first_failed_answers": [
            [round(at - begin, 2), status, body] for at, status, body in load.failures[:5]
        ],
        "other_than_200_or_503_s": [  # before the freeze (then 504s are expected)
            round(r[0] - begin, 2)
            for r in records
            if r[2] not in (200, 503) and r[0] - begin < events.get("freeze", args.seconds)
        ],
        "memory_growth_mb": {
            name: {
                "first": round(values[0], 1),
                "last": round(values[-1], 1),
                "growth": round(values[-1] - values[0], 1),
            }
            for name, values in memory.items()
            if values
        },
        "stack_stop": stopped,
        "stack_banner": banner.strip().splitlines(),
        "log": log,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
