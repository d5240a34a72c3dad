"""`seqserve-client` (or `python -m client`): call the model server from a shell.

  seqserve-client sum 0 1 1 0 1              count the ones (or: seqserve-client sum 01101)
  seqserve-client digits digit.png other.jpg classify images (PNG/JPEG of any size, .npy 28x28)
  seqserve-client forecast --horizon 50 v1 ... v20
  seqserve-client status digit_classifier    versions and states
  seqserve-client metadata forecaster        signatures with their inputs and outputs

Options: --address (TFS_TARGET, default localhost:8500), --timeout seconds (10),
--model-version N or --label L, --json for machine-readable output, --tls-ca PEM; --version
prints this program's version.
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

from client.grpc_client import ServingClient, ServingClientError, TlsSettings
from client.images import MAX_IMAGE_PIXELS, ImageError, decode_digit
from contract.models import MAX_HORIZON, MAX_LENGTH, SIDE, WINDOW
from protocol.tensors import dtype_name

EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_DEADLINE, EXIT_NOT_FOUND, EXIT_SERVER = 2, 3, 4, 5, 1
EXIT_CODES = {
    grpc.StatusCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: EXIT_DEADLINE,
    grpc.StatusCode.NOT_FOUND: EXIT_NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT: EXIT_BAD_INPUT,
}


class BadInput(ValueError):
    """Input the command cannot send; the message says what was expected."""


class OneLineErrors(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2 (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrors(
        prog="seqserve-client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--address", default=os.environ.get("TFS_TARGET", "localhost:8500"))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--tls-ca", type=Path, help="PEM root certificate: use TLS")
    parser.add_argument(
        "--version",
        action="version",
        version=f"seqserve-client {importlib.metadata.version('seqserve')}",
    )
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--model-version", type=int, help="pin a model version")
    pin.add_argument("--label", help="pin a version label")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sum", help="count the ones in a 0/1 sequence").add_argument(
        "bits", nargs="+"
    )
    commands.add_parser("digits", help="classify digit images").add_argument(
        "images", nargs="+", type=Path
    )
    forecast = commands.add_parser("forecast", help="continue a series (≥ 20 values)")
    forecast.add_argument("--horizon", type=int, default=10)
    forecast.add_argument("values", nargs="+")
    commands.add_parser("status", help="versions and states").add_argument("model")
    commands.add_parser("metadata", help="signatures").add_argument("model")
    return parser.parse_args(argv)


def bits_of(words: list[str]) -> list[int]:
    text = "".join(words)
    if not text or set(text) - {"0", "1"}:
        raise BadInput(f"sum: expected 0s and 1s, got {' '.join(words)!r}")
    if len(text) > MAX_LENGTH:
        raise BadInput(f"sum: expected at most {MAX_LENGTH} bits, got {len(text)}")
    return [int(bit) for bit in text]


def image_of(path: Path) -> np.ndarray:
    try:
        if path.suffix == ".npy":
            image = np.load(path, allow_pickle=False).astype(np.float32)
        else:
            return decode_digit(path.read_bytes(), str(path), MAX_IMAGE_PIXELS)
    except ImageError as error:
        raise BadInput(str(error)) from None
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: {error}") from None
    if image.size != 28 * 28 or not np.all((image >= 0) & (image <= 1)):
        raise BadInput(f"{path}: expected 28x28 values in [0, 1]")
    return image.reshape(SIDE, SIDE)


def series_of(values: list[str], horizon: int) -> list[float]:
    try:
        series = [float(value) for value in values]
    except ValueError as error:
        raise BadInput(f"forecast: expected numbers ({error})") from None
    if len(series) < WINDOW or not all(math.isfinite(v) for v in series):
        raise BadInput(f"forecast: expected at least {WINDOW} finite values, got {len(series)}")
    if not 1 <= horizon <= MAX_HORIZON:
        raise BadInput(f"forecast: --horizon must be in [1, {MAX_HORIZON}], got {horizon}")
    return series


def run(args: argparse.Namespace, client: ServingClient) -> tuple[object, str]:
    """(JSON-able result, human-readable text) of one command."""
    spec = {"version": args.model_version, "label": args.label}
    if args.command == "sum":
        (value,) = client.sums([bits_of(args.bits)], **spec).tolist()
        return {"sum": value}, f"{value:.3f}"
    if args.command == "digits":
        images = np.stack([image_of(path) for path in args.images])
        classes, probabilities = client.digits(images, **spec)
        rows = [
            {"image": str(path), "digit": int(digit), "probability": float(p[digit])}
            for path, digit, p in zip(args.images, classes, probabilities, strict=True)
        ]
        text = "\n".join(f"{r['image']}: {r['digit']} (p={r['probability']:.3f})" for r in rows)
        return rows, text
    if args.command == "forecast":
        series = series_of(args.values, args.horizon)
        values = client.forecast([series], args.horizon, **spec)[0].tolist()
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
    except BadInput as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ServingClientError as error:
        print(f"error: {args.address}: {error}", file=sys.stderr)
        return EXIT_CODES.get(error.code, EXIT_SERVER)
    print(json.dumps(result) if args.json else text)
    return 0
