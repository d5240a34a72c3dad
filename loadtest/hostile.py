"""`make soak-hostile`: what careless and hostile clients send, for minutes, through `make run`'s
own processes (`python -m serving.stack`) on the shipped models, beside valid traffic.

HTTP clients on kept-alive connections (64 by default) mix valid requests for every route and
a multipart upload with: bad JSON, unknown fields, 5 MiB bodies (413), malformed chunked
framing, undocumented query parameters, images of 3.8 megapixels (the most the gateway
decodes), and sum sequences of every length 1–1,100 through TF Serving's REST API on the
gateway (longer than 1,024 is refused). Two gRPC clients send the same lengths straight to the
model server. Every request must be answered (none lost); every HTTP answer must have a status
the gateway's /openapi.json documents for that route and a JSON body in its schema; every gRPC
answer must be OK or INVALID_ARGUMENT; and each process's memory must level off: the highest
RSS of the run's second half at most LEVEL_MB above that of its first half.

Then, one port at a time (the gateway's, the model server's gRPC and REST), 5,000 connections
are opened and left half-open (a request head never finished, or half an HTTP/2 preface) while
normal requests go on: each must be answered within 1 s, while they are held and after.
Writes reports/hostile.json; exits 1 when a criterion is missed.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from http import client as http_client
from pathlib import Path

import grpc
import numpy as np
from jsonschema import Draft7Validator
from PIL import Image, ImageDraw

from client.grpc_client import ServingClient, ServingClientError
from contract.models import MAX_SERVED_LENGTH, SUM_REGRESSOR
from loadtest.payloads import mnist_sample, random_sequence, series_window
from loadtest.served import add_data_arguments
from loadtest.soak import Stack, newest_versions, rss_mb
from serving.processes import REPO, http

LEVEL_MB = 20.0
"""How much higher a process's RSS may peak in the run's second half than in its first."""
HALF_OPEN = 5_000
ANSWER_WITHIN_S = 1.0
BIG_IMAGE = (2000, 1900)
"""3.8 megapixels: under the gateway's decoding budget (GATEWAY_MAX_IMAGE_PIXELS, 4 M)."""
LONGEST_SENT = MAX_SERVED_LENGTH + 76
"""Sum sequences up to this length: the longest ones are refused."""
JSON = {"Content-Type": "application/json"}


class Referee:
    """Whether an answer is what the gateway's OpenAPI document promises for that route."""

    def __init__(self, document: dict):
        self.document = document

    def judge(self, method: str, route: str, status: int, content_type: str, body: bytes):
        """None when the answer is documented, else what is wrong with it."""
        responses = self.document["paths"][route][method.lower()]["responses"]
        if str(status) not in responses:
            return f"{method} {route}: status {status} is not documented"
        if not content_type.startswith("application/json"):
            return f"{method} {route} {status}: Content-Type {content_type!r}"
        try:
            value = json.loads(body)
        except ValueError:
            return f"{method} {route} {status}: not JSON: {body[:80]!r}"
        schema = responses[str(status)]["content"]["application/json"].get("schema", {})
        validator = Draft7Validator({**schema, "components": self.document["components"]})
        error = next(iter(validator.iter_errors(value)), None)
        return None if error is None else f"{method} {route} {status}: {error.message[:200]}"


def png(image: Image.Image) -> bytes:
    encoded = io.BytesIO()
    image.save(encoded, format="PNG")
    return encoded.getvalue()


