"""`make bench-xla`: every model's signatures traced as plain graphs and compiled with XLA, timed
in this process at the shapes the server runs, to decide which exports use XLA.

The architectures are the training code's (full size, random weights: the speed does not
depend on the weights). Writes reports/xla.json and reports/xla.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from contract.models import WINDOW
from training import digit_classifier, forecaster, sum_regressor


def timed(function, inputs: dict, seconds: float) -> dict:
    """First call (tracing and compiling), then calls per second and ms per call."""
    started = time.perf_counter()
    function(**inputs)
    first = time.perf_counter() - started
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        function(**inputs)
        calls += 1
    elapsed = time.perf_counter() - started
    return {
        "first_call_ms": round(first * 1000, 1),
        "ms_per_call": round(elapsed / calls * 1000, 3),
        "calls_per_second": round(calls / elapsed, 1),
    }


def cases() -> list[tuple[str, str, object, dict]]:
    """(model, signature, serving module factory taking jit_compile, inputs) to time."""
    rng = np.random.default_rng(0)
    row_model = digit_classifier.build_row_model("keras", 128, 2)
    sums = sum_regressor.build_model(8, sum_regressor.FORGET_BIAS)
    forecasts = forecaster.Forecaster(32)
    out = []
    for batch in (1, 64):
        images = {"images": tf.constant(rng.random((batch, 28, 28), np.float32))}
        sequences = {"sequences": tf.constant(rng.integers(0, 2, (batch, 64)).astype(np.float32))}
        window = tf.constant(rng.standard_normal((batch, WINDOW)).astype(np.float32))
        out += [
            ("digit_classifier", f"serving_default, batch {batch}",
             lambda jit: digit_classifier.DigitServing(row_model, jit).classify, images),
            ("digit_classifier", f"per_row, batch {batch}",
             lambda jit: digit_classifier.DigitServing(row_model, jit).per_row, images),
            ("sum_regressor", f"serving_default, batch {batch}, length 64",
             lambda jit: sum_regressor.SumServing(sums, jit).count, sequences),
            ("forecaster", f"serving_default, batch {batch}",
             lambda jit: forecaster.ForecasterServing(forecasts, jit).next_values,
             {"window": window}),
            ("forecaster", f"forecast, batch {batch}, horizon 20",
             lambda jit: forecaster.ForecasterServing(forecasts, jit).forecast,
             {"window": window, "horizon": tf.fill([batch], 20)}),
        ]  # fmt: skip
    return out


def measure(seconds: float) -> list[dict]:
    rows = []
    for model, case, factory, inputs in cases():
        row = {"model": model, "case": case}
        for name, jit in (("graph", False), ("xla", True)):
            try:
                row[name] = timed(factory(jit), inputs, seconds)
            except (tf.errors.OpError, ValueError, TypeError) as error:
                row[name] = {"error": f"{type(error).__name__}: {str(error)[:200]}"}
        graph, xla = row["graph"], row["xla"]
        if "ms_per_call" in graph and "ms_per_call" in xla:
            row["speedup"] = round(graph["ms_per_call"] / xla["ms_per_call"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | signature, shape | graph ms/call | XLA ms/call | XLA first call ms | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        graph, xla = row["graph"], row["xla"]
        lines.append(
            f"| {row['model']} | {row['case']} | {graph.get('ms_per_call', graph.get('error'))}"
            f" | {xla.get('ms_per_call', xla.get('error'))} | {xla.get('first_call_ms', '-')}"
            f" | {row.get('speedup', '-')}× |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench_xla", description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    rows = measure(args.seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"cpus": os.cpu_count(), "tensorflow": tf.__version__, "rows": rows}
    (args.out / "xla.json").write_text(json.dumps(report, indent=2))
    table = markdown(rows)
    (args.out / "xla.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
