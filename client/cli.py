"""`seqserve-client` (or `python -m client`): call the model server from a shell.

  seqserve-client sum 0 1 1 0 1              count the ones (or: seqserve-client sum 01101)
  seqserve-client sum 0110 111               one count per word: 2 and 3
  seqserve-client digits digit.png other.jpg classify images (PNG/JPEG of any size, .npy 28x28)
  seqserve-client forecast --horizon 50 v1 ... v20
  seqserve-client status digit_classifier    versions and states
  seqserve-client metadata forecaster        signatures with their inputs and outputs

Options (before or after the command): --address (TFS_TARGET, default localhost:8500),
--timeout seconds (10), --model-version N or --label L, --json for machine-readable output,
--tls-ca PEM; --version prints this program's version.
Exit codes: 0 done, 2 bad input (also an unreadable --tls-ca), 3 server unavailable, 4 deadline
exceeded, 5 model or version not found, 1 any other server error.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import sys
from pathlib import Path

import grpc
import numpy as np

from client.errors import InvalidInput
from client.grpc_client import ServingClient, ServingClientError, TlsSettings
from client.images import prepare_digit
from contract.models import MAX_HORIZON, MAX_LENGTH, SIDE, WINDOW
from protocol.tensors import dtype_name

EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_DEADLINE, EXIT_NOT_FOUND, EXIT_SERVER = 2, 3, 4, 5, 1
EXIT_CODES = {
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_DEADLINE,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_BAD_INPUT,
}


class OneLineErrors(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2 (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


COMMANDS = {
    "sum": "Count the ones in 0/1 sequences: bits as separate words (0 1 1) make one sequence; "
    "words of several bits (0110 111) are a sequence each.",
    "digits": "Classify digit pictures: PNG or JPEG of any size, dark on light or light on "
    "dark (prepared as MNIST's were), or .npy arrays of 28x28 values in [0, 1].",
    "forecast": f"Continue a series: at least {WINDOW} values; --horizon steps "
    f"(1 to {MAX_HORIZON}).",
    "status": "The versions of a model and their states.",
    "metadata": "A model's signatures, with their inputs and outputs.",
}


def add_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes; on a command's parser their defaults are left unset,
    so an option given before the command is not overwritten by an absent one after it."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--address",
        default=default(os.environ.get("TFS_TARGET", "localhost:8500")),
        help="model server: host:port, a list, or a gRPC URI (TFS_TARGET)",
    )
    parser.add_argument(
        "--timeout", type=float, default=default(10.0), help="seconds per call (10)"
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    parser.add_argument(
        "--tls-ca", type=Path, default=default(None), help="PEM root certificate: use TLS"
    )
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--model-version", type=int, default=default(None), help="pin a version")
    pin.add_argument("--label", default=default(None), help="pin a version label")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrors(
        prog="seqserve-client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"seqserve-client {importlib.metadata.version('seqserve')}",
    )
    add_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True)
    subparsers = {}
    for name, description in COMMANDS.items():
        summary = description.split(":")[0].split(".")[0]
        subparsers[name] = commands.add_parser(name, help=summary, description=description)
        add_options(subparsers[name], defaults=False)
    subparsers["sum"].add_argument("bits", nargs="+", help="0s and 1s")
    subparsers["digits"].add_argument("images", nargs="+", type=Path, help="image files")
    subparsers["forecast"].add_argument("--horizon", type=int, default=10, help="steps (10)")
    subparsers["forecast"].add_argument("values", nargs="+", help="the series so far")
    subparsers["status"].add_argument("model")
    subparsers["metadata"].add_argument("model")
    args = parser.parse_args(argv)
    if args.model_version is not None and args.label is not None:
        parser.error("argument --label: not allowed with argument --model-version")
    return args


def sequences_of(words: list[str]) -> list[list[int]]:
    """Single-bit words make one sequence (`0 1 1`); longer words are a sequence each."""
    if all(len(word) == 1 for word in words):
        words = ["".join(words)]
    for word in words:
        if not word or set(word) - {"0", "1"}:
            raise InvalidInput(f"sum: expected 0s and 1s, got {word!r}")
        if len(word) > MAX_LENGTH:
            raise InvalidInput(f"sum: expected at most {MAX_LENGTH} bits, got {len(word)}")
    return [[int(bit) for bit in word] for word in words]


def image_of(path: Path) -> np.ndarray:
    if path.suffix != ".npy":
        return prepare_digit(path)
    try:
        image = np.load(path, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"{path}: {error}") from None
    if image.size != SIDE * SIDE or not np.all((image >= 0) & (image <= 1)):
        raise InvalidInput(f"{path}: expected 28x28 values in [0, 1]")
    return image.reshape(SIDE, SIDE)


def series_of(values: list[str], horizon: int) -> list[float]:
    try:
        series = [float(value) for value in values]
    except ValueError as error:
        raise InvalidInput(f"forecast: expected numbers ({error})") from None
    if len(series) < WINDOW or not all(math.isfinite(v) for v in series):
        raise InvalidInput(f"forecast: expected at least {WINDOW} finite values, got {len(series)}")
    if not 1 <= horizon <= MAX_HORIZON:
        raise InvalidInput(f"forecast: --horizon must be in [1, {MAX_HORIZON}], got {horizon}")
    return series


def run(args: argparse.Namespace, client: ServingClient) -> tuple[object, str]:
    """(JSON-able result, human-readable text) of one command."""
    spec = {"version": args.model_version, "label": args.label}
    if args.command == "sum":
        values = client.sums(sequences_of(args.bits), **spec).sums.tolist()
        if len(values) == 1:
            return {"sum": values[0]}, f"{values[0]:.3f}"
        return {"sums": values}, " ".join(f"{value:.3f}" for value in values)
    if args.command == "digits":
        images = np.stack([image_of(path) for path in args.images])
        answer = client.digits(images, **spec)
        rows = [
            {"image": str(path), "digit": int(digit), "probability": float(p[digit])}
            for path, digit, p in zip(args.images, answer.digits, answer.probabilities, strict=True)
        ]
        text = "\n".join(f"{r['image']}: {r['digit']} (p={r['probability']:.3f})" for r in rows)
        return rows, text
    if args.command == "forecast":
        series = series_of(args.values, args.horizon)
        values = client.forecast([series], args.horizon, **spec).forecasts[0].tolist()
        return {"forecast": values}, " ".join(f"{v:.4f}" for v in values)
    if args.command == "status":
        states = client.status(args.model, version=args.model_version)
        rows = [{"version": s.version, "state": s.state, "error": s.error} for s in states]
        text = "\n".join(
            f"version {r['version']}: {r['state']}" + (f" ({r['error']})" if r["error"] else "")
            for r in rows
        )
        return rows, text
    signatures = client.metadata(args.model, version=args.model_version).signature_def
    described = {
        name: {
            part: {
                alias: {
                    "dtype": dtype_name(info.dtype),
                    "shape": [d.size for d in info.tensor_shape.dim],
                }
                for alias, info in getattr(signature, part).items()
            }
            for part in ("inputs", "outputs")
        }
        for name, signature in sorted(signatures.items())
    }
    text = "\n".join(
        f"{name}: inputs {_tensors(parts['inputs'])} -> outputs {_tensors(parts['outputs'])}"
        for name, parts in described.items()
    )
    return described, text


def _tensors(tensors: dict) -> str:
    return ", ".join(f"{alias} {t['dtype']}{t['shape']}" for alias, t in sorted(tensors.items()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tls = TlsSettings(root_certificates=args.tls_ca.read_bytes()) if args.tls_ca else None
    except OSError as error:
        print(f"error: --tls-ca: {error.strerror}: {args.tls_ca}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with ServingClient(args.address, timeout=args.timeout, tls=tls) as client:
            result, text = run(args, client)
    except InvalidInput as error:
        print(f"error: {error.details}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ServingClientError as error:
        print(f"error: {args.address}: {error}", file=sys.stderr)
        return EXIT_CODES.get(error.code, EXIT_SERVER)
    print(json.dumps(result) if args.json else text)
    return 0