def drawn_digit(size: tuple[int, int]) -> Image.Image:
    """A seven drawn in black on white, as a person would photograph it."""
    width, height = size
    image = Image.new("L", size, 255)
    stroke = max(2, width // 12)
    points = [
        (width * 0.2, height * 0.2),
        (width * 0.8, height * 0.2),
        (width * 0.45, height * 0.9),
    ]
    ImageDraw.Draw(image).line(points, fill=0, width=stroke)
    return image


class Mix:
    """The HTTP requests the clients choose from, each with the route it is judged by."""

    def __init__(self, data_dir: Path):
        self.digits = mnist_sample(data_dir).images
        self.upload_image = png(drawn_digit((200, 200)))
        self.big_image = base64.b64encode(png(drawn_digit(BIG_IMAGE))).decode()
        self.oversized = b'{"sequences": [[1]], "x": "' + b"x" * (5 << 20) + b'"}'
        self.kinds = {
            "sum": 20,
            "forecast": 10,
            "digits": 10,
            "upload": 5,
            "big_image": 2,
            "length": 15,
            "bad_json": 8,
            "unknown_field": 8,
            "unknown_query": 4,
            "oversized": 3,
            "bad_chunked": 4,
        }

    def choose(self, rng: random.Random) -> tuple[str, str, str, bytes, dict]:
        """(kind, route, path, body, headers) of one request."""
        kind = rng.choices(list(self.kinds), list(self.kinds.values()))[0]
        numbers = np.random.default_rng(rng.getrandbits(32))
        if kind == "sum":
            body = {"sequences": [random_sequence(numbers) for _ in range(rng.randint(1, 4))]}
            return kind, "/v1/sum", "/v1/sum", json.dumps(body).encode(), JSON
        if kind == "forecast":
            window, _ = series_window(numbers, 10)
            body = {"series": [window], "horizon": rng.randint(1, 50)}
            return kind, "/v1/forecast", "/v1/forecast", json.dumps(body).encode(), JSON
        if kind == "digits":
            image = self.digits[rng.randrange(len(self.digits))]
            body = json.dumps({"images": [image.tolist()]}).encode()
            return kind, "/v1/digits", "/v1/digits", body, JSON
        if kind == "upload":
            boundary = "hostile-boundary"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="images"; '
                    'filename="digit.png"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
                + self.upload_image
                + f"\r\n--{boundary}--\r\n".encode()
            )
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
            return kind, "/v1/digits", "/v1/digits", body, headers
        if kind == "big_image":
            body = json.dumps({"images": [{"b64": self.big_image}]}).encode()
            return kind, "/v1/digits", "/v1/digits", body, JSON
        if kind == "length":
            length = rng.randint(1, LONGEST_SENT)
            body = json.dumps({"instances": [numbers.integers(0, 2, length).tolist()]}).encode()
            path = f"/v1/models/{SUM_REGRESSOR.name}:predict"
            return kind, "/v1/models/{name}:predict", path, body, JSON
        if kind == "bad_json":
            return kind, "/v1/sum", "/v1/sum", b'{"sequences": [[1, 0]', JSON
        if kind == "unknown_field":
            return kind, "/v1/sum", "/v1/sum", b'{"sequences": [[1]], "colour": 1}', JSON
        if kind == "unknown_query":
            return kind, "/v1/sum", "/v1/sum?version=1", b'{"sequences": [[1]]}', JSON
        if kind == "oversized":
            return kind, "/v1/sum", "/v1/sum", self.oversized, JSON
        return kind, "/v1/sum", "/v1/sum", b"", JSON  # bad_chunked: framed by the client


class Tally:
    """Outcomes from every client thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers = Counter()
        self.lost = Counter()
        self.undocumented: list[str] = []

    def answered(self, kind: str, status: int | str, problem: str | None) -> None:
        with self.lock:
            self.answers[f"{kind} {status}"] += 1
            if problem and len(self.undocumented) < 20:
                self.undocumented.append(f"{kind}: {problem}")
            elif problem:
                self.undocumented.append("…")

    def lost_one(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.lost[f"{kind} {type(error).__name__}"] += 1


def http_client_loop(url, mix: Mix, referee: Referee, tally: Tally, seed: int, stop_at: float):
    """One kept-alive connection, reopened only when the server said Connection: close (or a
    request was lost)."""
    host, port = url.removeprefix("http://").split(":")
    rng, connection = random.Random(seed), None
    while time.monotonic() < stop_at:
        kind, route, path, body, headers = mix.choose(rng)
        try:
            if connection is None:
                connection = http_client.HTTPConnection(host, int(port), timeout=60)
            if kind == "bad_chunked":
                connection.putrequest("POST", path)
                connection.putheader("Content-Type", "application/json")
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                connection.send(b"zz\r\n{}\r\n0\r\n\r\n")
            else:
                connection.request("POST", path, body, headers)
            response = connection.getresponse()
            answer = response.read()
            content_type = response.getheader("Content-Type", "")
            tally.answered(
                kind,
                response.status,
                referee.judge("POST", route, response.status, content_type, answer),
            )
            if (response.getheader("Connection") or "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http_client.HTTPException) as error:
            tally.lost_one(kind, error)
            connection = None
    if connection is not None:
        connection.close()


def grpc_client_loop(target: str, tally: Tally, seed: int, stop_at: float):
    """Sum sequences of every length, straight to the model server."""
    rng = np.random.default_rng(seed)
    with ServingClient(target) as client:
        while time.monotonic() < stop_at:
            length = int(rng.integers(1, LONGEST_SENT + 1))
            sequences = rng.integers(0, 2, (1, length)).astype(np.float32)
            try:
                client.predict(SUM_REGRESSOR.name, {"sequences": sequences}, timeout=30)
                tally.answered("grpc_length", "OK", None)
            except ServingClientError as error:
                if error.code == grpc.StatusCode.INVALID_ARGUMENT and length > MAX_SERVED_LENGTH:
                    tally.answered("grpc_length", error.code.name, None)
                else:
                    tally.lost_one("grpc_length", error)


def processes(stack: Stack) -> dict[str, list[int]]:
    """The gateway (gunicorn master and workers, together) and the model server, by pid."""
    return {"gateway": stack.gateway_pids(), "model_server": [stack.model_server_pid()]}


def sample_memory(stack: Stack, stop: threading.Event, samples: dict[str, list]) -> None:
    """Every second, each process group's summed RSS in MB, with the time it was read."""
    begin = time.monotonic()
    while not stop.wait(1.0):
        for name, pids in processes(stack).items():
            values = [rss_mb(pid) for pid in pids if pid]
            if values and not any(np.isnan(values)):
                samples.setdefault(name, []).append((time.monotonic() - begin, sum(values)))


