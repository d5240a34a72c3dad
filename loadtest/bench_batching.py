"""Digit classifier, single-image requests, 64 concurrent gRPC clients: batching on vs off.

`python -m loadtest.bench_batching` (`make bench-batching`) starts the embedded model server
twice on the exported models (batching on, then off), drives each with the same closed-loop
load, measures the in-process SavedModel call as the ceiling, prints a table and writes
reports/bench_batching.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf  # the real runtime, imported before protocol.messages: the ceiling runs it

from contract.layout import existing_versions
from contract.models import DIGIT_CLASSIFIER, SIDE
from loadtest.grpc_load import closed_loop
from loadtest.payloads import predict_request
from loadtest.served import model_base, write_batching_config
from serving.processes import start_model_server, write_models_config

MODEL = DIGIT_CLASSIFIER.name


def in_process(version_dir: Path, image: np.ndarray, seconds: float) -> dict:
    """Single-image calls in a loop, and 64-image batches: the ceiling for one process."""
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    results = {}
    for batch in (1, 64):
        images = tf.constant(np.repeat(image[None], batch, axis=0).astype(np.float32))
        signature(images=images)
        calls, latencies, end = 0, [], time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            signature(images=images)
            latencies.append((time.monotonic() - started) * 1000)
            calls += 1
        results[f"batch_{batch}"] = {
            "images_per_second": round(calls * batch / seconds, 1),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_batching", description=__doc__)
    parser.add_argument(
        "--models-dir", type=Path, default=Path(os.environ.get("MODELS_DIR", "models"))
    )
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=Path("reports/bench_batching.json"))
    args = parser.parse_args(argv)

    base = model_base(args.models_dir, MODEL)
    versions = existing_versions(base)
    image = np.zeros((SIDE, SIDE), np.float32)
    image[6:22, 13:15] = 1.0
    request = predict_request(MODEL, images=image[None])
    results = {"concurrency": args.concurrency, "seconds": args.seconds, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = write_models_config(workdir / "models.config", {MODEL: base})
        batching = write_batching_config(workdir / "batching.config", args.concurrency)
        modes = {
            "batching_on": ["--enable_batching", f"--batching_parameters_file={batching}"],
            "batching_off": [],
        }
        for mode, flags in modes.items():
            server = start_model_server(config, [MODEL], workdir, flags)
            try:
                results[mode] = closed_loop(
                    server.grpc_address, request, args.concurrency, args.seconds
                ).summary()
            finally:
                server.stop()
    results["in_process"] = in_process(base / str(versions[-1]), image, min(args.seconds, 10))
    on, off = results["batching_on"], results["batching_off"]
    results["batching_speedup"] = round(on["requests_per_second"] / off["requests_per_second"], 2)

    print(f"digit_classifier, single-image requests, {args.concurrency} concurrent gRPC clients")
    print("| path | requests/s | p50 ms | p99 ms | failures |\n|---|---|---|---|---|")
    for mode in ("batching_on", "batching_off"):
        row = results[mode]
        print(
            f"| gRPC, {mode.replace('_', ' ')} | {row['requests_per_second']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {row['failures']} |"
        )
    for batch, row in results["in_process"].items():
        print(
            f"| in-process SavedModel, {batch.replace('_', ' ')} | "
            f"{row['images_per_second']} images/s | {row['p50_ms']} | {row['p99_ms']} | |"
        )
    print(f"batching speed-up: {results['batching_speedup']}x (target ≥ 2x)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
