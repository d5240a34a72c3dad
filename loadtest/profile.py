"""`make profile`: where the model server and the gateway spend their CPU under load. Serves the
digit classifier with the repo's batching.config and samples every thread with py-spy: the
model server under h2load (64 clients, one image a request, straight gRPC), then one gateway
worker under wrk (64 connections, one image a request to /v1/digits). Writes the folded stacks
and the functions that hold the most samples, by own time and by total time, as Markdown
(reports/profile-modelserver.*, reports/profile-gateway.*).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from contract.models import DIGIT_CLASSIFIER
from loadtest import h2load, wrk
from loadtest.payloads import digit_payloads
from loadtest.served import add_data_arguments, model_base, start_batched_model_server
from serving.processes import child_pids, start_gateway
from training.data.mnist import load_mnist

MODEL = DIGIT_CLASSIFIER.name


def record(pid: int, seconds: float) -> str:
    """py-spy's folded stacks (`frame;frame;... count` lines) of every thread's CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        command = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--duration",
            f"{seconds:.0f}",
        ]
        subprocess.run(
            [*command, "--format", "raw", "-o", str(out)], check=True, capture_output=True
        )
        return out.read_text()


IDLE_FRAMES = ("Condition.wait ", "_PollLikeSelector.select ", "_worker (concurrent/futures")
"""Leaf frames of threads parked on a lock, a poll or a work queue: py-spy cannot always tell
them from running threads, so they are left out of the shares."""


def top_functions(folded: str, count: int = 15) -> str:
    """Markdown: the frames with the most busy samples at the top of the stack (own time) and
    anywhere in it (total time)."""
    own, total, samples = Counter(), Counter(), 0
    for line in folded.splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_FRAMES):
            continue
        samples += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            total[frame] += int(n)
    lines = ["| own % | total % | function |", "|---|---|---|"]
    for frame, n in own.most_common(count):
        lines.append(
            f"| {100 * n / samples:.1f} | {100 * total[frame] / samples:.1f} | `{frame}` |"
        )
    return "\n".join(lines)


def profiled(pid: int, load, seconds: float) -> tuple[str, dict]:
    """(py-spy's folded stacks of `pid`, the load's result) while `load()` runs past them."""
    future = ThreadPoolExecutor(1).submit(load)
    stacks = record(pid, seconds)
    return stacks, future.result()


def report(out: Path, name: str, what: str, stacks: str, result: dict) -> str:
    """Write reports/profile-`name`.txt (folded stacks) and .md (the table); return the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"profile-{name}.txt").write_text(stacks)
    table = (
        f"{what}: {result['requests_per_second']} req/s, p50 {result['p50_ms']} ms, p99 "
        f"{result['p99_ms']} ms. Busy py-spy samples (all threads, idle waits left out):\n\n"
        + top_functions(stacks)
    )
    (out / f"profile-{name}.md").write_text(table + "\n")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.profile", description=__doc__)
    add_data_arguments(parser)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    base = model_base(args.models_dir, MODEL)
    request, body = digit_payloads(load_mnist(args.data_dir).test[0][0])
    message = request.SerializeToString()
    load_seconds = args.seconds + 2
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = start_batched_model_server({MODEL: base}, workdir)
        try:
            stacks, result = profiled(
                server.process.pid,
                lambda: h2load.run(server.grpc_address, message, args.clients, load_seconds),
                args.seconds,
            )
            what = f"Model server under h2load, {args.clients} clients, one image a request"
            print(report(args.out, "modelserver", what, stacks, result))
            gateway = start_gateway(
                server.grpc_address,
                server.rest_url,
                workdir,
                {"GATEWAY_MODELS": MODEL, "GATEWAY_LOG_LEVEL": "WARNING"},
            )
            try:
                url = gateway.rest_url + "/v1/digits"
                stacks, result = profiled(
                    child_pids(gateway.process.pid)[0],
                    lambda: wrk.run(url, body, args.clients, load_seconds),
                    args.seconds,
                )
            finally:
                gateway.stop()
            what = (
                f"One of the gateway's 2 workers under wrk, {args.clients} connections, one "
                "image a request to /v1/digits"
            )
            print(report(args.out, "gateway", what, stacks, result))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