def levels_off(series: list[tuple[float, float]], seconds: float) -> dict:
    """Peak RSS of each half of the run; the second may be at most LEVEL_MB higher."""
    first = [mb for at, mb in series if at <= seconds / 2]
    second = [mb for at, mb in series if at > seconds / 2]
    peaks = (max(first, default=float("nan")), max(second, default=float("nan")))
    return {
        "start_mb": round(series[0][1], 1) if series else None,
        "first_half_peak_mb": round(peaks[0], 1),
        "second_half_peak_mb": round(peaks[1], 1),
        "levels_off": bool(peaks[1] - peaks[0] <= LEVEL_MB),
    }


def normal_request(stack: Stack, port_name: str) -> float:
    """Seconds one ordinary request to `port_name` took; AssertionError unless it succeeded."""
    started = time.monotonic()
    if port_name == "gateway":
        status, body = http("POST", stack.url + "/v1/sum", b'{"sequences": [[1, 0, 1]]}', 10, JSON)
    elif port_name == "model_server_rest":
        status, body = http("GET", stack.rest_url(0) + f"/v1/models/{SUM_REGRESSOR.name}", None, 10)
    else:
        with ServingClient(f"127.0.0.1:{stack.grpc_port}") as client:
            client.status(SUM_REGRESSOR.name, timeout=10)
        status, body = 200, None
    assert status == 200, (port_name, status, body)
    return time.monotonic() - started


def half_open_flood(stack: Stack, port_name: str, count: int) -> dict:
    """`count` connections left half-open on one port while ordinary requests go on there."""
    port = {
        "gateway": stack.port,
        "model_server_grpc": stack.grpc_port,
        "model_server_rest": stack.rest_port,
    }[port_name]
    unfinished = (
        b"PRI * HTTP/2.0\r\n"
        if port_name == "model_server_grpc"
        else b"POST /v1/sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    )
    held, refused, during = [], 0, []
    try:
        for index in range(count):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                connection.sendall(unfinished)
                held.append(connection)
            except OSError:
                refused += 1
            if index % 500 == 499:
                during.append(normal_request(stack, port_name))
        during += [normal_request(stack, port_name) for _ in range(10)]
    finally:
        for connection in held:
            connection.close()
    after = [normal_request(stack, port_name) for _ in range(10)]
    return {
        "held": len(held),
        "refused": refused,
        "slowest_during_s": round(max(during), 3),
        "slowest_after_s": round(max(after), 3),
        "within_budget": max(during + after) < ANSWER_WITHIN_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(parser)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--half-open", type=int, default=HALF_OPEN)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "hostile.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        workdir = Path(tmp)
        stack = Stack(newest_versions(args.models_dir, workdir / "models"), workdir)
        try:
            stack.wait_ready(300)
            report = run(stack, args)
        finally:
            stopped = stack.stop()
    report["stack_stop"] = stopped
    report["passed"] = (
        report["lost"] == {}
        and report["undocumented"] == []
        and all(memory["levels_off"] for memory in report["memory"].values())
        and all(flood["within_budget"] for flood in report["half_open"].values())
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["passed"] else 1


def run(stack: Stack, args) -> dict:
    referee = Referee(http("GET", stack.url + "/openapi.json")[1])
    mix, tally = Mix(args.data_dir), Tally()
    stop_at = time.monotonic() + args.seconds
    grpc_target = f"127.0.0.1:{stack.grpc_port}"
    threads = [
        threading.Thread(
            target=http_client_loop, args=(stack.url, mix, referee, tally, seed, stop_at)
        )
        for seed in range(args.threads)
    ]
    threads += [
        threading.Thread(target=grpc_client_loop, args=(grpc_target, tally, seed, stop_at))
        for seed in range(2)
    ]
    stop_sampling, samples = threading.Event(), {}
    sampler = threading.Thread(target=sample_memory, args=(stack, stop_sampling, samples))
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop_sampling.set()
    sampler.join()
    report = {
        "seconds": args.seconds,
        "threads": args.threads,
        "requests": sum(tally.answers.values()) + sum(tally.lost.values()),
        "answers": dict(sorted(tally.answers.items())),
        "lost": dict(tally.lost),
        "undocumented": tally.undocumented,
        "memory": {name: levels_off(series, args.seconds) for name, series in samples.items()},
    }
    report["half_open"] = {
        port_name: half_open_flood(stack, port_name, args.half_open)
        for port_name in ("gateway", "model_server_grpc", "model_server_rest")
    }
    return report


if __name__ == "__main__":
    sys.exit(main())
